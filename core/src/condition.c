/* asyncio's Condition: wait for a notification while holding a lock. A wait is a
 * step-driven task (see sync_internal.h), because it must re-acquire the lock even when
 * cancelled. */
#include "sync_internal.h"

#include <stdint.h>
#include <stdlib.h>

int weft_condition_new(weft_loop_t *loop, weft_lock_t *lock, weft_condition_t **out) {
  if (loop == NULL || out == NULL)
    return WEFT_EINVAL;
  if (lock != NULL && lock->p.loop != loop)
    return WEFT_EINVAL;
  weft_condition_t *cond = calloc(1, sizeof *cond);
  if (cond == NULL)
    return WEFT_ENOMEM;
  if (lock != NULL) {
    weft__prim_ref(&lock->p);
  } else {
    int rc = weft_lock_new(loop, &lock);
    if (rc != 0) {
      free(cond);
      return rc;
    }
  }
  weft__prim_init(&cond->p, WEFT__PRIM_CONDITION, loop);
  cond->lock = lock;
  *out = cond;
  return 0;
}

weft_condition_t *weft_condition_retain(weft_condition_t *cond) {
  if (cond != NULL)
    weft__prim_ref(&cond->p);
  return cond;
}

void weft_condition_release(weft_condition_t *cond) {
  if (cond != NULL)
    weft__prim_unref(&cond->p);
}

weft_lock_t *weft_condition_lock(weft_condition_t *cond) {
  return cond != NULL ? cond->lock : NULL;
}

int weft_condition_acquire_await(weft_condition_t *cond) {
  return cond != NULL ? weft_lock_acquire_await(cond->lock) : WEFT_EINVAL;
}

int weft_condition_acquire(weft_condition_t *cond, weft_future_t **out) {
  return cond != NULL ? weft_lock_acquire(cond->lock, out) : WEFT_EINVAL;
}

int weft_condition_unlock(weft_condition_t *cond) {
  return cond != NULL ? weft_lock_unlock(cond->lock) : WEFT_EINVAL;
}

int weft_condition_locked(const weft_condition_t *cond) {
  return cond != NULL && weft_lock_locked(cond->lock);
}

void weft__cond_notify(weft_condition_t *cond, size_t n) {
  size_t woken = 0;
  for (weft__wnode_t *node = cond->p.waiters.head; node != NULL && woken < n; node = node->next) {
    if (!weft_future_done(weft__waiter_of(node)->fut)) {
      weft_future_set_result(weft__waiter_of(node)->fut, weft_value_none());
      woken++;
    }
  }
}

int weft_condition_notify(weft_condition_t *cond, size_t n) {
  if (cond == NULL)
    return WEFT_EINVAL;
  if (!cond->lock->locked)
    return WEFT_EINVALIDSTATE;
  weft__cond_notify(cond, n);
  return 0;
}

int weft_condition_notify_all(weft_condition_t *cond) {
  return weft_condition_notify(cond, SIZE_MAX);
}

enum cond_pc { C_CHECK, C_WAIT, C_NOTIFY, C_ACQUIRE, C_ACQUIRE_WAIT };

typedef struct cond_op_s {
  weft_condition_t *cond;
  weft_predicate_fn predicate; /* NULL for a plain wait */
  void *arg;
  int pc;
  int cancelled;
  int interrupt;
  int finished;
  weft__waiter_t *notified; /* the notification we wait for */
  weft__waiter_t *relock;   /* our turn at the lock */
  int outcome;
  int64_t result;
} cond_op_t;

static int cond_run(cond_op_t *op, weft_future_t **awaiting) {
  weft_condition_t *cond = op->cond;
  int rc;
  for (;;) {
    switch (op->pc) {
    case C_CHECK:
      if (op->predicate != NULL) {
        int value = op->predicate(op->arg);
        if (value) {
          op->result = value;
          op->outcome = 0;
          return WEFT__OP_DONE;
        }
      }
      op->pc = C_WAIT;
      break;
    case C_WAIT:
      rc = weft__waiter_new(&cond->p, &op->notified);
      if (rc != 0) {
        op->outcome = rc; /* still holding the lock, as promised */
        return WEFT__OP_DONE;
      }
      weft_lock_unlock(cond->lock);
      op->pc = C_NOTIFY;
      break;
    case C_NOTIFY:
      if (!weft_future_done(op->notified->fut)) {
        if (!op->interrupt) {
          *awaiting = op->notified->fut;
          return WEFT__OP_SUSPEND;
        }
        op->interrupt = 0;
        weft_future_cancel(op->notified->fut, NULL);
      }
      weft__waiter_settle(op->notified);
      if (weft_future_cancelled(op->notified->fut))
        op->cancelled = 1;
      weft__waiter_unref(op->notified);
      op->notified = NULL;
      op->pc = C_ACQUIRE;
      break;
    case C_ACQUIRE:
      rc = weft__lock_begin(cond->lock, &op->relock);
      if (rc != 0) {
        op->outcome = rc;
        return WEFT__OP_DONE;
      }
      if (op->relock != NULL) {
        op->pc = C_ACQUIRE_WAIT;
        break;
      }
      goto relocked;
    case C_ACQUIRE_WAIT:
      if (!weft_future_done(op->relock->fut)) {
        if (!op->interrupt) {
          *awaiting = op->relock->fut;
          return WEFT__OP_SUSPEND;
        }
        op->interrupt = 0;
      }
      if (!weft__lock_wait_finish(&op->relock, &op->cancelled)) {
        /* The lock must be held again whatever happens: queue up anew, as asyncio's
         * retry loop does. */
        op->pc = C_ACQUIRE;
        break;
      }
    relocked:
      if (op->cancelled) {
        /* We may have consumed a notification meant to wake someone: pass one on. */
        weft__cond_notify(cond, 1);
        op->outcome = WEFT_ECANCELLED;
        return WEFT__OP_DONE;
      }
      if (op->predicate == NULL) {
        op->outcome = 0;
        return WEFT__OP_DONE;
      }
      op->pc = C_CHECK;
      break;
    }
  }
}

static void cond_op_free(cond_op_t *op) {
  if (op->notified != NULL) {
    weft_future_cancel(op->notified->fut, NULL);
    weft__waiter_unref(op->notified);
  }
  if (op->relock != NULL) {
    weft_future_cancel(op->relock->fut, NULL);
    weft__waiter_unref(op->relock);
  }
  weft__prim_unref(&op->cond->p);
  free(op);
}

static void cond_step(weft_task_t *task, int throw_code, void *arg) {
  cond_op_t *op = arg;
  op->interrupt = throw_code == WEFT_ECANCELLED;
  if (op->interrupt)
    op->cancelled = 1;
  weft_future_t *awaiting = NULL;
  if (!op->finished && cond_run(op, &awaiting) == WEFT__OP_SUSPEND) {
    weft_task_suspend(task, awaiting);
    return;
  }
  if (op->outcome != 0)
    weft_task_fail(task, op->outcome, NULL, NULL, NULL);
  else if (op->predicate != NULL)
    weft_task_return(task, weft_value_int(op->result));
  else
    weft_task_return(task, weft_value_none());
  cond_op_free(op);
}

int weft__cond_wait_start(weft_condition_t *cond, weft_predicate_fn predicate, void *arg,
                          weft_future_t **out) {
  if (!cond->lock->locked)
    return WEFT_EINVALIDSTATE;
  if (predicate != NULL) {
    int value = predicate(arg);
    if (value)
      return weft__done_future(cond->p.loop, 0, weft_value_int(value), out);
  }
  cond_op_t *op = calloc(1, sizeof *op);
  if (op == NULL)
    return WEFT_ENOMEM;
  op->cond = cond;
  weft__prim_ref(&cond->p);
  op->predicate = predicate;
  op->arg = arg;
  op->pc = C_WAIT;
  /* The task exists before the lock is released, so failing to make it changes nothing. */
  weft_task_t *task;
  int rc = weft_task_new_stepped(cond->p.loop, cond_step, op, NULL, NULL, &task);
  if (rc != 0) {
    cond_op_free(op);
    return rc;
  }
  /* Release and queue now, as a coroutine runs up to its first await. */
  weft_future_t *awaiting = NULL;
  if (cond_run(op, &awaiting) == WEFT__OP_DONE)
    op->finished = 1;
  *out = weft_future_retain(weft_task_future(task));
  weft_task_release(task);
  return 0;
}

int weft_condition_wait(weft_condition_t *cond, weft_future_t **out) {
  if (cond == NULL || out == NULL)
    return WEFT_EINVAL;
  return weft__cond_wait_start(cond, NULL, NULL, out);
}

int weft_condition_wait_for(weft_condition_t *cond, weft_predicate_fn predicate, void *arg,
                            weft_future_t **out) {
  if (cond == NULL || predicate == NULL || out == NULL)
    return WEFT_EINVAL;
  return weft__cond_wait_start(cond, predicate, arg, out);
}

static int cond_wait_in_task(weft_condition_t *cond, weft_predicate_fn predicate, void *arg) {
  if (!weft__in_task(cond->p.loop))
    return weft__not_in_task(cond->p.loop);
  weft_future_t *f;
  int rc = weft__cond_wait_start(cond, predicate, arg, &f);
  if (rc != 0)
    return rc;
  rc = weft__await_done(f);
  weft_future_release(f);
  return rc;
}

int weft_condition_wait_await(weft_condition_t *cond) {
  if (cond == NULL)
    return WEFT_EINVAL;
  return cond_wait_in_task(cond, NULL, NULL);
}

int weft_condition_wait_for_await(weft_condition_t *cond, weft_predicate_fn predicate, void *arg) {
  if (cond == NULL || predicate == NULL)
    return WEFT_EINVAL;
  return cond_wait_in_task(cond, predicate, arg);
}
