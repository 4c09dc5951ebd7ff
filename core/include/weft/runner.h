/* The runner, as asyncio.run: a fresh loop, the main task, clean-up, close. */
#ifndef WEFT_RUNNER_H
#define WEFT_RUNNER_H

#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_run_options_s {
  size_t size;           /* sizeof(weft_run_options_t) */
  int debug;             /* run the loop in debug mode */
  const char *main_name; /* the main task's name, NULL for "main" */
} weft_run_options_t;

/* Fills *options with the defaults: every field zero (none, off), size set. */
WEFT_API void weft_run_options_init(weft_run_options_t *options);

/* Creates a loop, runs main(task, arg) as a stackful task until it is done, cancels the
 * tasks still pending and waits for them, closes the loop. Returns main's outcome. */
WEFT_API int weft_run(weft_task_fn main, void *arg, const weft_run_options_t *options);

#ifdef __cplusplus
}
#endif
#endif
