/* The core's shared internals: object layouts and the functions modules call on each other.
 * Nothing here is public API. */
#ifndef WEFT_INTERNAL_H
#define WEFT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "coro.h"
#include "loop_ext.h"
#include "weft.h"

#define WEFT__STRINGIFY_(x) #x
#define WEFT__STRINGIFY(x) WEFT__STRINGIFY_(x)

/* ---- The ready queue ------------------------------------------------------------------ */

/* One scheduled callback. A plain callback has future == NULL; a done callback holds a
 * reference to its future; a batched callback has neither function nor future, and its id
 * in `arg`. `handle`, when set, is the user's cancellable view of it. */
typedef struct weft__ready_s {
  union {
    weft_callback_fn plain;
    weft_future_cb done;
  } fn;
  void *arg;
  weft_future_t *future;
  weft_handle_t *handle;
} weft__ready_t;

/* ---- Handles (call_soon / call_later / call_at) --------------------------------------- */

struct weft_handle_s {
  uint32_t refs;
  bool cancelled;
  bool is_timer;
  weft_loop_t *loop;
  weft_callback_fn cb;
  void *arg;
  uint64_t when_ns;  /* timers: the deadline in loop time */
  uint64_t seq;      /* timers: tie-breaker, scheduling order */
  size_t heap_index; /* timers: position in the heap, SIZE_MAX when not in it */
  union {
    /* Set by the core when cb owns arg (a reference it lets go of): if the loop closes
     * before cb runs and the handle was not cancelled, drop(arg) runs instead. */
    weft_callback_fn drop;
    weft_handle_t *next_free; /* in the loop's pool of free handles */
  };
};

/* ---- The loop ------------------------------------------------------------------------- */

/* A call of registered code put off until the loop's stack is back (defer.c). */
typedef struct weft__deferred_s {
  weft_callback_fn fn;
  void *arg;
} weft__deferred_t;

/* A completion or callback handed over by another thread. */
typedef struct weft__foreign_s {
  weft_callback_fn cb;
  weft_callback_fn drop; /* frees arg if the loop closes before cb could run; may be NULL */
  void *arg;
  uint64_t seq; /* posting order, shared with the weft__post_t list */
} weft__foreign_t;

/* A post whose memory the poster allocated beforehand (weft__loop_post_node), so that posting
 * from another thread cannot fail for want of memory. */
typedef struct weft__post_s {
  struct weft__post_s *next;
  weft_callback_fn cb;
  weft_callback_fn drop; /* as weft__foreign_t's */
  void *arg;
  uint64_t seq;
  bool owned; /* the loop allocated it (weft__loop_post with a drop) and frees it */
} weft__post_t;

/* Something that must not outlive its loop: a transport or a server. The loop keeps a list
 * of them; weft_loop_close calls close_now on each one still open, so that its memory and
 * its protocol's are freed by its own close path instead of leaking with a bare handle. */
typedef struct weft__closable_s weft__closable_t;
struct weft__closable_s {
  weft__closable_t *next, *prev; /* NULL while not on the list */
  void (*close_now)(weft__closable_t *self);
};

struct weft_loop_s {
  uint32_t refs;      /* user_refs, plus one per live future, handle, task and closing handle */
  uint32_t user_refs; /* weft_loop_new's and weft_loop_retain's: the last one closes the loop */
  bool closed;
  bool running;
  bool adopted;
  bool debug;
  atomic_int stopping;
  /* On an adopted loop, the callbacks libuv makes straight into weft (reads, connects,
   * accepts) under way: the close refuses to run inside one (weft__callback_enter). */
  uint32_t callback_depth;
  uv_thread_t owner;     /* meaningful while running, or always for an adopted loop */
  const void *owner_tag; /* weft__thread_tag() of the owner: the cheap same-thread test */

  uv_loop_t *uv;
  uv_loop_t own_uv;
  uv_prepare_t prepare; /* runs the ready queue before poll */
  uv_check_t check;     /* after poll: posts taken by it (on_async), then the due timers */
  uv_idle_t idle;       /* active while callbacks are ready, so poll does not block */
  uv_timer_t timer;     /* armed for the earliest deadline in the heap */
  uv_async_t async;     /* wake-ups from other threads */
  bool timer_fired;     /* the libuv timer fired and the check handle has not run since */
  int open_uv_handles;
  /* Called after the ready queue ran, just before poll (sock.c's watcher checks). */
  void (*before_poll)(void *arg);
  void *before_poll_arg;

  /* Ready callbacks: a ring buffer whose capacity is a power of two. */
  weft__ready_t *ready;
  size_t ready_cap, ready_head, ready_count;
  size_t ready_reserved; /* slots kept free for the done callbacks of pending futures */
  /* How many entries at the head of the queue the async handle took from other threads
   * during this poll, into an empty queue: the check handle runs them (loop.c, on_async). */
  size_t posts_at_head;

  /* Timers: a binary min-heap ordered by (when_ns, seq). */
  weft_handle_t **heap;
  size_t heap_len, heap_cap;
  uint64_t timer_seq;
  /* timer_seq when this iteration's prepare ran: later timers wait for the next check, as
   * asyncio collects due timers before it runs the callbacks that schedule them. */
  uint64_t timer_seq_limit;
  /* The timers the check handle took off the heap and is running; heap_cap long, so that
   * taking them never needs memory. */
  weft_handle_t **due;

  /* Callbacks from other threads, moved to the ready queue by the async handle. */
  uv_mutex_t foreign_lock;
  weft__foreign_t *foreign;
  size_t foreign_len, foreign_cap;
  weft__post_t *posted_head, *posted_tail; /* preallocated posts, under foreign_lock too */
  uint64_t foreign_seq;
  bool foreign_closed;
  /* Set while `foreign` holds callbacks, so call_soon can take them first without the lock
   * in the common case: a thread-safe call made before a call_soon runs before it. */
  atomic_int foreign_waiting;

  /* Open transports and servers (a list with a sentinel), closed by weft_loop_close. */
  weft__closable_t closables;

  /* Transports whose handles are closing, in the order they were closed (transport.c):
   * libuv runs close callbacks last in, first out, and connection_lost must come in the
   * order of the closes, as asyncio's call_soon'd connection_lost does. */
  struct weft_transport_s *closing_head, *closing_tail;

  /* Modules outside loop.c keep their per-loop state here (loop_ext.h). */
  struct {
    void *value;
    weft_free_fn cleanup;
  } ext[WEFT__EXT_SLOTS];

  weft_handle_t *free_handles;
  weft_future_t *free_futures;

  /* Batched callbacks (weft_call_soon_id): the run being collected, and who runs it. */
  weft_batch_fn batch_handler;
  void *batch_arg;
  weft_free_fn batch_arg_free;
  uintptr_t *batch;
  size_t batch_len, batch_cap;

  weft_exception_handler_fn exception_handler;
  void *exception_handler_arg;
  weft_free_fn exception_handler_arg_free;
  weft_log_fn log_fn;
  void *log_arg;
  weft_free_fn log_arg_free;
  uint64_t slow_callback_ns;

  /* Tasks. */
  weft_task_t *current_task;
  weft_task_t *tasks_head; /* every unfinished task, a doubly linked list */
  size_t task_count;
  uint64_t task_counter; /* for "Task-N" names */
  weft__stack_pool_t *stacks;

  /* Where registered code runs (defer.c): set while one of this loop's stackful tasks is
   * the running stack, and the calls put off until it is not. */
  bool on_task_stack;
  weft_loop_t *outer_thread_loop; /* the thread's loop before this one ran, restored after */
  weft__deferred_t *deferred;
  size_t deferred_len, deferred_cap;
};

/* The loop running callbacks on this thread (asyncio's running loop), or NULL. */
weft_loop_t *weft__running_loop(void);
/* Why an _await function of `loop` cannot wait here: WEFT_EWRONGLOOP inside a task of
 * another loop, else WEFT_ENOTINTASK. */
int weft__not_in_task(const weft_loop_t *loop);

/* Takes and drops references on the loop; the last one frees it. */
void weft__loop_retain(weft_loop_t *loop);
void weft__loop_release(weft_loop_t *loop);
/* 0, WEFT_ECLOSED, or WEFT_EWRONGTHREAD (another thread while the loop runs). */
/* The weft code of errno value `err` (the negated errno on Linux), or WEFT_EUNKNOWN: for
 * errors that come from system calls, not through libuv. */
int weft__error_from_errno(int err);
int weft__loop_check(const weft_loop_t *loop);
/* Appends to the ready queue. The queue takes over the references entry holds. */
/* Around a callback libuv makes into weft directly, which may call the user's code: the
 * close of an adopted loop, whose host runs libuv, would free that callback's caller. The
 * ready queue's callbacks need no mark (weft__running_loop tells). */
static inline void weft__callback_enter(weft_loop_t *loop) {
  loop->callback_depth++;
}
static inline void weft__callback_leave(weft_loop_t *loop) {
  loop->callback_depth--;
}
int weft__loop_push_ready(weft_loop_t *loop, const weft__ready_t *entry);
/* Keeps a ready-queue slot free for a done callback, registered while memory can still be
 * refused, so that completing the future cannot drop the callback; the push that uses the
 * slot (weft__loop_push_reserved) cannot fail. */
int weft__loop_reserve_ready(weft_loop_t *loop);
void weft__loop_unreserve_ready(weft_loop_t *loop, size_t n);
int weft__loop_push_reserved(weft_loop_t *loop, const weft__ready_t *entry);
/* The libuv timer fired: the next poll must not block, and the check handle after it runs
 * the due timers. */
void weft__loop_timer_fired(weft_loop_t *loop);
/* Makes the check handle (which runs the due timers) active, and the prepare handle (which
 * starts the iteration): they are while timers pend. */
void weft__loop_watch_timers(weft_loop_t *loop);
/* call_soon on the loop's thread for a callback that owns arg: if the loop closes before
 * it runs, drop(arg) runs instead (a reference the callback was to let go of). Without
 * memory for the destructor's record it fails (WEFT_ENOMEM), as on a closed loop. */
int weft__call_soon_owned(weft_loop_t *loop, weft_callback_fn cb, weft_callback_fn drop, void *arg);
/* The same in two steps, for a call that must not fail when it is due (a child's exit
 * report): the reservation takes the memory (WEFT_ENOMEM); the call made from it fails only
 * on a closed loop (WEFT_ECLOSED), and then nothing runs and the caller lets go of arg.
 * A reservation never used is given back with weft__call_soon_unreserve (harmless after
 * a use or a failed reservation). */
int weft__call_soon_reserve(weft_loop_t *loop, weft_callback_fn cb, weft_callback_fn drop,
                            void *arg, weft__ready_t *out);
int weft__call_soon_reserved(weft_loop_t *loop, weft__ready_t *reserved);
void weft__call_soon_unreserve(weft_loop_t *loop, weft__ready_t *reserved);
/* Posts cb(arg) from any thread; if the loop closes first, drop(arg) runs instead. */
int weft__loop_post(weft_loop_t *loop, weft_callback_fn cb, weft_callback_fn drop, void *arg);
/* As weft__loop_post with node's cb, drop and arg, but allocates nothing: fails only with
 * WEFT_ECLOSED. node stays in use until its cb or drop runs. */
int weft__loop_post_node(weft_loop_t *loop, weft__post_t *node);
/* A new handle with one reference, for the loop's own use. */
int weft__handle_new(weft_loop_t *loop, weft_callback_fn cb, void *arg, weft_handle_t **out);
/* Puts c on the loop's list of what weft_loop_close closes, or takes it off (harmless when
 * it is not on it). */
void weft__loop_track(weft_loop_t *loop, weft__closable_t *c);
void weft__loop_untrack(weft__closable_t *c);
/* Writes a line to the loop's log. */
void weft__loop_log(weft_loop_t *loop, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Timer heap, used by handle.c and loop.c. */
int weft__timer_schedule(weft_loop_t *loop, weft_handle_t *handle);
void weft__timer_unschedule(weft_loop_t *loop, weft_handle_t *handle);
/* Takes the timers due at now_ns and scheduled before loop->timer_seq_limit off the heap
 * into loop->due, earliest first, and returns their number; the heap's references pass to
 * loop->due. */
size_t weft__timers_take_due(weft_loop_t *loop, uint64_t now_ns);
void weft__timers_arm(weft_loop_t *loop);
/* The loop's close: every pending timer goes, its handle's drop run. */
void weft__timers_clear(weft_loop_t *loop);
void weft__handles_free_pool(weft_loop_t *loop);

/* ---- Futures -------------------------------------------------------------------------- */

enum { WEFT__PENDING = 0, WEFT__FINISHED = 1, WEFT__CANCELLED = 2 };

typedef struct weft__done_cb_s {
  weft_future_cb cb;
  void *arg;
  weft_future_t *awaiter; /* for call graphs: the future or task waiting through this */
  bool reserved;          /* holds a ready-queue slot (weft__loop_reserve_ready) */
} weft__done_cb_t;

#define WEFT__INLINE_CALLBACKS 2

/* What sets a kind of future apart: tasks and combinators embed a future in a larger object,
 * cancel it their own way and free the whole object. A plain future has no class. */
typedef struct weft__future_class_s {
  const char *kind;                                          /* for reports */
  int (*cancel)(weft_future_t *future, const char *message); /* 1 if cancellation started */
  void (*destroy)(weft_future_t *future);                    /* frees the enclosing object */
} weft__future_class_t;

struct weft_future_s {
  uint32_t refs;
  uint8_t state;
  bool is_task;
  bool error_retrieved;
  bool cancel_requested; /* combinators: cancellation asked for, completes later */
  weft_loop_t *loop;
  weft_value_t result;
  int error;
  char *message; /* the error message, or the cancel message */
  void *payload;
  weft_free_fn payload_free;
  struct weft__error_detail_s *detail; /* the core's own facts about the error, or NULL */
  uint32_t ncallbacks, callbacks_cap;
  weft__done_cb_t inline_callbacks[WEFT__INLINE_CALLBACKS];
  weft__done_cb_t *callbacks;      /* inline_callbacks, or a heap array when they overflow */
  const weft__future_class_t *cls; /* NULL for a plain future */
  weft_future_t *source;           /* mirrors: the future whose result, message and payload
                                      this one reports (shield, wait_for, ...) */
  weft_future_t *next_free;
};

/* ownership.c. Calls a user pointer's destructor fn(arg) (fn may be NULL): at once on the
 * loop's own stack, from the loop when called on a stackful task's stack (user code never
 * runs there). loop NULL: at once. */
void weft__let_go(weft_loop_t *loop, weft_free_fn fn, void *arg);
/* Stores a kept (arg, arg_free) pair in place of another: the core lets go of the old
 * argument unless it is the same pointer, which stays kept under the new destructor. */
void weft__replace_arg(weft_loop_t *loop, void **arg_slot, weft_free_fn *free_slot, void *arg,
                       weft_free_fn arg_free);

/* Initialises a future embedded in a larger object (tasks) or taken from the pool. */
void weft__future_init(weft_future_t *future, weft_loop_t *loop);
/* Allocates `size` bytes whose start is a future of class `cls` (size >= sizeof future). */
int weft__future_alloc(weft_loop_t *loop, size_t size, const weft__future_class_t *cls,
                       weft_future_t **out);
/* Allocates a zeroed operation object of `size` bytes with a new pending future stored in
 * its weft_future_t * field at `future_offset`. 0, WEFT_ENOMEM or weft_future_new's error;
 * nothing is left allocated on failure. */
int weft__op_new(weft_loop_t *loop, size_t size, size_t future_offset, void **out);
/* weft_future_release with the signature of a weft_free_fn. */
void weft__future_release_any(void *future);
/* Adds a done callback that records `awaiter` as waiting on the future. */
int weft__future_add_callback(weft_future_t *future, weft_future_cb cb, void *arg,
                              weft_future_t *awaiter);
/* Registers a done callback the core cannot do without (it finishes or frees an operation)
 * where registering cannot fail: on a pending future with a free callback slot, which takes
 * no allocation. The callers hold a future made in the same call (an operation's, a
 * waiter: WEFT__INLINE_CALLBACKS slots, inline), or one just returned by one of the core's
 * own starters (connect, create_server, start_tls), whose outcome only ever comes later,
 * from the loop, and which carries one callback of its own. (start_server adds a third to a
 * TLS server's creation future, so it uses weft_future_add_done_callback and unwinds.)
 * Should that change, the array grows, and if that allocation fails the process aborts, as
 * libuv does when it cannot grow its watcher table: the operation could never complete. */
void weft__future_watch(weft_future_t *future, weft_future_cb cb, void *arg);
/* weft__future_watch for the done callback that finishes an operation (lets go of all it
 * holds, frees it) from the operation's own future. The loop tracks it while it is due, and
 * weft_loop_close calls it in place of the loop when the future is still pending or the
 * callback waits in the ready queue: cb must then finish the operation whatever the
 * future's state, and complete nothing. `w` lives in the operation, which cb may free. */
typedef struct {
  weft__closable_t closable; /* first: close_now gets this record */
  weft_future_t *future;
  weft_future_cb cb;
  void *arg;
} weft__op_watch_t;
void weft__future_watch_op(weft__op_watch_t *w, weft_future_t *future, weft_future_cb cb,
                           void *arg);
/* Completes a future, tasks included. `message` is copied. */
int weft__future_finish(weft_future_t *future, int state, weft_value_t value, int error,
                        const char *message, void *payload, weft_free_fn payload_free);
/* Completes a plain future with a result (error 0) or an error code, and calls its done
 * callbacks at once rather than from the ready queue. Only for the callback the loop runs
 * to finish an operation it was woken for (a queue's retry, sleep(0)'s yield): the caller's
 * callbacks would otherwise wait a whole iteration more for the same outcome, as a Promise
 * or a Go channel bridged to the future would. On a task's stack they are queued as usual. */
int weft__future_finish_now(weft_future_t *future, weft_value_t value, int error);
/* Copies another done future's outcome (a chained or mirrored future). */
int weft__future_copy_outcome(weft_future_t *dest, weft_future_t *src);
/* What the core itself knows about an error beyond its code (the partial data of an
 * incomplete read, the bytes a sendfile sent): kept in the future next to the binding's
 * payload, which the core never reads through. */
enum { WEFT__DETAIL_STREAM = 1, WEFT__DETAIL_SENDFILE = 2, WEFT__DETAIL_CONNECT = 3 };
typedef struct weft__error_detail_s {
  int kind;
  int64_t sent;    /* sendfile: bytes sent before the error */
  size_t consumed; /* stream: asyncio's `consumed` or the expected size */
  size_t len;      /* stream: bytes of partial data; connect: failures in data */
  char data[];
} weft__error_detail_t;
/* Fails `future` with `code` and a detail (malloc'd; freed here if the future cannot take
 * it). */
int weft__future_fail_detail(weft_future_t *future, int code, const char *message,
                             weft__error_detail_t *detail);
/* The detail of kind `kind` that a failed future (or the future it mirrors) carries. */
const weft__error_detail_t *weft__future_error_detail(const weft_future_t *future, int kind);
/* A short description for reports: "<Task name='x' pending>". */
void weft__future_describe(const weft_future_t *future, char *buf, size_t cap);

/* ---- Tasks ---------------------------------------------------------------------------- */

struct weft_task_s {
  weft_future_t future; /* first: a task is a future */
  weft_task_fn fn;
  weft_step_fn step;
  void *arg;
  weft_free_fn arg_free; /* step-driven tasks: the caller's destructor of arg */
  weft__coro_t *coro;
  uint64_t id;
  char *name; /* NULL until set or asked for: "Task-<id>" is made lazily */
  weft_future_t *awaiting;
  int resume_code; /* what the next resume delivers: 0 or WEFT_ECANCELLED */
  int num_cancels_requested;
  bool must_cancel;
  bool in_step;     /* inside the step function or the coroutine */
  bool step_ended;  /* the current step suspended or finished the task */
  bool linked;      /* in the loop's list of unfinished tasks */
  bool cancel_sent; /* a cancellation reached the awaited future; the next step delivers it */
  /* Step-driven: what the coroutine awaits by its own means (weft_task_set_awaiting), and
   * whether a cancellation went to it with the task's step queued ahead of its delivery. */
  weft_future_t *body_awaiting;
  bool cancel_passed;
  char *cancel_message;
  weft_task_t *prev, *next;
  /* A stackful body's outcome, applied when the body returns. */
  int body_rc;
  bool has_outcome;
  weft_value_t outcome_value;
  int outcome_error;
  char *outcome_message;
  void *outcome_payload;
  weft_free_fn outcome_payload_free;
  weft_future_t *last_error; /* the last awaited future that failed: its error propagates */
};

/* Cancels a plain future: 1 if it was pending. */
int weft__future_cancel_plain(weft_future_t *future, const char *message);
/* Runs one step of the task (see task.c); `code` is 0 or WEFT_ECANCELLED. */
void weft__task_step(weft_task_t *task, int code);
/* Inside a stackful task: yields to the loop once. 0 or WEFT_ECANCELLED. */
int weft__task_yield(weft_loop_t *loop);

/* Reads an option struct's field if the caller's struct is recent enough to have it. */
#define WEFT__OPTION(options, type, field, fallback)                                               \
  ((options) != NULL && (options)->size >= offsetof(type, field) + sizeof((options)->field)        \
       ? (options)->field                                                                          \
       : (fallback))

/* Releases every pending task at loop close, reporting each one. */
void weft__tasks_abandon(weft_loop_t *loop);

/* ---- Where registered code runs (defer.c) -------------------------------------------- */

/* Registered code (a user's or a binding's callbacks, handlers, destructors, step
 * functions) only runs on the loop's stack. On a stackful task's stack the core defers such
 * a call; weft__task_step runs the deferred calls, in order, once the stack it returns to is
 * the loop's. */

/* 1 while one of the loop's stackful tasks is running: a load, for the frequent paths. */
static inline bool weft__on_task_stack(const weft_loop_t *loop) {
  return loop->on_task_stack;
}
/* Around a coroutine's resume: returns what leave restores (true when nested in a task). */
static inline bool weft__task_stack_enter(weft_loop_t *loop) {
  bool outer = loop->on_task_stack;
  loop->on_task_stack = true;
  return outer;
}
static inline void weft__task_stack_leave(weft_loop_t *loop, bool outer) {
  loop->on_task_stack = outer;
}
/* Set by the first weft_task_spawn of the process, never cleared. */
extern atomic_bool weft__stackful_tasks_exist;
/* Makes `loop` the one this thread runs; returns the previous one, for restoring. */
weft_loop_t *weft__thread_loop_set(weft_loop_t *loop);
/* Clears the thread's loop if it is `loop` (an adopted loop closing). */
void weft__thread_loop_forget(weft_loop_t *loop);
/* The loop whose stackful task this thread is running, or NULL (for paths with no loop). */
weft_loop_t *weft__task_stack_loop(void);
/* Queues fn(arg) for when the loop's stack is back. 0 or WEFT_ENOMEM. */
int weft__defer(weft_loop_t *loop, weft_callback_fn fn, void *arg);
/* fn(arg) now on the loop's stack, deferred on a task's (in place if out of memory). */
void weft__call_or_defer(weft_loop_t *loop, weft_callback_fn fn, void *arg);
/* A registered destructor, fn(arg) (nothing for a NULL fn), the same way; needs no loop. */
void weft__call_free(weft_free_fn fn, void *arg);
/* Runs the deferred calls, including any deferred while they run. */
void weft__run_deferred(weft_loop_t *loop);

/* Placed before every call of registered code: in debug builds, aborts with a message
 * naming the call site when reached on a stackful task's stack. */
#ifndef NDEBUG
void weft__assert_loop_stack_at(const char *what, const char *file, int line);
#define weft__assert_loop_stack(what) weft__assert_loop_stack_at(what, __FILE__, __LINE__)
/* The same, except where `exempt` holds (the core's own protocols run inline). */
#define weft__assert_loop_stack_unless(exempt, what)                                               \
  ((exempt) ? (void)0 : weft__assert_loop_stack(what))
#else
#define weft__assert_loop_stack(what) ((void)0)
#define weft__assert_loop_stack_unless(exempt, what) ((void)0)
#endif

/* ---- Misc ----------------------------------------------------------------------------- */

char *weft__strdup(const char *s);
/* Copies a caller's size-prefixed struct (options, a protocol) into ours: dst is zeroed,
 * as much of src as both know is copied (fields an older caller lacks stay zero), and dst
 * records its own size. src may be NULL. */
void weft__copy_sized(void *dst, size_t dst_size, const void *src);
/* A value holding one reference to a core object of `type` (WEFT_VALUE_TRANSPORT...),
 * dropped with `release`. */
weft_value_t weft__value_object(int32_t type, void *object, weft_free_fn release);
/* Overlays a caller's options struct (NULL: none) on dst, which holds the defaults from the
 * struct's _init function: fields an older, smaller struct lacks keep their defaults. */
void weft__copy_options(void *dst, size_t dst_size, const void *src);
uint64_t weft__seconds_to_ns(double seconds);

#endif
