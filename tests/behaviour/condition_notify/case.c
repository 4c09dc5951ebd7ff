/* Condition: notify(n) wakes the n longest waiters, in order, each re-acquiring the lock in
 * turn; notify_all wakes the rest; notifying without the lock is refused. */
#include <casetrace.h>

static weft_condition_t *cond;

static int waiter(weft_task_t *self, void *arg) {
  int rc = weft_condition_acquire_await(cond);
  if (rc < 0)
    return rc;
  casetrace_emit("waits %s", (const char *)arg);
  rc = weft_condition_wait_await(cond);
  if (rc == 0) {
    casetrace_emit("woken %s holds-lock %s", (const char *)arg,
                   casetrace_bool(weft_condition_locked(cond)));
    rc = weft_sleep_await(casetrace_loop(self), 0);
  }
  weft_condition_unlock(cond);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const char *names[] = {"a", "b", "c", "d", "e"};
  weft_task_t *tasks[5];
  weft_future_t *futs[5], *g;
  int rc = weft_condition_new(loop, NULL, &cond);
  if (rc < 0)
    return rc;
  for (int i = 0; i < 5; i++) {
    if ((rc = weft_task_spawn(loop, waiter, (void *)names[i], NULL, &tasks[i])) < 0)
      return rc;
    futs[i] = weft_task_future(tasks[i]);
  }
  weft_sleep_await(loop, 0);
  weft_condition_acquire_await(cond);
  casetrace_emit("notify 2");
  weft_condition_notify(cond, 2);
  weft_condition_unlock(cond);
  weft_sleep_await(loop, 0.01);
  weft_condition_acquire_await(cond);
  casetrace_emit("notify_all");
  weft_condition_notify_all(cond);
  weft_condition_unlock(cond);
  if ((rc = weft_gather(loop, futs, 5, 0, &g)) < 0)
    return rc;
  rc = weft_await(g);
  weft_future_release(g);
  for (int i = 0; i < 5; i++)
    weft_task_release(tasks[i]);
  int refused = weft_condition_notify(cond, 1);
  if (refused < 0)
    casetrace_emit("notify-unlocked %s", casetrace_err(refused));
  weft_condition_release(cond);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
