/* Lock: waiters acquire in the order they started waiting; locked() tracks the state; a
 * waiter cancelled in the queue is skipped; unlocking an unlocked lock is refused. */
#include <casetrace.h>

static weft_lock_t *lock;

static int waiter(weft_task_t *self, void *arg) {
  int rc = weft_lock_acquire_await(lock);
  if (rc < 0)
    return rc;
  casetrace_emit("holds %s", (const char *)arg);
  rc = weft_sleep_await(casetrace_loop(self), 0);
  weft_lock_unlock(lock);
  if (rc < 0)
    return rc;
  casetrace_emit("released %s", (const char *)arg);
  return 0;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const char *names[] = {"a", "b", "c", "d"};
  weft_task_t *tasks[4];
  weft_future_t *futs[4], *g;
  int rc = weft_lock_new(loop, &lock);
  if (rc < 0)
    return rc;
  casetrace_emit("locked %s", casetrace_bool(weft_lock_locked(lock)));
  weft_lock_acquire_await(lock);
  casetrace_emit("locked %s", casetrace_bool(weft_lock_locked(lock)));
  for (int i = 0; i < 4; i++) {
    if ((rc = weft_task_spawn(loop, waiter, (void *)names[i], NULL, &tasks[i])) < 0)
      return rc;
    futs[i] = weft_task_future(tasks[i]);
  }
  weft_sleep_await(loop, 0);
  weft_task_cancel(tasks[1], NULL);
  weft_lock_unlock(lock);
  if ((rc = weft_gather(loop, futs, 4, 1, &g)) < 0)
    return rc;
  rc = weft_await(g);
  weft_future_release(g);
  casetrace_emit("b cancelled %s locked %s", casetrace_bool(weft_future_cancelled(futs[1])),
                 casetrace_bool(weft_lock_locked(lock)));
  rc = weft_lock_unlock(lock);
  if (rc < 0)
    casetrace_emit("release-unlocked %s", casetrace_err(rc));
  for (int i = 0; i < 4; i++)
    weft_task_release(tasks[i]);
  weft_lock_release(lock);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
