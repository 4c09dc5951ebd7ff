/* Condition, as asyncio's Condition: wait for a notification while holding a lock.
 *
 * One of the synchronization primitives: how their waits come in two forms, the order
 * waiters wake in, their errors and their lifetime are in weft/sync.h. */
#ifndef WEFT_CONDITION_H
#define WEFT_CONDITION_H

#include "common.h"
#include "lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_condition_s weft_condition_t;

/* A predicate for wait_for: nonzero means true. Called with the lock held. */
typedef int (*weft_predicate_fn)(void *arg);

/* Creates a condition over `lock` (kept alive by the condition), or over a new lock of its
 * own when `lock` is NULL. */
WEFT_API int weft_condition_new(weft_loop_t *loop, weft_lock_t *lock, weft_condition_t **out);
WEFT_API weft_condition_t *weft_condition_retain(weft_condition_t *cond);
WEFT_API void weft_condition_release(weft_condition_t *cond);
/* The underlying lock (borrowed, lives as long as the condition). */
WEFT_API weft_lock_t *weft_condition_lock(weft_condition_t *cond);
/* The underlying lock's acquire (both forms), unlock and locked. */
WEFT_API int weft_condition_acquire_await(weft_condition_t *cond);
WEFT_API int weft_condition_acquire(weft_condition_t *cond, weft_future_t **out);
WEFT_API int weft_condition_unlock(weft_condition_t *cond);
WEFT_API int weft_condition_locked(const weft_condition_t *cond);
/* In a task holding the lock: releases it, waits for a notification, re-acquires it. The
 * lock is held again on return, even with WEFT_ECANCELLED. May wake spuriously.
 * WEFT_EINVALIDSTATE if the lock is not locked. */
WEFT_API int weft_condition_wait_await(weft_condition_t *cond);
/* The same as a future: a task that finishes (result none) once notified and the lock is
 * re-acquired. Cancelling it still re-acquires the lock before it ends cancelled. */
WEFT_API int weft_condition_wait(weft_condition_t *cond, weft_future_t **out);
/* In a task holding the lock: waits until predicate(arg) is true, checking it first and
 * after each notification. Returns 0 with the lock held, or WEFT_ECANCELLED (lock held). */
WEFT_API int weft_condition_wait_for_await(weft_condition_t *cond, weft_predicate_fn predicate,
                                           void *arg);
/* The same as a future whose result is the predicate's final value (an int). */
WEFT_API int weft_condition_wait_for(weft_condition_t *cond, weft_predicate_fn predicate, void *arg,
                                     weft_future_t **out);
/* Wakes up to `n` waiters, oldest first. The caller must hold the lock
 * (WEFT_EINVALIDSTATE otherwise); the woken re-acquire it once the caller releases it. */
WEFT_API int weft_condition_notify(weft_condition_t *cond, size_t n);
/* Wakes every waiter. The caller must hold the lock. */
WEFT_API int weft_condition_notify_all(weft_condition_t *cond);

#ifdef __cplusplus
}
#endif
#endif
