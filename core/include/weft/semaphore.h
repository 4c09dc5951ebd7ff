/* Semaphore and BoundedSemaphore, as asyncio's: a counter of permits.
 *
 * One of the synchronization primitives: how their waits come in two forms, the order
 * waiters wake in, their errors and their lifetime are in weft/sync.h. */
#ifndef WEFT_SEMAPHORE_H
#define WEFT_SEMAPHORE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_semaphore_s weft_semaphore_t;

/* Creates a semaphore holding `value` permits (WEFT_EINVAL if negative). */
WEFT_API int weft_semaphore_new(weft_loop_t *loop, int64_t value, weft_semaphore_t **out);
/* Creates a bounded semaphore: releasing it above `value` gives WEFT_EINVALIDSTATE. */
WEFT_API int weft_bounded_semaphore_new(weft_loop_t *loop, int64_t value, weft_semaphore_t **out);
WEFT_API weft_semaphore_t *weft_semaphore_retain(weft_semaphore_t *sem);
WEFT_API void weft_semaphore_release(weft_semaphore_t *sem);
/* In a task: takes a permit, waiting (FIFO) while none is free or others wait before. */
WEFT_API int weft_semaphore_acquire_await(weft_semaphore_t *sem);
/* A future that finishes (result none) once a permit is the caller's. */
WEFT_API int weft_semaphore_acquire(weft_semaphore_t *sem, weft_future_t **out);
/* Gives a permit back and wakes the first waiter. */
WEFT_API int weft_semaphore_unlock(weft_semaphore_t *sem);
/* 1 if an acquire would wait now (no permit, or waiters queued first), else 0. */
WEFT_API int weft_semaphore_locked(const weft_semaphore_t *sem);
/* The number of free permits (those handed to woken waiters not counted). */
WEFT_API int64_t weft_semaphore_value(const weft_semaphore_t *sem);

#ifdef __cplusplus
}
#endif
#endif
