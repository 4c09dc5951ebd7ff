/* A cancel message travels down the chain of awaits: cancelling the outer task cancels the
 * task it awaits with the same message, and each level sees it. */
#include <casetrace.h>

static int inner(weft_task_t *self, void *arg) {
  (void)arg;
  weft_future_t *sleep;
  int rc = weft_sleep(casetrace_loop(self), 10, &sleep);
  if (rc < 0)
    return rc;
  rc = weft_await(sleep);
  if (rc == WEFT_ECANCELLED) {
    char m[64];
    casetrace_emit("inner %s %s", casetrace_err(rc),
                   casetrace_msg(m, sizeof m, weft_future_error_message(sleep)));
  }
  weft_future_release(sleep);
  return rc;
}

static int outer(weft_task_t *self, void *arg) {
  (void)arg;
  weft_task_t *t;
  int rc = weft_task_spawn(casetrace_loop(self), inner, NULL, NULL, &t);
  if (rc < 0)
    return rc;
  rc = weft_await(weft_task_future(t));
  if (rc == WEFT_ECANCELLED) {
    char m[64];
    casetrace_emit("outer %s %s", casetrace_err(rc),
                   casetrace_msg(m, sizeof m, weft_future_error_message(weft_task_future(t))));
  }
  weft_task_release(t);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_task_t *t;
  int rc = weft_task_spawn(loop, outer, NULL, NULL, &t);
  if (rc < 0)
    return rc;
  casetrace_steps(loop, 2);
  weft_task_cancel(t, "shutting down");
  rc = weft_await(weft_task_future(t));
  if (rc == WEFT_ECANCELLED) {
    char m[64];
    casetrace_emit("main %s %s", casetrace_err(rc),
                   casetrace_msg(m, sizeof m, weft_future_error_message(weft_task_future(t))));
  }
  weft_task_release(t);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
