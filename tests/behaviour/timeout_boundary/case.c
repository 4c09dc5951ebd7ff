/* A timeout fires only at an await: a body that does not await finishes even when the
 * deadline has already passed; the first await after the deadline fails, and the block's
 * exit turns that into ETIMEDOUT; work done in time is untouched. A C timeout is freed by
 * its exit, so expired() and when() are read just before it. */
#include <casetrace.h>
#include <math.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_timeout_t *cm;
  int rc, expired;

  if ((rc = weft_timeout_enter(self, 0, &cm)) < 0)
    return rc;
  casetrace_emit("no-await-body runs");
  expired = weft_timeout_expired(cm);
  weft_timeout_exit(cm, 0);
  casetrace_emit("no-await expired %s", casetrace_bool(expired));

  if ((rc = weft_timeout_enter_at(self, weft_loop_time(loop) - 1, &cm)) < 0)
    return rc;
  casetrace_emit("past-deadline-body starts");
  rc = weft_sleep_await(loop, 0);
  if (rc == 0)
    casetrace_emit("never");
  expired = weft_timeout_expired(cm);
  rc = weft_timeout_exit(cm, rc);
  if (rc == WEFT_ETIMEDOUT)
    casetrace_emit("past-deadline %s expired %s", casetrace_err(rc), casetrace_bool(expired));

  if ((rc = weft_timeout_enter(self, 0.05, &cm)) < 0)
    return rc;
  rc = weft_sleep_await(loop, 10);
  expired = weft_timeout_expired(cm);
  rc = weft_timeout_exit(cm, rc);
  if (rc == WEFT_ETIMEDOUT)
    casetrace_emit("sleep-too-long %s expired %s", casetrace_err(rc), casetrace_bool(expired));

  if ((rc = weft_timeout_enter(self, 10, &cm)) < 0)
    return rc;
  rc = weft_sleep_await(loop, 0.01);
  expired = weft_timeout_expired(cm);
  if ((rc = weft_timeout_exit(cm, rc)) < 0)
    return rc;
  casetrace_emit("in-time expired %s", casetrace_bool(expired));

  if ((rc = weft_timeout_enter(self, INFINITY, &cm)) < 0)
    return rc;
  rc = weft_sleep_await(loop, 0);
  double when = weft_timeout_when(cm);
  if ((rc = weft_timeout_exit(cm, rc)) < 0)
    return rc;
  if (isinf(when))
    casetrace_emit("none when none");
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
