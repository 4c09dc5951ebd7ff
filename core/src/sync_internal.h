/* Pieces shared by the synchronization primitives (lock.c, event.c, condition.c,
 * semaphore.c, barrier.c, on top of sync_common.c) and queue.c. Internal. */
#ifndef WEFT_SYNC_INTERNAL_H
#define WEFT_SYNC_INTERNAL_H

#include "internal.h"
#include "weft.h"

/* internal.h's: completes a future and calls its done callbacks at once. */
int weft__future_finish_now(weft_future_t *future, weft_value_t value, int error);

/* An intrusive doubly linked list: waiters stay in place while others leave from the
 * middle (a cancelled waiter removes itself), which a ring buffer would make O(n). */
typedef struct weft__wnode_s weft__wnode_t;
struct weft__wnode_s {
  weft__wnode_t *prev;
  weft__wnode_t *next;
  int linked;
};

typedef struct weft__wlist_s {
  weft__wnode_t *head;
  weft__wnode_t *tail;
} weft__wlist_t;

static inline void weft__wlist_push(weft__wlist_t *list, weft__wnode_t *node) {
  node->prev = list->tail;
  node->next = NULL;
  if (list->tail)
    list->tail->next = node;
  else
    list->head = node;
  list->tail = node;
  node->linked = 1;
}

static inline void weft__wlist_unlink(weft__wlist_t *list, weft__wnode_t *node) {
  if (!node->linked)
    return;
  if (node->prev)
    node->prev->next = node->next;
  else
    list->head = node->next;
  if (node->next)
    node->next->prev = node->prev;
  else
    list->tail = node->prev;
  node->prev = node->next = NULL;
  node->linked = 0;
}

/* A future already finished with `value` (moved in), or with error `code` when nonzero. */
int weft__done_future(weft_loop_t *loop, int code, weft_value_t value, weft_future_t **out);

/* Inside a stackful task: awaits `future` and, should the await end early on a
 * cancellation, goes on waiting until the future is done, so an operation that must finish
 * its clean-up (a condition re-acquiring its lock) has done so on return. Returns what the
 * first await returned. */
int weft__await_done(weft_future_t *future);

/* ---- The primitives' common head and waiters (sync_common.c) -------------------------- */

enum weft__prim_kind {
  WEFT__PRIM_LOCK,
  WEFT__PRIM_EVENT,
  WEFT__PRIM_SEMAPHORE,
  WEFT__PRIM_CONDITION,
  WEFT__PRIM_BARRIER
};

/* The head of every primitive: what waiters and pending operations share. */
typedef struct weft__prim_s {
  int kind;
  int refs; /* the creator's handle, each live waiter and operation */
  weft_loop_t *loop;
  weft__wlist_t waiters;
} weft__prim_t;

typedef struct weft__waiter_s {
  weft__wnode_t node; /* first, so a list node is its waiter */
  weft_future_t *fut;
  weft__prim_t *prim;
  int refs; /* the done callback and whoever started the wait */
  int settled;
  weft__op_watch_t watch; /* the done callback's */
} weft__waiter_t;

void weft__prim_ref(weft__prim_t *p);
/* Drops a reference; the last one frees the primitive and drops what it holds (a
 * condition's lock, a barrier's condition). */
void weft__prim_unref(weft__prim_t *p);
void weft__prim_init(weft__prim_t *p, int kind, weft_loop_t *loop);

static inline weft__waiter_t *weft__waiter_of(weft__wnode_t *node) {
  return (weft__waiter_t *)node;
}

static inline int weft__got(const weft__waiter_t *w) {
  return weft_future_done(w->fut) && !weft_future_cancelled(w->fut);
}

/* asyncio's code after `await fut`, for whichever primitive the waiter belongs to. */
void weft__waiter_settle(weft__waiter_t *w);
void weft__waiter_unref(weft__waiter_t *w);
/* A new waiter queued last on `p`, with two references: its done callback's and the
 * caller's. */
int weft__waiter_new(weft__prim_t *p, weft__waiter_t **out);
/* Hands the caller a waiter's future, or a finished one when nothing had to wait. */
int weft__waiter_to_future(weft__prim_t *p, weft__waiter_t *w, weft_future_t **out);
/* In a task: awaits the waiter and settles it. Returns weft_await's code; weft__got(w)
 * tells whether the wait was granted, which can be so even when the task was cancelled. */
int weft__waiter_await(weft__waiter_t *w);

static inline int weft__in_task(weft_loop_t *loop) {
  return weft_current_task(loop) != NULL;
}
/* And when not: WEFT_EWRONGLOOP inside a task of another loop, else WEFT_ENOTINTASK
 * (loop.c; internal.h declares it for the rest of the core). */
int weft__not_in_task(const weft_loop_t *loop);

/* ---- What the primitives use of one another ------------------------------------------- */

/* The layouts other files reach into: a condition takes and releases its lock, a barrier
 * works through its condition, and weft__prim_unref drops what each holds. */
struct weft_lock_s {
  weft__prim_t p;
  int locked;
  /* Waiters the lock was handed to that have not run yet (their waiter is not settled):
   * asyncio's lock shows itself unlocked until then, though nobody can take it. */
  int handed;
};

struct weft_condition_s {
  weft__prim_t p;
  weft_lock_t *lock; /* holds a reference */
};

struct weft_barrier_s {
  weft__prim_t p;
  weft_condition_t *cond; /* owned; over a lock of its own */
  size_t parties;
  size_t count;
  int state; /* enum barrier_state (barrier.c) */
};

/* A release with someone in line hands the lock over, so an unlocked lock never has a live
 * waiter and nobody can barge past one. */
int weft__lock_can_take(const weft_lock_t *lock);
/* Takes the lock at once (*wait_out NULL) or queues a waiter. */
int weft__lock_begin(weft_lock_t *lock, weft__waiter_t **wait_out);
/* A lock waiter that was handed the lock has run: the lock shows as locked again. */
void weft__lock_settled(weft_lock_t *lock, const weft__waiter_t *w);
/* Settles a finished (or, on interrupt, withdrawn) lock waiter and tells whether the lock
 * is ours. */
int weft__lock_wait_finish(weft__waiter_t **wp, int *cancelled);

/* Wakes up to `n` of the condition's waiters, oldest first. */
void weft__cond_notify(weft_condition_t *cond, size_t n);
/* Starts a wait (or, with a predicate, a wait_for) on a condition whose lock is held, as
 * the task whose future goes to *out. */
int weft__cond_wait_start(weft_condition_t *cond, weft_predicate_fn predicate, void *arg,
                          weft_future_t **out);

/* Grants free permits to waiters not yet woken, oldest first. */
void weft__sem_wake_loop(weft_semaphore_t *sem);

/* Operations that await more than once (Condition.wait must re-acquire the lock even when
 * cancelled; Barrier.wait takes a lock and waits on a condition) are small state machines
 * run as step-driven tasks, because only a task can turn a cancellation request into "clean
 * up, then end cancelled". Their first stretch runs synchronously, as a coroutine would run
 * up to its first suspension, so their effects (a lock released, a barrier count) are
 * visible at once.
 *
 * run() returns WEFT__OP_SUSPEND with *awaiting set, or WEFT__OP_DONE with the outcome
 * stored. `interrupt` is set for the one step that delivers a cancellation (the sticky
 * `cancelled` remembers it): only then may a pending wait be withdrawn, so a machine that
 * must go on waiting after a cancellation (re-acquiring a lock) does not spin. */
enum { WEFT__OP_SUSPEND = 1, WEFT__OP_DONE = 0 };

#endif
