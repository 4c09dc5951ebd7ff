/* When main returns, the runner cancels the tasks still pending and lets them finish their
 * cleanup (which may await) before the loop closes. */
#include <casetrace.h>

static int leftover(weft_task_t *self, void *arg) {
  weft_loop_t *loop = casetrace_loop(self);
  int rc = weft_sleep_await(loop, 10);
  if (rc == WEFT_ECANCELLED) {
    casetrace_emit("leftover %s %s", (const char *)arg, casetrace_err(rc));
    weft_sleep_await(loop, 0);
    casetrace_emit("leftover %s cleanup-done", (const char *)arg);
  }
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  int rc = weft_task_spawn(loop, leftover, "a", NULL, NULL);
  if (rc < 0)
    return rc;
  weft_sleep_await(loop, 0);
  casetrace_emit("main returns");
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
