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
 *   given with it.
 *
 * Threads. One loop per thread. Call a loop and its objects from the thread running it;
 *   the functions documented as thread-safe are the exceptions: weft_loop_stop,
 *   weft_call_soon_threadsafe (and its _id form), weft_future_set_*_threadsafe, and the
 *   weft_cfuture_* and executor functions. A runtime with many threads (Go) hands work to
 *   the loop with weft_call_soon_threadsafe: posts made before the loop wakes up are taken
 *   in one batch, at the cost of one wake-up.
 *
 * Ownership of user pointers. Every pointer the core keeps after a call returns (a
 *   callback's argument, a protocol's, a factory's) is the caller's: the core never frees
 *   it, except through the destructor given with it, which it calls exactly once, on the
 *   loop's thread, when it lets go of the pointer.
 *
 * Where callbacks run. Code registered by a user or a binding (done callbacks, protocol
 *   callbacks, factories, the exception and log handlers, destructors, step functions,
 *   SNI callbacks) is only ever called from the loop's own stack, never from a stackful
 *   task's: when an event that calls such code happens inside a stackful task, the call
 *   is deferred to the loop, in the order it would have run. Managed runtimes (Go, V8)
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
