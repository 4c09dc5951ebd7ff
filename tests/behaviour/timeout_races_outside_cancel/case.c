/* A timeout expiring in the same iteration as an outside cancel of the task: the outside
 * cancel wins, the task ends cancelled, with ECANCELLED, not ETIMEDOUT. */
#include <casetrace.h>

static int worker(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_timeout_t *cm;
  int rc = weft_timeout_enter_at(self, weft_loop_time(loop) - 1, &cm);
  if (rc < 0)
    return rc;
  rc = weft_sleep_await(loop, 10);
  rc = weft_timeout_exit(cm, rc);
  if (rc == WEFT_ETIMEDOUT)
    casetrace_emit("worker timeout %s", casetrace_err(rc));
  else if (rc == WEFT_ECANCELLED)
    casetrace_emit("worker cancelled %s %d", casetrace_err(rc), weft_task_cancelling(self));
  return rc == WEFT_ETIMEDOUT ? 0 : rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_task_t *t;
  int rc = weft_task_spawn(loop, worker, NULL, NULL, &t);
  if (rc < 0)
    return rc;
  weft_sleep_await(loop, 0); /* the worker enters the block and waits; the timeout is due */
  weft_task_cancel(t, NULL);
  rc = weft_await(weft_task_future(t));
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("main %s %s", casetrace_err(rc),
                   casetrace_bool(weft_future_cancelled(weft_task_future(t))));
  weft_task_release(t);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
