/* The event loop: scheduling, time, running, the exception handler, debug mode, embedding.
 *
 * One loop per thread. While a loop runs, only its thread may call it, apart from the
 * functions marked thread-safe; a call from another thread returns WEFT_EWRONGTHREAD.
 * A closed loop answers WEFT_ECLOSED. */
#ifndef WEFT_LOOP_H
#define WEFT_LOOP_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;

typedef struct weft_loop_options_s {
  size_t size;             /* sizeof(weft_loop_options_t) */
  int debug;               /* start in debug mode (also turned on by WEFT_DEBUG=1) */
  struct uv_loop_s *adopt; /* run on this host-owned libuv loop instead of an own one */
} weft_loop_options_t;

/* Fills *options with the defaults: every field zero (none, off), size set. */
WEFT_API void weft_loop_options_init(weft_loop_options_t *options);

/* Creates a loop with its own libuv loop. */
WEFT_API int weft_loop_new(weft_loop_t **out);
/* Creates a loop with options. With `adopt`, weft's handles live on the host's libuv loop:
 * the host runs it (uv_run), weft never runs or closes it and starts no thread. */
WEFT_API int weft_loop_new_ex(const weft_loop_options_t *options, weft_loop_t **out);
/* Closes the loop: drops callbacks not yet run, stops its handles, reports tasks still
 * pending, and closes transports and servers still open (their protocols get
 * connection_lost(WEFT_ECLOSED) before it returns; on an adopted loop, in the host's next
 * iteration). Fails with WEFT_ERUNNING while running. Closing twice is harmless. An
 * adopted loop, which the host always runs, is closed from the host's own code (Node's
 * clean-up hook): from inside one of weft's callbacks (the ready queue's, a read, an accept,
 * a connect's connection_made) the close fails with WEFT_ERUNNING and changes nothing. */
WEFT_API int weft_loop_close(weft_loop_t *loop);
/* Reference counting: the creator holds one reference. Dropping the last one closes the
 * loop if needed; its memory goes once nothing (future, handle, task) refers to it. */
WEFT_API weft_loop_t *weft_loop_retain(weft_loop_t *loop);
WEFT_API void weft_loop_release(weft_loop_t *loop);

/* Runs until weft_loop_stop. Returns 0, WEFT_ERUNNING or WEFT_ECLOSED. */
WEFT_API int weft_loop_run_forever(weft_loop_t *loop);
/* Runs until `future` is done, then returns its outcome: 0 for a result, its error code,
 * or WEFT_ECANCELLED. Stopping the loop first gives WEFT_EINVALIDSTATE. */
WEFT_API int weft_loop_run_until_complete(weft_loop_t *loop, weft_future_t *future);
/* Runs one iteration: waits for I/O or the next timer unless `nowait` is set, then runs
 * what is ready. For hosts that own the main loop. Returns 0 or an error code. */
WEFT_API int weft_loop_run_once(weft_loop_t *loop, int nowait);
/* For a host that may wait in its own poller (Go's netpoller) rather than inside the loop:
 * runs one iteration (waiting in libuv's poll first, for I/O, a timer or a post, only if
 * `wait` is set), then sets *timeout_ms_out to how long the host may wait for
 * weft_loop_backend_fd to become readable before the next one (0: at once, -1: no timer
 * pending). I/O and posts from other threads make the descriptor readable. */
WEFT_API int weft_loop_run_step(weft_loop_t *loop, int wait, int *timeout_ms_out);
/* The descriptor weft_loop_run_step's host waits on (libuv's backend: an epoll or kqueue
 * descriptor, pollable, owned by the loop), or an error code (negative): WEFT_ECLOSED,
 * WEFT_ENOTSUP for an adopted loop or a platform without one. */
WEFT_API int weft_loop_backend_fd(weft_loop_t *loop);
/* Asks the loop to stop after the current iteration. Thread-safe. */
WEFT_API int weft_loop_stop(weft_loop_t *loop);
WEFT_API int weft_loop_is_running(const weft_loop_t *loop);
WEFT_API int weft_loop_is_closed(const weft_loop_t *loop);
/* The loop's clock: monotonic, in seconds and in nanoseconds. */
WEFT_API double weft_loop_time(const weft_loop_t *loop);
WEFT_API uint64_t weft_loop_time_ns(const weft_loop_t *loop);
/* The libuv loop weft runs on (its own or the adopted one). */
WEFT_API struct uv_loop_s *weft_loop_uv(weft_loop_t *loop);

/* Schedules cb(arg) for the next iteration; FIFO among call_soon callbacks. If `handle_out`
 * is not NULL it receives a new reference to a cancellable handle (weft_handle_release). */
WEFT_API int weft_call_soon(weft_loop_t *loop, weft_callback_fn cb, void *arg,
                            weft_handle_t **handle_out);
/* Schedules cb(arg) after `delay` seconds (a negative delay means now). Timers fire in
 * deadline order, ties in scheduling order. */
WEFT_API int weft_call_later(weft_loop_t *loop, double delay, weft_callback_fn cb, void *arg,
                             weft_handle_t **handle_out);
/* Schedules cb(arg) at loop time `when` (seconds, as weft_loop_time). */
WEFT_API int weft_call_at(weft_loop_t *loop, double when, weft_callback_fn cb, void *arg,
                          weft_handle_t **handle_out);
/* Schedules cb(arg) from any thread and wakes the loop at once. Thread-safe.
 *
 * The way for a runtime with many threads (Go's goroutines, worker threads) to hand work
 * to the loop: call this from any thread, as often as needed, with no queue of your own.
 * A post appends to the loop's list under a mutex and signals libuv's async handle, whose
 * signals coalesce: however many posts are made while the loop is busy or before it wakes,
 * it wakes once, takes the whole list in one batch, in posting order, and runs it in that
 * iteration (each after whatever was already scheduled, as asyncio's). So a burst costs
 * one wake-up, and a post in a burst costs a lock and an append (bench_core: about 60 ns a
 * post in bursts of 1000, against 4-6 us for a post that has to wake the loop alone). */
WEFT_API int weft_call_soon_threadsafe(weft_loop_t *loop, weft_callback_fn cb, void *arg);

/* Batched callbacks, for bindings whose calls into their language are costly (Python):
 * a callback is a number the binding chose (an index into its own table of callables).
 * When the ready queue reaches such callbacks, each run of consecutive ones is handed over
 * in one call to the loop's batch handler, in queue order, so ordering with every other
 * callback stays exact while the crossing is paid once per run. */
typedef void (*weft_batch_fn)(weft_loop_t *loop, const uintptr_t *ids, size_t count, void *arg);
/* Installs the handler that runs batched callbacks (NULL: batched callbacks are dropped).
 * Handler arguments (here and below): arg_free (may be NULL) is called with arg exactly
 * once, when the loop lets go of it: when another argument replaces it (not the same
 * pointer again: that stays, under the new arg_free), when the handler is removed (NULL),
 * or when the loop is freed. With a NULL handler, arg and arg_free are not kept. */
WEFT_API int weft_loop_set_batch_handler(weft_loop_t *loop, weft_batch_fn handler, void *arg,
                                         weft_free_fn arg_free);
/* weft_call_soon, weft_call_at and weft_call_soon_threadsafe for a batched callback `id`. */
WEFT_API int weft_call_soon_id(weft_loop_t *loop, uintptr_t id, weft_handle_t **handle_out);
WEFT_API int weft_call_at_id(weft_loop_t *loop, double when, uintptr_t id,
                             weft_handle_t **handle_out);
WEFT_API int weft_call_soon_threadsafe_id(weft_loop_t *loop, uintptr_t id);
/* weft_call_soon_id for `count` ids at once, in array order: one crossing for a binding
 * that collects what it schedules while its code runs. On an error none was scheduled
 * past the failing one, and the return value is the error. */
WEFT_API int weft_call_soon_ids(weft_loop_t *loop, const uintptr_t *ids, size_t count);

/* Cancels a scheduled callback: it will never run. Cancelling twice is harmless. */
WEFT_API void weft_handle_cancel(weft_handle_t *handle);
WEFT_API int weft_handle_cancelled(const weft_handle_t *handle);
/* A timer handle's deadline in loop time; -1 for a call_soon handle. */
WEFT_API double weft_handle_when(const weft_handle_t *handle);
WEFT_API weft_handle_t *weft_handle_retain(weft_handle_t *handle);
WEFT_API void weft_handle_release(weft_handle_t *handle);
/* Releases `count` handles at once, cancelling each first if `cancel` is set (harmless
 * for one that already ran): one crossing for a binding that collects them. */
WEFT_API void weft_handles_release(weft_handle_t *const *handles, size_t count, int cancel);

/* What the exception handler is told: asyncio's context dict as a struct. Fields that do
 * not apply are NULL or 0. */
typedef struct weft_error_context_s {
  size_t size;               /* sizeof(weft_error_context_t) */
  const char *message;       /* what happened, never NULL */
  int error;                 /* the error code, 0 if none */
  const char *error_message; /* the error's own message, if any */
  void *error_payload;       /* the error's binding payload (a Python exception, say) */
  weft_future_t *future;
  weft_task_t *task;
  weft_handle_t *handle;
} weft_error_context_t;

typedef void (*weft_exception_handler_fn)(weft_loop_t *loop, const weft_error_context_t *context,
                                          void *arg);
/* Installs the exception handler; NULL restores the default. */
WEFT_API int weft_loop_set_exception_handler(weft_loop_t *loop, weft_exception_handler_fn handler,
                                             void *arg, weft_free_fn arg_free);
/* The installed handler (NULL for the default) and its argument. */
WEFT_API weft_exception_handler_fn weft_loop_get_exception_handler(const weft_loop_t *loop,
                                                                   void **arg_out);
/* Reports through the installed handler (or the default). */
WEFT_API void weft_loop_call_exception_handler(weft_loop_t *loop,
                                               const weft_error_context_t *context);
/* The default handler: formats the context and writes it to the loop's log. */
WEFT_API void weft_loop_default_exception_handler(weft_loop_t *loop,
                                                  const weft_error_context_t *context);

typedef enum weft_log_level {
  WEFT_LOG_DEBUG = 10,
  WEFT_LOG_INFO = 20,
  WEFT_LOG_WARNING = 30,
  WEFT_LOG_ERROR = 40,
} weft_log_level_t;
typedef void (*weft_log_fn)(weft_loop_t *loop, int level, const char *text, void *arg);
/* Where the loop's reports go (the default handler, debug warnings); NULL means stderr. */
WEFT_API int weft_loop_set_log_handler(weft_loop_t *loop, weft_log_fn fn, void *arg,
                                       weft_free_fn arg_free);

/* Debug mode: slow callbacks are reported, and so are extra checks' findings. */
WEFT_API int weft_loop_set_debug(weft_loop_t *loop, int enabled);
WEFT_API int weft_loop_get_debug(const weft_loop_t *loop);
/* The duration above which a callback counts as slow in debug mode (default 0.1 s). */
WEFT_API int weft_loop_set_slow_callback_duration(weft_loop_t *loop, double seconds);
WEFT_API double weft_loop_get_slow_callback_duration(const weft_loop_t *loop);

#ifdef __cplusplus
}
#endif
#endif
