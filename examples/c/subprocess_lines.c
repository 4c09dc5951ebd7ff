/* Runs a command and streams its output line by line as it comes, then reports how it
 * ended: asyncio's create_subprocess_exec + `async for line in proc.stdout`.
 *
 *   subprocess_lines [command [args...]]     (default: ls -l /) */
#include "weft.h"

#include <stdio.h>

typedef struct {
  int argc;
  char **argv;
} args_t;

static int run_command(weft_task_t *self, void *arg) {
  args_t *a = arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  const char *fallback[] = {"ls", "-l", "/", NULL};
  const char *const *argv = a->argc > 1 ? (const char *const *)a->argv + 1 : fallback;
  weft_process_options_t options = {.size = sizeof options};
  options.stdio[1].mode = WEFT_STDIO_PIPE;
  options.stdio[2].mode = WEFT_STDIO_STDOUT; /* interleave stderr with stdout */
  weft_process_t *proc;
  int rc = weft_create_subprocess_exec(loop, argv, &options, &proc);
  if (rc != 0) {
    fprintf(stderr, "cannot run %s: %s\n", argv[0], weft_strerror(rc));
    return rc;
  }
  weft_stream_reader_t *out = weft_process_stdout(proc); /* proc.stdout */
  for (int n = 1;; n++) {
    weft_value_t line;
    if ((rc = weft_stream_readline_await(out, &line)) != 0)
      break;
    if (line.len == 0) { /* EOF */
      weft_value_clear(&line);
      break;
    }
    const char *text = line.ptr;
    printf("%4d | %.*s", n, (int)line.len, text);
    if (text[line.len - 1] != '\n')
      putchar('\n');
    weft_value_clear(&line);
  }
  weft_future_t *exited;
  if (rc == 0 && (rc = weft_process_wait(proc, &exited)) == 0) {
    rc = weft_await(exited);
    weft_future_release(exited);
  }
  int code = 0;
  if (rc == 0 && weft_process_returncode(proc, &code) == 0) {
    if (code < 0)
      printf("%s was killed by signal %d\n", argv[0], -code);
    else
      printf("%s exited with status %d\n", argv[0], code);
  }
  weft_process_release(proc);
  return rc;
}

int main(int argc, char **argv) {
  args_t a = {argc, argv};
  int rc = weft_run(run_command, &a, NULL);
  if (rc != 0)
    fprintf(stderr, "error: %s\n", weft_strerror(rc));
  return rc == 0 ? 0 : 1;
}
