/* A task may catch its cancellation and go on: it awaits again and returns a result, and
 * ends finished, not cancelled. */
#include <casetrace.h>

static int worker(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  int rc = weft_sleep_await(loop, 10);
  if (rc == WEFT_ECANCELLED) {
    casetrace_emit("worker caught %s %d", casetrace_err(rc), weft_task_cancelling(self));
    weft_task_uncancel(self);
  }
  if ((rc = weft_sleep_await(loop, 0)) != 0)
    return rc;
  casetrace_emit("worker continues");
  if ((rc = weft_sleep_await(loop, 0.01)) != 0)
    return rc;
  return weft_task_return(self, weft_value_int(42));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_task_t *t;
  int rc = weft_task_spawn(loop, worker, NULL, NULL, &t);
  if (rc < 0)
    return rc;
  weft_sleep_await(loop, 0);
  weft_task_cancel(t, NULL);
  weft_future_t *f = weft_task_future(t);
  rc = weft_await(f);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(f, &v) == 0)
    casetrace_emit("result %lld cancelled %s", (long long)v->i,
                   casetrace_bool(weft_future_cancelled(f)));
  weft_task_release(t);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
