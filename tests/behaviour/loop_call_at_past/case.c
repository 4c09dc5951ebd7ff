/* call_at with a deadline in the past runs in the next iteration, after the call_soon
 * callbacks that were already queued (due timers join the ready queue behind them). */
#include <casetrace.h>

static void finish(void *arg) {
  weft_future_set_result(arg, weft_value_none());
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *done;
  int rc = weft_future_new(loop, &done);
  if (rc < 0)
    return rc;
  weft_call_soon(loop, casetrace_say, "soon-1", NULL);
  weft_call_at(loop, weft_loop_time(loop) - 10, casetrace_say, "past-1", NULL);
  weft_call_at(loop, weft_loop_time(loop) - 20, casetrace_say, "past-2-earlier", NULL);
  weft_call_soon(loop, casetrace_say, "soon-2", NULL);
  weft_call_later(loop, -1, casetrace_say, "later-negative", NULL);
  weft_call_soon(loop, finish, done, NULL);
  rc = weft_await(done);
  weft_future_release(done);
  if (rc == 0)
    rc = weft_sleep_await(loop, 0);
  casetrace_emit("done");
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
