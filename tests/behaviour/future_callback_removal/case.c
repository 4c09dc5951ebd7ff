/* remove_done_callback removes every registration of that callback and says how many. */
#include <casetrace.h>

static void cb_a(weft_future_t *f, void *arg) {
  (void)f, (void)arg;
  casetrace_emit("callback a");
}

static void cb_b(weft_future_t *f, void *arg) {
  (void)f, (void)arg;
  casetrace_emit("callback b");
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *fut;
  int rc = weft_future_new(loop, &fut);
  if (rc < 0)
    return rc;
  weft_future_add_done_callback(fut, cb_a, NULL);
  weft_future_add_done_callback(fut, cb_b, NULL);
  weft_future_add_done_callback(fut, cb_a, NULL);
  casetrace_emit("removed %d", weft_future_remove_done_callback(fut, cb_a, NULL));
  casetrace_emit("removed %d", weft_future_remove_done_callback(fut, cb_a, NULL));
  weft_future_add_done_callback(fut, cb_a, NULL);
  weft_future_set_result(fut, weft_value_none());
  casetrace_emit("removed-after-done %d", weft_future_remove_done_callback(fut, cb_b, NULL));
  rc = weft_sleep_await(loop, 0);
  casetrace_emit("done");
  weft_future_release(fut);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
