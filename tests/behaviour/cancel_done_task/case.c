/* Cancelling a task that has finished does nothing: cancel() returns false and the result
 * stays; a task cancelled before it ever ran never runs its body. */
#include <casetrace.h>

static int quick(weft_task_t *self, void *arg) {
  (void)arg;
  casetrace_emit("quick runs");
  return weft_task_return(self, weft_value_int(5));
}

static int never(weft_task_t *self, void *arg) {
  (void)self, (void)arg;
  casetrace_emit("never runs");
  return 0;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_task_t *t, *u;
  int rc = weft_task_spawn(loop, quick, NULL, NULL, &t);
  if (rc < 0)
    return rc;
  weft_future_t *f = weft_task_future(t);
  weft_sleep_await(loop, 0);
  casetrace_emit("done %s", casetrace_bool(weft_future_done(f)));
  int cancelled = weft_task_cancel(t, NULL);
  casetrace_emit("cancel %s cancelling %d", casetrace_bool(cancelled), weft_task_cancelling(t));
  const weft_value_t *v;
  if (weft_future_result(f, &v) == 0)
    casetrace_emit("result %lld %s", (long long)v->i, casetrace_bool(weft_future_cancelled(f)));
  weft_task_release(t);
  rc = weft_task_spawn(loop, never, NULL, NULL, &u);
  if (rc < 0)
    return rc;
  casetrace_emit("cancel-before-start %s", casetrace_bool(weft_task_cancel(u, NULL)));
  rc = weft_await(weft_task_future(u));
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("await %s %s", casetrace_err(rc),
                   casetrace_bool(weft_future_cancelled(weft_task_future(u))));
  weft_task_release(u);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
