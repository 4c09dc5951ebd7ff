/* The runner, as asyncio.run: new loop, main task, cancel what is left, shut the default
 * executor down, close. While main runs, the first SIGINT cancels it and a second one
 * interrupts at once; a run ended that way returns WEFT_EINTR (asyncio's
 * KeyboardInterrupt). */
#include <string.h>
#include "internal.h"
#include "signal_internal.h"

/* Cancels every task still pending and runs the loop until they are all done, reporting
 * those that failed instead of ending cancelled (asyncio's _cancel_all_tasks). */
static void cancel_all_tasks(weft_loop_t *loop) {
  size_t count = weft_all_tasks(loop, NULL, 0);
  if (count == 0)
    return;
  weft_task_t **tasks = malloc(count * sizeof *tasks);
  weft_future_t **futures = malloc(count * sizeof *futures);
  if (tasks == NULL || futures == NULL) {
    free(tasks);
    free(futures);
    return; /* closing the loop reports what is left */
  }
  weft_all_tasks(loop, tasks, count);
  for (size_t i = 0; i < count; i++) {
    futures[i] = weft_task_future(weft_task_retain(tasks[i]));
    weft_task_cancel(tasks[i], NULL);
  }
  weft_future_t *all;
  if (weft_gather(loop, futures, count, 1, &all) == 0) {
    weft_loop_run_until_complete(loop, all);
    weft_future_release(all);
  }
  for (size_t i = 0; i < count; i++) {
    weft_future_t *f = futures[i];
    if (weft_future_done(f) && !weft_future_cancelled(f) && f->error != 0) {
      weft_error_context_t ctx = {.size = sizeof ctx,
                                  .message = "unhandled error during weft_run() shutdown",
                                  .error = f->error,
                                  .error_message = weft_future_error_message(f),
                                  .error_payload = weft_future_error_payload(f),
                                  .task = tasks[i]};
      weft_loop_call_exception_handler(loop, &ctx);
    }
    weft_task_release(tasks[i]);
  }
  free(tasks);
  free(futures);
}

/* asyncio.run spends a few more iterations once the tasks are done (shutting down async
 * generators and the default executor), in which callbacks already scheduled still run:
 * the clean-up of an operation a cancelled task gave up, say, which closing the loop would
 * drop (and leak). Run them here too, for a bounded number of iterations, so a callback
 * that keeps rescheduling itself cannot hold the runner. */
static void drain_ready(weft_loop_t *loop) {
  for (int i = 0; i < 8 && loop->ready_count > 0; i++)
    weft_loop_run_once(loop, 1);
}

int weft_run(weft_task_fn main, void *arg, const weft_run_options_t *options) {
  if (main == NULL || (options != NULL && options->size < sizeof(size_t)))
    return WEFT_EINVAL;
  weft_loop_options_t loop_options = {
      .size = sizeof loop_options,
      .debug = WEFT__OPTION(options, weft_run_options_t, debug, 0),
  };
  weft_loop_t *loop;
  int rc = weft_loop_new_ex(&loop_options, &loop);
  if (rc != 0)
    return rc;
  weft_task_options_t task_options = {
      .size = sizeof task_options,
      .name = WEFT__OPTION(options, weft_run_options_t, main_name, NULL),
  };
  if (task_options.name == NULL)
    task_options.name = "main";
  weft_task_t *task;
  rc = weft_task_spawn(loop, main, arg, &task_options, &task);
  if (rc == 0) {
    weft__sigint_guard_t *guard = NULL;
    weft__sigint_guard_install(loop, task, &guard); /* best effort, as asyncio's */
    rc = weft_loop_run_until_complete(loop, weft_task_future(task));
    cancel_all_tasks(loop);
    weft_future_t *shutdown;
    if (weft_shutdown_default_executor(loop, &shutdown) == 0) {
      weft_loop_run_until_complete(loop, shutdown);
      weft_future_release(shutdown);
    }
    drain_ready(loop);
    if (weft__sigint_guard_remove(guard) == 1 && rc == WEFT_ECANCELLED)
      rc = WEFT_EINTR;
    weft_task_release(task);
  }
  weft_loop_close(loop);
  weft_loop_release(loop);
  return rc;
}

void weft_run_options_init(weft_run_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}
