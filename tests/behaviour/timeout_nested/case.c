/* Nested timeouts where the outer fires first: the inner block lets the cancellation
 * through (it is not its own), the outer turns it into ETIMEDOUT; only the outer says
 * expired. Then the inner fires first: its ETIMEDOUT passes through the outer block
 * unchanged. A C timeout is freed by its exit, so expired() is read just before it. */
#include <casetrace.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_timeout_t *outer, *inner;
  int rc;
  if ((rc = weft_timeout_enter(self, 0.05, &outer)) < 0)
    return rc;
  if ((rc = weft_timeout_enter(self, 10, &inner)) < 0)
    return rc;
  rc = weft_sleep_await(loop, 10);
  int inner_expired = weft_timeout_expired(inner);
  rc = weft_timeout_exit(inner, rc);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("inner-block %s inner-expired %s", casetrace_err(rc),
                   casetrace_bool(inner_expired));
  int outer_expired = weft_timeout_expired(outer);
  rc = weft_timeout_exit(outer, rc);
  if (rc == WEFT_ETIMEDOUT)
    casetrace_emit("outer-block %s outer-expired %s", casetrace_err(rc),
                   casetrace_bool(outer_expired));
  casetrace_emit("cancelling %d", weft_task_cancelling(self));

  if ((rc = weft_timeout_enter(self, 10, &outer)) < 0)
    return rc;
  if ((rc = weft_timeout_enter(self, 0.05, &inner)) < 0)
    return rc;
  rc = weft_sleep_await(loop, 10);
  inner_expired = weft_timeout_expired(inner);
  rc = weft_timeout_exit(inner, rc);
  outer_expired = weft_timeout_expired(outer);
  rc = weft_timeout_exit(outer, rc);
  if (rc == WEFT_ETIMEDOUT)
    casetrace_emit("inner-first %s", casetrace_err(rc));
  casetrace_emit("end outer %s inner %s", casetrace_bool(outer_expired),
                 casetrace_bool(inner_expired));
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
