/* shield: cancelling the awaiter does not cancel the shielded task, which finishes and keeps
 * its result; the awaiter gets the cancellation. */
#include <casetrace.h>

static int precious(weft_task_t *self, void *arg) {
  int rc = weft_await(arg);
  if (rc < 0)
    return rc;
  casetrace_emit("precious finished");
  return weft_task_return(self, weft_value_pointer("kept", NULL));
}

static int awaiter(weft_task_t *self, void *arg) {
  (void)self;
  weft_future_t *sh;
  int rc = weft_shield(arg, &sh);
  if (rc < 0)
    return rc;
  rc = weft_await(sh);
  weft_future_release(sh);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("awaiter %s", casetrace_err(rc));
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *gate;
  weft_task_t *inner, *a;
  int rc = weft_future_new(loop, &gate);
  if (rc < 0 || (rc = weft_task_spawn(loop, precious, gate, NULL, &inner)) < 0 ||
      (rc = weft_task_spawn(loop, awaiter, weft_task_future(inner), NULL, &a)) < 0)
    return rc;
  weft_future_t *fi = weft_task_future(inner);
  weft_sleep_await(loop, 0);
  weft_task_cancel(a, NULL);
  rc = weft_await(weft_task_future(a));
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("main awaiter %s", casetrace_err(rc));
  casetrace_emit("inner cancelled %s done %s", casetrace_bool(weft_future_cancelled(fi)),
                 casetrace_bool(weft_future_done(fi)));
  weft_future_set_result(gate, weft_value_none());
  rc = weft_await(fi);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(fi, &v) == 0)
    casetrace_emit("inner-result %s", (const char *)v->ptr);
  weft_task_release(a);
  weft_task_release(inner);
  weft_future_release(gate);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
