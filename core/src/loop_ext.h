/* Per-loop state for modules outside loop.c (the default executor, signal handlers,
 * child processes): one slot each in the loop. weft_loop_close runs weft__loop_ext_close,
 * which runs each slot's cleanup. Internal. */
#ifndef WEFT_LOOP_EXT_H
#define WEFT_LOOP_EXT_H

#include "weft.h"

enum {
  WEFT__EXT_EXECUTOR = 1,
  WEFT__EXT_SIGNALS = 2,
  WEFT__EXT_PROCESSES = 3,
  WEFT__EXT_WATCHERS = 4,
  WEFT__EXT_DESTRUCTORS = 5, /* unused: deferred destructors wait in defer.c's queue */
  WEFT__EXT_SLOTS
};

/* The value stored for (loop, key), or NULL. Thread-safe. */
void *weft__loop_ext_get(weft_loop_t *loop, int key);
/* Stores value (NULL removes the entry, without cleanup). cleanup(value) runs at
 * weft__loop_ext_close. 0 or WEFT_ENOMEM. Thread-safe. */
int weft__loop_ext_set(weft_loop_t *loop, int key, void *value, weft_free_fn cleanup);
/* Removes every entry of the loop and runs its cleanup, on the loop's thread. Calling it
 * again is harmless. */
void weft__loop_ext_close(weft_loop_t *loop);

#endif
