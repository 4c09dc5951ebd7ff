/* Letting go of user pointers: the one place the core calls their destructors (weft.h,
 * "Ownership of user pointers").
 *
 * A destructor due while a stackful task runs is kept in the loop's list and run from the
 * loop (one ready-queue entry per batch). The list is the loop's, not the ready queue's:
 * closing the loop drops callbacks not yet run, but runs these, so each destructor still
 * runs exactly once. */
#include <stdlib.h>

#include "internal.h"
#include "loop_ext.h"

typedef struct pending_s {
  weft_free_fn fn;
  void *arg;
} pending_t;

typedef struct deferred_s {
  pending_t *items;
  size_t len, cap;
  int scheduled; /* a ready-queue entry will run the list */
} deferred_t;

/* Runs what is pending now; destructors deferred meanwhile wait for the next batch. */
static void run_pending(deferred_t *d) {
  pending_t *items = d->items;
  size_t len = d->len;
  d->items = NULL;
  d->len = d->cap = 0;
  for (size_t i = 0; i < len; i++)
    items[i].fn(items[i].arg);
  free(items);
}

static void on_ready(void *p) {
  deferred_t *d = p;
  d->scheduled = 0;
  run_pending(d);
}

static void on_loop_close(void *p) {
  deferred_t *d = p;
  while (d->len > 0)
    run_pending(d);
  free(d);
}

static int defer(weft_loop_t *loop, weft_free_fn fn, void *arg) {
  deferred_t *d = weft__loop_ext_get(loop, WEFT__EXT_DESTRUCTORS);
  if (d == NULL) {
    if ((d = calloc(1, sizeof *d)) == NULL)
      return WEFT_ENOMEM;
    if (weft__loop_ext_set(loop, WEFT__EXT_DESTRUCTORS, d, on_loop_close) != 0) {
      free(d);
      return WEFT_ENOMEM;
    }
  }
  if (!d->scheduled) {
    int rc = weft_call_soon(loop, on_ready, d, NULL);
    if (rc != 0)
      return rc;
    d->scheduled = 1;
  }
  if (d->len == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    pending_t *grown = realloc(d->items, cap * sizeof *grown);
    if (grown == NULL)
      return WEFT_ENOMEM;
    d->items = grown;
    d->cap = cap;
  }
  d->items[d->len++] = (pending_t){fn, arg};
  return 0;
}

void weft__let_go(weft_loop_t *loop, weft_free_fn fn, void *arg) {
  if (fn == NULL)
    return;
  weft_task_t *current = loop != NULL ? loop->current_task : NULL;
  if (current != NULL && current->coro != NULL && defer(loop, fn, arg) == 0)
    return;
  fn(arg); /* on the loop's stack, or no way to defer (out of memory, loop closed) */
}

void weft__replace_arg(weft_loop_t *loop, void **arg_slot, weft_free_fn *free_slot, void *arg,
                       weft_free_fn arg_free) {
  void *old = *arg_slot;
  weft_free_fn old_free = *free_slot;
  *arg_slot = arg;
  *free_slot = arg_free;
  if (old != arg)
    weft__let_go(loop, old_free, old);
}
