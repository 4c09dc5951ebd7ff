/* Done callbacks are scheduled, not run inline: set_result returns first, then they run in
 * registration order; a callback added to a done future is scheduled too. */
#include <casetrace.h>

static void callback(weft_future_t *f, void *arg) {
  const weft_value_t *v;
  if (weft_future_result(f, &v) == 0)
    casetrace_emit("callback %s %lld", (const char *)arg, (long long)v->i);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *fut;
  int rc = weft_future_new(loop, &fut);
  if (rc < 0)
    return rc;
  weft_future_add_done_callback(fut, callback, "a");
  weft_future_add_done_callback(fut, callback, "b");
  weft_future_add_done_callback(fut, callback, "c");
  weft_future_set_result(fut, weft_value_int(7));
  casetrace_emit("set_result-returned");
  weft_future_add_done_callback(fut, callback, "late");
  casetrace_emit("added-late");
  rc = weft_sleep_await(loop, 0);
  casetrace_emit("after-one-step");
  if (rc == 0)
    rc = weft_sleep_await(loop, 0);
  casetrace_emit("done");
  weft_future_release(fut);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
