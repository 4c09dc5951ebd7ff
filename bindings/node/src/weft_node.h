/* The Node addon's shared definitions: the per-environment state, the future-to-Promise
 * bridge and the helpers every concept's file uses. Node-API only (NAPI_VERSION pinned by
 * the build), so one binary serves every Node release with that N-API version. */
#ifndef WEFT_NODE_H
#define WEFT_NODE_H

#include <node_api.h>
#include <uv.h>
#include <weft.h>

/* One per Node environment (the main thread and each Worker): kept as instance data. */
typedef struct wn_bridge_s wn_bridge_t;
typedef struct wn_wraps_s wn_wraps_t;
/* The last receiver of a class's methods (a weak reference) and its core object: see
 * wn_unwrap_recent. */
typedef struct {
  napi_ref self;
  void *object;
} wn_recent_t;
typedef struct wn_state_s {
  napi_env env;
  weft_loop_t *loop;
  /* Resolutions from libuv callbacks run inside a callback scope of this async context,
   * so that Node drains the microtask queue (the awaiting continuations) at once. */
  napi_async_context async_context;
  napi_ref resource;
  napi_ref make_error; /* index.js's (errno, name, message) -> Error */
  napi_async_cleanup_hook_handle cleanup;
  /* Bridges still waiting for their future: the cleanup detaches them before it closes
   * the loop, which would drop their done callbacks without calling them. */
  wn_bridge_t *pending;
  /* A pending weft Promise carries, under the symbol `future_key`, a number naming its
   * bridge's slot here (index and generation), so that the combinators
   * find the core future behind it. A napi_wrap would do the same, at the cost of a weak handle and
   * a finalizer per Promise, which tripled the cost of an operation. The property is set
   * when a lookup first needs it: until then the bridge is listed in `unnamed`. */
  napi_ref future_key;
  napi_ref resolved; /* a Promise resolved with undefined, for every operation done at once */
  wn_bridge_t *unnamed;
  wn_bridge_t *bridge_pool; /* freed bridges, for reuse (future.c) */
  uint32_t bridge_pool_len;
  wn_recent_t recent_lock, recent_queue, recent_conn;
  /* For wn_made_as: queues by WEFT_QUEUE_* kind, semaphores plain then bounded. */
  napi_ref lock_class, queue_class[3], semaphore_class[2];
  /* A Promise that never settles: what a method gives while the environment stops (see
   * wn_guarded). */
  napi_ref never;
  struct wn_slot_s *slots;
  uint32_t nslots;
  uint32_t free_slot; /* head of the free list, nslots when empty */
  /* The cleanup's last step: an idle handle that lets two iterations pass, so that the
   * close callbacks of the core's handles have run before the hook says it is done. */
  uv_idle_t drain;
  int drain_passes;
  int closing;
  /* Tasks: index.js's hook for the Promises made while tasks exist, the tasks alive (freed
   * by the clean-up if the loop goes first) and the task whose step runs now. */
  napi_ref promise_hook;
  napi_ref cancel_hook;
  struct wn_task_s *tasks;
  struct wn_task_s *stepping;
  /* The objects of wn_wrap's classes (module.c); let go of by wn_wraps_orphan. */
  wn_wraps_t *wraps;
  /* Network objects (streams, servers, transports, datagram endpoints): net.c. */
  struct wn_net_s *net;
} wn_state_t;

/* Turns a finished future's result into a JS value (called only for a result, not an
 * error). NULL for the generic conversion of its weft_value_t. */
typedef napi_status (*wn_convert_fn)(napi_env env, weft_future_t *future, void *arg,
                                     napi_value *out);

/* The environment's state; throws and returns NULL when the addon was not set up. */
wn_state_t *wn_state(napi_env env);

/* A Promise following `future` (the caller's reference is moved in, even on failure). It
 * settles from the future's done callback, or within this call when the future is already
 * done. `signal` (may be NULL or undefined) is an AbortSignal whose abort cancels the
 * future. `convert` and `arg` make the result; `arg_free` (may be NULL) frees arg. The
 * Promise carries the future (wn_future_of), for the combinators. */
napi_value wn_promise(napi_env env, wn_state_t *st, weft_future_t *future, napi_value signal,
                      wn_convert_fn convert, void *arg, weft_free_fn arg_free);
/* weft_future_cancel, settling the Promise of a pending bridge on `future` at once when the
 * cancellation finishes it (inside a callback scope: a task's step). */
int wn_cancel_now(napi_env env, wn_state_t *st, weft_future_t *future, const char *message);
/* The core future behind a pending weft Promise (a new reference), or NULL (no JS error). */
weft_future_t *wn_future_lookup(napi_env env, wn_state_t *st, napi_value value);
/* The core future behind a value: a weft Promise's own, or a new future that follows any
 * other thenable or value (the JS value kept as the result or as the error's payload).
 * Returns a new reference, or NULL with a JS exception pending. */
weft_future_t *wn_future_of(napi_env env, wn_state_t *st, napi_value value);

/* A JS value for a weft_value_t (undefined, number, BigInt, Buffer or a kept JS value). */
napi_status wn_value_to_js(napi_env env, const weft_value_t *value, napi_value *out);
/* A weft_value_t holding a reference to a JS value (freed with the value). */
int wn_value_from_js(napi_env env, napi_value value, weft_value_t *out);
/* A payload holding a reference to a JS value (an error), with its destructor. */
void *wn_payload_new(napi_env env, napi_value value);
void wn_payload_free(void *payload);
/* The core code a JS error stands for: its errno when it has a negative one (weft's errors,
 * Node's system errors), else WEFT_EUNKNOWN. */
int wn_error_code_of(napi_env env, napi_value error);
/* A weft Promise made while any task exists is handed to index.js's hook, which, when a
 * task runs, lets the task see it awaited and names it by `id` (its bridge's slot; -1:
 * none) for the combinators. Returns nonzero when the hook named it. */
int wn_promise_made(napi_env env, wn_state_t *st, napi_value promise, double id);

/* An Error for a weft code (index.js picks the subclass); `message` may be NULL. */
napi_value wn_error(napi_env env, wn_state_t *st, int code, const char *message);
/* Throws wn_error(code) and returns NULL, for a callback's return. */
napi_value wn_throw(napi_env env, int code, const char *message);
/* The finished future's error as a JS value: its payload's JS value if it has one. */
napi_value wn_future_error_value(napi_env env, wn_state_t *st, weft_future_t *future);

/* Argument helpers: each throws a TypeError and returns nonzero on bad input. */
int wn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, napi_value *self);
/* wn_args for a constructor: throws a TypeError when called without `new`. */
int wn_ctor_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv,
                 napi_value *self);
int wn_get_double(napi_env env, napi_value v, const char *what, double *out);
int wn_get_int64(napi_env env, napi_value v, const char *what, int64_t *out);
/* The `signal` of an options object, or NULL when there is none. */
int wn_get_signal(napi_env env, napi_value options, napi_value *out);
int wn_is_undefined(napi_env env, napi_value v);

/* A class whose instances own a core object: `tag` identifies the class (napi type tags),
 * so a method called on another object throws a TypeError. */
typedef void (*wn_release_fn)(void *object);
napi_status wn_wrap(napi_env env, napi_value self, const napi_type_tag *tag, void *object,
                    wn_release_fn release);
/* The core object of `self`, or NULL with a TypeError thrown. */
void *wn_unwrap(napi_env env, napi_value self, const napi_type_tag *tag, const char *cls);
/* wn_unwrap for the classes whose methods a program mostly calls on one object at a time
 * (a stream connection; a Lock or a Queue, for the methods that are not its own ones:
 * wn_own_methods): when `self` is the object `recent` remembers, an identity check (about
 * 140 instructions) stands in for napi_unwrap (about 800, a private-symbol lookup); another
 * object costs a weak reference more (about 320). Callers pass plain wn_unwrap once the
 * environment stops: the clean-up has dropped `recent`'s reference. */
void *wn_unwrap_recent(napi_env env, napi_value self, const napi_type_tag *tag, const char *cls,
                       wn_recent_t *recent);
/* The state lets go of the table of wrapped objects (the last finalizer frees it). */
void wn_wraps_orphan(wn_wraps_t *wraps);
/* For Tasks, which napi_wrap their own struct and carry a type tag: the struct, or NULL
 * when `value` is not of the class (no TypeError). */
void *wn_unwrap_raw(napi_env env, napi_value value, const napi_type_tag *tag);
/* Defines and exports the class `name`; keeps a reference to it in *keep unless NULL. */
napi_status wn_define(napi_env env, napi_value exports, const char *name, napi_callback ctor,
                      const napi_property_descriptor *props, size_t count, napi_ref *keep);
/* Whether the constructor runs for `cls` itself rather than for a subclass. */
int wn_made_as(napi_env env, napi_callback_info info, napi_ref cls);
/* Gives `self` its own functions for the hottest methods of its class, each with `object`
 * as its data: a call finds its object without napi_unwrap or wn_unwrap_recent's identity
 * check, and without wn_guarded's trampoline (a method that returns a Promise ends with
 * wn_guard itself). The functions take over one reference to `object`, which `release`
 * drops when the last of them is collected (at once if none could be made). Only for an
 * instance of the class itself: on a subclass's, the functions would hide its overrides.
 * Without memory for them, the prototype's methods do the same work. */
typedef struct {
  const char *name;
  napi_callback fn;
} wn_own_method_t;
void wn_own_methods(napi_env env, napi_value self, void *object, wn_release_fn release,
                    const wn_own_method_t *methods, size_t count);
/* In an own method: its object, and its first `n` arguments in argv (undefined when missing). */
void *wn_own_object(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
/* An own method `m(options)` that returns a Promise: fn's result for the object, guarded. */
typedef napi_value (*wn_with_options_fn)(napi_env env, wn_state_t *st, void *object,
                                         napi_value options);
napi_value wn_own_with_options(napi_env env, napi_callback_info info, wn_with_options_fn fn);

/* Each concept's exports. */
napi_status wn_loop_init(napi_env env, napi_value exports);
napi_status wn_error_init(napi_env env, napi_value exports);
napi_status wn_future_init(napi_env env, napi_value exports);
napi_status wn_combinators_init(napi_env env, napi_value exports);
napi_status wn_lock_init(napi_env env, napi_value exports);
napi_status wn_event_init(napi_env env, napi_value exports);
napi_status wn_condition_init(napi_env env, napi_value exports);
napi_status wn_semaphore_init(napi_env env, napi_value exports);
napi_status wn_barrier_init(napi_env env, napi_value exports);
napi_status wn_queue_init(napi_env env, napi_value exports);
napi_status wn_task_init(napi_env env, napi_value exports);
napi_status wn_taskgroup_init(napi_env env, napi_value exports);
napi_status wn_timeout_init(napi_env env, napi_value exports);
napi_status wn_as_completed_init(napi_env env, napi_value exports);
napi_status wn_process_init(napi_env env, napi_value exports);
/* The clean-up's part for tasks: lets go of every task still alive, calling no JS. */
void wn_tasks_abandon(wn_state_t *st);
/* The core future of a Task object (a new reference), or NULL if `value` is not one. */
weft_future_t *wn_task_future_of(napi_env env, napi_value value);

/* ---- Network I/O (streams, protocols, servers, UDP) ------------------------------------ */
typedef struct wn_net_s {
  /* The classes whose instances the addon makes for core objects. */
  napi_ref server_class, conn_class, transport_class;
  /* The protocol style's reads: lib/protocol.js's dispatcher, which makes the Buffer in
   * JS (cheaper than from C), and the shared ArrayBuffer small reads are copied into. */
  napi_ref data_dispatch, read_pool;
  char *read_pool_base;
  size_t read_pool_used;
  /* The streams' reads use the same pool, through lib/streams.js's (pool, offset, length)
   * -> Buffer. */
  napi_ref buffer_view;
} wn_net_t;
/* Copies len bytes into the read pool: the pool's ArrayBuffer, their offset in *offset;
 * NULL when they do not go in a pool (too large, or no memory). */
napi_value wn_read_pool_put(wn_state_t *st, const void *data, size_t len, size_t *offset);
napi_status wn_net_init(napi_env env, napi_value exports);
napi_status wn_stream_init(napi_env env, napi_value exports);
napi_status wn_protocol_init(napi_env env, napi_value exports);
napi_status wn_udp_init(napi_env env, napi_value exports);
napi_status wn_server_init(napi_env env, napi_value exports, wn_state_t *st);
/* The clean-up's part for the network objects: drops their references, calling no JS. */
void wn_net_abandon(wn_state_t *st);
/* The classes whose instances only the addon makes, each for a core object (a stream
 * connection, a transport): wn_define keeps a reference to each; its
 * constructor is wn_net_ctor, which wraps the object wn_net_new passes as an external (a
 * call from JS throws `hint`); wn_net_new releases the object when it fails; wn_net_this
 * is wn_args and wn_unwrap for a method. */
napi_value wn_net_ctor(napi_env env, napi_callback_info info, const napi_type_tag *tag,
                       wn_release_fn release, const char *hint);
napi_value wn_net_new(napi_env env, napi_ref cls, void *object, wn_release_fn release);
void *wn_net_this(napi_env env, napi_callback_info info, size_t n, napi_value *argv,
                  const napi_type_tag *tag, const char *cls);
/* A setter's body for a JS helper the addon keeps (lib/protocol.js's dispatcher,
 * lib/streams.js's view maker): its one argument must be a function (else a TypeError
 * naming `what`), held in *slot in place of the previous one. */
napi_value wn_net_keep_function(napi_env env, napi_callback_info info, napi_ref *slot,
                                const char *what);
/* stream.c, for the subprocess pipes: a stream connection over a reader, a writer or both
 * (retained); `owner` (released with `owner_release` after them) is what keeps them
 * working, a process for its pipes. Connections from servers are `server_side`. */
napi_value wn_conn_new(napi_env env, wn_state_t *st, weft_stream_writer_t *writer,
                       weft_stream_reader_t *reader, void *owner, wn_release_fn owner_release);
/* Runs JS from a libuv callback: a handle scope and a callback scope (so the microtasks
 * run when it closes). Returns nonzero, opening nothing, when JS may no longer run. */
typedef struct {
  napi_handle_scope hs;
  napi_callback_scope cs;
} wn_scope_t;
int wn_scope_open(wn_state_t *st, wn_scope_t *scope);
void wn_scope_close(wn_state_t *st, wn_scope_t *scope);
/* A Server object for a core server (retained). NULL with an exception pending. */
napi_value wn_server_new(napi_env env, wn_state_t *st, weft_server_t *server);
/* The TLS options of a JS object made by lib/tls.js (undefined: none); role is
 * WEFT_TLS_CLIENT or WEFT_TLS_SERVER. *ctx_out is a new reference, to release after the
 * call that used the options, and *hostname_out a string to free then. Returns 1 (nothing
 * set) for undefined, 0 for TLS options, or throws and returns -1 on bad input. */
int wn_tls_options(napi_env env, napi_value spec, int role, weft_tls_options_t *out,
                   weft_tls_context_t **ctx_out, char **hostname_out);
/* The bytes of a Buffer or TypedArray (borrowed while the value lives). */
int wn_get_bytes(napi_env env, napi_value v, const char *what, const void **data, size_t *len);
/* A malloc'd UTF-8 copy of a JS string (throws a TypeError naming `what` otherwise). */
int wn_get_string(napi_env env, napi_value v, const char *what, char **out, size_t *len);
/* {address, family, port} (or {path}) for a socket address. */
napi_value wn_address_js(napi_env env, const struct sockaddr *addr);
/* Node's ref()/unref() on the libuv handles of a descriptor the core watches. */
void wn_fd_set_ref(wn_state_t *st, int fd, int ref);
/* The same for a transport's socket, found under any layers (TLS). */
void wn_transport_set_ref(wn_state_t *st, weft_transport_t *t, int ref);
/* protocol.c, for the streams and udp.c: a transport's extra info by Node's name
 * ('peername', 'sockname', 'fd', 'alpnProtocol', 'tlsVersion', 'cipher', 'servername'); the
 * protocol of a JS object (with the table that calls it; freed with wn_protocol_free until
 * the core owns it); a Promise conversion to a Transport object; the core transport of one. */
napi_value wn_transport_info(napi_env env, weft_transport_t *transport, napi_value key);
void *wn_protocol_new(napi_env env, wn_state_t *st, napi_value obj, weft_protocol_t *table);
void wn_protocol_free(void *p);
napi_status wn_transport_result(napi_env env, weft_future_t *future, void *arg, napi_value *out);
weft_transport_t *wn_transport_of(napi_env env, napi_value self);
/* udp.c: Transport.sendto(data, {address, port}?). */
napi_value wn_transport_sendto(napi_env env, napi_callback_info info);
/* The error a core code stands for, with the partial data or counts of a stream read. */
void wn_error_decorate(napi_env env, weft_future_t *future, napi_value error);

/* Every method runs through wn_guarded (module.c): once a Worker is being terminated, Node-API
 * refuses the calls a method makes, the method can neither return nor throw, and JavaScript
 * would get `undefined`; a loop awaiting that would spin in microtasks for ever and the
 * Worker would never stop. */
napi_value wn_guarded(napi_env env, napi_callback_info info);
/* What wn_guarded returns for a method's result `out`. */
napi_value wn_guard(napi_env env, napi_value out);
#define WN_METHOD(name, fn)                                                                        \
  { name, NULL, wn_guarded, NULL, NULL, NULL, napi_default_method, (void *)(fn) }
/* A method that returns nothing needs no guard: `undefined` is its result either way. */
#define WN_VOID_METHOD(name, fn)                                                                   \
  { name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL }
#define WN_GETTER(name, fn)                                                                        \
  { name, NULL, NULL, fn, NULL, NULL, napi_enumerable, NULL }
#define WN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
