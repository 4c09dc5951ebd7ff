/* reschedule moves a timeout's deadline: later lets the body finish, into the past expires
 * it at the next await, INFINITY disarms it; when() reports the deadline. A C timeout is
 * freed by its exit, so the refused reschedule of an expired timeout is tried just before
 * the exit and reported after it, where asyncio's case tries it. */
#include <casetrace.h>
#include <math.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_timeout_t *cm;
  int rc, expired;

  if ((rc = weft_timeout_enter(self, 0.02, &cm)) < 0)
    return rc;
  weft_timeout_reschedule(cm, weft_loop_time(loop) + 10);
  rc = weft_sleep_await(loop, 0.05);
  if (rc == 0)
    casetrace_emit("later body-finished");
  expired = weft_timeout_expired(cm);
  if ((rc = weft_timeout_exit(cm, rc)) < 0)
    return rc;
  casetrace_emit("later expired %s", casetrace_bool(expired));

  if ((rc = weft_timeout_enter(self, 0.02, &cm)) < 0)
    return rc;
  weft_timeout_reschedule(cm, INFINITY);
  if (isinf(weft_timeout_when(cm)))
    casetrace_emit("disarmed when none");
  rc = weft_sleep_await(loop, 0.05);
  expired = weft_timeout_expired(cm);
  if ((rc = weft_timeout_exit(cm, rc)) < 0)
    return rc;
  casetrace_emit("disarmed expired %s", casetrace_bool(expired));

  if ((rc = weft_timeout_enter(self, 10, &cm)) < 0)
    return rc;
  rc = weft_sleep_await(loop, 0);
  weft_timeout_reschedule(cm, weft_loop_time(loop) - 1);
  casetrace_emit("past rescheduled");
  rc = weft_sleep_await(loop, 10);
  expired = weft_timeout_expired(cm);
  int again = weft_timeout_reschedule(cm, weft_loop_time(loop) + 10);
  rc = weft_timeout_exit(cm, rc);
  if (rc == WEFT_ETIMEDOUT)
    casetrace_emit("past %s expired %s", casetrace_err(rc), casetrace_bool(expired));
  if (again < 0)
    casetrace_emit("reschedule-after-expiry %s", casetrace_err(again));
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
