/* Signal handlers on the loop (uv_signal_t), and the runner's SIGINT guard. */
#include "internal.h"
#include "weft/signal.h"
#include "loop_ext.h"
#include "signal_internal.h"

#include <signal.h>
#include <stdlib.h>
#include <uv.h>

typedef struct sig_entry_s {
  struct sig_entry_s *next;
  weft_loop_t *loop;
  int signum;
  weft_callback_fn cb;
  void *arg;
  weft_free_fn arg_free;
  int active; /* still installed: a dispatch of a removed handler does nothing */
  int refs;   /* the libuv handle's (until closed) and one per scheduled dispatch */
  uv_signal_t handle;
} sig_entry_t;

typedef struct sig_state_s {
  sig_entry_t *head;
} sig_state_t;

static void entry_unref(sig_entry_t *e) {
  if (--e->refs == 0)
    free(e);
}

static void entry_unref_cb(void *e) {
  entry_unref(e);
}

static void on_handle_closed(uv_handle_t *handle) {
  entry_unref(handle->data);
}

/* Runs as a loop callback, never in signal context. */
static void dispatch(void *p) {
  sig_entry_t *e = p;
  weft__assert_loop_stack("a signal handler");
  if (e->active)
    e->cb(e->arg);
  entry_unref(e);
}

/* libuv calls this from its loop once it has read the signal off its self-pipe; we still
 * go through call_soon so handlers are ordered with every other callback. */
static void on_signal(uv_signal_t *handle, int signum) {
  sig_entry_t *e = handle->data;
  if (!e->active)
    return;
  e->refs++;
  if (weft__call_soon_owned(e->loop, dispatch, entry_unref_cb, e) != 0)
    e->refs--; /* closed, or no memory: this delivery is lost, as one the kernel merged */
}

/* Whether the calling thread has an alternate signal stack (weft__signal_start). */
static int has_alternate_stack(void) {
  stack_t alternate;
  return sigaltstack(NULL, &alternate) == 0 && !(alternate.ss_flags & SS_DISABLE);
}

int weft__signal_start(uv_signal_t *handle, uv_signal_cb cb, int signum) {
  int rc = uv_signal_start(handle, cb, signum);
  if (rc != 0 || !has_alternate_stack())
    return rc;
  /* Only the first watcher of a signal installs libuv's handler; later calls find the
   * flag set and change nothing. A disposition that is not a handler (another loop's last
   * watcher stopping meanwhile reset it) is left alone. */
  struct sigaction current;
  if (sigaction(signum, NULL, &current) == 0 && !(current.sa_flags & SA_ONSTACK) &&
      (current.sa_flags & SA_SIGINFO ||
       (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN))) {
    current.sa_flags |= SA_ONSTACK;
    sigaction(signum, &current, NULL);
  }
  return 0;
}

static void entry_close(sig_entry_t *e) {
  e->active = 0; /* no dispatch calls cb any more: let go of its argument */
  weft__replace_arg(e->loop, &e->arg, &e->arg_free, NULL, NULL);
  uv_signal_stop(&e->handle);
  uv_close((uv_handle_t *)&e->handle, on_handle_closed);
}

static void state_cleanup(void *p) {
  sig_state_t *state = p;
  while (state->head) {
    sig_entry_t *e = state->head;
    state->head = e->next;
    entry_close(e);
  }
  free(state);
}

static int valid_signal(int signum) {
  return signum > 0 && signum < NSIG && signum != SIGKILL && signum != SIGSTOP;
}

int weft_add_signal_handler(weft_loop_t *loop, int signum, weft_callback_fn cb, void *arg,
                            weft_free_fn arg_free) {
  if (!loop || !cb || !valid_signal(signum))
    return WEFT_EINVAL;
  int rc = weft__loop_check(loop);
  if (rc != 0)
    return rc;
  sig_state_t *state = weft__loop_ext_get(loop, WEFT__EXT_SIGNALS);
  if (!state) {
    state = calloc(1, sizeof *state);
    if (!state)
      return WEFT_ENOMEM;
    if (weft__loop_ext_set(loop, WEFT__EXT_SIGNALS, state, state_cleanup) != 0) {
      free(state);
      return WEFT_ENOMEM;
    }
  }
  for (sig_entry_t *e = state->head; e; e = e->next) {
    if (e->signum == signum) {
      e->cb = cb; /* replaces the previous handler, as asyncio */
      weft__replace_arg(e->loop, &e->arg, &e->arg_free, arg, arg_free);
      return 0;
    }
  }
  sig_entry_t *e = calloc(1, sizeof *e);
  if (!e)
    return WEFT_ENOMEM;
  e->loop = loop;
  e->signum = signum;
  e->cb = cb;
  e->arg = arg;
  e->active = 1;
  e->refs = 1;
  e->handle.data = e;
  rc = uv_signal_init(weft_loop_uv(loop), &e->handle);
  if (rc != 0) {
    free(e);
    return weft_error_from_uv(rc);
  }
  rc = weft__signal_start(&e->handle, on_signal, signum);
  if (rc != 0) {
    entry_close(e); /* before arg_free is set: the argument stays the caller's */
    return weft_error_from_uv(rc);
  }
  e->arg_free = arg_free;
  /* asyncio's signal handlers do not keep a loop alive; neither does this handle. */
  uv_unref((uv_handle_t *)&e->handle);
  e->next = state->head;
  state->head = e;
  return 0;
}

int weft_remove_signal_handler(weft_loop_t *loop, int signum) {
  if (!loop || signum <= 0 || signum >= NSIG)
    return WEFT_EINVAL;
  int rc = weft__loop_check(loop);
  if (rc != 0)
    return rc == WEFT_ECLOSED ? 0 : rc; /* closing removed every handler */
  sig_state_t *state = weft__loop_ext_get(loop, WEFT__EXT_SIGNALS);
  if (!state)
    return 0;
  for (sig_entry_t **link = &state->head; *link; link = &(*link)->next) {
    sig_entry_t *e = *link;
    if (e->signum == signum) {
      *link = e->next;
      entry_close(e);
      return 1;
    }
  }
  return 0;
}

/* ---- The runner's SIGINT guard -------------------------------------------------------- */

struct weft__sigint_guard_s {
  uv_async_t async;
  weft_loop_t *loop;
  weft_task_t *task;
  struct sigaction previous;
  int interrupted;
};

/* Read in signal context: a plain pointer written only while SIGINT is ours or not yet. */
static weft__sigint_guard_t *volatile sigint_guard;
static volatile sig_atomic_t sigint_count;

static void on_sigint(int signum) {
  weft__sigint_guard_t *guard = sigint_guard;
  if (sigint_count++ == 0 && guard) {
    uv_async_send(&guard->async); /* async-signal-safe */
    return;
  }
  /* The second one interrupts at once: take the default action (the process ends, killed
   * by SIGINT) as soon as this handler returns and unblocks it. */
  struct sigaction dfl;
  dfl.sa_handler = SIG_DFL;
  dfl.sa_flags = 0;
  sigemptyset(&dfl.sa_mask);
  sigaction(signum, &dfl, NULL);
  raise(signum);
}

/* On the loop: the first SIGINT cancels the main task, as a handler would. */
static void on_sigint_async(uv_async_t *async) {
  weft__sigint_guard_t *guard = async->data;
  if (weft_task_cancel(guard->task, NULL) == 1)
    guard->interrupted = 1;
}

int weft__sigint_guard_install(weft_loop_t *loop, weft_task_t *main_task,
                               weft__sigint_guard_t **out) {
  *out = NULL;
  struct sigaction current;
  if (sigint_guard || sigaction(SIGINT, NULL, &current) != 0)
    return 0;
  if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL)
    return 0; /* the program handles SIGINT itself: leave it alone, as asyncio does */
  weft__sigint_guard_t *guard = calloc(1, sizeof *guard);
  if (!guard)
    return WEFT_ENOMEM;
  int rc = uv_async_init(weft_loop_uv(loop), &guard->async, on_sigint_async);
  if (rc != 0) {
    free(guard);
    return weft_error_from_uv(rc);
  }
  guard->async.data = guard;
  uv_unref((uv_handle_t *)&guard->async);
  guard->loop = loop;
  guard->task = weft_task_retain(main_task);
  sigint_count = 0;
  sigint_guard = guard;
  struct sigaction ours;
  ours.sa_handler = on_sigint;
  ours.sa_flags = SA_RESTART | (has_alternate_stack() ? SA_ONSTACK : 0); /* as libuv's */
  sigemptyset(&ours.sa_mask);
  sigaction(SIGINT, &ours, &guard->previous);
  *out = guard;
  return 0;
}

static void free_guard(uv_handle_t *handle) {
  free(handle->data);
}

int weft__sigint_guard_remove(weft__sigint_guard_t *guard) {
  if (!guard)
    return 0;
  sigaction(SIGINT, &guard->previous, NULL);
  sigint_guard = NULL;
  int interrupted = guard->interrupted;
  weft_task_release(guard->task);
  uv_close((uv_handle_t *)&guard->async, free_guard);
  return interrupted;
}
