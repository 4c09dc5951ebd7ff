/* Starting a program that does not exist fails at once with ENOENT, by path and by a name
 * looked up in PATH. */
#include <casetrace.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  static const char *const programs[] = {"/nonexistent/weft-no-such-program",
                                         "weft-no-such-program"};
  for (int i = 0; i < 2; i++) {
    const char *argv[] = {programs[i], NULL};
    weft_process_t *proc;
    int rc = weft_create_subprocess_exec(casetrace_loop(self), argv, NULL, &proc);
    if (rc == 0) {
      casetrace_emit("started");
      weft_process_close(proc);
      weft_process_release(proc);
    } else {
      casetrace_emit("exec %s", casetrace_err(rc));
    }
  }
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
