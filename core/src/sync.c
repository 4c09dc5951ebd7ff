/* asyncio's synchronization primitives: Lock, Event, Condition, Semaphore, BoundedSemaphore,
 * Barrier.
 *
 * Every wait is a waiter future in the primitive's FIFO list. Grants are made when the
 * waiter is woken (the lock handed over, a permit counted out), so a future-form caller owns
 * what it waited for as soon as its future is done. The bookkeeping asyncio does after
 * `await fut` (leave the line, pass spare permits on) runs in the waiter's first done
 * callback, which the loop schedules before the awaiting task's own
 * wake-up; the in-task forms run the same "settle" step again after weft_await, and it is
 * idempotent, so the outcome never depends on callback order.
 *
 * Operations that await more than once (Condition.wait must re-acquire the lock even when
 * cancelled; Barrier.wait takes a lock and waits on a condition) are small state machines
 * run as step-driven tasks, because only a task can turn a cancellation request into "clean
 * up, then end cancelled". Their first stretch runs synchronously, as a coroutine would run
 * up to its first suspension, so their effects (a lock released, a barrier count) are
 * visible at once. */
#include "sync_internal.h"

#include <stdint.h>
#include <stdlib.h>

enum prim_kind { PRIM_LOCK, PRIM_EVENT, PRIM_SEMAPHORE, PRIM_CONDITION, PRIM_BARRIER };

/* The head of every primitive: what waiters and pending operations share. */
typedef struct prim_s {
  int kind;
  int refs; /* the creator's handle, each live waiter and operation */
  weft_loop_t *loop;
  weft__wlist_t waiters;
} prim_t;

struct weft_lock_s {
  prim_t p;
  int locked;
};

struct weft_event_s {
  prim_t p;
  int set;
};

struct weft_semaphore_s {
  prim_t p;
  int64_t value;
  int64_t bound; /* -1: unbounded */
};

struct weft_condition_s {
  prim_t p;
  weft_lock_t *lock; /* holds a reference */
};

enum barrier_state { B_FILLING, B_DRAINING, B_RESETTING, B_BROKEN };

struct weft_barrier_s {
  prim_t p;
  weft_condition_t *cond; /* owned; over a lock of its own */
  size_t parties;
  size_t count;
  int state;
};

typedef struct waiter_s {
  weft__wnode_t node; /* first, so a list node is its waiter */
  weft_future_t *fut;
  prim_t *prim;
  int refs; /* the done callback and whoever started the wait */
  int settled;
} waiter_t;

static void prim_ref(prim_t *p) {
  p->refs++;
}

static void prim_unref(prim_t *p) {
  if (--p->refs > 0)
    return;
  switch (p->kind) {
  case PRIM_CONDITION:
    prim_unref(&((weft_condition_t *)p)->lock->p);
    break;
  case PRIM_BARRIER:
    prim_unref(&((weft_barrier_t *)p)->cond->p);
    break;
  default:
    break;
  }
  free(p);
}

static void prim_init(prim_t *p, int kind, weft_loop_t *loop) {
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

static waiter_t *waiter_of(weft__wnode_t *node) {
  return (waiter_t *)node;
}

static int got(const waiter_t *w) {
  return weft_future_done(w->fut) && !weft_future_cancelled(w->fut);
}

static void sem_wake_loop(weft_semaphore_t *sem);

/* asyncio's code after `await fut`, for whichever primitive the waiter belongs to. */
static void waiter_settle(waiter_t *w) {
  if (w->settled || !weft_future_done(w->fut))
    return;
  w->settled = 1;
  weft__wlist_unlink(&w->prim->waiters, &w->node);
  switch (w->prim->kind) {
  case PRIM_SEMAPHORE:
    /* Waiters that arrived while permits were free queued behind us for fairness. */
    sem_wake_loop((weft_semaphore_t *)w->prim);
    break;
  default:
    break;
  }
}

static void waiter_unref(waiter_t *w) {
  if (--w->refs > 0)
    return;
  weft_future_release(w->fut);
  prim_unref(w->prim);
  free(w);
}

static void waiter_done_cb(weft_future_t *future, void *arg) {
  waiter_t *w = arg;
  waiter_settle(w);
  waiter_unref(w);
}

static int waiter_new(prim_t *p, waiter_t **out) {
  waiter_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return WEFT_ENOMEM;
  int rc = weft_future_new(p->loop, &w->fut);
  if (rc != 0) {
    free(w);
    return rc;
  }
  rc = weft_future_add_done_callback(w->fut, waiter_done_cb, w);
  if (rc != 0) {
    weft_future_release(w->fut);
    free(w);
    return rc;
  }
  w->prim = p;
  w->refs = 2;
  prim_ref(p);
  weft__wlist_push(&p->waiters, &w->node);
  *out = w;
  return 0;
}

/* Hands the caller a waiter's future, or a finished one when nothing had to wait. */
static int waiter_to_future(prim_t *p, waiter_t *w, weft_future_t **out) {
  if (w == NULL)
    return weft__done_future(p->loop, 0, weft_value_none(), out);
  *out = weft_future_retain(w->fut);
  waiter_unref(w);
  return 0;
}

/* In a task: awaits the waiter and settles it. Returns weft_await's code; got(w) tells
 * whether the wait was granted, which can be so even when the task was cancelled. */
static int waiter_await(waiter_t *w) {
  int rc = weft_await(w->fut);
  if (!weft_future_done(w->fut))
    weft_future_cancel(w->fut, NULL);
  waiter_settle(w);
  return rc;
}

static int in_task(weft_loop_t *loop) {
  return weft_current_task(loop) != NULL;
}

/* ---- Lock ---- */

int weft_lock_new(weft_loop_t *loop, weft_lock_t **out) {
  if (loop == NULL || out == NULL)
    return WEFT_EINVAL;
  weft_lock_t *lock = calloc(1, sizeof *lock);
  if (lock == NULL)
    return WEFT_ENOMEM;
  prim_init(&lock->p, PRIM_LOCK, loop);
  *out = lock;
  return 0;
}

void weft_lock_free(weft_lock_t *lock) {
  if (lock != NULL)
    prim_unref(&lock->p);
}

/* Passes the lock straight to the first waiter still waiting; 0 if there is none. A
 * direct hand-over (rather than asyncio's "unlock, and the woken task locks it when it
 * runs") is what lets a future-form caller own the lock the moment its future is done. */
static int lock_hand_over(weft_lock_t *lock) {
  for (weft__wnode_t *n = lock->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_done(waiter_of(n)->fut)) {
      weft_future_set_result(waiter_of(n)->fut, weft_value_none());
      return 1;
    }
  }
  return 0;
}

/* A release with someone in line hands the lock over, so an unlocked lock never has a live
 * waiter and nobody can barge past one. */
static int lock_can_take(const weft_lock_t *lock) {
  return !lock->locked;
}

/* Takes the lock at once (*wait_out NULL) or queues a waiter. */
static int lock_begin(weft_lock_t *lock, waiter_t **wait_out) {
  *wait_out = NULL;
  if (lock_can_take(lock)) {
    lock->locked = 1;
    return 0;
  }
  return waiter_new(&lock->p, wait_out);
}

int weft_lock_acquire(weft_lock_t *lock) {
  if (lock == NULL)
    return WEFT_EINVAL;
  if (!in_task(lock->p.loop))
    return WEFT_ENOTINTASK;
  waiter_t *w;
  int rc = lock_begin(lock, &w);
  if (rc != 0 || w == NULL)
    return rc;
  rc = waiter_await(w);
  if (rc != 0 && got(w)) {
    /* Granted, but the task was cancelled before it could resume: in asyncio it would
     * never have taken the lock, so pass it to the next in line. */
    weft_lock_release(lock);
  }
  waiter_unref(w);
  return rc;
}

int weft_lock_acquire_future(weft_lock_t *lock, weft_future_t **out) {
  if (lock == NULL || out == NULL)
    return WEFT_EINVAL;
  waiter_t *w;
  int rc = lock_begin(lock, &w);
  if (rc != 0)
    return rc;
  return waiter_to_future(&lock->p, w, out);
}

int weft_lock_release(weft_lock_t *lock) {
  if (lock == NULL)
    return WEFT_EINVAL;
  if (!lock->locked)
    return WEFT_EINVALIDSTATE;
  if (!lock_hand_over(lock))
    lock->locked = 0;
  return 0;
}

int weft_lock_locked(const weft_lock_t *lock) {
  if (lock == NULL)
    return WEFT_EINVAL;
  return lock->locked;
}

/* ---- Event ---- */

int weft_event_new(weft_loop_t *loop, weft_event_t **out) {
  if (loop == NULL || out == NULL)
    return WEFT_EINVAL;
  weft_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL)
    return WEFT_ENOMEM;
  prim_init(&ev->p, PRIM_EVENT, loop);
  *out = ev;
  return 0;
}

void weft_event_free(weft_event_t *event) {
  if (event != NULL)
    prim_unref(&event->p);
}

static int event_begin(weft_event_t *ev, waiter_t **wait_out) {
  *wait_out = NULL;
  if (ev->set)
    return 0;
  return waiter_new(&ev->p, wait_out);
}

int weft_event_wait(weft_event_t *event) {
  if (event == NULL)
    return WEFT_EINVAL;
  if (!in_task(event->p.loop))
    return WEFT_ENOTINTASK;
  waiter_t *w;
  int rc = event_begin(event, &w);
  if (rc != 0 || w == NULL)
    return rc;
  rc = waiter_await(w);
  waiter_unref(w);
  return rc;
}

int weft_event_wait_future(weft_event_t *event, weft_future_t **out) {
  if (event == NULL || out == NULL)
    return WEFT_EINVAL;
  waiter_t *w;
  int rc = event_begin(event, &w);
  if (rc != 0)
    return rc;
  return waiter_to_future(&event->p, w, out);
}

int weft_event_set(weft_event_t *event) {
  if (event == NULL)
    return WEFT_EINVAL;
  if (event->set)
    return 0;
  event->set = 1;
  for (weft__wnode_t *n = event->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_done(waiter_of(n)->fut))
      weft_future_set_result(waiter_of(n)->fut, weft_value_none());
  }
  return 0;
}

int weft_event_clear(weft_event_t *event) {
  if (event == NULL)
    return WEFT_EINVAL;
  event->set = 0;
  return 0;
}

int weft_event_is_set(const weft_event_t *event) {
  if (event == NULL)
    return WEFT_EINVAL;
  return event->set;
}

/* ---- Semaphore ---- */

static int sem_new(weft_loop_t *loop, int64_t value, int64_t bound, weft_semaphore_t **out) {
  if (loop == NULL || out == NULL || value < 0)
    return WEFT_EINVAL;
  weft_semaphore_t *sem = calloc(1, sizeof *sem);
  if (sem == NULL)
    return WEFT_ENOMEM;
  prim_init(&sem->p, PRIM_SEMAPHORE, loop);
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

void weft_semaphore_free(weft_semaphore_t *sem) {
  if (sem != NULL)
    prim_unref(&sem->p);
}

static int sem_is_locked(const weft_semaphore_t *sem) {
  if (sem->value == 0)
    return 1;
  /* Free permits still belong to those already waiting (FIFO). */
  for (weft__wnode_t *n = sem->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_cancelled(waiter_of(n)->fut))
      return 1;
  }
  return 0;
}

/* Grants a permit to the first waiter not yet woken; 0 if there is none. */
static int sem_wake_next(weft_semaphore_t *sem) {
  for (weft__wnode_t *n = sem->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_done(waiter_of(n)->fut)) {
      sem->value--;
      weft_future_set_result(waiter_of(n)->fut, weft_value_none());
      return 1;
    }
  }
  return 0;
}

static void sem_wake_loop(weft_semaphore_t *sem) {
  while (sem->value > 0 && sem_wake_next(sem))
    ;
}

static int sem_begin(weft_semaphore_t *sem, waiter_t **wait_out) {
  *wait_out = NULL;
  if (!sem_is_locked(sem)) {
    sem->value--;
    return 0;
  }
  return waiter_new(&sem->p, wait_out);
}

int weft_semaphore_acquire(weft_semaphore_t *sem) {
  if (sem == NULL)
    return WEFT_EINVAL;
  if (!in_task(sem->p.loop))
    return WEFT_ENOTINTASK;
  waiter_t *w;
  int rc = sem_begin(sem, &w);
  if (rc != 0 || w == NULL)
    return rc;
  rc = waiter_await(w);
  if (rc != 0 && got(w)) {
    /* The permit was handed over, but the task will not use it: return it (not through
     * release, which a bounded semaphore could refuse) and pass it on. */
    sem->value++;
    sem_wake_loop(sem);
  }
  waiter_unref(w);
  return rc;
}

int weft_semaphore_acquire_future(weft_semaphore_t *sem, weft_future_t **out) {
  if (sem == NULL || out == NULL)
    return WEFT_EINVAL;
  waiter_t *w;
  int rc = sem_begin(sem, &w);
  if (rc != 0)
    return rc;
  return waiter_to_future(&sem->p, w, out);
}

int weft_semaphore_release(weft_semaphore_t *sem) {
  if (sem == NULL)
    return WEFT_EINVAL;
  if (sem->bound >= 0 && sem->value >= sem->bound)
    return WEFT_EINVALIDSTATE;
  sem->value++;
  sem_wake_next(sem);
  return 0;
}

int weft_semaphore_locked(const weft_semaphore_t *sem) {
  if (sem == NULL)
    return WEFT_EINVAL;
  return sem_is_locked(sem);
}

int64_t weft_semaphore_value(const weft_semaphore_t *sem) {
  if (sem == NULL)
    return WEFT_EINVAL;
  return sem->value;
}

/* ---- Condition ---- */

int weft_condition_new(weft_loop_t *loop, weft_lock_t *lock, weft_condition_t **out) {
  if (loop == NULL || out == NULL)
    return WEFT_EINVAL;
  if (lock != NULL && lock->p.loop != loop)
    return WEFT_EINVAL;
  weft_condition_t *cond = calloc(1, sizeof *cond);
  if (cond == NULL)
    return WEFT_ENOMEM;
  if (lock != NULL) {
    prim_ref(&lock->p);
  } else {
    int rc = weft_lock_new(loop, &lock);
    if (rc != 0) {
      free(cond);
      return rc;
    }
  }
  prim_init(&cond->p, PRIM_CONDITION, loop);
  cond->lock = lock;
  *out = cond;
  return 0;
}

void weft_condition_free(weft_condition_t *cond) {
  if (cond != NULL)
    prim_unref(&cond->p);
}

weft_lock_t *weft_condition_lock(weft_condition_t *cond) {
  return cond != NULL ? cond->lock : NULL;
}

int weft_condition_acquire(weft_condition_t *cond) {
  return cond != NULL ? weft_lock_acquire(cond->lock) : WEFT_EINVAL;
}

int weft_condition_acquire_future(weft_condition_t *cond, weft_future_t **out) {
  return cond != NULL ? weft_lock_acquire_future(cond->lock, out) : WEFT_EINVAL;
}

int weft_condition_release(weft_condition_t *cond) {
  return cond != NULL ? weft_lock_release(cond->lock) : WEFT_EINVAL;
}

int weft_condition_locked(const weft_condition_t *cond) {
  return cond != NULL ? weft_lock_locked(cond->lock) : WEFT_EINVAL;
}

static void cond_notify(weft_condition_t *cond, size_t n) {
  size_t woken = 0;
  for (weft__wnode_t *node = cond->p.waiters.head; node != NULL && woken < n; node = node->next) {
    if (!weft_future_done(waiter_of(node)->fut)) {
      weft_future_set_result(waiter_of(node)->fut, weft_value_none());
      woken++;
    }
  }
}

int weft_condition_notify(weft_condition_t *cond, size_t n) {
  if (cond == NULL)
    return WEFT_EINVAL;
  if (!cond->lock->locked)
    return WEFT_EINVALIDSTATE;
  cond_notify(cond, n);
  return 0;
}

int weft_condition_notify_all(weft_condition_t *cond) {
  return weft_condition_notify(cond, SIZE_MAX);
}

/* Operations that suspend more than once are state machines run by a step-driven task.
 * run() returns OP_SUSPEND with *awaiting set, or OP_DONE with the outcome stored.
 * `interrupt` is set for the one step that delivers a cancellation (the sticky `cancelled`
 * remembers it): only then may a pending wait be withdrawn, so a machine that must go on
 * waiting after a cancellation (re-acquiring a lock) does not spin. */
enum { OP_SUSPEND = 1, OP_DONE = 0 };

enum cond_pc { C_CHECK, C_WAIT, C_NOTIFY, C_ACQUIRE, C_ACQUIRE_WAIT };

typedef struct cond_op_s {
  weft_condition_t *cond;
  weft_predicate_fn predicate; /* NULL for a plain wait */
  void *arg;
  int pc;
  int cancelled;
  int interrupt;
  int finished;
  waiter_t *notified; /* the notification we wait for */
  waiter_t *relock;   /* our turn at the lock */
  int outcome;
  int64_t result;
} cond_op_t;

/* Settles a finished (or, on interrupt, withdrawn) lock waiter and tells whether the lock
 * is ours. */
static int lock_wait_finish(waiter_t **wp, int *cancelled) {
  waiter_t *w = *wp;
  if (!weft_future_done(w->fut))
    weft_future_cancel(w->fut, NULL);
  waiter_settle(w);
  int ok = got(w);
  if (weft_future_cancelled(w->fut))
    *cancelled = 1;
  waiter_unref(w);
  *wp = NULL;
  return ok;
}

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
          return OP_DONE;
        }
      }
      op->pc = C_WAIT;
      break;
    case C_WAIT:
      rc = waiter_new(&cond->p, &op->notified);
      if (rc != 0) {
        op->outcome = rc; /* still holding the lock, as promised */
        return OP_DONE;
      }
      weft_lock_release(cond->lock);
      op->pc = C_NOTIFY;
      break;
    case C_NOTIFY:
      if (!weft_future_done(op->notified->fut)) {
        if (!op->interrupt) {
          *awaiting = op->notified->fut;
          return OP_SUSPEND;
        }
        op->interrupt = 0;
        weft_future_cancel(op->notified->fut, NULL);
      }
      waiter_settle(op->notified);
      if (weft_future_cancelled(op->notified->fut))
        op->cancelled = 1;
      waiter_unref(op->notified);
      op->notified = NULL;
      op->pc = C_ACQUIRE;
      break;
    case C_ACQUIRE:
      rc = lock_begin(cond->lock, &op->relock);
      if (rc != 0) {
        op->outcome = rc;
        return OP_DONE;
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
          return OP_SUSPEND;
        }
        op->interrupt = 0;
      }
      if (!lock_wait_finish(&op->relock, &op->cancelled)) {
        /* The lock must be held again whatever happens: queue up anew, as asyncio's
         * retry loop does. */
        op->pc = C_ACQUIRE;
        break;
      }
    relocked:
      if (op->cancelled) {
        /* We may have consumed a notification meant to wake someone: pass one on. */
        cond_notify(cond, 1);
        op->outcome = WEFT_ECANCELLED;
        return OP_DONE;
      }
      if (op->predicate == NULL) {
        op->outcome = 0;
        return OP_DONE;
      }
      op->pc = C_CHECK;
      break;
    }
  }
}

static void cond_op_free(cond_op_t *op) {
  if (op->notified != NULL) {
    weft_future_cancel(op->notified->fut, NULL);
    waiter_unref(op->notified);
  }
  if (op->relock != NULL) {
    weft_future_cancel(op->relock->fut, NULL);
    waiter_unref(op->relock);
  }
  prim_unref(&op->cond->p);
  free(op);
}

static void cond_step(weft_task_t *task, int throw_code, void *arg) {
  cond_op_t *op = arg;
  op->interrupt = throw_code == WEFT_ECANCELLED;
  if (op->interrupt)
    op->cancelled = 1;
  weft_future_t *awaiting = NULL;
  if (!op->finished && cond_run(op, &awaiting) == OP_SUSPEND) {
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

static int cond_wait_start(weft_condition_t *cond, weft_predicate_fn predicate, void *arg,
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
  prim_ref(&cond->p);
  op->predicate = predicate;
  op->arg = arg;
  op->pc = C_WAIT;
  /* The task exists before the lock is released, so failing to make it changes nothing. */
  weft_task_t *task;
  int rc = weft_task_new_stepped(cond->p.loop, cond_step, op, NULL, &task);
  if (rc != 0) {
    cond_op_free(op);
    return rc;
  }
  /* Release and queue now, as a coroutine runs up to its first await. */
  weft_future_t *awaiting = NULL;
  if (cond_run(op, &awaiting) == OP_DONE)
    op->finished = 1;
  *out = weft_future_retain(weft_task_future(task));
  weft_task_release(task);
  return 0;
}

int weft_condition_wait_future(weft_condition_t *cond, weft_future_t **out) {
  if (cond == NULL || out == NULL)
    return WEFT_EINVAL;
  return cond_wait_start(cond, NULL, NULL, out);
}

int weft_condition_wait_for_future(weft_condition_t *cond, weft_predicate_fn predicate, void *arg,
                                   weft_future_t **out) {
  if (cond == NULL || predicate == NULL || out == NULL)
    return WEFT_EINVAL;
  return cond_wait_start(cond, predicate, arg, out);
}

static int cond_wait_in_task(weft_condition_t *cond, weft_predicate_fn predicate, void *arg) {
  if (!in_task(cond->p.loop))
    return WEFT_ENOTINTASK;
  weft_future_t *f;
  int rc = cond_wait_start(cond, predicate, arg, &f);
  if (rc != 0)
    return rc;
  rc = weft__await_done(f);
  weft_future_release(f);
  return rc;
}

int weft_condition_wait(weft_condition_t *cond) {
  if (cond == NULL)
    return WEFT_EINVAL;
  return cond_wait_in_task(cond, NULL, NULL);
}

int weft_condition_wait_for(weft_condition_t *cond, weft_predicate_fn predicate, void *arg) {
  if (cond == NULL || predicate == NULL)
    return WEFT_EINVAL;
  return cond_wait_in_task(cond, predicate, arg);
}

/* ---- Barrier ----
 *
 * asyncio's Barrier is a state (filling, draining, resetting, broken) and a count guarded by
 * a Condition; wait, reset and abort each run under its lock. The machine below follows
 * that code path by path, with the Condition's own wait as its only suspension besides the
 * lock. */

enum barrier_pc {
  BP_ACQUIRE,
  BP_ACQUIRE_WAIT,
  BP_BLOCK, /* wait: let a draining or resetting barrier settle first */
  BP_BLOCK_WAIT,
  BP_WAIT, /* wait: wait for the barrier to fill */
  BP_WAIT_WAIT,
  BP_APPLY, /* reset / abort */
};

enum barrier_action { BA_WAIT, BA_RESET, BA_ABORT };

typedef struct barrier_op_s {
  weft_barrier_t *barrier;
  int action;
  int pc;
  int cancelled;
  int interrupt;
  int finished;
  waiter_t *lockw;
  weft_future_t *cwait; /* a condition wait in progress */
  size_t index;
  int outcome;
} barrier_op_t;

int weft_barrier_new(weft_loop_t *loop, size_t parties, weft_barrier_t **out) {
  if (loop == NULL || out == NULL || parties < 1)
    return WEFT_EINVAL;
  weft_barrier_t *b = calloc(1, sizeof *b);
  if (b == NULL)
    return WEFT_ENOMEM;
  int rc = weft_condition_new(loop, NULL, &b->cond);
  if (rc != 0) {
    free(b);
    return rc;
  }
  prim_init(&b->p, PRIM_BARRIER, loop);
  b->parties = parties;
  b->state = B_FILLING;
  *out = b;
  return 0;
}

void weft_barrier_free(weft_barrier_t *barrier) {
  if (barrier != NULL)
    prim_unref(&barrier->p);
}

/* Leaves the barrier (count down, wake those waiting for it to drain) and the lock. */
static int barrier_exit(barrier_op_t *op, int outcome) {
  weft_barrier_t *b = op->barrier;
  b->count--;
  if (b->count == 0) {
    if (b->state == B_RESETTING || b->state == B_DRAINING)
      b->state = B_FILLING;
    cond_notify(b->cond, SIZE_MAX);
  }
  weft_lock_release(b->cond->lock);
  op->outcome = outcome;
  return OP_DONE;
}

static int barrier_leave_lock(barrier_op_t *op, int outcome) {
  weft_lock_release(op->barrier->cond->lock);
  op->outcome = outcome;
  return OP_DONE;
}

/* A condition wait under way is finished once its task is done; a cancellation of ours is
 * passed to it, and it still re-acquires the lock before ending. */
static int barrier_cwait_pending(barrier_op_t *op, weft_future_t **awaiting) {
  if (weft_future_done(op->cwait))
    return 0;
  if (op->interrupt) {
    op->interrupt = 0;
    weft_task_t *t = weft_task_from_future(op->cwait);
    if (t != NULL && weft_task_cancelling(t) == 0)
      weft_task_cancel(t, NULL);
  }
  *awaiting = op->cwait;
  return 1;
}

static void barrier_cwait_end(barrier_op_t *op) {
  if (weft_future_error(op->cwait) != 0)
    op->cancelled = 1;
  weft_future_release(op->cwait);
  op->cwait = NULL;
}

static int barrier_run(barrier_op_t *op, weft_future_t **awaiting) {
  weft_barrier_t *b = op->barrier;
  int rc;
  for (;;) {
    switch (op->pc) {
    case BP_ACQUIRE:
      if (op->cancelled) {
        op->outcome = WEFT_ECANCELLED;
        return OP_DONE;
      }
      rc = lock_begin(b->cond->lock, &op->lockw);
      if (rc != 0) {
        op->outcome = rc;
        return OP_DONE;
      }
      op->pc = op->lockw != NULL ? BP_ACQUIRE_WAIT : (op->action == BA_WAIT ? BP_BLOCK : BP_APPLY);
      break;
    case BP_ACQUIRE_WAIT:
      if (!weft_future_done(op->lockw->fut) && !op->interrupt) {
        *awaiting = op->lockw->fut;
        return OP_SUSPEND;
      }
      if (!lock_wait_finish(&op->lockw, &op->cancelled)) {
        op->outcome = WEFT_ECANCELLED;
        return OP_DONE;
      }
      if (op->cancelled) /* granted, but cancelled before we could go on */
        return barrier_leave_lock(op, WEFT_ECANCELLED);
      op->pc = op->action == BA_WAIT ? BP_BLOCK : BP_APPLY;
      break;
    case BP_BLOCK:
      if (b->state == B_DRAINING || b->state == B_RESETTING) {
        rc = cond_wait_start(b->cond, NULL, NULL, &op->cwait);
        if (rc != 0)
          return barrier_leave_lock(op, rc);
        op->pc = BP_BLOCK_WAIT;
        break;
      }
      if (b->state == B_BROKEN)
        return barrier_leave_lock(op, WEFT_EBROKENBARRIER);
      op->index = b->count++;
      if (op->index + 1 == b->parties) {
        b->state = B_DRAINING;
        cond_notify(b->cond, SIZE_MAX);
        return barrier_exit(op, 0);
      }
      op->pc = BP_WAIT;
      break;
    case BP_BLOCK_WAIT:
      if (barrier_cwait_pending(op, awaiting))
        return OP_SUSPEND;
      barrier_cwait_end(op);
      if (op->cancelled)
        return barrier_leave_lock(op, WEFT_ECANCELLED);
      op->pc = BP_BLOCK;
      break;
    case BP_WAIT:
      if (b->state == B_FILLING) {
        rc = cond_wait_start(b->cond, NULL, NULL, &op->cwait);
        if (rc != 0)
          return barrier_exit(op, rc);
        op->pc = BP_WAIT_WAIT;
        break;
      }
      return barrier_exit(
          op, (b->state == B_BROKEN || b->state == B_RESETTING) ? WEFT_EBROKENBARRIER : 0);
    case BP_WAIT_WAIT:
      if (barrier_cwait_pending(op, awaiting))
        return OP_SUSPEND;
      barrier_cwait_end(op);
      if (op->cancelled)
        return barrier_exit(op, WEFT_ECANCELLED);
      op->pc = BP_WAIT;
      break;
    case BP_APPLY:
      if (op->action == BA_RESET) {
        if (b->count > 0)
          b->state = B_RESETTING; /* the waiters break; the last one out refills */
        else
          b->state = B_FILLING;
      } else {
        b->state = B_BROKEN;
      }
      cond_notify(b->cond, SIZE_MAX);
      return barrier_leave_lock(op, 0);
    }
  }
}

static void barrier_op_free(barrier_op_t *op) {
  if (op->lockw != NULL) {
    weft_future_cancel(op->lockw->fut, NULL);
    waiter_unref(op->lockw);
  }
  if (op->cwait != NULL)
    weft_future_release(op->cwait);
  prim_unref(&op->barrier->p);
  free(op);
}

static weft_value_t barrier_result(const barrier_op_t *op) {
  return op->action == BA_WAIT ? weft_value_int((int64_t)op->index) : weft_value_none();
}

static void barrier_step(weft_task_t *task, int throw_code, void *arg) {
  barrier_op_t *op = arg;
  op->interrupt = throw_code == WEFT_ECANCELLED;
  if (op->interrupt)
    op->cancelled = 1;
  weft_future_t *awaiting = NULL;
  if (!op->finished && barrier_run(op, &awaiting) == OP_SUSPEND) {
    weft_task_suspend(task, awaiting);
    return;
  }
  if (op->outcome != 0)
    weft_task_fail(task, op->outcome, NULL, NULL, NULL);
  else
    weft_task_return(task, barrier_result(op));
  barrier_op_free(op);
}

/* Whether the operation will finish without suspending, so it needs no task. */
static int barrier_runs_through(const weft_barrier_t *b, int action) {
  if (!lock_can_take(b->cond->lock))
    return 0;
  if (action != BA_WAIT || b->state == B_BROKEN)
    return 1;
  return b->state == B_FILLING && b->count + 1 == b->parties;
}

static int barrier_start(weft_barrier_t *b, int action, weft_future_t **out) {
  barrier_op_t *op = calloc(1, sizeof *op);
  if (op == NULL)
    return WEFT_ENOMEM;
  op->barrier = b;
  prim_ref(&b->p);
  op->action = action;
  op->pc = BP_ACQUIRE;
  weft_future_t *awaiting = NULL;
  if (barrier_runs_through(b, action)) {
    barrier_run(op, &awaiting);
    int code = op->outcome;
    weft_value_t v = barrier_result(op);
    barrier_op_free(op);
    return weft__done_future(b->p.loop, code, v, out);
  }
  /* The task exists before anything changes, so failing to make it changes nothing. */
  weft_task_t *task;
  int rc = weft_task_new_stepped(b->p.loop, barrier_step, op, NULL, &task);
  if (rc != 0) {
    barrier_op_free(op);
    return rc;
  }
  if (barrier_run(op, &awaiting) == OP_DONE)
    op->finished = 1;
  *out = weft_future_retain(weft_task_future(task));
  weft_task_release(task);
  return 0;
}

static int barrier_in_task(weft_barrier_t *b, int action, size_t *index_out) {
  if (b == NULL)
    return WEFT_EINVAL;
  if (!in_task(b->p.loop))
    return WEFT_ENOTINTASK;
  weft_future_t *f;
  int rc = barrier_start(b, action, &f);
  if (rc != 0)
    return rc;
  rc = weft__await_done(f);
  if (rc == 0 && index_out != NULL) {
    const weft_value_t *v = NULL;
    if (weft_future_result(f, &v) == 0 && v != NULL)
      *index_out = (size_t)v->i;
  }
  weft_future_release(f);
  return rc;
}

int weft_barrier_wait(weft_barrier_t *barrier, size_t *index_out) {
  return barrier_in_task(barrier, BA_WAIT, index_out);
}

int weft_barrier_wait_future(weft_barrier_t *barrier, weft_future_t **out) {
  if (barrier == NULL || out == NULL)
    return WEFT_EINVAL;
  return barrier_start(barrier, BA_WAIT, out);
}

int weft_barrier_reset(weft_barrier_t *barrier) {
  return barrier_in_task(barrier, BA_RESET, NULL);
}

int weft_barrier_reset_future(weft_barrier_t *barrier, weft_future_t **out) {
  if (barrier == NULL || out == NULL)
    return WEFT_EINVAL;
  return barrier_start(barrier, BA_RESET, out);
}

int weft_barrier_abort(weft_barrier_t *barrier) {
  return barrier_in_task(barrier, BA_ABORT, NULL);
}

int weft_barrier_abort_future(weft_barrier_t *barrier, weft_future_t **out) {
  if (barrier == NULL || out == NULL)
    return WEFT_EINVAL;
  return barrier_start(barrier, BA_ABORT, out);
}

size_t weft_barrier_parties(const weft_barrier_t *barrier) {
  return barrier != NULL ? barrier->parties : 0;
}

size_t weft_barrier_n_waiting(const weft_barrier_t *barrier) {
  if (barrier == NULL || barrier->state != B_FILLING)
    return 0;
  return barrier->count;
}

int weft_barrier_broken(const weft_barrier_t *barrier) {
  if (barrier == NULL)
    return WEFT_EINVAL;
  return barrier->state == B_BROKEN;
}
