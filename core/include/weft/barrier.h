/* Barrier, as asyncio's Barrier: `parties` tasks wait until all have arrived.
 *
 * One of the synchronization primitives: how their waits come in two forms, the order
 * waiters wake in, their errors and their lifetime are in weft/sync.h. */
#ifndef WEFT_BARRIER_H
#define WEFT_BARRIER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_barrier_s weft_barrier_t;

/* Creates a barrier for `parties` tasks (WEFT_EINVAL if 0). */
WEFT_API int weft_barrier_new(weft_loop_t *loop, size_t parties, weft_barrier_t **out);
WEFT_API weft_barrier_t *weft_barrier_retain(weft_barrier_t *barrier);
WEFT_API void weft_barrier_release(weft_barrier_t *barrier);
/* In a task: waits until `parties` tasks are waiting, then all pass. *index_out (may be
 * NULL) receives the arrival index, 0 to parties-1. WEFT_EBROKENBARRIER when the barrier
 * is broken, or is reset or aborted while waiting. */
WEFT_API int weft_barrier_wait_await(weft_barrier_t *barrier, size_t *index_out);
/* The same as a future whose result is the arrival index (an int). */
WEFT_API int weft_barrier_wait(weft_barrier_t *barrier, weft_future_t **out);
/* In a task: returns the barrier to its empty state; current waiters get
 * WEFT_EBROKENBARRIER. Like asyncio it first takes the barrier's internal lock, so it may
 * wait briefly. */
WEFT_API int weft_barrier_reset_await(weft_barrier_t *barrier);
WEFT_API int weft_barrier_reset(weft_barrier_t *barrier, weft_future_t **out);
/* In a task: breaks the barrier; current and future waiters get WEFT_EBROKENBARRIER until
 * a reset. Takes the internal lock as reset does. */
WEFT_API int weft_barrier_abort_await(weft_barrier_t *barrier);
WEFT_API int weft_barrier_abort(weft_barrier_t *barrier, weft_future_t **out);
/* The number of tasks needed to pass. */
WEFT_API size_t weft_barrier_parties(const weft_barrier_t *barrier);
/* The number of tasks waiting while the barrier fills (0 while it drains or resets). */
WEFT_API size_t weft_barrier_n_waiting(const weft_barrier_t *barrier);
/* 1 if broken, 0 if not (0 for NULL). */
WEFT_API int weft_barrier_broken(const weft_barrier_t *barrier);

#ifdef __cplusplus
}
#endif
#endif
