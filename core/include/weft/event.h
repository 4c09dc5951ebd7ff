/* Event, as asyncio's Event: a flag tasks can wait for.
 *
 * One of the synchronization primitives: how their waits come in two forms, the order
 * waiters wake in, their errors and their lifetime are in weft/sync.h. */
#ifndef WEFT_EVENT_H
#define WEFT_EVENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_event_s weft_event_t;

/* Creates a cleared event bound to `loop`. */
WEFT_API int weft_event_new(weft_loop_t *loop, weft_event_t **out);
WEFT_API weft_event_t *weft_event_retain(weft_event_t *event);
WEFT_API void weft_event_release(weft_event_t *event);
/* In a task: waits until the flag is set (at once if it is). */
WEFT_API int weft_event_wait_await(weft_event_t *event);
/* A future that finishes (result none) once the flag is set. */
WEFT_API int weft_event_wait(weft_event_t *event, weft_future_t **out);
/* Sets the flag and wakes every waiter. */
WEFT_API int weft_event_set(weft_event_t *event);
/* Clears the flag; later waits block until the next set. */
WEFT_API int weft_event_clear(weft_event_t *event);
/* 1 if set, 0 if not (0 for NULL). */
WEFT_API int weft_event_is_set(const weft_event_t *event);

#ifdef __cplusplus
}
#endif
#endif
