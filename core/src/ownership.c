/* Letting go of user pointers: the one place the core calls their destructors (weft.h,
 * "Ownership of user pointers").
 *
 * A destructor due while a stackful task runs waits in the loop's queue of deferred calls
 * (defer.c), run as soon as the loop's stack is back, so each destructor still runs exactly
 * once and never on a task's stack. */
#include <stdlib.h>

#include "internal.h"

void weft__let_go(weft_loop_t *loop, weft_free_fn fn, void *arg) {
  if (fn == NULL)
    return;
  if (loop == NULL)
    weft__call_free(fn, arg);
  else
    weft__call_or_defer(loop, fn, arg); /* the loop's one queue of deferred calls (defer.c) */
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
