/* A done future refuses set_result and set_error (the state error), keeps its first
 * outcome, and cancel() on it returns false; a pending future's result is refused too. */
#include <casetrace.h>

static void emit_rc(const char *name, int rc) {
  if (rc == 0)
    casetrace_emit("%s ok", name);
  else
    casetrace_emit("%s %s", name, casetrace_err(rc));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *fut, *c;
  int rc = weft_future_new(loop, &fut);
  if (rc < 0)
    return rc;
  casetrace_emit("result-pending %s", casetrace_err(weft_future_result(fut, NULL)));
  weft_future_set_result(fut, weft_value_int(1));
  emit_rc("set_result", weft_future_set_result(fut, weft_value_int(2)));
  emit_rc("set_exception", weft_future_set_error(fut, WEFT_EIO, "io", NULL, NULL));
  casetrace_emit("cancel %s", casetrace_bool(weft_future_cancel(fut, NULL)));
  const weft_value_t *v;
  if (weft_future_result(fut, &v) == 0)
    casetrace_emit("result %lld", (long long)v->i);
  weft_future_release(fut);
  rc = weft_future_new(loop, &c);
  if (rc < 0)
    return rc;
  weft_future_cancel(c, NULL);
  emit_rc("set_result-cancelled", weft_future_set_result(c, weft_value_int(3)));
  casetrace_emit("cancelled %s", casetrace_bool(weft_future_cancelled(c)));
  weft_future_release(c);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
