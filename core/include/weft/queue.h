/* Queues, as asyncio's Queue, LifoQueue and PriorityQueue (with Python 3.13's shutdown).
 *
 * Items are weft_value_t. Putting moves the item in, even when the put fails (the queue
 * then frees it); getting hands the item's ownership to the caller; freeing a queue frees
 * the items left in it. Waiting operations come in an in-task form (weft_await inside a
 * stackful task; 0, WEFT_ECANCELLED or WEFT_ENOTINTASK) and a future form for callbacks
 * and bindings, as in weft/sync.h. Waiting getters and putters are served in FIFO order;
 * one cancelled after being woken passes the wake-up on, and no item is lost.
 *
 * A priority queue hands out the item with the lowest int64 priority first; items of equal
 * priority come out in the order they were put (FIFO), unlike Python's heapq which would
 * compare the items themselves. FIFO and LIFO queues ignore priorities.
 *
 * Errors: WEFT_EQUEUEFULL / WEFT_EQUEUEEMPTY from the _nowait forms, WEFT_EQUEUESHUTDOWN
 * after a shutdown, WEFT_EINVALIDSTATE for task_done called too often (asyncio's
 * ValueError), WEFT_EINVAL for NULL handles. */
#ifndef WEFT_QUEUE_H
#define WEFT_QUEUE_H

#include "common.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_queue_s weft_queue_t;

typedef enum weft_queue_kind {
  WEFT_QUEUE_FIFO = 0,     /* asyncio.Queue */
  WEFT_QUEUE_LIFO = 1,     /* asyncio.LifoQueue */
  WEFT_QUEUE_PRIORITY = 2, /* asyncio.PriorityQueue, keyed by an int64 priority */
} weft_queue_kind_t;

/* Creates a queue of `kind` (a weft_queue_kind_t) holding at most `maxsize` items
 * (0: unbounded). */
WEFT_API int weft_queue_new(weft_loop_t *loop, int32_t kind, size_t maxsize, weft_queue_t **out);
WEFT_API weft_queue_t *weft_queue_retain(weft_queue_t *queue);
/* Drops the creator's handle. Pending operations keep the queue alive until they finish;
 * then the items left in it are freed. */
WEFT_API void weft_queue_release(weft_queue_t *queue);

/* In a task: puts `item`, waiting while the queue is full. WEFT_EQUEUESHUTDOWN if the queue
 * is (or gets) shut down; the item is then freed. */
WEFT_API int weft_queue_put_await(weft_queue_t *queue, weft_value_t item);
/* A future that finishes (result none) once the item is in the queue, or fails with
 * WEFT_EQUEUESHUTDOWN. Cancelling it before then frees the item. */
WEFT_API int weft_queue_put(weft_queue_t *queue, weft_value_t item, weft_future_t **out);
/* Puts at once, or WEFT_EQUEUEFULL / WEFT_EQUEUESHUTDOWN (the item is then freed). */
WEFT_API int weft_queue_put_nowait(weft_queue_t *queue, weft_value_t item);
/* The three puts with a priority (used by priority queues, ignored by the others). */
WEFT_API int weft_queue_put_priority_await(weft_queue_t *queue, int64_t priority,
                                           weft_value_t item);
WEFT_API int weft_queue_put_priority(weft_queue_t *queue, int64_t priority, weft_value_t item,
                                     weft_future_t **out);
WEFT_API int weft_queue_put_priority_nowait(weft_queue_t *queue, int64_t priority,
                                            weft_value_t item);

/* In a task: takes the next item into *item_out (the caller owns it), waiting while the
 * queue is empty. *priority_out (may be NULL) receives its priority (0 when put without).
 * WEFT_EQUEUESHUTDOWN once the queue is shut down and empty. */
WEFT_API int weft_queue_get_await(weft_queue_t *queue, weft_value_t *item_out,
                                  int64_t *priority_out);
/* A future that finishes once an item is taken for the caller, or fails with
 * WEFT_EQUEUESHUTDOWN; collect the item with weft_queue_take. If it is released without a
 * take, the item is freed with it. */
WEFT_API int weft_queue_get(weft_queue_t *queue, weft_future_t **out);
/* Takes an item at once, or WEFT_EQUEUEEMPTY / WEFT_EQUEUESHUTDOWN (shut down and empty). */
WEFT_API int weft_queue_get_nowait(weft_queue_t *queue, weft_value_t *item_out,
                                   int64_t *priority_out);
/* Moves the item out of a finished get future. Returns the future's error if it failed,
 * WEFT_EINVALIDSTATE while pending or once taken, WEFT_EINVAL if it is not a get future. */
WEFT_API int weft_queue_take(weft_future_t *get_future, weft_value_t *item_out,
                             int64_t *priority_out);

/* The number of items held (0 for NULL). */
WEFT_API size_t weft_queue_qsize(const weft_queue_t *queue);
/* The maxsize given at creation (0: unbounded). */
WEFT_API size_t weft_queue_maxsize(const weft_queue_t *queue);
/* 1 if empty / full (never full when unbounded), else 0 (0 for NULL). */
WEFT_API int weft_queue_empty(const weft_queue_t *queue);
WEFT_API int weft_queue_full(const weft_queue_t *queue);

/* Marks one got item as processed. WEFT_EINVALIDSTATE when called more times than items
 * were put. */
WEFT_API int weft_queue_task_done(weft_queue_t *queue);
/* In a task: waits until every item put has been marked done. */
WEFT_API int weft_queue_join_await(weft_queue_t *queue);
/* A future that finishes (result none) when every item put has been marked done. */
WEFT_API int weft_queue_join(weft_queue_t *queue, weft_future_t **out);

/* Shuts the queue down: puts fail with WEFT_EQUEUESHUTDOWN from now on and waiting putters
 * are woken to fail so. Gets go on until the queue is empty, then fail so too. With
 * `immediate`, the queue is emptied first (items freed, each counted as done, which can
 * release join) and waiting getters fail at once. Shutting down twice is harmless. */
WEFT_API int weft_queue_shutdown(weft_queue_t *queue, int immediate);
/* 1 once shut down, else 0 (0 for NULL). */
WEFT_API int weft_queue_is_shutdown(const weft_queue_t *queue);

#ifdef __cplusplus
}
#endif
#endif
