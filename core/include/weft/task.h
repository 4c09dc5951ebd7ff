/* Tasks: a future driven by a coroutine, as asyncio.Task.
 *
 * Two kinds share one type. A stackful task runs a C function on its own stack; inside it,
 * weft_await suspends until a future is done. A step-driven task belongs to a binding whose
 * language has coroutines of its own: the core calls its step function to start it and
 * again each time the future it waits on completes. Cancellation follows asyncio: the
 * request cancels the awaited future, or fails the task's next suspension point with
 * WEFT_ECANCELLED; the task may handle it and go on. */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include "common.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A stackful task's body. Return 0 for success, WEFT_ECANCELLED to end cancelled, or
 * another negative code to fail. */
typedef int (*weft_task_fn)(weft_task_t *self, void *arg);
/* A step-driven task's step. `throw_code` is 0 when the awaited future (if any) is done
 * and the coroutine should be sent its outcome, or WEFT_ECANCELLED when cancellation must
 * be thrown into it. The step must end with exactly one of: weft_task_suspend,
 * weft_task_return, weft_task_fail. */
typedef void (*weft_step_fn)(weft_task_t *task, int throw_code, void *arg);

typedef struct weft_task_options_s {
  size_t size;       /* sizeof(weft_task_options_t) */
  const char *name;  /* copied; NULL gives "Task-N" */
  size_t stack_size; /* stackful tasks: bytes of stack, 0 for the default (256 KiB) */
  int eager_start;   /* run the task at once, up to its first suspension (a step-driven
                        task started inside a stackful one: as soon as the loop's stack is
                        back, before anything else runs; see "Where callbacks run") */
} weft_task_options_t;

/* Fills *options with the defaults: every field zero (none, off), size set. */
WEFT_API void weft_task_options_init(weft_task_options_t *options);

/* Starts a stackful task running fn(task, arg). `out` (may be NULL) receives a new
 * reference; the loop keeps its own until the task is done. fn runs at most once (never
 * when the task is cancelled before it started): arg is the caller's to free, in fn or
 * once the task is done. */
WEFT_API int weft_task_spawn(weft_loop_t *loop, weft_task_fn fn, void *arg,
                             const weft_task_options_t *options, weft_task_t **out);
/* Starts a step-driven task: step(task, 0, arg) runs on the next iteration. arg_free (may
 * be NULL) is called with arg exactly once, after the task's last step has returned (or
 * when a task that never stepped is freed). */
WEFT_API int weft_task_new_stepped(weft_loop_t *loop, weft_step_fn step, void *arg,
                                   weft_free_fn arg_free, const weft_task_options_t *options,
                                   weft_task_t **out);

/* From a step function: wait for `awaited` to be done before the next step, or with
 * NULL, yield once (the next step comes on the next iteration). */
WEFT_API int weft_task_suspend(weft_task_t *task, weft_future_t *awaited);
/* Ends the task with a result (moved in). From its body or step, or for a step-driven task
 * between its steps, from the loop's thread (its awaited future no longer wakes it). */
WEFT_API int weft_task_return(weft_task_t *task, weft_value_t value);
/* Ends the task with an error, or cancelled when code is WEFT_ECANCELLED; when, as return.
 * Returns `code`, so a stackful body can `return weft_task_fail(self, ...)`. */
WEFT_API int weft_task_fail(weft_task_t *task, int code, const char *message, void *payload,
                            weft_free_fn payload_free);

/* Inside a stackful task: suspends until `future` is done and returns its outcome as
 * weft_future_error would (0 for a result). An already-done future returns at once.
 * WEFT_ECANCELLED if the task was cancelled meanwhile; WEFT_ENOTINTASK outside a task;
 * WEFT_EWRONGLOOP for a pending future of another loop than the task's (asyncio's
 * RuntimeError "... attached to a different loop"). */
WEFT_API int weft_await(weft_future_t *future);

/* The task as a future (borrowed; same object), and back (NULL if not a task). */
WEFT_API weft_future_t *weft_task_future(weft_task_t *task);
WEFT_API weft_task_t *weft_task_from_future(weft_future_t *future);
WEFT_API weft_task_t *weft_task_retain(weft_task_t *task);
WEFT_API void weft_task_release(weft_task_t *task);

/* Requests cancellation: 1 if requested, 0 if the task is already done. */
WEFT_API int weft_task_cancel(weft_task_t *task, const char *message);
/* The number of pending cancellation requests, and withdrawing one (returns what is left). */
WEFT_API int weft_task_cancelling(const weft_task_t *task);
WEFT_API int weft_task_uncancel(weft_task_t *task);

WEFT_API const char *weft_task_name(const weft_task_t *task);
WEFT_API int weft_task_set_name(weft_task_t *task, const char *name);
/* The future the task waits on now (borrowed), or NULL; for a step-driven task given one by
 * weft_task_set_awaiting, that one. */
WEFT_API weft_future_t *weft_task_awaiting(const weft_task_t *task);
/* For a step-driven task whose coroutine goes on by itself between steps (a runtime resumes
 * it, the task meanwhile waiting on a future of the binding's): `future` (NULL: none) is what
 * the coroutine awaits now. While the task waits, weft_task_cancel cancels it at once, as
 * asyncio's Task.cancel() cancels the future its coroutine awaits, and queues the task's next
 * step ahead of that future's callbacks (throw_code 0, the future it suspended on still
 * pending): the binding hears of the cancellation before its coroutine does. */
WEFT_API int weft_task_set_awaiting(weft_task_t *task, weft_future_t *future);

/* The task running now on `loop`, or NULL outside any task. Borrowed. */
WEFT_API weft_task_t *weft_current_task(weft_loop_t *loop);
/* Fills out[0..capacity) with the loop's unfinished tasks (borrowed) and returns how many
 * there are, which may exceed capacity. */
WEFT_API size_t weft_all_tasks(weft_loop_t *loop, weft_task_t **out, size_t capacity);

#ifdef __cplusplus
}
#endif
#endif
