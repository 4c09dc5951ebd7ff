/* What asyncio's synchronization primitives (Lock, Event, Condition, Semaphore,
 * BoundedSemaphore, Barrier) share: their common head and their waiters.
 *
 * Every wait is a waiter future in the primitive's FIFO list. Grants are made when the
 * waiter is woken (the lock handed over, a permit counted out), so a future-form caller owns
 * what it waited for as soon as its future is done. The bookkeeping asyncio does after
 * `await fut` (leave the line, pass spare permits on) runs in the waiter's first done
 * callback, which the loop schedules before the awaiting task's own
 * wake-up; the in-task forms run the same "settle" step again after weft_await, and it is
 * idempotent, so the outcome never depends on callback order. */
#include "sync_internal.h"

#include <stdlib.h>

void weft__prim_ref(weft__prim_t *p) {
  p->refs++;
}

void weft__prim_unref(weft__prim_t *p) {
  if (--p->refs > 0)
    return;
  switch (p->kind) {
  case WEFT__PRIM_CONDITION:
    weft__prim_unref(&((weft_condition_t *)p)->lock->p);
    break;
  case WEFT__PRIM_BARRIER:
    weft__prim_unref(&((weft_barrier_t *)p)->cond->p);
    break;
  default:
    break;
  }
  free(p);
}

void weft__prim_init(weft__prim_t *p, int kind, weft_loop_t *loop) {
  p->kind = kind;
  p->refs = 1;
  p->loop = loop;
  p->waiters.head = p->waiters.tail = NULL;
}

int weft__done_future(weft_loop_t *loop, int code, weft_value_t value, weft_future_t **out) {
  weft_future_t *f;
  int rc = weft_future_new(loop, &f);
  if (rc != 0) {
    weft_value_clear(&value);
    return rc;
  }
  if (code != 0)
    rc = weft_future_set_error(f, code, NULL, NULL, NULL);
  else
    rc = weft_future_set_result(f, value);
  if (rc != 0) {
    weft_future_release(f);
    return rc;
  }
  *out = f;
  return 0;
}

int weft__await_done(weft_future_t *future) {
  int rc = weft_await(future);
  /* A cancellation of the awaiting task is passed to `future` (a task), which may need more
   * loop iterations to finish; the caller's contract says it is done on return. */
  while (rc == WEFT_ECANCELLED && !weft_future_done(future)) {
    if (weft_await(future) == WEFT_ENOTINTASK)
      break;
  }
  return rc;
}

/* ---- Waiters ---- */

void weft__waiter_settle(weft__waiter_t *w) {
  if (w->settled || !weft_future_done(w->fut))
    return;
  w->settled = 1;
  weft__wlist_unlink(&w->prim->waiters, &w->node);
  switch (w->prim->kind) {
  case WEFT__PRIM_LOCK:
    weft__lock_settled((weft_lock_t *)w->prim, w);
    break;
  case WEFT__PRIM_SEMAPHORE:
    /* Waiters that arrived while permits were free queued behind us for fairness. */
    weft__sem_wake_loop((weft_semaphore_t *)w->prim);
    break;
  default:
    break;
  }
}

void weft__waiter_unref(weft__waiter_t *w) {
  if (--w->refs > 0)
    return;
  weft_future_release(w->fut);
  weft__prim_unref(w->prim);
  free(w);
}

static void waiter_done_cb(weft_future_t *future, void *arg) {
  weft__waiter_t *w = arg;
  if (!weft_future_done(future)) {
    /* The loop's close: the wait ends with nothing granted, and leaves the line. */
    w->settled = 1;
    weft__wlist_unlink(&w->prim->waiters, &w->node);
  }
  weft__waiter_settle(w);
  weft__waiter_unref(w);
}

int weft__waiter_new(weft__prim_t *p, weft__waiter_t **out) {
  weft__waiter_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return WEFT_ENOMEM;
  int rc = weft_future_new(p->loop, &w->fut);
  if (rc != 0) {
    free(w);
    return rc;
  }
  weft__future_watch_op(&w->watch, w->fut, waiter_done_cb, w);
  w->prim = p;
  w->refs = 2;
  weft__prim_ref(p);
  weft__wlist_push(&p->waiters, &w->node);
  *out = w;
  return 0;
}

int weft__waiter_to_future(weft__prim_t *p, weft__waiter_t *w, weft_future_t **out) {
  if (w == NULL)
    return weft__done_future(p->loop, 0, weft_value_none(), out);
  *out = weft_future_retain(w->fut);
  weft__waiter_unref(w);
  return 0;
}

int weft__waiter_await(weft__waiter_t *w) {
  int rc = weft_await(w->fut);
  if (!weft_future_done(w->fut))
    weft_future_cancel(w->fut, NULL);
  weft__waiter_settle(w);
  return rc;
}
