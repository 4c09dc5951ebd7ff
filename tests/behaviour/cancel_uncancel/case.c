/* cancelling() counts pending cancel requests and uncancel() takes one back; a task whose
 * count returns to 0 is not cancelled by the request it caught. */
#include <casetrace.h>

static int worker(weft_task_t *self, void *arg) {
  weft_future_t *gate = arg;
  weft_loop_t *loop = casetrace_loop(self);
  for (int round = 1; round <= 2; round++) {
    if (weft_sleep_await(loop, 10) == WEFT_ECANCELLED) {
      casetrace_emit("worker round %d cancelling %d", round, weft_task_cancelling(self));
      casetrace_emit("worker uncancel %d", weft_task_uncancel(self));
    }
  }
  int left = weft_task_uncancel(self);
  casetrace_emit("worker uncancel-at-zero %d %d", left, weft_task_cancelling(self));
  int rc = weft_await(gate);
  if (rc != 0)
    return rc;
  return weft_task_return(self, weft_value_pointer("finished", NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *gate;
  weft_task_t *t;
  int rc = weft_future_new(loop, &gate);
  if (rc < 0)
    return rc;
  rc = weft_task_spawn(loop, worker, gate, NULL, &t);
  if (rc < 0)
    return rc;
  weft_future_t *f = weft_task_future(t);
  weft_sleep_await(loop, 0);
  casetrace_emit("cancelling-before %d", weft_task_cancelling(t));
  weft_task_cancel(t, NULL);
  weft_sleep_await(loop, 0);
  weft_task_cancel(t, NULL);
  weft_task_cancel(t, NULL);
  casetrace_emit("cancelling-after-two %d", weft_task_cancelling(t));
  weft_sleep_await(loop, 0);
  weft_future_set_result(gate, weft_value_none());
  rc = weft_await(f);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(f, &v) == 0)
    casetrace_emit("result %s %s", (const char *)v->ptr, casetrace_bool(weft_future_cancelled(f)));
  weft_task_release(t);
  weft_future_release(gate);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
