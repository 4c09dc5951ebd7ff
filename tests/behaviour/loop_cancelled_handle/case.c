/* A cancelled handle never runs, whether a call_soon or a timer, and whether it is cancelled
 * before its iteration or by a callback that runs earlier in the same iteration. */
#include <casetrace.h>

static void finish(void *arg) {
  weft_future_set_result(arg, weft_value_none());
}

static void cancel_sibling(void *arg) {
  weft_handle_t **sibling = arg;
  casetrace_emit("cancel-sibling");
  weft_handle_cancel(*sibling);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *done;
  int rc = weft_future_new(loop, &done);
  if (rc < 0)
    return rc;
  weft_handle_t *h1, *t1, *h3 = NULL;
  weft_call_soon(loop, casetrace_say, "never soon", &h1);
  weft_call_later(loop, 0.01, casetrace_say, "never timer", &t1);
  weft_handle_cancel(h1);
  weft_handle_cancel(t1);
  casetrace_emit("cancelled %s %s", casetrace_bool(weft_handle_cancelled(h1)),
                 casetrace_bool(weft_handle_cancelled(t1)));
  weft_call_soon(loop, cancel_sibling, &h3, NULL);
  weft_call_soon(loop, casetrace_say, "never sibling", &h3);
  weft_call_soon(loop, casetrace_say, "runs", NULL);
  weft_call_later(loop, 0.05, finish, done, NULL);
  rc = weft_await(done);
  weft_future_release(done);
  weft_handle_cancel(h1); /* cancelling twice is harmless */
  casetrace_emit("done %s", casetrace_bool(weft_handle_cancelled(h3)));
  weft_handle_release(h1);
  weft_handle_release(t1);
  weft_handle_release(h3);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
