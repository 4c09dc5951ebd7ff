/* weft.i: the one SWIG description of weft's C ABI, for every SWIG target language.
 *
 * Only what holds in every language lives here; a language's own typemaps live in its own
 * file (go.i), which defines WEFT_LANG_HANDLE before including this one. The headers are
 * found on SWIG's include path (-I core/include, or pkg-config weft's Cflags), so this file
 * works from the source tree and from an installed library alike. */
%module weft

%{
#include "weft.h"
%}

%include <stdint.i>

/* Option structs' string fields are borrowed by the call they are passed to; a setter that
 * copies into them (what SWIG warns of) is not how a binding fills them. */
#pragma SWIG nowarn=451

/* A language file says how a handle comes back through an out-parameter (CT **): each
 * handle keeps its own type there, so a lock can never be passed where a loop is wanted. */
#ifndef WEFT_LANG_HANDLE
%define WEFT_LANG_HANDLE(CT, ST)
%enddef
#endif

/* Reference-counted handles: _retain hands out a new reference, _release gives one back. */
%define WEFT_REFCOUNTED(NAME)
WEFT_LANG_HANDLE(weft_##NAME##_t, weft_##NAME##_s)
%newobject weft_##NAME##_retain;
%delobject weft_##NAME##_release;
%enddef

/* Handles freed once with _free (not reference counted). */
%define WEFT_OWNED(NAME)
WEFT_LANG_HANDLE(weft_##NAME##_t, weft_##NAME##_s)
%delobject weft_##NAME##_free;
%enddef

WEFT_REFCOUNTED(loop)
WEFT_REFCOUNTED(handle)
WEFT_REFCOUNTED(future)
WEFT_REFCOUNTED(task)
WEFT_REFCOUNTED(lock)
WEFT_REFCOUNTED(event)
WEFT_REFCOUNTED(condition)
WEFT_REFCOUNTED(semaphore)
WEFT_REFCOUNTED(barrier)
WEFT_REFCOUNTED(queue)
WEFT_REFCOUNTED(executor)
WEFT_REFCOUNTED(cfuture)
WEFT_REFCOUNTED(process)
WEFT_REFCOUNTED(transport)
WEFT_REFCOUNTED(server)
WEFT_REFCOUNTED(stream_reader)
WEFT_REFCOUNTED(stream_writer)
WEFT_REFCOUNTED(tls_context)
WEFT_OWNED(as_completed)
WEFT_OWNED(taskgroup)
WEFT_OWNED(graph)
WEFT_OWNED(timeout)
WEFT_OWNED(addrinfo)
WEFT_OWNED(nameinfo)

/* These fill a caller's array of handles, which the CT ** typemaps above would take for
 * one handle: a language needs an array typemap of its own before it may have them. */
%ignore weft_all_tasks;
%ignore weft_taskgroup_errors;
/* The libuv loop is the host's business, not a binding's. */
%ignore weft_loop_uv;
%ignore weft_loop_options_s::adopt;

/* Stackful tasks and the _await forms run C on a task's own stack: a managed runtime must
 * never be entered from there (weft.h, "Where callbacks run"), so no binding gets them. */
%ignore weft_task_spawn;
%ignore weft_await;
%rename("$ignore", regextarget=1) "_await$";
%ignore weft_run;

%include "weft/common.h"
%include "weft/error.h"
%include "weft/value.h"
%include "weft/loop.h"
%include "weft/future.h"
%include "weft/task.h"
%include "weft/combinators.h"
%include "weft/timeout.h"
%include "weft/taskgroup.h"
%include "weft/graph.h"
%include "weft/runner.h"
%include "weft/lock.h"
%include "weft/event.h"
%include "weft/condition.h"
%include "weft/semaphore.h"
%include "weft/barrier.h"
%include "weft/queue.h"
%include "weft/executor.h"
%include "weft/signal.h"
%include "weft/process.h"
%include "weft/tls.h"
%include "weft/protocol.h"
%include "weft/transport.h"
%include "weft/dns.h"
%include "weft/tcp.h"
%include "weft/server.h"
%include "weft/unix.h"
%include "weft/udp.h"
%include "weft/pipe.h"
%include "weft/sock.h"
%include "weft/tls_transport.h"
%include "weft/stream.h"
