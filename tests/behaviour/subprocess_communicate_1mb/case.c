/* communicate sends 1 MiB to a child that echoes it (cat) while reading its output, so
 * neither side blocks; the output is the input, the exit status 0. */
#include <casetrace.h>
#include <stdlib.h>
#include <string.h>

#define SIZE (1024 * 1024)

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  unsigned char *data = malloc(SIZE);
  if (data == NULL)
    return WEFT_ENOMEM;
  for (size_t i = 0; i < SIZE; i++)
    data[i] = (unsigned char)(i % 251);
  static const char *const argv[] = {"cat", NULL};
  weft_process_options_t options;
  weft_process_options_init(&options);
  options.stdio[0].mode = WEFT_STDIO_PIPE;
  options.stdio[1].mode = WEFT_STDIO_PIPE;
  weft_process_t *proc;
  weft_future_t *f;
  int rc = weft_create_subprocess_exec(casetrace_loop(self), argv, &options, &proc);
  if (rc == 0 && (rc = weft_process_communicate(proc, data, SIZE, &f)) == 0) {
    rc = weft_await(f);
    weft_future_release(f);
  }
  if (rc == 0) {
    const char *out;
    size_t len;
    weft_process_output(proc, 1, &out, &len);
    casetrace_emit("stdout %zu same %s stderr %s", len,
                   casetrace_bool(len == SIZE && memcmp(out, data, SIZE) == 0),
                   weft_process_stderr(proc) == NULL ? "none" : "pipe");
    int code;
    if (weft_process_returncode(proc, &code) == 0)
      casetrace_emit("returncode %d", code);
  }
  free(data);
  weft_process_release(proc);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
