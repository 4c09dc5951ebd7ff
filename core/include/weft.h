/* weft: asyncio's concurrency model, in C, on libuv. The whole public API.
 *
 * Conventions (the binding contract: what a C user or a binding author can rely on)
 *
 * Names. Every public name starts with weft_ (macros WEFT_); internal ones with weft__.
 *   - weft_X_new / weft_X_spawn create; the caller then holds one reference.
 *   - Reference-counted objects have weft_X_retain and weft_X_release, nothing else: the
 *     last release frees (and, for loops, transports and writers, closes first). Objects
 *     that are not reference counted (graphs, task groups, as_completed iterators, address
 *     lists) have weft_X_free. asyncio's release() of a Lock, Condition or Semaphore is
 *     therefore weft_X_unlock.
 *   - Every operation that waits returns a future through its last parameter
 *     (weft_future_t **out, a new reference); where it also exists for stackful C tasks,
 *     that form is the same name with _await and waits in the task (weft_lock_acquire
 *     and weft_lock_acquire_await, weft_sleep and weft_sleep_await).
 *   - Boolean queries (weft_X_is_Y, weft_X_locked, ...) return 0 or 1, and 0 for NULL.
 *   - Option structs begin with their size and have weft_X_options_init, which fills in
 *     the defaults; pass NULL for all defaults. Flags are positive (nodelay, start_serving).
 *
 * Errors. Functions that can fail return 0 (or a count) or a negative WEFT_E* code, one
 *   table for all (weft/error.h, WEFT_ERRNO_MAP); a NULL handle or a NULL required pointer
 *   is WEFT_EINVAL, never a crash; a query whose type cannot carry a code (a pointer, an
 *   unsigned count, a double, a boolean) answers a NULL handle with NULL, 0 or 0.0 (the
 *   NULL sweep, tests/null_sweep_gen.py, calls every exported function so). When a function
 *   that takes a callback or a future out fails, the callback is never called and *out is
 *   not set. A future's error is a code, a message and an optional payload that belongs to
 *   the binding: the core never looks inside a payload, only frees it with the destructor
 *   given with it. What the core itself knows about an error is kept beside it and read
 *   with typed accessors (weft_stream_error_partial, weft_stream_error_consumed,
 *   weft_sendfile_sent).
 *
 * Threads. One loop per thread. Call a loop and its objects from the thread running it;
 *   the functions documented as thread-safe are the exceptions: weft_loop_stop,
 *   weft_call_soon_threadsafe (and its _id form), weft_future_set_*_threadsafe,
 *   weft_transport_write_threadsafe and weft_transport_read_threadsafe, and the
 *   weft_cfuture_* and executor functions. A
 *   runtime with many threads (Go) hands work to the loop with weft_call_soon_threadsafe:
 *   posts made before the loop wakes up are taken in one batch, at the cost of one wake-up.
 *
 * Ownership of user pointers. Every `void *arg` the core keeps after a call returns comes
 *   with a weft_free_fn destructor beside it (NULL: nothing to free), which the core calls
 *   exactly once, on the loop's thread and never on a stackful task's stack, when it lets
 *   go of the pointer; after that call the core never uses the pointer again. The
 *   destructor is the parameter after the argument (weft_add_reader's arg_free, the
 *   servers' factory_arg_free, the handlers', weft_task_new_stepped's) or the field after
 *   it in a struct (weft_tls_options_t.ssl_arg_free); a protocol's `arg` is freed by its
 *   table's arg_free (weft_protocol_t, weft_subprocess_protocol_t), which the factory fills
 *   in for the arg it returns. One rule for all of them:
 *   - A call that fails (returns an error) keeps nothing: the destructor is not called and
 *     the pointer stays the caller's. From a 0 return on, the core owns the pointer, also
 *     when the operation fails later (a connect future failing frees the protocol's arg).
 *   - The core lets go when nothing can call with the pointer any more: a protocol after
 *     connection_made..connection_lost (or a connect that never got there), a server's
 *     factory argument once the server is closed (no factory call after weft_server_close,
 *     not even for a TLS handshake still in flight), a handler or watcher when it is
 *     removed, replaced or its loop goes, a step-driven task's after its last step.
 *   - Replacing a registration with the same pointer keeps it (under the new destructor);
 *     any other replacement lets go of the old one.
 *   One-shot callbacks take no destructor: their callback is the place to free the
 *   argument, as in libuv (weft_call_soon/_later/_at/_threadsafe, done callbacks, a
 *   stackful task's body). Whoever stops one from running (weft_handle_cancel,
 *   weft_future_remove_done_callback, cancelling a stackful task before it started, closing
 *   the loop with callbacks pending) takes the argument back. Two exceptions, for objects
 *   not tied to one loop: weft_run_in_executor_ex hands its arg to a worker thread, and
 *   its destructor runs there after fn (and when the call fails); a TLS context's SNI
 *   argument goes with the context, on the thread that drops its last reference.
 *
 * Where callbacks run. Code registered by a user or a binding (done callbacks, protocol
 *   callbacks, factories, the exception and log handlers, destructors, step functions,
 *   SNI callbacks) is only ever called from the loop's own stack, never from a stackful
 *   task's: when an event that calls such code happens inside a stackful task, the call
 *   is deferred, in the order it would have run, and made as soon as the task switches
 *   back to the loop, before anything else runs there (an eager step-driven task started
 *   in a stackful task takes its first step then). Code handed to the very call that runs
 *   it (a transport's ops given to weft_transport_new, a condition's predicate, a TLS
 *   ssl_fn) runs inside that call, on its caller's stack. Managed runtimes (Go, V8)
 *   assume one C stack per thread, so bindings drive their languages' coroutines with
 *   step-driven tasks (weft_task_new_stepped) and never spawn stackful tasks; stackful
 *   tasks are for C. */
#ifndef WEFT_H
#define WEFT_H

#include "weft/common.h"
#include "weft/error.h"
#include "weft/value.h"
#include "weft/loop.h"
#include "weft/future.h"
#include "weft/task.h"
#include "weft/combinators.h"
#include "weft/timeout.h"
#include "weft/taskgroup.h"
#include "weft/graph.h"
#include "weft/runner.h"
#include "weft/sync.h"
#include "weft/queue.h"
#include "weft/executor.h"
#include "weft/signal.h"
#include "weft/process.h"
#include "weft/tls.h"
#include "weft/protocol.h"
#include "weft/transport.h"
#include "weft/sockaddr.h"
#include "weft/dns.h"
#include "weft/tcp.h"
#include "weft/server.h"
#include "weft/unix.h"
#include "weft/udp.h"
#include "weft/pipe.h"
#include "weft/sock.h"
#include "weft/tls_transport.h"
#include "weft/stream.h"

#endif
