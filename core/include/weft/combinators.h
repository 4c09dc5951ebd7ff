/* asyncio's combinators: sleep, gather, wait, wait_for, shield, as_completed.
 *
 * Each one returns a future, so C callbacks and every binding can use it; a stackful task
 * simply weft_awaits that future. Combinators keep their own references to the futures
 * they are given: the caller may release its references at once. */
#ifndef WEFT_COMBINATORS_H
#define WEFT_COMBINATORS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Inside a stackful task: sleeps `seconds`; 0 yields to the loop exactly once. Returns 0 or
 * WEFT_ECANCELLED. */
WEFT_API int weft_sleep_await(weft_loop_t *loop, double seconds);
/* A future that finishes (result none) after `seconds`; cancelling it stops the timer. */
WEFT_API int weft_sleep(weft_loop_t *loop, double seconds, weft_future_t **out);

/* A future done when every input is done. Without return_exceptions it fails with the
 * first input's error (or is cancelled by the first cancelled input) at once; with it,
 * it finishes once all are done. Results stay in the inputs. Cancelling the gather
 * cancels every input still pending. */
WEFT_API int weft_gather(weft_loop_t *loop, weft_future_t *const *futures, size_t count,
                         int return_exceptions, weft_future_t **out);

typedef enum weft_return_when {
  WEFT_FIRST_COMPLETED = 1,
  WEFT_FIRST_EXCEPTION = 2,
  WEFT_ALL_COMPLETED = 3,
} weft_return_when_t;

/* A future that finishes (result none) when the `return_when` condition holds or after
 * `timeout` seconds (negative: no timeout). Inputs are never cancelled: check each with
 * weft_future_done. With no inputs: WEFT_EINVAL, as asyncio.wait. */
WEFT_API int weft_wait(weft_loop_t *loop, weft_future_t *const *futures, size_t count,
                       int return_when, double timeout, weft_future_t **out);

/* A future that takes on `future`'s outcome, or, after `timeout` seconds (negative: none),
 * cancels it, waits until it is done and fails with WEFT_ETIMEDOUT (also when `future` is
 * done but its callback has not run yet, as asyncio 3.12 on). Cancelling the result cancels
 * `future`. */
WEFT_API int weft_wait_for(weft_loop_t *loop, weft_future_t *future, double timeout,
                           weft_future_t **out);

/* A future that takes on `inner`'s outcome; cancelling it leaves `inner` running. */
WEFT_API int weft_shield(weft_future_t *inner, weft_future_t **out);

/* Hands out the inputs in the order they complete. */
typedef struct weft_as_completed_s weft_as_completed_t;
/* timeout: seconds for the whole iteration, negative for none. */
WEFT_API int weft_as_completed_new(weft_loop_t *loop, weft_future_t *const *futures, size_t count,
                                   double timeout, weft_as_completed_t **out);
/* A future whose result (WEFT_VALUE_FUTURE) is the next input to complete (a weft_future_t *,
 * borrowed from the result); it fails with WEFT_ETIMEDOUT once the timeout passed.
 * WEFT_EEOF when every input has been handed out. */
WEFT_API int weft_as_completed_next(weft_as_completed_t *iterator, weft_future_t **out);
WEFT_API void weft_as_completed_free(weft_as_completed_t *iterator);

#ifdef __cplusplus
}
#endif
#endif
