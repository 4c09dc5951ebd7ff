/* A child writes 10 MiB to its stdout; the parent reads all of it to EOF, then the child's
 * exit status is 0. */
#include <casetrace.h>
#include <string.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_process_options_t options;
  weft_process_options_init(&options);
  options.stdio[1].mode = WEFT_STDIO_PIPE;
  weft_process_t *proc;
  int rc = weft_create_subprocess_shell(casetrace_loop(self),
                                        "yes 0123456789abcdef | head -c 10485760", &options, &proc);
  if (rc < 0)
    return rc;
  size_t total = 0, lines = 0;
  for (;;) {
    weft_value_t chunk;
    if ((rc = weft_stream_read_await(weft_process_stdout(proc), 65536, &chunk)) < 0)
      break;
    size_t len = chunk.len;
    for (const char *p = chunk.ptr, *end = p + len; p < end && (p = memchr(p, '\n', end - p)); p++)
      lines++;
    weft_value_clear(&chunk);
    if (len == 0)
      break;
    total += len;
  }
  if (rc == 0)
    casetrace_emit("read %zu lines %zu", total, lines);
  weft_future_t *wait;
  if (rc == 0 && (rc = weft_process_wait(proc, &wait)) == 0) {
    const weft_value_t *v;
    if ((rc = weft_await(wait)) == 0 && weft_future_result(wait, &v) == 0)
      casetrace_emit("returncode %lld", (long long)v->i);
    weft_future_release(wait);
  }
  weft_process_release(proc);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
