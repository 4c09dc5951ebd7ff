/* wait_for cancels the inner task when the timeout expires, waits for it to finish
 * cancelling, then fails with ETIMEDOUT; the inner task sees the cancellation. */
#include <casetrace.h>

static int inner(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  int rc = weft_sleep_await(loop, 10);
  if (rc == WEFT_ECANCELLED) {
    casetrace_emit("inner %s", casetrace_err(rc));
    weft_sleep_await(loop, 0); /* cleanup that itself awaits */
    casetrace_emit("inner cleanup-done");
  }
  return rc;
}

/* asyncio.sleep(0, "quick"): one step, then the result. */
static int quick(weft_task_t *self, void *arg) {
  int rc = weft_sleep_await(casetrace_loop(self), 0);
  return rc < 0 ? rc : weft_task_return(self, weft_value_pointer(arg, NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_task_t *t, *q;
  weft_future_t *w;
  int rc = weft_task_spawn(loop, inner, NULL, NULL, &t);
  if (rc < 0)
    return rc;
  weft_future_t *f = weft_task_future(t);
  if ((rc = weft_wait_for(loop, f, 0.05, &w)) < 0)
    return rc;
  rc = weft_await(w);
  weft_future_release(w);
  if (rc == WEFT_ETIMEDOUT)
    casetrace_emit("wait_for %s", casetrace_err(rc));
  casetrace_emit("inner-task %s %s", casetrace_bool(weft_future_done(f)),
                 casetrace_bool(weft_future_cancelled(f)));
  weft_task_release(t);
  if ((rc = weft_task_spawn(loop, quick, "quick", NULL, &q)) < 0)
    return rc;
  if ((rc = weft_wait_for(loop, weft_task_future(q), 1, &w)) < 0)
    return rc;
  weft_task_release(q);
  rc = weft_await(w);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(w, &v) == 0)
    casetrace_emit("in-time %s", (const char *)v->ptr);
  weft_future_release(w);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
