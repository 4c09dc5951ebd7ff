/* Where registered code runs: never on a stackful task's stack (the rule in weft.h).
 *
 * Go's runtime and V8 assume one C stack per thread; a callback of theirs entered on a
 * coroutine's stack crashes ("morestack on g0"). So whatever the core would call on a task
 * stack (a destructor, the exception or log handler, a protocol callback, an eager step) is
 * queued on the loop instead, and weft__task_step runs the queue as soon as control is back
 * on the loop's stack, before anything else happens there: the calls keep the order they
 * would have had, and come as early as they can.
 *
 * The test is cheap where it happens often: a loop knows whether one of its tasks' stacks
 * is the running one (loop->on_task_stack, a field already in cache, set and restored
 * around each resume). Destructors reached without a loop (weft_value_clear) find the loop
 * through a thread-local pointer to the loop the thread runs, written once per run. */
#include <stdio.h>

#include "internal.h"

/* The loop this thread runs (set while it runs, or for good by an adopted loop): what
 * paths with no loop of their own ask whether a task's stack is the running one. Written
 * once per run, never per task switch. NULL on threads that run no loop (executor workers). */
static _Thread_local weft_loop_t *thread_loop;

weft_loop_t *weft__thread_loop_set(weft_loop_t *loop) {
  weft_loop_t *previous = thread_loop;
  thread_loop = loop;
  return previous;
}

void weft__thread_loop_forget(weft_loop_t *loop) {
  if (thread_loop == loop)
    thread_loop = NULL;
}

/* Set for good by the first stackful task of the process: until then no thread can be on a
 * task's stack, and the loop-less paths skip the thread-local read (a call through
 * __tls_get_addr in a shared library) on which a binding's every value would pay. */
atomic_bool weft__stackful_tasks_exist;

weft_loop_t *weft__task_stack_loop(void) {
  if (!atomic_load_explicit(&weft__stackful_tasks_exist, memory_order_relaxed))
    return NULL;
  weft_loop_t *loop = thread_loop;
  return loop != NULL && loop->on_task_stack ? loop : NULL;
}

int weft__defer(weft_loop_t *loop, weft_callback_fn fn, void *arg) {
  if (loop->deferred_len == loop->deferred_cap) {
    size_t cap = loop->deferred_cap ? loop->deferred_cap * 2 : 16;
    weft__deferred_t *grown = realloc(loop->deferred, cap * sizeof *grown);
    if (grown == NULL)
      return WEFT_ENOMEM;
    loop->deferred = grown;
    loop->deferred_cap = cap;
  }
  loop->deferred[loop->deferred_len++] = (weft__deferred_t){fn, arg};
  return 0;
}

void weft__call_or_defer(weft_loop_t *loop, weft_callback_fn fn, void *arg) {
  /* Out of memory, the call is made in place: losing a destructor or a report is worse for
   * a C program, and a managed runtime would not get this far. */
  if (loop != NULL && loop->on_task_stack && weft__defer(loop, fn, arg) == 0)
    return;
  fn(arg);
}

void weft__call_free(weft_free_fn fn, void *arg) {
  if (fn == NULL)
    return;
  weft_loop_t *loop = weft__task_stack_loop();
  if (loop != NULL && weft__defer(loop, fn, arg) == 0)
    return;
  fn(arg);
}

void weft__run_deferred(weft_loop_t *loop) {
  /* The queue is taken whole: a call that starts a stackful task eagerly drains what that
   * task deferred when it yields, before the rest of this batch, as it would have run. */
  while (loop->deferred_len > 0) {
    weft__deferred_t *items = loop->deferred;
    size_t len = loop->deferred_len;
    size_t cap = loop->deferred_cap;
    loop->deferred = NULL;
    loop->deferred_len = loop->deferred_cap = 0;
    for (size_t i = 0; i < len; i++)
      items[i].fn(items[i].arg);
    if (loop->deferred == NULL) {
      loop->deferred = items; /* keep the buffer for next time */
      loop->deferred_cap = cap;
    } else {
      free(items);
    }
  }
}

#ifndef NDEBUG
void weft__assert_loop_stack_at(const char *what, const char *file, int line) {
  if (weft__task_stack_loop() == NULL)
    return;
  fprintf(stderr,
          "weft: %s about to run on a stackful task's stack (%s:%d); registered code must only "
          "run on the loop's stack\n",
          what, file, line);
  abort();
}
#endif
