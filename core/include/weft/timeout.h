/* Timeouts around a block of a task, as asyncio.timeout / timeout_at.
 *
 *   weft_timeout_t *t;
 *   weft_timeout_enter(self, 1.5, &t);
 *   int rc = do_work();                 // awaits fail with WEFT_ECANCELLED on expiry
 *   rc = weft_timeout_exit(t, rc);      // ...which becomes WEFT_ETIMEDOUT here
 *
 * On expiry the task is cancelled; at the exit the cancellation turns into WEFT_ETIMEDOUT,
 * but only if this timeout caused it (other cancellations pass through). Deadlines are
 * loop times; INFINITY means none. */
#ifndef WEFT_TIMEOUT_H
#define WEFT_TIMEOUT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_timeout_s weft_timeout_t;

/* Enters a timeout expiring `delay` seconds from now. */
WEFT_API int weft_timeout_enter(weft_task_t *task, double delay, weft_timeout_t **out);
/* Enters a timeout expiring at loop time `when`. */
WEFT_API int weft_timeout_enter_at(weft_task_t *task, double when, weft_timeout_t **out);
/* Moves the deadline (INFINITY: none). WEFT_EINVALIDSTATE once expired or exited. */
WEFT_API int weft_timeout_reschedule(weft_timeout_t *timeout, double when);
WEFT_API double weft_timeout_when(const weft_timeout_t *timeout);
WEFT_API int weft_timeout_expired(const weft_timeout_t *timeout);
/* Leaves the block whose outcome is `rc`, frees the timeout and returns the outcome to
 * propagate: WEFT_ETIMEDOUT for a cancellation this timeout caused, else `rc`. */
WEFT_API int weft_timeout_exit(weft_timeout_t *timeout, int rc);

#ifdef __cplusplus
}
#endif
#endif
