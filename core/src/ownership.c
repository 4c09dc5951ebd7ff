/* Letting go of user pointers: the one place the core calls their destructors (weft.h,
 * "Ownership of user pointers"). */
#include "internal.h"

void weft__let_go(weft_loop_t *loop, weft_free_fn fn, void *arg) {
  if (fn == NULL)
    return;
  weft_task_t *current = loop != NULL ? loop->current_task : NULL;
  /* weft_free_fn and weft_callback_fn have the same type: the destructor is the callback. */
  if (current != NULL && current->coro != NULL && weft_call_soon(loop, fn, arg, NULL) == 0)
    return;
  fn(arg);
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
