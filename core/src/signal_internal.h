/* Starting libuv's signal watchers, and the runner's SIGINT handling as asyncio.Runner
 * does it. Internal.
 *
 * While installed, the first SIGINT cancels the main task (through the loop, like any
 * handler) and the second interrupts at once: the signal's default action, which ends the
 * process, runs straight from the signal handler, so it works even when the loop is stuck. */
#ifndef WEFT_SIGNAL_INTERNAL_H
#define WEFT_SIGNAL_INTERNAL_H

#include "weft.h"

#include <uv.h>

/* uv_signal_start, with the process-wide handler libuv installs made to run on the
 * thread's alternate signal stack (SA_ONSTACK) when the calling thread has one, as every
 * thread of a Go program has. libuv installs it without: a signal that lands on a thread
 * running a goroutine then pushes its frame below that goroutine's small stack, into the
 * memory there (cgo requires the flag of C handlers). Left as libuv makes it otherwise:
 * valgrind cannot deliver a signal with the flag to a thread without such a stack. */
int weft__signal_start(uv_signal_t *handle, uv_signal_cb cb, int signum);

typedef struct weft__sigint_guard_s weft__sigint_guard_t;

/* Installs the guard for `main_task` on `loop`, on the loop's thread. Like asyncio, only
 * when SIGINT has its default disposition and no other guard is installed: otherwise
 * returns 0 with *out NULL and changes nothing. */
int weft__sigint_guard_install(weft_loop_t *loop, weft_task_t *main_task,
                               weft__sigint_guard_t **out);
/* Restores SIGINT's previous disposition and frees the guard (NULL is ignored). Returns 1
 * if a SIGINT cancelled the main task, so the runner can report the interruption (asyncio
 * raises KeyboardInterrupt then), else 0. The loop must run once more (or close) to finish
 * closing the guard's libuv handle. */
int weft__sigint_guard_remove(weft__sigint_guard_t *guard);

#endif
