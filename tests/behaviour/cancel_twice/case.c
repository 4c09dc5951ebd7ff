/* Cancelling twice before the task runs: both calls return true, cancelling() counts 2, and
 * the task sees one cancellation. */
#include <casetrace.h>

static int worker(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  int n = 0;
  int rc = weft_sleep_await(loop, 10);
  if (rc == WEFT_ECANCELLED) {
    n++;
    casetrace_emit("worker caught %s cancelling %d", casetrace_err(rc), weft_task_cancelling(self));
  }
  rc = weft_sleep_await(loop, 0);
  if (rc == 0)
    casetrace_emit("worker second-await-ok");
  else
    casetrace_emit("worker second %s", casetrace_err(rc));
  return weft_task_return(self, weft_value_int(n));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_task_t *t;
  int rc = weft_task_spawn(loop, worker, NULL, NULL, &t);
  if (rc < 0)
    return rc;
  weft_future_t *f = weft_task_future(t);
  weft_sleep_await(loop, 0);
  casetrace_emit("cancel-1 %s", casetrace_bool(weft_task_cancel(t, NULL)));
  casetrace_emit("cancel-2 %s", casetrace_bool(weft_task_cancel(t, NULL)));
  casetrace_emit("cancelling %d", weft_task_cancelling(t));
  rc = weft_await(f);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(f, &v) == 0)
    casetrace_emit("result %lld", (long long)v->i);
  else
    casetrace_emit("task %s", casetrace_err(rc));
  casetrace_emit("cancelled %s", casetrace_bool(weft_future_cancelled(f)));
  weft_task_release(t);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
