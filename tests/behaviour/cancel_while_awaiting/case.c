/* Cancelling a task that awaits a future cancels that future and fails the task's await
 * with the cancellation; its cleanup runs; the task ends cancelled. */
#include <casetrace.h>

static int worker(weft_task_t *self, void *arg) {
  (void)self;
  weft_future_t *inner = arg;
  casetrace_emit("worker start");
  int rc = weft_await(inner);
  if (rc == 0)
    casetrace_emit("never");
  else if (rc == WEFT_ECANCELLED)
    casetrace_emit("worker caught %s", casetrace_err(rc));
  casetrace_emit("worker finally");
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *inner;
  weft_task_t *t;
  int rc = weft_future_new(loop, &inner);
  if (rc < 0)
    return rc;
  rc = weft_task_spawn(loop, worker, inner, NULL, &t);
  if (rc < 0)
    return rc;
  weft_future_t *f = weft_task_future(t);
  weft_sleep_await(loop, 0);
  casetrace_emit("cancel %s", casetrace_bool(weft_task_cancel(t, NULL)));
  casetrace_emit("inner-cancelled-yet %s", casetrace_bool(weft_future_cancelled(inner)));
  rc = weft_await(f);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("await-task %s", casetrace_err(rc));
  casetrace_emit("task %s %s inner %s", casetrace_bool(weft_future_done(f)),
                 casetrace_bool(weft_future_cancelled(f)),
                 casetrace_bool(weft_future_cancelled(inner)));
  weft_task_release(t);
  weft_future_release(inner);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
