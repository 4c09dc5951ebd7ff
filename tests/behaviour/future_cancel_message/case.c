/* cancel(msg) keeps the message: the awaiter's cancellation carries it, and so do result()
 * and the error afterwards. */
#include <casetrace.h>

static int waiter(weft_task_t *self, void *arg) {
  (void)self;
  weft_future_t *fut = arg;
  int rc = weft_await(fut);
  if (rc == WEFT_ECANCELLED) {
    char m[64];
    casetrace_emit("waiter %s %s", casetrace_err(rc),
                   casetrace_msg(m, sizeof m, weft_future_error_message(fut)));
  }
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  char m[64];
  weft_future_t *fut;
  weft_task_t *t;
  int rc = weft_future_new(loop, &fut);
  if (rc < 0)
    return rc;
  rc = weft_task_spawn(loop, waiter, fut, NULL, &t);
  if (rc < 0)
    return rc;
  weft_sleep_await(loop, 0);
  casetrace_emit("cancel %s", casetrace_bool(weft_future_cancel(fut, "stop now")));
  casetrace_emit("cancel-again %s", casetrace_bool(weft_future_cancel(fut, "other")));
  rc = weft_future_result(fut, NULL);
  casetrace_emit("result %s %s", casetrace_err(rc),
                 casetrace_msg(m, sizeof m, weft_future_error_message(fut)));
  rc = weft_future_error(fut);
  casetrace_emit("exception %s %s", casetrace_err(rc),
                 casetrace_msg(m, sizeof m, weft_future_error_message(fut)));
  rc = weft_await(weft_task_future(t));
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("task %s %s", casetrace_err(rc),
                   casetrace_bool(weft_future_cancelled(weft_task_future(t))));
  weft_task_release(t);
  weft_future_release(fut);
  weft_future_t *plain;
  rc = weft_future_new(loop, &plain);
  if (rc < 0)
    return rc;
  weft_future_cancel(plain, NULL);
  rc = weft_future_result(plain, NULL);
  casetrace_emit("no-message %s %s", casetrace_err(rc),
                 casetrace_msg(m, sizeof m, weft_future_error_message(plain)));
  weft_future_release(plain);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
