/* Submitting tasks from other threads (asyncio.run_coroutine_threadsafe) and the
 * thread-safe future that reports their outcome.
 *
 * A cfuture is shared by the submitting thread and the loop: a mutex and condition
 * variable guard its state. Core objects are not thread-safe, and a task's release reaches
 * its loop's counts and pools, so the task is let go of on the loop's thread: once done,
 * with its result copied into the cfuture. A result that cannot be copied (a pointer with
 * its destructor) is read in place, the cfuture keeping the task and a record on the loop's
 * close list: the task goes on the loop's thread when the caller lets go, or at the close,
 * which hands the result itself to the cfuture. A core object (which the caller's thread
 * cannot use anyway) is borrowed from the task, kept until the cfuture's last reference. */
#include "internal.h"
#include "weft/executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CF_PENDING = 0, CF_DONE = 1, CF_CANCELLED = 2 };

struct weft_cfuture_s {
  weft__closable_t closable; /* first: while kept */
  atomic_int refs;           /* the caller's and the loop side's */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int state;
  int code;                  /* CF_DONE: 0 or the task's error */
  const weft_value_t *value; /* CF_DONE with code 0: &result, or borrowed from the task */
  weft_value_t result;       /* what `value` points at: a copy, or the task's result read */
  bool owns_result;          /* in place (kept), until the close hands it over */
  bool kept;                 /* the loop side keeps the task for `result` (lock) */
  int caller_refs;           /* weft_run_threadsafe's and weft_cfuture_retain's (lock) */
  char *message;
  int started; /* the task exists (loop thread) */
  weft_loop_t *loop;
  weft_task_t *task; /* the loop side's reference, NULL until started */
  weft_task_fn fn;
  void *arg;
  weft__op_watch_t watch; /* task_done on the task's future */
};

static char *dup_str(const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static void drop_task(void *p) {
  weft_task_release(p);
}

static void cfuture_unref(weft_cfuture_t *cf) {
  if (atomic_fetch_sub(&cf->refs, 1) != 1)
    return;
  if (cf->task) {
    /* Core objects belong to the loop's thread: the task reference is dropped there, also
     * when the loop closes first (then through the drop function). */
    if (weft__loop_post(cf->loop, drop_task, drop_task, cf->task) != 0)
      weft_task_release(cf->task); /* the loop is closed: nothing runs on it any more */
  }
  pthread_mutex_destroy(&cf->lock);
  pthread_cond_destroy(&cf->cond);
  if (cf->owns_result)
    weft_value_clear(&cf->result);
  free(cf->message);
  free(cf);
}

/* A copy of `value` that owns what it holds, or -1 where only the task's own will do. */
static int copy_result(const weft_value_t *value, weft_value_t *out) {
  *out = weft_value_none();
  if (value == NULL)
    return 0;
  switch (value->type) {
  case WEFT_VALUE_NONE:
  case WEFT_VALUE_INT:
  case WEFT_VALUE_DOUBLE:
    *out = *value;
    return 0;
  case WEFT_VALUE_POINTER:
    if (value->free_fn != NULL)
      return -1;
    *out = *value;
    return 0;
  case WEFT_VALUE_BYTES:
    return weft_value_bytes(out, value->ptr, value->len) == 0 ? 0 : -1;
  default:
    return -1;
  }
}

/* On the loop: the task is done; publish its outcome. Called by the loop's close with the
 * task still pending, it publishes WEFT_ECLOSED, as for a task the close kept from
 * starting: the waiting thread wakes, and the task goes with the loop. */
static void task_done(weft_future_t *future, void *p) {
  weft_cfuture_t *cf = p;
  bool closing = !weft_future_done(future);
  int code = closing ? WEFT_ECLOSED : weft_future_error(future); /* marks it retrieved */
  const weft_value_t *value = NULL;
  weft_value_t copy = weft_value_none();
  bool borrowed = false, copied = false;
  if (code == 0) {
    weft_future_result(future, &value);
    copied = copy_result(value, &copy) == 0;
    borrowed = !copied && value != NULL && value->type >= WEFT_VALUE_TRANSPORT;
  }
  pthread_mutex_lock(&cf->lock);
  if (cf->state == CF_PENDING) {
    cf->state = code == WEFT_ECANCELLED ? CF_CANCELLED : CF_DONE;
    cf->code = code;
    if (value != NULL && copied) {
      cf->result = copy;
      cf->owns_result = true;
      copy = weft_value_none();
      value = &cf->result;
    } else if (value != NULL && !borrowed && cf->caller_refs > 0) {
      cf->result = *value; /* read in place: the task's until the close hands it over */
      cf->kept = true;
      value = &cf->result;
    }
    cf->value = value;
    cf->message = closing ? NULL : dup_str(weft_future_error_message(future));
    pthread_cond_broadcast(&cf->cond);
  } else {
    borrowed = false; /* cancelled first: nothing of the task's is handed out */
  }
  pthread_mutex_unlock(&cf->lock);
  weft_value_clear(&copy);
  if (cf->kept) {
    weft__loop_track(cf->loop, &cf->closable);
    return; /* the loop side's reference stays with the task */
  }
  /* Here on the loop's thread (the close's too, while the loop's own reference to a pending
   * task keeps it alive), not wherever the cfuture's last reference goes. */
  if (!borrowed) {
    weft_task_release(cf->task);
    cf->task = NULL;
  }
  cfuture_unref(cf);
}

/* On the loop: the task kept for a result read in place goes; at the close, the result
 * goes over to the cfuture first, its reader perhaps still on another thread. */
static void let_go_kept(weft_cfuture_t *cf, bool hand_over) {
  pthread_mutex_lock(&cf->lock);
  bool kept = cf->kept;
  cf->kept = false;
  if (kept && hand_over) {
    weft_task_future(cf->task)->result = weft_value_none();
    cf->owns_result = true;
  }
  pthread_mutex_unlock(&cf->lock);
  if (!kept)
    return;
  weft__loop_untrack(&cf->closable);
  weft_task_release(cf->task);
  cf->task = NULL;
  cfuture_unref(cf); /* the loop side's */
}

static void kept_close_now(weft__closable_t *c) {
  let_go_kept((weft_cfuture_t *)c, true);
}

/* Posted by the caller's last release; run or dropped, on the loop's thread either way. */
static void caller_gone(void *p) {
  let_go_kept(p, false);
  cfuture_unref(p); /* the post's */
}

/* On the loop: start the task unless the cfuture was cancelled first. */
static void start_task(void *p) {
  weft_cfuture_t *cf = p;
  pthread_mutex_lock(&cf->lock);
  int cancelled = cf->state != CF_PENDING;
  pthread_mutex_unlock(&cf->lock);
  int rc =
      cancelled ? WEFT_ECANCELLED : weft_task_spawn(cf->loop, cf->fn, cf->arg, NULL, &cf->task);
  if (rc == 0) {
    /* A task just made: its future has a free inline slot, so this cannot fail. */
    weft__future_watch_op(&cf->watch, weft_task_future(cf->task), task_done, cf);
    pthread_mutex_lock(&cf->lock);
    cf->started = 1;
    cancelled = cf->state == CF_CANCELLED;
    pthread_mutex_unlock(&cf->lock);
    if (cancelled) /* cancelled between the check and now */
      weft_task_cancel(cf->task, NULL);
    return; /* task_done drops the loop side's reference */
  }
  pthread_mutex_lock(&cf->lock);
  if (cf->state == CF_PENDING) {
    cf->state = CF_DONE;
    cf->code = rc;
    pthread_cond_broadcast(&cf->cond);
  }
  pthread_mutex_unlock(&cf->lock);
  cfuture_unref(cf);
}

/* The loop closed before the task could start. */
static void start_dropped(void *p) {
  weft_cfuture_t *cf = p;
  pthread_mutex_lock(&cf->lock);
  if (cf->state == CF_PENDING) {
    cf->state = CF_DONE;
    cf->code = WEFT_ECLOSED;
    pthread_cond_broadcast(&cf->cond);
  }
  pthread_mutex_unlock(&cf->lock);
  cfuture_unref(cf);
}

static void unref_dropped(void *p) {
  cfuture_unref(p);
}

int weft_run_threadsafe(weft_loop_t *loop, weft_task_fn fn, void *arg, weft_cfuture_t **out) {
  if (!loop || !fn || !out)
    return WEFT_EINVAL;
  *out = NULL;
  weft_cfuture_t *cf = calloc(1, sizeof *cf);
  if (!cf)
    return WEFT_ENOMEM;
  atomic_init(&cf->refs, 2);
  cf->caller_refs = 1;
  cf->closable.close_now = kept_close_now;
  pthread_mutex_init(&cf->lock, NULL);
  pthread_cond_init(&cf->cond, NULL);
  cf->loop = loop;
  cf->fn = fn;
  cf->arg = arg;
  int rc = weft__loop_post(loop, start_task, start_dropped, cf);
  if (rc != 0) {
    atomic_store(&cf->refs, 1);
    cfuture_unref(cf);
    return rc;
  }
  *out = cf;
  return 0;
}

/* Waits for a state change; with a negative timeout, for good. Called with the lock. */
static int wait_locked(weft_cfuture_t *cf, double timeout) {
  if (timeout < 0) {
    while (cf->state == CF_PENDING)
      pthread_cond_wait(&cf->cond, &cf->lock);
    return 0;
  }
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  double whole = (double)(time_t)timeout;
  deadline.tv_sec += (time_t)timeout;
  deadline.tv_nsec += (long)((timeout - whole) * 1e9);
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  while (cf->state == CF_PENDING) {
    if (pthread_cond_timedwait(&cf->cond, &cf->lock, &deadline) == ETIMEDOUT)
      return cf->state == CF_PENDING ? WEFT_ETIMEDOUT : 0;
  }
  return 0;
}

int weft_cfuture_wait(weft_cfuture_t *future, double timeout) {
  if (!future)
    return WEFT_EINVAL;
  pthread_mutex_lock(&future->lock);
  int rc = wait_locked(future, timeout);
  pthread_mutex_unlock(&future->lock);
  return rc;
}

int weft_cfuture_done(weft_cfuture_t *future) {
  if (future == NULL)
    return 0;
  pthread_mutex_lock(&future->lock);
  int done = future->state != CF_PENDING;
  pthread_mutex_unlock(&future->lock);
  return done;
}

int weft_cfuture_cancelled(weft_cfuture_t *future) {
  if (future == NULL)
    return 0;
  pthread_mutex_lock(&future->lock);
  int cancelled = future->state == CF_CANCELLED;
  pthread_mutex_unlock(&future->lock);
  return cancelled;
}

int weft_cfuture_result(weft_cfuture_t *future, double timeout, const weft_value_t **out) {
  if (!future)
    return WEFT_EINVAL;
  if (out)
    *out = NULL;
  pthread_mutex_lock(&future->lock);
  int rc = wait_locked(future, timeout);
  if (rc == 0) {
    if (future->state == CF_CANCELLED)
      rc = WEFT_ECANCELLED;
    else
      rc = future->code;
    if (rc == 0 && out)
      *out = future->value;
  }
  pthread_mutex_unlock(&future->lock);
  return rc;
}

const char *weft_cfuture_error_message(weft_cfuture_t *future) {
  if (!future)
    return NULL;
  pthread_mutex_lock(&future->lock);
  const char *message = future->message;
  pthread_mutex_unlock(&future->lock);
  return message;
}

/* On the loop: pass a cancellation on to the task. */
static void cancel_task(void *p) {
  weft_cfuture_t *cf = p;
  if (cf->task)
    weft_task_cancel(cf->task, NULL);
  cfuture_unref(cf);
}

int weft_cfuture_cancel(weft_cfuture_t *future) {
  if (!future)
    return WEFT_EINVAL;
  pthread_mutex_lock(&future->lock);
  if (future->state != CF_PENDING) {
    pthread_mutex_unlock(&future->lock);
    return 0;
  }
  future->state = CF_CANCELLED;
  int started = future->started;
  pthread_cond_broadcast(&future->cond);
  pthread_mutex_unlock(&future->lock);
  /* Not started yet: start_task sees the state and never starts it. */
  if (started) {
    atomic_fetch_add(&future->refs, 1);
    if (weft__loop_post(future->loop, cancel_task, unref_dropped, future) != 0)
      cfuture_unref(future);
  }
  return 1;
}

weft_cfuture_t *weft_cfuture_retain(weft_cfuture_t *future) {
  if (future) {
    pthread_mutex_lock(&future->lock);
    future->caller_refs++;
    pthread_mutex_unlock(&future->lock);
    atomic_fetch_add(&future->refs, 1);
  }
  return future;
}

void weft_cfuture_release(weft_cfuture_t *future) {
  if (!future)
    return;
  pthread_mutex_lock(&future->lock);
  bool last_kept = --future->caller_refs == 0 && future->kept;
  pthread_mutex_unlock(&future->lock);
  if (last_kept) {
    /* Nobody reads the result any more: the task can go, on the loop's thread. Refused,
     * the close lets go of it (closed, or about to run its close list; without memory for
     * the post, at the close). */
    atomic_fetch_add(&future->refs, 1);
    if (weft__loop_post(future->loop, caller_gone, caller_gone, future) != 0)
      cfuture_unref(future);
  }
  cfuture_unref(future);
}
