/* Futures: a result that will be there later, as asyncio.Future.
 *
 * A future is pending, then finished (with a result or an error) or cancelled. Done
 * callbacks never run inline: when the future completes each is scheduled on the loop,
 * in registration order. Futures are reference counted; the creator holds one reference.
 * Except for the *_threadsafe functions, call these on the loop's thread. */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include "common.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*weft_future_cb)(weft_future_t *future, void *arg);

/* Creates a pending future bound to `loop`. */
WEFT_API int weft_future_new(weft_loop_t *loop, weft_future_t **out);
WEFT_API weft_future_t *weft_future_retain(weft_future_t *future);
/* Drops a reference. A future freed with an error nobody retrieved is reported to the
 * loop's exception handler, as asyncio does. */
WEFT_API void weft_future_release(weft_future_t *future);
WEFT_API weft_loop_t *weft_future_loop(const weft_future_t *future);

WEFT_API int weft_future_done(const weft_future_t *future);
WEFT_API int weft_future_cancelled(const weft_future_t *future);

/* Completes the future with `value` (moved in, even on failure). WEFT_EINVALIDSTATE if
 * it is already done; WEFT_EINVAL on a task (tasks finish through weft_task_*). */
WEFT_API int weft_future_set_result(weft_future_t *future, weft_value_t value);
/* Completes the future with an error: a negative code, an optional message (copied) and an
 * optional payload freed with payload_free when the future goes. */
WEFT_API int weft_future_set_error(weft_future_t *future, int code, const char *message,
                                   void *payload, weft_free_fn payload_free);
/* Cancels the future: 1 if it is now cancelled (callbacks scheduled), 0 if it was already
 * done. The message (may be NULL) is kept for the cancelled error. */
WEFT_API int weft_future_cancel(weft_future_t *future, const char *message);

/* The outcome. Returns 0 and points *out (may be NULL) at the result, borrowed from the
 * future; or the error code; WEFT_ECANCELLED; WEFT_EINVALIDSTATE while pending. Marks an
 * error as retrieved. */
WEFT_API int weft_future_result(weft_future_t *future, const weft_value_t **out);
/* The error code (0 if finished with a result), WEFT_ECANCELLED, or WEFT_EINVALIDSTATE
 * while pending. Marks the error as retrieved. */
WEFT_API int weft_future_error(weft_future_t *future);
/* The error's message, or the cancel message; NULL if none. Borrowed. */
WEFT_API const char *weft_future_error_message(const weft_future_t *future);
/* The error's payload; NULL if none. Borrowed. */
WEFT_API void *weft_future_error_payload(const weft_future_t *future);

/* Adds a done callback; if the future is already done it is scheduled at once. */
WEFT_API int weft_future_add_done_callback(weft_future_t *future, weft_future_cb cb, void *arg);
/* Removes every registration of (cb, arg) not yet scheduled; returns how many. */
WEFT_API int weft_future_remove_done_callback(weft_future_t *future, weft_future_cb cb, void *arg);

/* Completion from another thread. The caller hands over one reference to `future`, taken
 * with weft_future_retain on the loop's thread before the future crossed over; the loop
 * applies the outcome on its thread (ignored if the future is done by then) and drops that
 * reference. Thread-safe. */
WEFT_API int weft_future_set_result_threadsafe(weft_future_t *future, weft_value_t value);
WEFT_API int weft_future_set_error_threadsafe(weft_future_t *future, int code, const char *message,
                                              void *payload, weft_free_fn payload_free);

#ifdef __cplusplus
}
#endif
#endif
