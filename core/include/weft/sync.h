/* Synchronization primitives, as asyncio's Lock, Event, Condition, Semaphore,
 * BoundedSemaphore and Barrier.
 *
 * Each object belongs to one loop. Every waiting operation comes in two forms built on one
 * implementation:
 *   - weft_X_op(obj): inside a stackful task; suspends with weft_await and returns 0,
 *     WEFT_ECANCELLED if the task was cancelled, or WEFT_ENOTINTASK outside a task.
 *   - weft_X_op_future(obj, &fut): for callbacks and bindings; *fut receives a new
 *     reference to a future (already done when nothing had to wait). Cancelling that future
 *     withdraws the request.
 * Waiters are woken in FIFO order, and a waiter cancelled after it was woken passes its turn
 * on, so cancellation never leaves a lock held or loses a permit or a notification.
 *
 * Errors: NULL handles and bad arguments give WEFT_EINVAL (asyncio's ValueError for bad
 * arguments); using a primitive in a state that forbids it (releasing an unlocked lock,
 * releasing a bounded semaphore too often, waiting on a condition without its lock) gives
 * WEFT_EINVALIDSTATE (asyncio's RuntimeError / ValueError there).
 *
 * Lifetime: weft_X_free drops the creator's handle. Operations still pending keep the
 * object's memory alive until they finish (cancel them to end them). */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_lock_s weft_lock_t;
typedef struct weft_event_s weft_event_t;
typedef struct weft_condition_s weft_condition_t;
typedef struct weft_semaphore_s weft_semaphore_t;
typedef struct weft_barrier_s weft_barrier_t;

/* ---- Lock: not owned by a task; any task may release it. ---- */

/* Creates an unlocked lock bound to `loop`. */
WEFT_API int weft_lock_new(weft_loop_t *loop, weft_lock_t **out);
WEFT_API void weft_lock_free(weft_lock_t *lock);
/* In a task: waits until the lock is free and takes it. No waiting when it is free and
 * nobody queues before the caller (waiters cannot be overtaken). */
WEFT_API int weft_lock_acquire(weft_lock_t *lock);
/* A future that finishes (result none) once the lock is the caller's. If a binding's await
 * of a finished future is cancelled, the binding owns the lock and must release it. */
WEFT_API int weft_lock_acquire_future(weft_lock_t *lock, weft_future_t **out);
/* Unlocks, or hands the lock straight to the first waiter: then locked() stays 1 (asyncio
 * shows it unlocked until the woken task runs; in both nobody else can take it meanwhile).
 * WEFT_EINVALIDSTATE if the lock is not locked. */
WEFT_API int weft_lock_release(weft_lock_t *lock);
/* 1 if locked, 0 if not, WEFT_EINVAL for NULL. */
WEFT_API int weft_lock_locked(const weft_lock_t *lock);

/* ---- Event: a flag tasks can wait for. ---- */

/* Creates a cleared event bound to `loop`. */
WEFT_API int weft_event_new(weft_loop_t *loop, weft_event_t **out);
WEFT_API void weft_event_free(weft_event_t *event);
/* In a task: waits until the flag is set (at once if it is). */
WEFT_API int weft_event_wait(weft_event_t *event);
/* A future that finishes (result none) once the flag is set. */
WEFT_API int weft_event_wait_future(weft_event_t *event, weft_future_t **out);
/* Sets the flag and wakes every waiter. */
WEFT_API int weft_event_set(weft_event_t *event);
/* Clears the flag; later waits block until the next set. */
WEFT_API int weft_event_clear(weft_event_t *event);
/* 1 if set, 0 if not, WEFT_EINVAL for NULL. */
WEFT_API int weft_event_is_set(const weft_event_t *event);

/* ---- Condition: wait for a notification while holding a lock. ---- */

/* A predicate for wait_for: nonzero means true. Called with the lock held. */
typedef int (*weft_predicate_fn)(void *arg);

/* Creates a condition over `lock` (kept alive by the condition), or over a new lock of its
 * own when `lock` is NULL. */
WEFT_API int weft_condition_new(weft_loop_t *loop, weft_lock_t *lock, weft_condition_t **out);
WEFT_API void weft_condition_free(weft_condition_t *cond);
/* The underlying lock (borrowed, lives as long as the condition). */
WEFT_API weft_lock_t *weft_condition_lock(weft_condition_t *cond);
/* The underlying lock's acquire, acquire_future, release and locked. */
WEFT_API int weft_condition_acquire(weft_condition_t *cond);
WEFT_API int weft_condition_acquire_future(weft_condition_t *cond, weft_future_t **out);
WEFT_API int weft_condition_release(weft_condition_t *cond);
WEFT_API int weft_condition_locked(const weft_condition_t *cond);
/* In a task holding the lock: releases it, waits for a notification, re-acquires it. The
 * lock is held again on return, even with WEFT_ECANCELLED. May wake spuriously.
 * WEFT_EINVALIDSTATE if the lock is not locked. */
WEFT_API int weft_condition_wait(weft_condition_t *cond);
/* The same as a future: a task that finishes (result none) once notified and the lock is
 * re-acquired. Cancelling it still re-acquires the lock before it ends cancelled. */
WEFT_API int weft_condition_wait_future(weft_condition_t *cond, weft_future_t **out);
/* In a task holding the lock: waits until predicate(arg) is true, checking it first and
 * after each notification. Returns 0 with the lock held, or WEFT_ECANCELLED (lock held). */
WEFT_API int weft_condition_wait_for(weft_condition_t *cond, weft_predicate_fn predicate,
                                     void *arg);
/* The same as a future whose result is the predicate's final value (an int). */
WEFT_API int weft_condition_wait_for_future(weft_condition_t *cond, weft_predicate_fn predicate,
                                            void *arg, weft_future_t **out);
/* Wakes up to `n` waiters, oldest first. The caller must hold the lock
 * (WEFT_EINVALIDSTATE otherwise); the woken re-acquire it once the caller releases it. */
WEFT_API int weft_condition_notify(weft_condition_t *cond, size_t n);
/* Wakes every waiter. The caller must hold the lock. */
WEFT_API int weft_condition_notify_all(weft_condition_t *cond);

/* ---- Semaphore and BoundedSemaphore: a counter of permits. ---- */

/* Creates a semaphore holding `value` permits (WEFT_EINVAL if negative). */
WEFT_API int weft_semaphore_new(weft_loop_t *loop, int64_t value, weft_semaphore_t **out);
/* Creates a bounded semaphore: releasing it above `value` gives WEFT_EINVALIDSTATE. */
WEFT_API int weft_bounded_semaphore_new(weft_loop_t *loop, int64_t value, weft_semaphore_t **out);
WEFT_API void weft_semaphore_free(weft_semaphore_t *sem);
/* In a task: takes a permit, waiting (FIFO) while none is free or others wait before. */
WEFT_API int weft_semaphore_acquire(weft_semaphore_t *sem);
/* A future that finishes (result none) once a permit is the caller's. */
WEFT_API int weft_semaphore_acquire_future(weft_semaphore_t *sem, weft_future_t **out);
/* Gives a permit back and wakes the first waiter. */
WEFT_API int weft_semaphore_release(weft_semaphore_t *sem);
/* 1 if an acquire would wait now (no permit, or waiters queued first), else 0. */
WEFT_API int weft_semaphore_locked(const weft_semaphore_t *sem);
/* The number of free permits (those handed to woken waiters not counted). */
WEFT_API int64_t weft_semaphore_value(const weft_semaphore_t *sem);

/* ---- Barrier: `parties` tasks wait until all have arrived. ---- */

/* Creates a barrier for `parties` tasks (WEFT_EINVAL if 0). */
WEFT_API int weft_barrier_new(weft_loop_t *loop, size_t parties, weft_barrier_t **out);
WEFT_API void weft_barrier_free(weft_barrier_t *barrier);
/* In a task: waits until `parties` tasks are waiting, then all pass. *index_out (may be
 * NULL) receives the arrival index, 0 to parties-1. WEFT_EBROKENBARRIER when the barrier
 * is broken, or is reset or aborted while waiting. */
WEFT_API int weft_barrier_wait(weft_barrier_t *barrier, size_t *index_out);
/* The same as a future whose result is the arrival index (an int). */
WEFT_API int weft_barrier_wait_future(weft_barrier_t *barrier, weft_future_t **out);
/* In a task: returns the barrier to its empty state; current waiters get
 * WEFT_EBROKENBARRIER. Like asyncio it first takes the barrier's internal lock, so it may
 * wait briefly. */
WEFT_API int weft_barrier_reset(weft_barrier_t *barrier);
WEFT_API int weft_barrier_reset_future(weft_barrier_t *barrier, weft_future_t **out);
/* In a task: breaks the barrier; current and future waiters get WEFT_EBROKENBARRIER until
 * a reset. Takes the internal lock as reset does. */
WEFT_API int weft_barrier_abort(weft_barrier_t *barrier);
WEFT_API int weft_barrier_abort_future(weft_barrier_t *barrier, weft_future_t **out);
/* The number of tasks needed to pass. */
WEFT_API size_t weft_barrier_parties(const weft_barrier_t *barrier);
/* The number of tasks waiting while the barrier fills (0 while it drains or resets). */
WEFT_API size_t weft_barrier_n_waiting(const weft_barrier_t *barrier);
/* 1 if broken, 0 if not, WEFT_EINVAL for NULL. */
WEFT_API int weft_barrier_broken(const weft_barrier_t *barrier);

#ifdef __cplusplus
}
#endif
#endif
