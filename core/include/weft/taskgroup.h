/* TaskGroup, as asyncio.TaskGroup: structured concurrency for a task's children.
 *
 *   weft_taskgroup_t *g;
 *   weft_taskgroup_enter(self, &g);
 *   weft_taskgroup_spawn(g, child, arg, NULL, NULL);
 *   int rc = body();                     // fails with WEFT_ECANCELLED if a child fails
 *   rc = weft_taskgroup_exit_await(g, rc);     // waits for every child
 *   ... inspect weft_taskgroup_errors ...
 *   weft_taskgroup_free(g);
 *
 * The first child to fail cancels its siblings and the body; exit waits for all children
 * and returns WEFT_EGROUP when any failed (their futures are kept for inspection), the
 * body's cancellation only if it came from outside the group, or the body's own error
 * folded into the group's errors. No child outlives the group. */
#ifndef WEFT_TASKGROUP_H
#define WEFT_TASKGROUP_H

#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_taskgroup_s weft_taskgroup_t;

/* Opens a group whose body runs in `parent` (the current task). */
WEFT_API int weft_taskgroup_enter(weft_task_t *parent, weft_taskgroup_t **out);
/* Spawns a stackful child. WEFT_EINVALIDSTATE once the group is shutting down or done. */
WEFT_API int weft_taskgroup_spawn(weft_taskgroup_t *group, weft_task_fn fn, void *arg,
                                  const weft_task_options_t *options, weft_task_t **out);
/* Adopts a task created elsewhere (a binding's step-driven task) as a child. */
WEFT_API int weft_taskgroup_add(weft_taskgroup_t *group, weft_task_t *task);
/* Cancels the children and the body; exit then returns without WEFT_ECANCELLED. */
WEFT_API int weft_taskgroup_cancel(weft_taskgroup_t *group);
/* From the parent task: waits for every child; `body_rc` is the body's outcome. */
WEFT_API int weft_taskgroup_exit_await(weft_taskgroup_t *group, int body_rc);
/* exit as a future, for a parent that is a step-driven task: it completes once no child
 * runs, with exit_await's outcome as its error (cancelled for WEFT_ECANCELLED). Cancelling
 * it is the parent's cancellation while it waits: the children are cancelled first. */
WEFT_API int weft_taskgroup_exit(weft_taskgroup_t *group, int body_rc, weft_future_t **out);
/* After exit: the failed children (and the body's error, as a future) in failure order.
 * Fills out[0..capacity) with borrowed futures and returns the count. */
WEFT_API size_t weft_taskgroup_errors(const weft_taskgroup_t *group, weft_future_t **out,
                                      size_t capacity);
WEFT_API void weft_taskgroup_free(weft_taskgroup_t *group);

#ifdef __cplusplus
}
#endif
#endif
