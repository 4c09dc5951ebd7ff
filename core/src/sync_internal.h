/* Pieces shared by sync.c and queue.c. Internal. */
#ifndef WEFT_SYNC_INTERNAL_H
#define WEFT_SYNC_INTERNAL_H

#include "weft.h"

/* An intrusive doubly linked list: waiters stay in place while others leave from the
 * middle (a cancelled waiter removes itself), which a ring buffer would make O(n). */
typedef struct weft__wnode_s weft__wnode_t;
struct weft__wnode_s {
  weft__wnode_t *prev;
  weft__wnode_t *next;
  int linked;
};

typedef struct weft__wlist_s {
  weft__wnode_t *head;
  weft__wnode_t *tail;
} weft__wlist_t;

static inline void weft__wlist_push(weft__wlist_t *list, weft__wnode_t *node) {
  node->prev = list->tail;
  node->next = NULL;
  if (list->tail)
    list->tail->next = node;
  else
    list->head = node;
  list->tail = node;
  node->linked = 1;
}

static inline void weft__wlist_unlink(weft__wlist_t *list, weft__wnode_t *node) {
  if (!node->linked)
    return;
  if (node->prev)
    node->prev->next = node->next;
  else
    list->head = node->next;
  if (node->next)
    node->next->prev = node->prev;
  else
    list->tail = node->prev;
  node->prev = node->next = NULL;
  node->linked = 0;
}

/* A future already finished with `value` (moved in), or with error `code` when nonzero. */
int weft__done_future(weft_loop_t *loop, int code, weft_value_t value, weft_future_t **out);

/* Inside a stackful task: awaits `future` and, should the await end early on a
 * cancellation, goes on waiting until the future is done, so an operation that must finish
 * its clean-up (a condition re-acquiring its lock) has done so on return. Returns what the
 * first await returned. */
int weft__await_done(weft_future_t *future);

#endif
