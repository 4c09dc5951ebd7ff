/* Unix signal handlers on the loop, as loop.add_signal_handler.
 *
 * A handler never runs in signal context: libuv notices the signal, and the handler is then
 * scheduled with call_soon, so it runs as an ordinary loop callback (in order with the
 * others, free to use the whole API). Handlers do not keep the loop running. */
#ifndef WEFT_SIGNAL_H
#define WEFT_SIGNAL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calls cb(arg) on the loop each time `signum` arrives, replacing the loop's previous
 * handler for it. WEFT_EINVAL for SIGKILL, SIGSTOP and numbers that are not signals.
 * arg_free (may be NULL) is called with arg exactly once, when the loop lets go of it: when
 * the handler is removed or replaced (not by the same arg, which stays kept under the new
 * arg_free), or when the loop closes. */
WEFT_API int weft_add_signal_handler(weft_loop_t *loop, int signum, weft_callback_fn cb, void *arg,
                                     weft_free_fn arg_free);
/* Removes the handler for `signum`: 1 if there was one, 0 if not, or an error code. The
 * signal's disposition goes back to the default, as libuv leaves it. */
WEFT_API int weft_remove_signal_handler(weft_loop_t *loop, int signum);

#ifdef __cplusplus
}
#endif
#endif
