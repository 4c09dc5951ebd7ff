/* Thread-pool executors (loop.run_in_executor, asyncio.to_thread).
 *
 * Why own threads rather than libuv's uv_queue_work: libuv has one process-wide pool whose
 * size is fixed by UV_THREADPOOL_SIZE before first use (at most 1024) and which is shared
 * with file-system and getaddrinfo requests, so blocking user work there would stall DNS
 * and fs; it cannot be sized per executor, shut down, or waited for. asyncio needs all
 * three: a configurable pool size, several executors, and shutdown that waits for the work
 * already running. So each executor owns up to max_workers pthreads, started on demand
 * (as ThreadPoolExecutor: a new thread only when no idle one can take the work).
 *
 * A work item's state is atomic (queued -> running -> posting -> posted or unposted, or
 * queued -> cancelled), so the loop can cancel queued work without touching the executor,
 * which may be gone by then. Whoever moves an item out of a state owns what comes with it:
 * the future's reference that the outcome's post carries, in particular.
 *
 * The loop's close may come while the work runs, in a pool of the caller's that it does not
 * wait for (the default pool it waits for, as its shutdown joins the workers). The future's
 * done callback is tracked (weft__future_watch_op), and the close, calling it, takes queued
 * work back, marks running work orphaned so that its worker reports to nobody, and lets go
 * of the future itself when the worker could not post the outcome to the closed loop.
 *
 * The item carries the post that hands its outcome (or its cancellation by shutdown) back to
 * the loop: allocated at submit, on the loop's thread where a failure can be returned, so a
 * worker never needs memory to complete a future. */
#include "internal.h"
#include "weft/executor.h"
#include "loop_ext.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

enum {
  WORK_QUEUED,
  WORK_RUNNING,
  WORK_CANCELLED, /* taken back before it ran: by its future's cancellation, or the close */
  WORK_POSTING,   /* a worker or a shutdown is posting the outcome or the cancellation */
  WORK_POSTED,    /* the post is the loop's: its cb or drop lets go of the future */
  WORK_UNPOSTED,  /* the loop was closed: the close lets go of the future */
  WORK_ORPHANED,  /* the loop closed while it ran: its outcome goes nowhere */
};

typedef struct work_s {
  struct work_s *next;
  weft_loop_t *loop;
  weft_future_t *future; /* the reference handed over to the completion */
  weft_work_fn fn;
  void *arg;
  weft_free_fn arg_free;
  atomic_int state;
  atomic_int refs; /* the queue's (then the worker's, then the post's) and the done callback's */
  weft__op_watch_t watch; /* the done callback's */
  weft__post_t post;
  weft_value_t result; /* the outcome, carried by the post */
  int rc;
} work_t;

struct weft_executor_s {
  atomic_int refs;
  pthread_mutex_t lock;
  pthread_cond_t work_cond;  /* workers wait here for work or shutdown */
  pthread_cond_t exit_cond;  /* shutdown waits here for the workers to exit */
  pthread_mutex_t join_lock; /* one joiner at a time */
  work_t *head, *tail;
  size_t queued;
  size_t max_workers;
  size_t nthreads; /* started, in threads[] */
  size_t joined;   /* threads[0..joined) are joined */
  size_t alive;    /* started and not yet exited */
  size_t idle;     /* waiting on work_cond */
  pthread_t *threads;
  int shutdown;
};

static void work_unref(work_t *w) {
  if (atomic_fetch_sub(&w->refs, 1) == 1)
    free(w);
}

static void work_drop_arg(work_t *w) {
  weft__call_free(w->arg_free, w->arg); /* on a worker, or deferred from a task */
}

/* On the loop: apply the outcome unless the future was cancelled meanwhile. */
static void work_complete(void *p) {
  work_t *w = p;
  if (w->future->state == WEFT__PENDING) {
    if (w->rc == 0)
      weft__future_finish(w->future, WEFT__FINISHED, w->result, 0, NULL, NULL, NULL);
    else
      weft__future_finish(w->future, WEFT__FINISHED, weft_value_none(), w->rc, NULL, NULL, NULL);
  } else {
    weft_value_clear(&w->result);
  }
  weft_future_release(w->future);
  work_unref(w);
}

/* The loop closed before the outcome could be applied: on its thread, let go. */
static void work_complete_dropped(void *p) {
  work_t *w = p;
  weft_value_clear(&w->result);
  weft_future_release(w->future);
  work_unref(w);
}

/* Posts cb (or, if the loop closes first, drop) with the future's reference, from any
 * thread, once the item is in WORK_POSTING. The state it leaves tells the loop's close
 * whether the post took the reference. Returns whether it did. */
static int post_work(work_t *w, weft_callback_fn cb, weft_callback_fn drop) {
  w->post.cb = cb;
  w->post.drop = drop;
  w->post.arg = w;
  atomic_fetch_add(&w->refs, 1); /* a successful post may free w before the store below */
  int posted = weft__loop_post_node(w->loop, &w->post) == 0;
  atomic_store(&w->state, posted ? WORK_POSTED : WORK_UNPOSTED);
  work_unref(w);
  return posted;
}

/* Returns whether the worker's reference went with the post. */
static int run_work(work_t *w) {
  int expected = WORK_QUEUED;
  if (!atomic_compare_exchange_strong(&w->state, &expected, WORK_RUNNING))
    return 0; /* cancelled while queued: whoever cancelled it cleans up */
  w->result = weft_value_none();
  w->rc = w->fn(w->arg, &w->result);
  work_drop_arg(w);
  if (w->rc > 0)
    w->rc = WEFT_EINVAL; /* as weft_future_set_error_threadsafe refuses a positive code */
  if (w->rc != 0)
    weft_value_clear(&w->result);
  expected = WORK_RUNNING;
  if (atomic_compare_exchange_strong(&w->state, &expected, WORK_POSTING) &&
      post_work(w, work_complete, work_complete_dropped))
    return 1;
  /* Orphaned by the loop's close, or the loop is closed: the close lets go of the future. */
  weft_value_clear(&w->result);
  return 0;
}

static void *worker_main(void *p) {
  weft_executor_t *ex = p;
  pthread_mutex_lock(&ex->lock);
  for (;;) {
    while (!ex->head && !ex->shutdown) {
      ex->idle++;
      pthread_cond_wait(&ex->work_cond, &ex->lock);
      ex->idle--;
    }
    work_t *w = ex->head;
    if (!w)
      break; /* shut down and nothing left */
    ex->head = w->next;
    if (!ex->head)
      ex->tail = NULL;
    ex->queued--;
    pthread_mutex_unlock(&ex->lock);
    if (!run_work(w))
      work_unref(w);
    pthread_mutex_lock(&ex->lock);
  }
  ex->alive--;
  pthread_cond_broadcast(&ex->exit_cond);
  pthread_mutex_unlock(&ex->lock);
  return NULL;
}

/* Starts a thread with every signal blocked: process-directed signals then go to a loop
 * thread (where libuv turns them into loop events), and the work never sees EINTR. */
static int start_thread(pthread_t *thread, void *(*fn)(void *), void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(thread, NULL, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

static size_t default_workers(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    cpus = 1;
  return cpus + 4 < 32 ? (size_t)cpus + 4 : 32;
}

int weft_executor_new(size_t max_workers, weft_executor_t **out) {
  if (!out)
    return WEFT_EINVAL;
  *out = NULL;
  if (max_workers == 0)
    max_workers = default_workers();
  weft_executor_t *ex = calloc(1, sizeof *ex);
  if (!ex)
    return WEFT_ENOMEM;
  ex->threads = calloc(max_workers, sizeof *ex->threads);
  if (!ex->threads) {
    free(ex);
    return WEFT_ENOMEM;
  }
  atomic_init(&ex->refs, 1);
  ex->max_workers = max_workers;
  pthread_mutex_init(&ex->lock, NULL);
  pthread_mutex_init(&ex->join_lock, NULL);
  pthread_cond_init(&ex->work_cond, NULL);
  pthread_cond_init(&ex->exit_cond, NULL);
  *out = ex;
  return 0;
}

weft_executor_t *weft_executor_retain(weft_executor_t *executor) {
  if (!executor)
    return NULL;
  atomic_fetch_add(&executor->refs, 1);
  return executor;
}

size_t weft_executor_max_workers(const weft_executor_t *executor) {
  return executor ? executor->max_workers : 0;
}

/* On the loop: a queued item dropped by shutdown(cancel_futures) cancels its future. */
static void cancel_dropped(void *p) {
  work_t *w = p;
  weft_future_cancel(w->future, NULL);
  weft_future_release(w->future);
  work_unref(w);
}

static void drop_dropped(void *p) {
  work_t *w = p;
  weft_future_release(w->future);
  work_unref(w);
}

int weft_executor_shutdown(weft_executor_t *executor, int wait, int cancel_futures) {
  weft_executor_t *ex = executor;
  if (!ex)
    return WEFT_EINVAL;
  pthread_mutex_lock(&ex->lock);
  ex->shutdown = 1;
  work_t *dropped = NULL;
  if (cancel_futures) {
    dropped = ex->head;
    ex->head = ex->tail = NULL;
    ex->queued = 0;
  }
  pthread_cond_broadcast(&ex->work_cond);
  pthread_mutex_unlock(&ex->lock);

  while (dropped) {
    work_t *w = dropped;
    dropped = w->next;
    int expected = WORK_QUEUED;
    if (atomic_compare_exchange_strong(&w->state, &expected, WORK_POSTING)) {
      work_drop_arg(w);
      /* The queue's reference goes with the callback. If the loop closes before it runs,
       * the drop (on the loop's thread) lets go of the future. */
      w->result = weft_value_none();
      if (!post_work(w, cancel_dropped, drop_dropped))
        work_unref(w); /* closed already: its close lets go of the future */
    } else {
      work_unref(w);
    }
  }

  if (wait) {
    pthread_mutex_lock(&ex->join_lock);
    pthread_mutex_lock(&ex->lock);
    while (ex->alive > 0)
      pthread_cond_wait(&ex->exit_cond, &ex->lock);
    size_t n = ex->nthreads; /* stable: no thread starts after shutdown */
    pthread_mutex_unlock(&ex->lock);
    for (; ex->joined < n; ex->joined++)
      pthread_join(ex->threads[ex->joined], NULL);
    pthread_mutex_unlock(&ex->join_lock);
  }
  return 0;
}

void weft_executor_release(weft_executor_t *executor) {
  if (!executor || atomic_fetch_sub(&executor->refs, 1) != 1)
    return;
  weft_executor_shutdown(executor, 1, 0);
  pthread_mutex_destroy(&executor->lock);
  pthread_mutex_destroy(&executor->join_lock);
  pthread_cond_destroy(&executor->work_cond);
  pthread_cond_destroy(&executor->exit_cond);
  free(executor->threads);
  free(executor);
}

/* Done callback on the submitted future: a cancellation that arrives while the work is
 * still queued keeps it from running. Called by the loop's close with the future pending
 * (or its outcome posted and dropped unapplied), it also takes queued work back, orphans
 * running work, and lets go of the future's reference no post took. */
static void on_future_done(weft_future_t *future, void *p) {
  work_t *w = p;
  bool closing = !weft_future_done(future);
  int expected = WORK_QUEUED;
  if ((closing || weft_future_cancelled(future)) &&
      atomic_compare_exchange_strong(&w->state, &expected, WORK_CANCELLED)) {
    work_drop_arg(w);
    weft_future_release(w->future); /* the completion's reference: it will never come */
  } else if (closing) {
    expected = WORK_RUNNING;
    if (!atomic_compare_exchange_strong(&w->state, &expected, WORK_ORPHANED)) {
      /* A post under way ends at once, as the loop refuses posts from now on (and no user
       * code runs there): wait for its outcome rather than guess it. */
      while ((expected = atomic_load(&w->state)) == WORK_POSTING)
        sched_yield();
    }
    if (expected == WORK_RUNNING || expected == WORK_UNPOSTED)
      weft_future_release(w->future);
  }
  work_unref(w);
}

/* Queues w; starts a thread when no idle one is left for it. */
static int submit(weft_executor_t *ex, work_t *w) {
  pthread_mutex_lock(&ex->lock);
  if (ex->shutdown) {
    pthread_mutex_unlock(&ex->lock);
    return WEFT_ECLOSED;
  }
  if (ex->queued + 1 > ex->idle && ex->nthreads < ex->max_workers) {
    int rc = start_thread(&ex->threads[ex->nthreads], worker_main, ex);
    if (rc == 0) {
      ex->nthreads++;
      ex->alive++;
    } else if (ex->nthreads == 0) {
      pthread_mutex_unlock(&ex->lock);
      return WEFT_EAGAIN; /* nobody would ever run it */
    }
  }
  w->next = NULL;
  if (ex->tail)
    ex->tail->next = w;
  else
    ex->head = w;
  ex->tail = w;
  ex->queued++;
  pthread_cond_signal(&ex->work_cond);
  pthread_mutex_unlock(&ex->lock);
  return 0;
}

/* ---- The loop's default executor ------------------------------------------------------ */

typedef struct default_exec_s {
  weft_executor_t *executor; /* NULL until first use, and after shutdown */
  size_t size;
  int shut_down;
} default_exec_t;

/* At loop close, as asyncio: the default executor is shut down without waiting. */
static void default_exec_cleanup(void *p) {
  default_exec_t *d = p;
  if (d->executor) {
    weft_executor_shutdown(d->executor, 0, 0);
    weft_executor_release(d->executor);
  }
  free(d);
}

static default_exec_t *default_state(weft_loop_t *loop) {
  default_exec_t *d = weft__loop_ext_get(loop, WEFT__EXT_EXECUTOR);
  if (d)
    return d;
  d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  if (weft__loop_ext_set(loop, WEFT__EXT_EXECUTOR, d, default_exec_cleanup) != 0) {
    free(d);
    return NULL;
  }
  return d;
}

static int default_executor(weft_loop_t *loop, weft_executor_t **out) {
  default_exec_t *d = default_state(loop);
  if (!d)
    return WEFT_ENOMEM;
  if (d->shut_down)
    return WEFT_ECLOSED;
  if (!d->executor) {
    int rc = weft_executor_new(d->size, &d->executor);
    if (rc != 0)
      return rc;
  }
  *out = d->executor;
  return 0;
}

int weft_run_in_executor_ex(weft_loop_t *loop, weft_executor_t *executor, weft_work_fn fn,
                            void *arg, weft_free_fn arg_free, weft_future_t **out) {
  int rc = WEFT_EINVAL;
  weft_future_t *future = NULL;
  work_t *w = NULL;
  if (out)
    *out = NULL;
  if (!loop || !fn || !out)
    goto fail;
  rc = weft_future_new(loop, &future); /* also checks the thread and that it is open */
  if (rc != 0)
    goto fail;
  if (!executor && (rc = default_executor(loop, &executor)) != 0)
    goto fail;
  rc = WEFT_ENOMEM;
  w = malloc(sizeof *w);
  if (!w)
    goto fail;
  w->loop = loop;
  w->future = future;
  w->fn = fn;
  w->arg = arg;
  w->arg_free = arg_free;
  atomic_init(&w->state, WORK_QUEUED);
  atomic_init(&w->refs, 2);
  weft_future_retain(future); /* handed over to the completion */
  if ((rc = submit(executor, w)) != 0) {
    weft_future_release(future);
    goto fail;
  }
  /* Registered after the submit, which the worker's post cannot overtake: it is run on
   * this thread. The future is new: this takes one of its inline slots, and cannot fail. */
  weft__future_watch_op(&w->watch, future, on_future_done, w);
  *out = future;
  return 0;
fail:
  free(w);
  if (future)
    weft_future_release(future);
  weft__call_free(arg_free, arg);
  return rc;
}

int weft_run_in_executor(weft_loop_t *loop, weft_executor_t *executor, weft_work_fn fn, void *arg,
                         weft_future_t **out) {
  return weft_run_in_executor_ex(loop, executor, fn, arg, NULL, out);
}

int weft_to_thread(weft_loop_t *loop, weft_work_fn fn, void *arg, weft_future_t **out) {
  return weft_run_in_executor_ex(loop, NULL, fn, arg, NULL, out);
}

int weft_loop_set_default_executor(weft_loop_t *loop, weft_executor_t *executor) {
  if (!loop || !executor)
    return WEFT_EINVAL;
  default_exec_t *d = default_state(loop);
  if (!d)
    return WEFT_ENOMEM;
  weft_executor_t *old = d->executor;
  d->executor = weft_executor_retain(executor);
  d->size = executor->max_workers;
  if (old) {
    weft_executor_shutdown(old, 0, 0);
    weft_executor_release(old);
  }
  return 0;
}

int weft_loop_set_default_executor_size(weft_loop_t *loop, size_t max_workers) {
  if (!loop)
    return WEFT_EINVAL;
  default_exec_t *d = default_state(loop);
  if (!d)
    return WEFT_ENOMEM;
  if (d->executor)
    return WEFT_EINVALIDSTATE;
  d->size = max_workers;
  return 0;
}

/* On the loop's close list until its report ran or was dropped: a report refused by the
 * closed loop leaves the job to the close, which waits for the helper (as it waits for the
 * default executor's work) and frees it. */
typedef struct shutdown_job_s {
  weft__closable_t closable;
  weft_loop_t *loop;
  weft_future_t *future;
  weft_executor_t *executor;
  pthread_t thread;
  bool joined;       /* loop thread only */
  bool unposted;     /* written by the helper before it ends, read once it is joined */
  weft__post_t post; /* the helper's report to the loop, which needs no memory then */
} shutdown_job_t;

static void shutdown_join(shutdown_job_t *job) {
  weft__loop_untrack(&job->closable);
  if (!job->joined)
    pthread_join(job->thread, NULL);
  job->joined = true;
}

/* On the loop, once the helper thread has waited for the work: join it and finish. */
static void shutdown_finished(void *p) {
  shutdown_job_t *job = p;
  shutdown_join(job);
  weft_executor_release(job->executor); /* its threads are joined: this does not block */
  if (!weft_future_done(job->future))
    weft_future_set_result(job->future, weft_value_none());
  weft_future_release(job->future);
  free(job);
}

/* The loop closed before the shutdown finished: just clean up, on its thread. */
static void shutdown_dropped(void *p) {
  shutdown_job_t *job = p;
  shutdown_join(job);
  weft_executor_release(job->executor);
  weft_future_release(job->future);
  free(job);
}

/* The loop closes with the helper still waiting, or its report refused: once it is joined,
 * a report that reached the loop is dropped with the others, else the job is ours. */
static void shutdown_close_now(weft__closable_t *c) {
  shutdown_job_t *job = (shutdown_job_t *)(void *)c;
  shutdown_join(job);
  if (job->unposted)
    shutdown_dropped(job);
}

static void *shutdown_helper(void *p) {
  shutdown_job_t *job = p;
  weft_executor_shutdown(job->executor, 1, 0);
  job->post.cb = shutdown_finished;
  job->post.drop = shutdown_dropped;
  job->post.arg = job;
  /* Refused only by a closing loop, whose close joins this thread and then reads this. */
  if (weft__loop_post_node(job->loop, &job->post) != 0)
    job->unposted = true;
  return NULL;
}

int weft_shutdown_default_executor(weft_loop_t *loop, weft_future_t **out) {
  if (!loop || !out)
    return WEFT_EINVAL;
  *out = NULL;
  weft_future_t *future;
  int rc = weft_future_new(loop, &future);
  if (rc != 0)
    return rc;
  default_exec_t *d = default_state(loop);
  if (!d) {
    weft_future_release(future);
    return WEFT_ENOMEM;
  }
  d->shut_down = 1;
  weft_executor_t *ex = d->executor;
  d->executor = NULL;
  if (!ex) {
    weft_future_set_result(future, weft_value_none());
    *out = future;
    return 0;
  }
  shutdown_job_t *job = malloc(sizeof *job);
  if (job) {
    *job = (shutdown_job_t){.closable.close_now = shutdown_close_now,
                            .loop = loop,
                            .future = weft_future_retain(future),
                            .executor = ex};
    if (start_thread(&job->thread, shutdown_helper, job) == 0) {
      weft__loop_track(loop, &job->closable); /* its report runs on this thread: not yet */
      *out = future;
      return 0;
    }
    weft_future_release(future);
    free(job);
  }
  /* No helper thread: wait here, on the loop's thread, rather than fail. */
  weft_executor_release(ex);
  weft_future_set_result(future, weft_value_none());
  *out = future;
  return 0;
}
