/* Lock, as asyncio's Lock: not owned by a task; any task may release it.
 *
 * One of the synchronization primitives: how their waits come in two forms, the order
 * waiters wake in, their errors and their lifetime are in weft/sync.h. */
#ifndef WEFT_LOCK_H
#define WEFT_LOCK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_lock_s weft_lock_t;

/* Creates an unlocked lock bound to `loop`. */
WEFT_API int weft_lock_new(weft_loop_t *loop, weft_lock_t **out);
WEFT_API weft_lock_t *weft_lock_retain(weft_lock_t *lock);
WEFT_API void weft_lock_release(weft_lock_t *lock);
/* In a task: waits until the lock is free and takes it. No waiting when it is free and
 * nobody queues before the caller (waiters cannot be overtaken). */
WEFT_API int weft_lock_acquire_await(weft_lock_t *lock);
/* A future that finishes (result none) once the lock is the caller's. If a binding's await
 * of a finished future is cancelled, the binding owns the lock and must release it. */
WEFT_API int weft_lock_acquire(weft_lock_t *lock, weft_future_t **out);
/* Unlocks, or hands the lock straight to the first waiter: that waiter owns it (a future-
 * form caller the moment its future is done) and nobody can take it meanwhile, while
 * locked() answers 0, as asyncio's, until the woken waiter has run.
 * WEFT_EINVALIDSTATE if the lock is not locked. */
WEFT_API int weft_lock_unlock(weft_lock_t *lock);
/* 1 if locked, 0 if not (0 for NULL); 0 too from a hand-over until the woken waiter has
 * run, as asyncio's. */
WEFT_API int weft_lock_locked(const weft_lock_t *lock);

#ifdef __cplusplus
}
#endif
#endif
