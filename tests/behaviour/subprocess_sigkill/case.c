/* A child killed by SIGKILL reports the negated signal number as its exit status, whether
 * the parent kills it or it kills itself. */
#include <casetrace.h>
#include <signal.h>

/* Awaits the child's exit and returns its return code (or an error). */
static int wait_code(weft_process_t *proc, int *code) {
  weft_future_t *wait;
  int rc = weft_process_wait(proc, &wait);
  if (rc < 0)
    return rc;
  const weft_value_t *v;
  if ((rc = weft_await(wait)) == 0 && (rc = weft_future_result(wait, &v)) == 0)
    *code = (int)v->i;
  weft_future_release(wait);
  return rc;
}

static int run_shell(weft_loop_t *loop, const char *command, const char *label) {
  weft_process_t *proc;
  int code, rc = weft_create_subprocess_shell(loop, command, NULL, &proc);
  if (rc < 0)
    return rc;
  if ((rc = wait_code(proc, &code)) == 0)
    casetrace_emit("%s returncode %d", label, code);
  weft_process_release(proc);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const char *const argv[] = {"sleep", "30", NULL};
  weft_process_t *proc;
  int code, rc = weft_create_subprocess_exec(loop, argv, NULL, &proc);
  if (rc < 0)
    return rc;
  if (weft_process_returncode(proc, &code) == WEFT_EINVALIDSTATE)
    casetrace_emit("returncode-running none");
  weft_process_send_signal(proc, SIGKILL);
  if ((rc = wait_code(proc, &code)) == 0)
    casetrace_emit("killed returncode %d", code);
  weft_process_release(proc);
  if (rc < 0 || (rc = run_shell(loop, "kill -9 $$", "self-killed")) < 0)
    return rc;
  return run_shell(loop, "exit 3", "exit");
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
