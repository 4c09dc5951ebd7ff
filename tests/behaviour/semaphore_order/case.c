/* Semaphore: acquire takes a permit without waiting while there is one; waiters get
 * released permits in the order they waited. */
#include <casetrace.h>

static weft_semaphore_t *sem;

static int worker(weft_task_t *self, void *arg) {
  int rc = weft_semaphore_acquire_await(sem);
  if (rc < 0)
    return rc;
  casetrace_emit("enter %s locked %s", (const char *)arg,
                 casetrace_bool(weft_semaphore_locked(sem)));
  rc = casetrace_steps(casetrace_loop(self), 2);
  weft_semaphore_unlock(sem);
  if (rc < 0)
    return rc;
  casetrace_emit("exit %s", (const char *)arg);
  return 0;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const char *names[] = {"a", "b", "c", "d", "e"};
  weft_task_t *tasks[5];
  weft_future_t *futs[5], *g;
  int rc = weft_semaphore_new(loop, 2, &sem);
  if (rc < 0)
    return rc;
  for (int i = 0; i < 5; i++) {
    if ((rc = weft_task_spawn(loop, worker, (void *)names[i], NULL, &tasks[i])) < 0)
      return rc;
    futs[i] = weft_task_future(tasks[i]);
  }
  if ((rc = weft_gather(loop, futs, 5, 0, &g)) < 0)
    return rc;
  rc = weft_await(g);
  weft_future_release(g);
  for (int i = 0; i < 5; i++)
    weft_task_release(tasks[i]);
  if (rc < 0)
    return rc;
  casetrace_emit("locked %s", casetrace_bool(weft_semaphore_locked(sem)));
  weft_semaphore_unlock(sem); /* a plain semaphore may go above its initial value */
  int a1 = weft_semaphore_acquire_await(sem) == 0;
  int a2 = weft_semaphore_acquire_await(sem) == 0;
  int a3 = weft_semaphore_acquire_await(sem) == 0;
  casetrace_emit("acquire-three %s %s %s", casetrace_bool(a1), casetrace_bool(a2),
                 casetrace_bool(a3));
  casetrace_emit("locked %s", casetrace_bool(weft_semaphore_locked(sem)));
  weft_semaphore_release(sem);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
