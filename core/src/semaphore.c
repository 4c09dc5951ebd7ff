/* asyncio's Semaphore and BoundedSemaphore: a counter of permits, handed out in FIFO
 * order. */
#include "sync_internal.h"

#include <stdint.h>
#include <stdlib.h>

struct weft_semaphore_s {
  weft__prim_t p;
  int64_t value;
  int64_t bound; /* -1: unbounded */
};

static int sem_new(weft_loop_t *loop, int64_t value, int64_t bound, weft_semaphore_t **out) {
  if (loop == NULL || out == NULL || value < 0)
    return WEFT_EINVAL;
  weft_semaphore_t *sem = calloc(1, sizeof *sem);
  if (sem == NULL)
    return WEFT_ENOMEM;
  weft__prim_init(&sem->p, WEFT__PRIM_SEMAPHORE, loop);
  sem->value = value;
  sem->bound = bound;
  *out = sem;
  return 0;
}

int weft_semaphore_new(weft_loop_t *loop, int64_t value, weft_semaphore_t **out) {
  return sem_new(loop, value, -1, out);
}

int weft_bounded_semaphore_new(weft_loop_t *loop, int64_t value, weft_semaphore_t **out) {
  return sem_new(loop, value, value, out);
}

weft_semaphore_t *weft_semaphore_retain(weft_semaphore_t *sem) {
  if (sem != NULL)
    weft__prim_ref(&sem->p);
  return sem;
}

void weft_semaphore_release(weft_semaphore_t *sem) {
  if (sem != NULL)
    weft__prim_unref(&sem->p);
}

static int sem_is_locked(const weft_semaphore_t *sem) {
  if (sem->value == 0)
    return 1;
  /* Free permits still belong to those already waiting (FIFO). */
  for (weft__wnode_t *n = sem->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_cancelled(weft__waiter_of(n)->fut))
      return 1;
  }
  return 0;
}

/* Grants a permit to the first waiter not yet woken; 0 if there is none. */
static int sem_wake_next(weft_semaphore_t *sem) {
  for (weft__wnode_t *n = sem->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_done(weft__waiter_of(n)->fut)) {
      sem->value--;
      weft_future_set_result(weft__waiter_of(n)->fut, weft_value_none());
      return 1;
    }
  }
  return 0;
}

void weft__sem_wake_loop(weft_semaphore_t *sem) {
  while (sem->value > 0 && sem_wake_next(sem))
    ;
}

static int sem_begin(weft_semaphore_t *sem, weft__waiter_t **wait_out) {
  *wait_out = NULL;
  if (!sem_is_locked(sem)) {
    sem->value--;
    return 0;
  }
  return weft__waiter_new(&sem->p, wait_out);
}

int weft_semaphore_acquire_await(weft_semaphore_t *sem) {
  if (sem == NULL)
    return WEFT_EINVAL;
  if (!weft__in_task(sem->p.loop))
    return weft__not_in_task(sem->p.loop);
  weft__waiter_t *w;
  int rc = sem_begin(sem, &w);
  if (rc != 0 || w == NULL)
    return rc;
  rc = weft__waiter_await(w);
  if (rc != 0 && weft__got(w)) {
    /* The permit was handed over, but the task will not use it: return it (not through
     * release, which a bounded semaphore could refuse) and pass it on. */
    sem->value++;
    weft__sem_wake_loop(sem);
  }
  weft__waiter_unref(w);
  return rc;
}

int weft_semaphore_acquire(weft_semaphore_t *sem, weft_future_t **out) {
  if (sem == NULL || out == NULL)
    return WEFT_EINVAL;
  weft__waiter_t *w;
  int rc = sem_begin(sem, &w);
  if (rc != 0)
    return rc;
  return weft__waiter_to_future(&sem->p, w, out);
}

int weft_semaphore_unlock(weft_semaphore_t *sem) {
  if (sem == NULL)
    return WEFT_EINVAL;
  if (sem->bound >= 0 && sem->value >= sem->bound)
    return WEFT_EINVALIDSTATE;
  sem->value++;
  sem_wake_next(sem);
  return 0;
}

int weft_semaphore_locked(const weft_semaphore_t *sem) {
  return sem != NULL && sem_is_locked(sem);
}

int64_t weft_semaphore_value(const weft_semaphore_t *sem) {
  if (sem == NULL)
    return WEFT_EINVAL;
  return sem->value;
}
