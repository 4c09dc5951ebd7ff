/* asyncio's Lock. Not owned by a task: any task may release it. A release hands the lock
 * straight to the first waiter (see lock_hand_over), yet locked() answers as asyncio's
 * does, 0 until that waiter has run. */
#include "sync_internal.h"

#include <stdlib.h>

int weft_lock_new(weft_loop_t *loop, weft_lock_t **out) {
  if (loop == NULL || out == NULL)
    return WEFT_EINVAL;
  weft_lock_t *lock = calloc(1, sizeof *lock);
  if (lock == NULL)
    return WEFT_ENOMEM;
  weft__prim_init(&lock->p, WEFT__PRIM_LOCK, loop);
  *out = lock;
  return 0;
}

weft_lock_t *weft_lock_retain(weft_lock_t *lock) {
  if (lock != NULL)
    weft__prim_ref(&lock->p);
  return lock;
}

void weft_lock_release(weft_lock_t *lock) {
  if (lock != NULL)
    weft__prim_unref(&lock->p);
}

/* Passes the lock straight to the first waiter still waiting; 0 if there is none. A
 * direct hand-over (rather than asyncio's "unlock, and the woken task locks it when it
 * runs") is what lets a future-form caller own the lock the moment its future is done.
 * asyncio's lock is unlocked in between, but its woken waiter stays first in line, so no
 * one can take it then either; `handed` keeps only what locked() shows the same. */
static int lock_hand_over(weft_lock_t *lock) {
  for (weft__wnode_t *n = lock->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_done(weft__waiter_of(n)->fut)) {
      weft_future_set_result(weft__waiter_of(n)->fut, weft_value_none());
      lock->handed++;
      return 1;
    }
  }
  return 0;
}

void weft__lock_settled(weft_lock_t *lock, const weft__waiter_t *w) {
  /* Only a hand-over finishes a lock waiter with a result. */
  if (weft__got(w))
    lock->handed--;
}

int weft__lock_can_take(const weft_lock_t *lock) {
  return !lock->locked;
}

int weft__lock_begin(weft_lock_t *lock, weft__waiter_t **wait_out) {
  *wait_out = NULL;
  if (weft__lock_can_take(lock)) {
    lock->locked = 1;
    return 0;
  }
  return weft__waiter_new(&lock->p, wait_out);
}

int weft_lock_acquire_await(weft_lock_t *lock) {
  if (lock == NULL)
    return WEFT_EINVAL;
  if (!weft__in_task(lock->p.loop))
    return weft__not_in_task(lock->p.loop);
  weft__waiter_t *w;
  int rc = weft__lock_begin(lock, &w);
  if (rc != 0 || w == NULL)
    return rc;
  rc = weft__waiter_await(w);
  if (rc != 0 && weft__got(w)) {
    /* Granted, but the task was cancelled before it could resume: in asyncio it would
     * never have taken the lock, so pass it to the next in line. */
    weft_lock_unlock(lock);
  }
  weft__waiter_unref(w);
  return rc;
}

int weft_lock_acquire(weft_lock_t *lock, weft_future_t **out) {
  if (lock == NULL || out == NULL)
    return WEFT_EINVAL;
  weft__waiter_t *w;
  int rc = weft__lock_begin(lock, &w);
  if (rc != 0)
    return rc;
  return weft__waiter_to_future(&lock->p, w, out);
}

int weft_lock_unlock(weft_lock_t *lock) {
  if (lock == NULL)
    return WEFT_EINVAL;
  if (!lock->locked)
    return WEFT_EINVALIDSTATE;
  if (!lock_hand_over(lock))
    lock->locked = 0;
  return 0;
}

int weft_lock_locked(const weft_lock_t *lock) {
  return lock != NULL && lock->locked && lock->handed == 0;
}

int weft__lock_wait_finish(weft__waiter_t **wp, int *cancelled) {
  weft__waiter_t *w = *wp;
  if (!weft_future_done(w->fut))
    weft_future_cancel(w->fut, NULL);
  weft__waiter_settle(w);
  int ok = weft__got(w);
  if (weft_future_cancelled(w->fut))
    *cancelled = 1;
  weft__waiter_unref(w);
  *wp = NULL;
  return ok;
}
