/* BoundedSemaphore: releasing more than was acquired is refused (the state error) and the
 * count does not move. */
#include <casetrace.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_semaphore_t *sem;
  int rc = weft_bounded_semaphore_new(casetrace_loop(self), 1, &sem);
  if (rc < 0)
    return rc;
  weft_semaphore_acquire_await(sem);
  weft_semaphore_unlock(sem);
  rc = weft_semaphore_unlock(sem);
  if (rc == 0)
    casetrace_emit("over-release accepted");
  else
    casetrace_emit("over-release %s", casetrace_err(rc));
  int acquired = weft_semaphore_acquire_await(sem) == 0;
  casetrace_emit("acquire %s locked %s", casetrace_bool(acquired),
                 casetrace_bool(weft_semaphore_locked(sem)));
  weft_semaphore_unlock(sem);
  weft_semaphore_release(sem);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
