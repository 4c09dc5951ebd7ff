/* wait with a timeout returns what finished by then and leaves the rest running (no error,
 * no cancellation). */
#include <casetrace.h>

static int fast(weft_task_t *self, void *arg) {
  int rc = weft_sleep_await(casetrace_loop(self), 0);
  return rc < 0 ? rc : weft_task_return(self, weft_value_pointer(arg, NULL));
}

/* asyncio.wait_for(gate, None) as a task: the gate's result passes through. */
static int slow(weft_task_t *self, void *arg) {
  weft_future_t *w;
  int rc = weft_wait_for(casetrace_loop(self), arg, -1, &w);
  if (rc < 0)
    return rc;
  rc = weft_await(w);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(w, &v) == 0)
    rc = weft_task_return(self, weft_value_pointer(v->ptr, NULL));
  weft_future_release(w);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *gate, *w;
  weft_task_t *ft, *st;
  int rc = weft_future_new(loop, &gate);
  if (rc < 0 || (rc = weft_task_spawn(loop, fast, "fast", NULL, &ft)) < 0 ||
      (rc = weft_task_spawn(loop, slow, gate, NULL, &st)) < 0)
    return rc;
  weft_future_t *futs[2] = {weft_task_future(ft), weft_task_future(st)};
  if ((rc = weft_wait(loop, futs, 2, WEFT_ALL_COMPLETED, 0.05, &w)) < 0)
    return rc;
  rc = weft_await(w);
  weft_future_release(w);
  if (rc < 0)
    return rc;
  int fast_done = weft_future_done(futs[0]), slow_pending = !weft_future_done(futs[1]);
  casetrace_emit("done %d %s pending %d %s", fast_done + !slow_pending, casetrace_bool(fast_done),
                 !fast_done + slow_pending, casetrace_bool(slow_pending));
  casetrace_emit("slow-cancelled %s", casetrace_bool(weft_future_cancelled(futs[1])));
  weft_future_set_result(gate, weft_value_pointer("slow", NULL));
  rc = weft_await(futs[1]);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(futs[1], &v) == 0)
    casetrace_emit("slow %s", (const char *)v->ptr);
  weft_task_release(ft);
  weft_task_release(st);
  weft_future_release(gate);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
