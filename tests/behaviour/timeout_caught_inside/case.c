/* A task that catches the timeout's cancellation inside the block and goes on: the block
 * ends normally, with no ETIMEDOUT, but says it expired. */
#include <casetrace.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_timeout_t *cm;
  int rc = weft_timeout_enter(self, 0.05, &cm);
  if (rc < 0)
    return rc;
  rc = weft_sleep_await(loop, 10);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("caught %s", casetrace_err(rc));
  rc = weft_sleep_await(loop, 0);
  if (rc == 0)
    casetrace_emit("body continues");
  int expired = weft_timeout_expired(cm);
  if ((rc = weft_timeout_exit(cm, rc)) < 0)
    return rc;
  casetrace_emit("block-ended expired %s cancelling %d", casetrace_bool(expired),
                 weft_task_cancelling(self));
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
