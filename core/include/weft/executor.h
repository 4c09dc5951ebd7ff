/* Executors and threads: blocking work off the loop, as loop.run_in_executor and
 * asyncio.to_thread; and the way in from other threads, as asyncio.run_coroutine_threadsafe.
 *
 * An executor is a pool of worker threads of its own (at most max_workers, started as work
 * arrives), like concurrent.futures.ThreadPoolExecutor. Work submitted from a loop returns
 * a future of that loop, completed on the loop's thread with the work's outcome. Each loop
 * has a default executor, created on first use. */
#ifndef WEFT_EXECUTOR_H
#define WEFT_EXECUTOR_H

#include "common.h"
#include "value.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_executor_s weft_executor_t;
/* A future that any thread may wait on (concurrent.futures.Future). */
typedef struct weft_cfuture_s weft_cfuture_t;

/* Blocking work, run on a worker thread. Returns 0 and may store a result in *result
 * (which starts as none), or a negative error code (any result set is then dropped). */
typedef int (*weft_work_fn)(void *arg, weft_value_t *result);

/* Creates an executor of at most `max_workers` threads; 0 means min(32, CPUs + 4), as
 * ThreadPoolExecutor. The creator holds one reference. */
WEFT_API int weft_executor_new(size_t max_workers, weft_executor_t **out);
WEFT_API weft_executor_t *weft_executor_retain(weft_executor_t *executor);
/* Drops a reference. The last one shuts the executor down and waits for (joins) its
 * threads, so it blocks while work is still running. Thread-safe. */
WEFT_API void weft_executor_release(weft_executor_t *executor);
/* Refuses new work from now on; with `cancel_futures`, work not yet started is dropped and
 * its futures cancelled; with `wait`, blocks until the running and queued work is done and
 * the threads are gone. Thread-safe; calling it again is harmless. */
WEFT_API int weft_executor_shutdown(weft_executor_t *executor, int wait, int cancel_futures);
WEFT_API size_t weft_executor_max_workers(const weft_executor_t *executor);

/* Runs fn(arg) on `executor` (NULL: the loop's default executor) and returns a future of
 * `loop` with its result or error. Cancelling the future before the work started keeps it
 * from running; once running it runs to the end and its outcome is dropped. WEFT_ECLOSED
 * after the executor (or, for NULL, the default executor) was shut down. */
WEFT_API int weft_run_in_executor(weft_loop_t *loop, weft_executor_t *executor, weft_work_fn fn,
                                  void *arg, weft_future_t **out);
/* As weft_run_in_executor, and arg_free(arg) (may be NULL) is called exactly once when the
 * core is done with arg: after fn ran (on the worker thread), or when the work was
 * dropped without running. Also on failure to submit. */
WEFT_API int weft_run_in_executor_ex(weft_loop_t *loop, weft_executor_t *executor, weft_work_fn fn,
                                     void *arg, weft_free_fn arg_free, weft_future_t **out);
/* asyncio.to_thread: fn(arg) on the loop's default executor. */
WEFT_API int weft_to_thread(weft_loop_t *loop, weft_work_fn fn, void *arg, weft_future_t **out);

/* Replaces the loop's default executor (the loop takes a reference; the previous one is
 * shut down without waiting). */
WEFT_API int weft_loop_set_default_executor(weft_loop_t *loop, weft_executor_t *executor);
/* The size of the default executor the loop will create; WEFT_EINVALIDSTATE once it
 * exists. 0 restores min(32, CPUs + 4). */
WEFT_API int weft_loop_set_default_executor_size(weft_loop_t *loop, size_t max_workers);
/* asyncio's loop.shutdown_default_executor: refuses new default-executor work and returns
 * a future (result none) that completes once the work already submitted has finished.
 * The waiting happens on a helper thread, so the loop keeps running meanwhile. */
WEFT_API int weft_shutdown_default_executor(weft_loop_t *loop, weft_future_t **out);

/* asyncio.run_coroutine_threadsafe, from any thread but the loop's: starts fn(task, arg) as
 * a stackful task on `loop` and returns a future for its outcome that this thread can
 * wait on. If it is cancelled before the task started, fn never runs. */
WEFT_API int weft_run_threadsafe(weft_loop_t *loop, weft_task_fn fn, void *arg,
                                 weft_cfuture_t **out);
/* Blocks until the future is done or `timeout` seconds passed (negative: no limit).
 * 0 when done, else WEFT_ETIMEDOUT. Thread-safe, as is everything below. */
WEFT_API int weft_cfuture_wait(weft_cfuture_t *future, double timeout);
WEFT_API int weft_cfuture_done(weft_cfuture_t *future);
WEFT_API int weft_cfuture_cancelled(weft_cfuture_t *future);
/* Waits as weft_cfuture_wait, then returns the outcome: 0 with *out (may be NULL) pointing
 * at the result (borrowed, valid while the cfuture lives), the task's error code,
 * WEFT_ECANCELLED, or WEFT_ETIMEDOUT if it is still pending. */
WEFT_API int weft_cfuture_result(weft_cfuture_t *future, double timeout, const weft_value_t **out);
/* The error's (or cancellation's) message, NULL if none. Borrowed. */
WEFT_API const char *weft_cfuture_error_message(weft_cfuture_t *future);
/* Cancels: the cfuture is cancelled at once and the task is cancelled on its loop. 1 if
 * this cancelled it, 0 if it was already done. */
WEFT_API int weft_cfuture_cancel(weft_cfuture_t *future);
/* Drops the caller's reference. Any thread. */
WEFT_API weft_cfuture_t *weft_cfuture_retain(weft_cfuture_t *future);
WEFT_API void weft_cfuture_release(weft_cfuture_t *future);

#ifdef __cplusplus
}
#endif
#endif
