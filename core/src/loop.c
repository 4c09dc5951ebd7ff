/* The event loop: the ready queue, running and stopping, calls from other threads, the
 * exception handler and the log.
 *
 * One asyncio iteration maps onto one libuv iteration, in asyncio's order. Our prepare
 * handle, which libuv runs just before it polls, runs exactly the callbacks ready by then;
 * poll then waits for I/O (not at all while the idle handle is active, which it is whenever
 * callbacks are ready or a timer is due) and runs the I/O callbacks, which call protocols
 * directly; our check handle, after poll, runs the timers due by then (and, first, what
 * other threads posted during that poll while nothing else was ready). So a callback
 * scheduled before some I/O arrived runs before that I/O is handled, and the I/O before
 * the timers that fell due meanwhile, as asyncio's select appends the I/O behind the
 * ready callbacks and the due timers behind the I/O. What any of them schedules waits for
 * the next iteration. docs/design.md, "One iteration", says why. On a host's loop several
 * of asyncio's iterations share one of the host's (run_rounds). */
#include <string.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"
#include "loop_ext.h"

#define WEFT__INITIAL_READY 256
/* Free task stacks the loop keeps for reuse. A burst of tasks beyond the cache pays an mmap,
 * an mprotect, a page fault and an munmap each: ~10 us against ~0.2 us from the cache
 * (bench_core, "task spawn+finish, batch 1000"), and spawning a thousand tasks at once is
 * ordinary asyncio. A cached stack costs only the pages its tasks touched (usually one or
 * two) plus 260 KiB of address space. */
#define WEFT__CACHED_STACKS 1024

static void on_prepare(uv_prepare_t *prepare);
static void on_check(uv_check_t *check);
static void take_foreign(weft_loop_t *loop, bool for_check);
static void on_idle(uv_idle_t *idle);
static void on_async(uv_async_t *async);

/* Every call that schedules or completes something checks the thread. The address of a
 * thread-local variable identifies the calling thread as uv_thread_self does (both may be
 * reused once a thread has exited), but costs one instruction instead of two calls into
 * libuv and libc. */
static _Thread_local char thread_tag;

static const void *this_thread(void) {
  return &thread_tag;
}

/* Which loop runs callbacks on this thread: set while one runs (for an adopted loop, while
 * its prepare handle runs the ready queue, where every task step starts), so that a stackful
 * task of one loop awaiting another loop's future can be told apart from code outside any
 * task. */
static _Thread_local weft_loop_t *running_here;

weft_loop_t *weft__running_loop(void) {
  return running_here;
}

int weft__not_in_task(const weft_loop_t *loop) {
  weft_loop_t *here = running_here;
  return here != NULL && here != loop && here->current_task != NULL ? WEFT_EWRONGLOOP
                                                                    : WEFT_ENOTINTASK;
}

/* ---- Creation and reference counting -------------------------------------------------- */

static bool env_debug(void) {
  const char *v = getenv("WEFT_DEBUG");
  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Writing to a socket or pipe whose reader is gone raises SIGPIPE, which would end the
 * process; like Python and Node, weft ignores it (unless the program set a handler of its
 * own) and reports EPIPE instead. libuv resets dispositions in children it spawns. */
static void ignore_sigpipe(void) {
  struct sigaction current;
  if (sigaction(SIGPIPE, NULL, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
      current.sa_handler == SIG_DFL) {
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, NULL);
  }
}

int weft_loop_new(weft_loop_t **out) {
  return weft_loop_new_ex(NULL, out);
}

int weft_loop_new_ex(const weft_loop_options_t *options, weft_loop_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (options != NULL && options->size < sizeof(size_t))
    return WEFT_EINVAL;
  weft_loop_t *loop = calloc(1, sizeof *loop);
  if (loop == NULL)
    return WEFT_ENOMEM;
  ignore_sigpipe();
  loop->refs = 1;
  loop->user_refs = 1;
  loop->closables.next = loop->closables.prev = &loop->closables;
  loop->slow_callback_ns = 100 * 1000 * 1000;
  loop->debug = env_debug() || (options != NULL && options->debug);
  loop->ready_cap = WEFT__INITIAL_READY;
  loop->ready = malloc(loop->ready_cap * sizeof *loop->ready);
  int rc = loop->ready == NULL ? WEFT_ENOMEM : 0;
  if (rc == 0)
    rc = weft__stack_pool_new(WEFT__CACHED_STACKS, &loop->stacks);
  if (rc == 0 && uv_mutex_init(&loop->foreign_lock) != 0)
    rc = WEFT_ENOMEM;
  if (rc != 0) {
    free(loop->ready);
    if (loop->stacks != NULL)
      weft__stack_pool_free(loop->stacks);
    free(loop);
    return rc;
  }

  if (options != NULL && options->adopt != NULL) {
    loop->uv = options->adopt;
    loop->adopted = true;
    loop->running = true; /* the host runs it: from now on only this thread may call */
    loop->owner = uv_thread_self();
    loop->owner_tag = this_thread();
    weft__thread_loop_set(loop); /* for good: the host runs it, on this thread */
  } else {
    rc = weft_error_from_uv(uv_loop_init(&loop->own_uv));
    if (rc != 0) {
      uv_mutex_destroy(&loop->foreign_lock);
      weft__stack_pool_free(loop->stacks);
      free(loop->ready);
      free(loop);
      return rc;
    }
    loop->uv = &loop->own_uv;
  }

  /* The idle handle (active while callbacks are ready) and the timer (active while timers
   * are pending) keep the libuv loop alive exactly while weft has work, as a host such as
   * Node expects; the prepare, check and async handles are always active, so they must not. */
  uv_prepare_init(loop->uv, &loop->prepare);
  uv_check_init(loop->uv, &loop->check);
  uv_idle_init(loop->uv, &loop->idle);
  uv_timer_init(loop->uv, &loop->timer);
  uv_async_init(loop->uv, &loop->async, on_async);
  loop->prepare.data = loop->check.data = loop->idle.data = loop;
  loop->timer.data = loop->async.data = loop;
  /* The prepare and check handles run only while there is something for them (see
   * wake and weft__loop_watch_timers): libuv pays for every active one on every
   * iteration, and a loop busy with protocol callbacks alone, called straight from libuv's,
   * has nothing for them to do. */
  uv_unref((uv_handle_t *)&loop->prepare);
  uv_unref((uv_handle_t *)&loop->check);
  uv_unref((uv_handle_t *)&loop->async);
  loop->open_uv_handles = 5;
  *out = loop;
  return 0;
}

void weft__loop_retain(weft_loop_t *loop) {
  loop->refs++;
}

static void loop_destroy(weft_loop_t *loop) {
  /* Nothing can call the handlers any more: let go of their arguments. */
  weft__replace_arg(NULL, &loop->exception_handler_arg, &loop->exception_handler_arg_free, NULL,
                    NULL);
  weft__replace_arg(NULL, &loop->log_arg, &loop->log_arg_free, NULL, NULL);
  weft__replace_arg(NULL, &loop->batch_arg, &loop->batch_arg_free, NULL, NULL);
  weft__handles_free_pool(loop);
  while (loop->free_futures != NULL) {
    weft_future_t *f = loop->free_futures;
    loop->free_futures = f->next_free;
    free(f);
  }
  weft__stack_pool_free(loop->stacks);
  uv_mutex_destroy(&loop->foreign_lock);
  free(loop->foreign);
  free(loop->deferred);
  free(loop->batch);
  free(loop->heap);
  free(loop->due);
  free(loop->ready);
  free(loop);
}

void weft__loop_release(weft_loop_t *loop) {
  if (--loop->refs == 0)
    loop_destroy(loop);
}

/* ---- Checks --------------------------------------------------------------------------- */

int weft__loop_check(const weft_loop_t *loop) {
  if (loop->closed)
    return WEFT_ECLOSED;
  if (loop->running && loop->owner_tag != this_thread())
    return WEFT_EWRONGTHREAD;
  return 0;
}

/* ---- The ready queue ------------------------------------------------------------------ */

/* Grows the ring to hold at least `need` entries. */
static int ready_grow(weft_loop_t *loop, size_t need) {
  size_t cap = loop->ready_cap * 2;
  while (cap < need)
    cap *= 2;
  weft__ready_t *ring = malloc(cap * sizeof *ring);
  if (ring == NULL)
    return WEFT_ENOMEM;
  /* Unroll the ring so the oldest entry sits at index 0. */
  size_t mask = loop->ready_cap - 1;
  for (size_t i = 0; i < loop->ready_count; i++)
    ring[i] = loop->ready[(loop->ready_head + i) & mask];
  free(loop->ready);
  loop->ready = ring;
  loop->ready_cap = cap;
  loop->ready_head = 0;
  return 0;
}

/* Callbacks are ready: poll must not block, and the prepare handle runs them. */
static void wake(weft_loop_t *loop) {
  uv_idle_start(&loop->idle, on_idle);
  uv_prepare_start(&loop->prepare, on_prepare);
}

/* Appends where room is known to be, without waking the loop. */
static void ready_put(weft_loop_t *loop, const weft__ready_t *entry) {
  loop->ready[(loop->ready_head + loop->ready_count) & (loop->ready_cap - 1)] = *entry;
  loop->ready_count++;
}

/* Appends where room is known to be. */
static void ready_append(weft_loop_t *loop, const weft__ready_t *entry) {
  if (loop->ready_count == 0)
    wake(loop);
  ready_put(loop, entry);
}

/* Room for one more entry beyond those queued and those reserved. */
static int ready_make_room(weft_loop_t *loop) {
  size_t need = loop->ready_count + loop->ready_reserved + 1;
  return need > loop->ready_cap ? ready_grow(loop, need) : 0;
}

int weft__loop_push_ready(weft_loop_t *loop, const weft__ready_t *entry) {
  if (loop->closed)
    return WEFT_ECLOSED;
  if (ready_make_room(loop) != 0)
    return WEFT_ENOMEM;
  ready_append(loop, entry);
  return 0;
}

int weft__loop_reserve_ready(weft_loop_t *loop) {
  if (ready_make_room(loop) != 0)
    return WEFT_ENOMEM;
  loop->ready_reserved++;
  return 0;
}

void weft__loop_unreserve_ready(weft_loop_t *loop, size_t n) {
  loop->ready_reserved -= n;
}

int weft__loop_push_reserved(weft_loop_t *loop, const weft__ready_t *entry) {
  loop->ready_reserved--;
  if (loop->closed)
    return WEFT_ECLOSED;
  ready_append(loop, entry); /* count + reserved <= cap held before the decrement */
  return 0;
}

/* Drops an entry that will never run, with the references it holds. */
/* Lets go of what an entry holds once it has run. */
static void ready_release(weft__ready_t *entry) {
  if (entry->future != NULL)
    weft_future_release(entry->future);
  if (entry->handle != NULL)
    weft_handle_release(entry->handle);
}

/* A post with a destructor waits in the ready queue as this callback of its node, so that
 * an entry dropped unrun can still reach the destructor. */
static void run_post(void *arg) {
  weft__post_t *node = arg;
  weft_callback_fn cb = node->cb;
  void *cb_arg = node->arg;
  if (node->owned)
    free(node);
  cb(cb_arg);
}

/* Calls a post's destructor in place of its callback. */
static void drop_post(weft__post_t *node) {
  weft_callback_fn drop = node->drop;
  void *arg = node->arg;
  if (node->owned)
    free(node);
  weft__assert_loop_stack("a posted callback's destructor");
  drop(arg); /* may free a node the poster owns */
}

/* Lets go of an entry that will not run. */
static void ready_drop(weft__ready_t *entry) {
  if (entry->future == NULL && entry->fn.plain == run_post) {
    drop_post(entry->arg);
  } else if (entry->handle != NULL && !entry->handle->cancelled && entry->handle->drop != NULL) {
    weft__assert_loop_stack("a scheduled callback's destructor");
    entry->handle->drop(entry->arg);
  }
  ready_release(entry);
}

static void report_slow_callback(weft_loop_t *loop, const weft__ready_t *entry, uint64_t ns) {
  char what[160];
  if (entry->future != NULL) {
    char desc[120];
    weft__future_describe(entry->future, desc, sizeof desc);
    snprintf(what, sizeof what, "done callback of %s", desc);
  } else {
    union {
      weft_callback_fn fn;
      void *address;
    } pun = {.fn = entry->fn.plain};
    snprintf(what, sizeof what, "callback %p(arg=%p)", pun.address, entry->arg);
  }
  weft__loop_log(loop, WEFT_LOG_WARNING, "Executing %s took %.3f seconds", what, ns / 1e9);
}

static void run_entry(weft_loop_t *loop, weft__ready_t *entry) {
  if (entry->handle != NULL && entry->handle->cancelled) {
    ready_drop(entry);
    return;
  }
  uint64_t start = loop->debug ? uv_hrtime() : 0;
  weft__assert_loop_stack("a scheduled or done callback");
  if (entry->future != NULL)
    entry->fn.done(entry->future, entry->arg);
  else
    entry->fn.plain(entry->arg);
  if (loop->debug) {
    uint64_t took = uv_hrtime() - start;
    if (took >= loop->slow_callback_ns)
      report_slow_callback(loop, entry, took);
  }
  ready_release(entry);
}

static bool is_batched(const weft__ready_t *entry) {
  return entry->future == NULL && entry->fn.plain == NULL;
}

/* Hands the collected run of batched callbacks to the binding. */
static void flush_batch(weft_loop_t *loop) {
  if (loop->batch_len == 0)
    return;
  size_t count = loop->batch_len;
  loop->batch_len = 0;
  uint64_t start = loop->debug ? uv_hrtime() : 0;
  weft__assert_loop_stack("the batch handler");
  if (loop->batch_handler != NULL)
    loop->batch_handler(loop, loop->batch, count, loop->batch_arg);
  if (loop->debug && uv_hrtime() - start >= loop->slow_callback_ns)
    weft__loop_log(loop, WEFT_LOG_WARNING, "Executing a batch of %zu callbacks took %.3f seconds",
                   count, (uv_hrtime() - start) / 1e9);
}

/* Adds a batched callback (never a done callback: no future) to the run being collected. It
 * takes the entry's fields, not its address: an entry whose address escapes into this
 * out-of-line function lives on the stack in the ready-queue loops, and every field is
 * reloaded after each callback (docs/benchmarks.md, "The iteration in asyncio's order"). */
static void collect(weft_loop_t *loop, weft_handle_t *handle, void *arg) {
  if (handle != NULL && handle->cancelled) {
    weft_handle_release(handle);
    return;
  }
  if (loop->batch_len == loop->batch_cap) {
    size_t cap = loop->batch_cap ? loop->batch_cap * 2 : 256;
    uintptr_t *grown = realloc(loop->batch, cap * sizeof *grown);
    if (grown == NULL) {
      /* Out of memory: run what was collected, then this one on its own. */
      flush_batch(loop);
      uintptr_t id = (uintptr_t)arg;
      weft__assert_loop_stack("the batch handler");
      if (loop->batch_handler != NULL)
        loop->batch_handler(loop, &id, 1, loop->batch_arg);
      weft_handle_release(handle);
      return;
    }
    loop->batch = grown;
    loop->batch_cap = cap;
  }
  loop->batch[loop->batch_len++] = (uintptr_t)arg;
  if (handle != NULL)
    weft_handle_release(handle);
}

/* Runs one entry of a batch: batched callbacks are collected and handed over together. */
static void run_or_collect(weft_loop_t *loop, weft__ready_t *entry) {
  if (is_batched(entry)) {
    collect(loop, entry->handle, entry->arg);
    return;
  }
  flush_batch(loop);
  run_entry(loop, entry);
}

/* Runs the first n entries of the ready queue (fewer if the loop closes meanwhile); what
 * they schedule goes behind them. */
static void run_head(weft_loop_t *loop, size_t n) {
  for (; n > 0 && loop->ready_count > 0; n--) {
    weft__ready_t entry = loop->ready[loop->ready_head];
    loop->ready_head = (loop->ready_head + 1) & (loop->ready_cap - 1);
    loop->ready_count--;
    run_or_collect(loop, &entry);
  }
}

/* Entered by the prepare and check handles, which start every callback of the loop. */
static weft_loop_t *enter(weft_loop_t *loop) {
  weft__loop_retain(loop); /* a callback may drop the last outside reference */
  weft_loop_t *outer = running_here;
  running_here = loop;
  if (loop->adopted) /* a host may run several adopted loops on one thread */
    weft__thread_loop_set(loop);
  return outer;
}

static void leave(weft_loop_t *loop, weft_loop_t *outer) {
  running_here = outer;
  weft__loop_release(loop);
}

/* On a host's loop an iteration costs the host's own work besides the poll (Node's is a few
 * times weft's), and every hand-over that asyncio makes through the ready queue (a Lock passed
 * on, sleep(0), a getter woken) would pay one. So an adopted loop runs up to ADOPTED_ROUNDS of
 * asyncio's iterations in one of the host's: each round runs what the one before made ready,
 * as asyncio's next iteration would. The rounds stop when nothing is ready or a timer is due
 * (the check handle runs the timers, in their order, behind this iteration's callbacks); the
 * poll they skip only makes I/O that became ready meanwhile wait for the host's next
 * iteration, as if it had come a little later. */
#define ADOPTED_ROUNDS 16

static void run_rounds(weft_loop_t *loop) {
  for (int round = 1; round < ADOPTED_ROUNDS && loop->ready_count > 0 && !loop->closed; round++) {
    if (loop->heap_len > 0 && loop->heap[0]->when_ns <= uv_hrtime())
      return;
    if (atomic_load_explicit(&loop->foreign_waiting, memory_order_relaxed))
      take_foreign(loop, false);
    run_head(loop, loop->ready_count);
    flush_batch(loop);
  }
}

/* The first part of an iteration: the callbacks that were ready before it. */
static void on_prepare(uv_prepare_t *prepare) {
  weft_loop_t *loop = prepare->data;
  weft_loop_t *outer = enter(loop);
  loop->timer_seq_limit = loop->timer_seq;
  loop->posts_at_head = 0; /* they run here with the rest */
  /* asyncio appends a threadsafe callback to its ready queue at once; the async handle's
   * callback would only pass on the ones posted by now during the poll below. */
  if (atomic_load_explicit(&loop->foreign_waiting, memory_order_relaxed))
    take_foreign(loop, false);
  run_head(loop, loop->ready_count);
  flush_batch(loop);
  if (loop->adopted)
    run_rounds(loop);
  /* A due timer keeps poll from blocking too: the check handle after it runs the timer. */
  if (loop->ready_count == 0 && !loop->timer_fired && !loop->closed)
    uv_idle_stop(&loop->idle);
  /* The last timer cancelled: the libuv timer, still armed for it, must not hold poll or
   * the loop (an earlier deadline left the heap's top only makes it fire early, which the
   * check handle tolerates). */
  if (loop->heap_len == 0 && !loop->closed)
    uv_timer_stop(&loop->timer);
  /* Nothing ready and no timer pending: nothing for this handle until wake or
   * weft__loop_watch_timers. */
  if (loop->ready_count == 0 && loop->heap_len == 0 && !loop->closed)
    uv_prepare_stop(&loop->prepare);
  /* The callbacks may have started watchers whose own prepare handle libuv would only run
   * in the next iteration, after a poll that may block. */
  if (loop->before_poll != NULL)
    loop->before_poll(loop->before_poll_arg);
  leave(loop, outer);
}

/* The last part of an iteration, after poll ran the I/O callbacks: the timers now due, as
 * asyncio appends them to its ready queue behind the I/O, except those scheduled since this
 * iteration's prepare began (asyncio collects timers before it runs the callbacks that
 * would schedule them). What they schedule waits for the next iteration. */
static void on_check(uv_check_t *check) {
  weft_loop_t *loop = check->data;
  weft_loop_t *outer = enter(loop);
  loop->timer_fired = false;
  size_t n = loop->heap_len > 0 ? weft__timers_take_due(loop, uv_hrtime()) : 0;
  /* First the posts the async handle took during this poll into an empty queue (on_async),
   * which asyncio runs in this iteration ahead of its due timers. */
  size_t posts = loop->posts_at_head;
  loop->posts_at_head = 0;
  if (posts > 0)
    run_head(loop, posts);
  for (size_t i = 0; i < n; i++) {
    /* The heap's reference came along; loop->due may move as callbacks add timers. */
    weft_handle_t *h = loop->due[i];
    weft__ready_t entry = {.fn.plain = h->cb, .arg = h->arg, .handle = h};
    if (loop->closed)
      ready_drop(&entry);
    else
      run_or_collect(loop, &entry);
  }
  flush_batch(loop);
  if (!loop->closed) {
    /* What was queued behind the posts found the queue non-empty and left the idle and
     * prepare handles as on_async did: stopped. */
    if (posts > 0 && loop->ready_count > 0)
      wake(loop);
    weft__timers_arm(loop);
    if (loop->ready_count == 0)
      uv_idle_stop(&loop->idle);
    /* With timers pending the handle stays, so an iteration woken by I/O runs the ones due
     * by then, as asyncio does right after its select, rather than waiting for libuv's
     * millisecond timer. */
    if (loop->heap_len == 0) {
      uv_check_stop(&loop->check);
      if (loop->ready_count == 0)
        uv_prepare_stop(&loop->prepare); /* on_prepare would only stop itself */
    }
  }
  leave(loop, outer);
}

/* The idle handle only exists to make poll return at once; the work happens in on_prepare
 * and on_check. */
static void on_idle(uv_idle_t *idle) {
  (void)idle;
}

void weft__loop_timer_fired(weft_loop_t *loop) {
  loop->timer_fired = true;
  uv_idle_start(&loop->idle, on_idle);
  uv_check_start(&loop->check, on_check);
}

void weft__loop_watch_timers(weft_loop_t *loop) {
  uv_prepare_start(&loop->prepare, on_prepare);
  uv_check_start(&loop->check, on_check);
}

/* ---- Scheduling ----------------------------------------------------------------------- */

/* A NULL cb makes a batched callback whose id is arg (weft_call_soon_id). */
static int call_soon(weft_loop_t *loop, weft_callback_fn cb, void *arg,
                     weft_handle_t **handle_out) {
  if (handle_out != NULL)
    *handle_out = NULL;
  if (loop == NULL)
    return WEFT_EINVAL;
  int rc = weft__loop_check(loop);
  if (rc != 0)
    return rc;
  /* asyncio keeps one queue for both: what another thread posted before this call (say,
   * under a lock this thread then took) runs before it. */
  if (atomic_load(&loop->foreign_waiting))
    take_foreign(loop, false);
  weft__ready_t entry = {.fn.plain = cb, .arg = arg};
  if (handle_out == NULL)
    return weft__loop_push_ready(loop, &entry);
  rc = weft__handle_new(loop, cb, arg, &entry.handle);
  if (rc != 0)
    return rc;
  rc = weft__loop_push_ready(loop, &entry);
  if (rc != 0) {
    weft_handle_release(entry.handle);
    return rc;
  }
  *handle_out = weft_handle_retain(entry.handle);
  return 0;
}

int weft_call_soon(weft_loop_t *loop, weft_callback_fn cb, void *arg, weft_handle_t **handle_out) {
  if (cb == NULL) {
    if (handle_out != NULL)
      *handle_out = NULL;
    return WEFT_EINVAL;
  }
  return call_soon(loop, cb, arg, handle_out);
}

int weft_call_soon_id(weft_loop_t *loop, uintptr_t id, weft_handle_t **handle_out) {
  return call_soon(loop, NULL, (void *)id, handle_out);
}

int weft_call_soon_ids(weft_loop_t *loop, const uintptr_t *ids, size_t count) {
  if (loop == NULL || (ids == NULL && count > 0))
    return WEFT_EINVAL;
  for (size_t i = 0; i < count; i++) {
    int rc = call_soon(loop, NULL, (void *)ids[i], NULL);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int weft_loop_set_batch_handler(weft_loop_t *loop, weft_batch_fn handler, void *arg,
                                weft_free_fn arg_free) {
  if (loop == NULL)
    return WEFT_EINVAL;
  loop->batch_handler = handler;
  if (handler == NULL)
    arg = NULL, arg_free = NULL;
  weft__replace_arg(loop, &loop->batch_arg, &loop->batch_arg_free, arg, arg_free);
  return 0;
}

/* ---- Other threads -------------------------------------------------------------------- */

/* Moves the callbacks other threads posted into the ready queue, in posting order (the array
 * and the preallocated posts are merged by sequence number). */
static void take_foreign(weft_loop_t *loop, bool for_check) {
  uv_mutex_lock(&loop->foreign_lock);
  weft__foreign_t *items = loop->foreign;
  size_t len = loop->foreign_len;
  weft__post_t *node = loop->posted_head;
  loop->foreign = NULL;
  loop->foreign_len = loop->foreign_cap = 0;
  loop->posted_head = loop->posted_tail = NULL;
  atomic_store(&loop->foreign_waiting, 0);
  uv_mutex_unlock(&loop->foreign_lock);
  size_t i = 0;
  while (i < len || node != NULL) {
    weft__ready_t entry;
    if (node == NULL || (i < len && items[i].seq < node->seq)) {
      entry = (weft__ready_t){.fn.plain = items[i].cb, .arg = items[i].arg};
      i++;
    } else {
      entry = node->drop != NULL ? (weft__ready_t){.fn.plain = run_post, .arg = node}
                                 : (weft__ready_t){.fn.plain = node->cb, .arg = node->arg};
      node = node->next; /* before cb can run and free the node */
    }
    int rc;
    if (!for_check) {
      rc = weft__loop_push_ready(loop, &entry);
    } else if ((rc = loop->closed ? WEFT_ECLOSED : ready_make_room(loop)) == 0) {
      ready_put(loop, &entry); /* the check handle runs it in this iteration */
      loop->posts_at_head++;
    }
    if (rc != 0 && entry.fn.plain != NULL)
      weft__call_or_defer(loop, entry.fn.plain, entry.arg); /* out of memory: running it now
                                                               beats losing it */
  }
  free(items);
}

/* Called inside poll. Posts that find the ready queue empty run in this iteration's check
 * handle, after this poll's I/O (asyncio runs them before it: docs/design.md, "One
 * iteration"), instead of in the next iteration's prepare, which cost the wake-up the
 * rest of libuv's loop and a start, run and stop of the idle handle first. Behind
 * callbacks already waiting (scheduled by this iteration's callbacks or by I/O), posts
 * wait with them for the next iteration: running those earlier would put them behind
 * this poll's I/O, and running the posts alone would pass them. */
static void on_async(uv_async_t *async) {
  weft_loop_t *loop = async->data;
  if (atomic_load(&loop->stopping) && loop->running && !loop->adopted)
    uv_stop(loop->uv); /* weft_loop_stop from another thread: this is the last iteration */
  bool empty = loop->ready_count == 0;
  take_foreign(loop, empty);
  if (loop->posts_at_head > 0)
    uv_check_start(&loop->check, on_check);
}

int weft_call_soon_threadsafe(weft_loop_t *loop, weft_callback_fn cb, void *arg) {
  if (cb == NULL)
    return WEFT_EINVAL;
  return weft__loop_post(loop, cb, NULL, arg);
}

int weft_call_soon_threadsafe_id(weft_loop_t *loop, uintptr_t id) {
  return weft__loop_post(loop, NULL, NULL, (void *)id);
}

/* The destructor rides on a handle of the loop's pool, as a timer's does: the ready queue's
 * drop (ready_drop) calls it for an entry the close drops unrun. Without memory for the
 * handle the call fails: scheduled without it, a call the close dropped leaked its
 * argument. A caller that cannot fail reserves the call beforehand (below). */
int weft__call_soon_owned(weft_loop_t *loop, weft_callback_fn cb, weft_callback_fn drop,
                          void *arg) {
  weft__ready_t entry = {.fn.plain = cb, .arg = arg};
  if (weft__handle_new(loop, cb, arg, &entry.handle) != 0)
    return WEFT_ENOMEM;
  entry.handle->drop = drop;
  int rc = weft__loop_push_ready(loop, &entry);
  if (rc != 0)
    weft_handle_release(entry.handle);
  return rc;
}

int weft__call_soon_reserve(weft_loop_t *loop, weft_callback_fn cb, weft_callback_fn drop,
                            void *arg, weft__ready_t *out) {
  *out = (weft__ready_t){.fn.plain = cb, .arg = arg};
  if (weft__handle_new(loop, cb, arg, &out->handle) != 0)
    return WEFT_ENOMEM;
  if (weft__loop_reserve_ready(loop) != 0) {
    weft_handle_release(out->handle);
    out->handle = NULL;
    return WEFT_ENOMEM;
  }
  out->handle->drop = drop;
  return 0;
}

int weft__call_soon_reserved(weft_loop_t *loop, weft__ready_t *reserved) {
  weft__ready_t entry = *reserved;
  reserved->handle = NULL;
  int rc = weft__loop_push_reserved(loop, &entry);
  if (rc != 0)
    weft_handle_release(entry.handle);
  return rc;
}

void weft__call_soon_unreserve(weft_loop_t *loop, weft__ready_t *reserved) {
  if (reserved->handle == NULL)
    return;
  weft__loop_unreserve_ready(loop, 1);
  weft_handle_release(reserved->handle);
  reserved->handle = NULL;
}

static int post_node(weft_loop_t *loop, weft__post_t *node);

int weft__loop_post(weft_loop_t *loop, weft_callback_fn cb, weft_callback_fn drop, void *arg) {
  if (loop == NULL)
    return WEFT_EINVAL;
  /* A node rather than an array slot: the destructor must go with it into the ready queue,
   * which the loop's close may drop before it runs. Without memory for the node, the array
   * slot keeps the destructor until the post reaches the ready queue. */
  weft__post_t *node = drop != NULL ? malloc(sizeof *node) : NULL;
  if (node != NULL) {
    *node = (weft__post_t){.cb = cb, .drop = drop, .arg = arg, .owned = true};
    int rc = post_node(loop, node);
    if (rc != 0)
      free(node);
    return rc;
  }
  uv_mutex_lock(&loop->foreign_lock);
  int rc = 0;
  if (loop->foreign_closed) {
    rc = WEFT_ECLOSED;
  } else if (loop->foreign_len == loop->foreign_cap) {
    size_t cap = loop->foreign_cap ? loop->foreign_cap * 2 : 16;
    weft__foreign_t *grown = realloc(loop->foreign, cap * sizeof *grown);
    if (grown == NULL) {
      rc = WEFT_ENOMEM;
    } else {
      loop->foreign = grown;
      loop->foreign_cap = cap;
    }
  }
  if (rc == 0) {
    loop->foreign[loop->foreign_len++] = (weft__foreign_t){cb, drop, arg, loop->foreign_seq++};
    atomic_store(&loop->foreign_waiting, 1);
    /* Sent under the lock so close cannot free the async handle between the two. */
    uv_async_send(&loop->async);
  }
  uv_mutex_unlock(&loop->foreign_lock);
  return rc;
}

int weft__loop_post_node(weft_loop_t *loop, weft__post_t *node) {
  node->owned = false;
  return post_node(loop, node);
}

static int post_node(weft_loop_t *loop, weft__post_t *node) {
  uv_mutex_lock(&loop->foreign_lock);
  int rc = loop->foreign_closed ? WEFT_ECLOSED : 0;
  if (rc == 0) {
    node->next = NULL;
    node->seq = loop->foreign_seq++;
    if (loop->posted_tail != NULL)
      loop->posted_tail->next = node;
    else
      loop->posted_head = node;
    loop->posted_tail = node;
    atomic_store(&loop->foreign_waiting, 1);
    uv_async_send(&loop->async);
  }
  uv_mutex_unlock(&loop->foreign_lock);
  return rc;
}

int weft_loop_stop(weft_loop_t *loop) {
  if (loop == NULL)
    return WEFT_EINVAL;
  atomic_store(&loop->stopping, 1);
  /* From the loop's own thread, inside run_forever: end uv_run after this iteration (its
   * remaining callbacks still run, as asyncio's stop). Other threads wake it through the
   * async handle, whose callback does the same. */
  if (loop->running && !loop->adopted && loop->owner_tag == this_thread())
    uv_stop(loop->uv);
  uv_mutex_lock(&loop->foreign_lock);
  int rc = loop->foreign_closed ? WEFT_ECLOSED : 0;
  if (rc == 0)
    uv_async_send(&loop->async);
  uv_mutex_unlock(&loop->foreign_lock);
  return rc;
}

/* ---- Running -------------------------------------------------------------------------- */

static int check_can_run(const weft_loop_t *loop) {
  if (loop->closed)
    return WEFT_ECLOSED;
  if (loop->adopted)
    return WEFT_EINVAL; /* the host runs an adopted loop, never weft */
  if (loop->running)
    return WEFT_ERUNNING;
  return 0;
}

/* Marks the loop running on this thread; returns the loop that was running here before
 * (a nested run's), which end_running puts back. */
static weft_loop_t *begin_running(weft_loop_t *loop) {
  loop->running = true;
  loop->owner = uv_thread_self();
  loop->owner_tag = this_thread();
  loop->outer_thread_loop = weft__thread_loop_set(loop);
  weft_loop_t *outer = running_here;
  running_here = loop;
  return outer;
}

static void end_running(weft_loop_t *loop, weft_loop_t *outer) {
  running_here = outer;
  loop->running = false;
  weft__thread_loop_set(loop->outer_thread_loop);
}

int weft_loop_run_forever(weft_loop_t *loop) {
  if (loop == NULL)
    return WEFT_EINVAL;
  int rc = check_can_run(loop);
  if (rc != 0)
    return rc;
  weft_loop_t *outer = begin_running(loop);
  /* asyncio's run_forever does not return when idle, but uv_run does once nothing is
   * referenced: the async handle holds the libuv loop open while we run. */
  uv_ref((uv_handle_t *)&loop->async);
  /* UV_RUN_DEFAULT iterates inside libuv until weft_loop_stop calls uv_stop; UV_RUN_ONCE
   * per iteration cost an extra clock read, timer run and liveness check every time. The
   * loop around it only matters if uv_run returns without a stop (it should not: the async
   * handle is referenced). */
  do {
    uv_run(loop->uv, atomic_load(&loop->stopping) ? UV_RUN_NOWAIT : UV_RUN_DEFAULT);
  } while (!atomic_load(&loop->stopping));
  uv_unref((uv_handle_t *)&loop->async);
  atomic_store(&loop->stopping, 0);
  end_running(loop, outer);
  return 0;
}

static void stop_when_done(weft_future_t *future, void *arg) {
  (void)future;
  weft_loop_stop(arg);
}

int weft_loop_run_until_complete(weft_loop_t *loop, weft_future_t *future) {
  if (loop == NULL || future == NULL || future->loop != loop)
    return WEFT_EINVAL;
  int rc = check_can_run(loop);
  if (rc != 0)
    return rc;
  weft_future_retain(future);
  if (!weft_future_done(future)) {
    rc = weft_future_add_done_callback(future, stop_when_done, loop);
    if (rc == 0)
      rc = weft_loop_run_forever(loop);
    weft_future_remove_done_callback(future, stop_when_done, loop);
  }
  if (rc == 0)
    rc = weft_future_done(future) ? weft_future_error(future) : WEFT_EINVALIDSTATE;
  weft_future_release(future);
  return rc;
}

int weft_loop_run_once(weft_loop_t *loop, int nowait) {
  if (loop == NULL)
    return WEFT_EINVAL;
  int rc = check_can_run(loop);
  if (rc != 0)
    return rc;
  weft_loop_t *outer = begin_running(loop);
  /* libuv does not iterate a loop with nothing alive; weft's own work (ready callbacks,
   * timers) keeps it alive, so with nothing at all to do this returns at once. */
  uv_run(loop->uv, nowait ? UV_RUN_NOWAIT : UV_RUN_ONCE);
  end_running(loop, outer);
  atomic_store(&loop->stopping, 0);
  return 0;
}

int weft_loop_run_step(weft_loop_t *loop, int wait, int *timeout_ms_out) {
  if (timeout_ms_out != NULL)
    *timeout_ms_out = 0;
  if (loop == NULL || timeout_ms_out == NULL)
    return WEFT_EINVAL;
  int rc = check_can_run(loop);
  if (rc != 0)
    return rc;
  weft_loop_t *outer = begin_running(loop);
  /* As in run_forever, a post must count as work: with the async handle referenced,
   * libuv iterates (and takes posts) even when nothing else is alive, the timeout it
   * reports is "until woken" rather than "at once", and a waiting step waits for a post. */
  uv_ref((uv_handle_t *)&loop->async);
  uv_run(loop->uv, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT);
  *timeout_ms_out = uv_backend_timeout(loop->uv);
  uv_unref((uv_handle_t *)&loop->async);
  end_running(loop, outer);
  atomic_store(&loop->stopping, 0);
  return 0;
}

int weft_loop_backend_fd(weft_loop_t *loop) {
  if (loop == NULL)
    return WEFT_EINVAL;
  if (loop->closed)
    return WEFT_ECLOSED;
  if (loop->adopted)
    return WEFT_ENOTSUP; /* the host's loop: the host waits on it */
  int fd = uv_backend_fd(loop->uv);
  return fd >= 0 ? fd : WEFT_ENOTSUP;
}

int weft_loop_is_running(const weft_loop_t *loop) {
  return loop != NULL && loop->running && !loop->closed;
}

int weft_loop_is_closed(const weft_loop_t *loop) {
  return loop != NULL && loop->closed;
}

double weft_loop_time(const weft_loop_t *loop) {
  return loop ? (double)uv_hrtime() / 1e9 : 0.0;
}

uint64_t weft_loop_time_ns(const weft_loop_t *loop) {
  return loop ? uv_hrtime() : 0;
}

struct uv_loop_s *weft_loop_uv(weft_loop_t *loop) {
  return loop == NULL ? NULL : loop->uv;
}

/* ---- Closing -------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle) {
  weft_loop_t *loop = handle->data;
  loop->open_uv_handles--;
  weft__loop_release(loop);
}

void weft__loop_track(weft_loop_t *loop, weft__closable_t *c) {
  c->prev = loop->closables.prev;
  c->next = &loop->closables;
  c->prev->next = c;
  loop->closables.prev = c;
}

void weft__loop_untrack(weft__closable_t *c) {
  if (c->next == NULL)
    return;
  c->prev->next = c->next;
  c->next->prev = c->prev;
  c->next = c->prev = NULL;
}

static void close_stray_handle(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle))
    uv_close(handle, NULL);
}

int weft_loop_close(weft_loop_t *loop) {
  if (loop == NULL)
    return WEFT_EINVAL;
  if (loop->closed)
    return 0;
  if (loop->running && !loop->adopted)
    return WEFT_ERUNNING;
  if (loop->adopted && !uv_thread_equal(&loop->owner, &(uv_thread_t){uv_thread_self()}))
    return WEFT_EWRONGTHREAD;
  /* An adopted loop is always running: what is refused is a close from inside one of its
   * callbacks (the ready queue's, or one libuv makes directly), which would free operations
   * under way, that callback's caller among them; asyncio refuses a close from a callback
   * the same way. */
  if (loop->adopted && (running_here == loop || loop->callback_depth > 0))
    return WEFT_ERUNNING;

  weft__thread_loop_forget(loop);
  /* Deferred calls are made whenever a task switches back; none should be left, but if
   * one were, making it beats leaking what it frees. */
  weft__run_deferred(loop);
  uv_mutex_lock(&loop->foreign_lock);
  loop->foreign_closed = true;
  weft__foreign_t *foreign = loop->foreign;
  size_t foreign_len = loop->foreign_len;
  weft__post_t *posted = loop->posted_head;
  loop->foreign = NULL;
  loop->foreign_len = loop->foreign_cap = 0;
  loop->posted_head = loop->posted_tail = NULL;
  uv_mutex_unlock(&loop->foreign_lock);
  /* The modules built on the loop let go first: the default executor finishes its work,
   * signal handlers go, children are killed and reaped. */
  weft__loop_ext_close(loop);
  /* Transports and servers still open close as if aborted: their close callbacks, run
   * below, give each protocol connection_lost(WEFT_ECLOSED) and free their memory. */
  while (loop->closables.next != &loop->closables) {
    weft__closable_t *c = loop->closables.next;
    weft__loop_untrack(c);
    c->close_now(c);
  }
  weft__loop_retain(loop);
  loop->closed = true;
  /* Work posted by other threads that never got to run; some of it owns memory. */
  for (size_t i = 0; i < foreign_len; i++)
    if (foreign[i].drop != NULL) {
      weft__assert_loop_stack("a posted callback's destructor");
      foreign[i].drop(foreign[i].arg);
    }
  free(foreign);
  while (posted != NULL) {
    weft__post_t *node = posted;
    posted = node->next; /* drop may free the node */
    if (node->drop != NULL)
      drop_post(node);
  }

  loop->posts_at_head = 0;
  while (loop->ready_count > 0) {
    weft__ready_t entry = loop->ready[loop->ready_head];
    loop->ready_head = (loop->ready_head + 1) & (loop->ready_cap - 1);
    loop->ready_count--;
    ready_drop(&entry);
  }
  weft__timers_clear(loop);
  weft__tasks_abandon(loop);

  uv_handle_t *ours[] = {(uv_handle_t *)&loop->prepare, (uv_handle_t *)&loop->check,
                         (uv_handle_t *)&loop->idle, (uv_handle_t *)&loop->timer,
                         (uv_handle_t *)&loop->async};
  for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
    weft__loop_retain(loop);
    uv_close(ours[i], on_handle_closed);
  }
  if (!loop->adopted) {
    /* Run the close callbacks; handles other modules forgot are closed too, so that the
     * libuv loop can always be closed. */
    uv_run(loop->uv, UV_RUN_NOWAIT);
    /* A request in libuv's thread pool (a lookup the close cancelled too late) keeps the
     * libuv loop busy until a worker is done with it: wait for it there, not spinning. */
    while (uv_loop_close(loop->uv) == UV_EBUSY) {
      uv_walk(loop->uv, close_stray_handle, NULL);
      uv_run(loop->uv, UV_RUN_ONCE);
    }
    loop->running = false;
  }
  weft__loop_release(loop);
  return 0;
}

weft_loop_t *weft_loop_retain(weft_loop_t *loop) {
  if (loop != NULL) {
    loop->user_refs++;
    loop->refs++;
  }
  return loop;
}

void weft_loop_release(weft_loop_t *loop) {
  if (loop == NULL)
    return;
  if (loop->user_refs > 1) {
    loop->user_refs--;
    weft__loop_release(loop);
    return;
  }
  if (!loop->closed && weft_loop_close(loop) != 0) {
    weft__loop_log(loop, WEFT_LOG_ERROR,
                   "weft_loop_release: cannot close a running loop; leaking it");
    return;
  }
  weft__loop_release(loop);
}

/* ---- Exception handler, log, debug ---------------------------------------------------- */

/* A log line written inside a stackful task, for the handler once the loop's stack is back. */
typedef struct {
  weft_loop_t *loop;
  weft_log_fn fn;
  void *arg;
  int level;
  char text[];
} deferred_log_t;

static void deferred_log_run(void *arg) {
  deferred_log_t *d = arg;
  weft__assert_loop_stack("the log handler");
  d->fn(d->loop, d->level, d->text, d->arg);
  free(d);
}

void weft__loop_log(weft_loop_t *loop, int level, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (loop != NULL && loop->log_fn != NULL) {
    if (weft__on_task_stack(loop)) {
      size_t n = strlen(text) + 1;
      deferred_log_t *d = malloc(sizeof *d + n);
      if (d != NULL) {
        *d = (deferred_log_t){loop, loop->log_fn, loop->log_arg, level};
        memcpy(d->text, text, n);
        if (weft__defer(loop, deferred_log_run, d) == 0)
          return;
        free(d);
      }
    }
    loop->log_fn(loop, level, text, loop->log_arg);
    return;
  }
  const char *tag = level >= WEFT_LOG_ERROR     ? "ERROR"
                    : level >= WEFT_LOG_WARNING ? "WARNING"
                    : level >= WEFT_LOG_INFO    ? "INFO"
                                                : "DEBUG";
  fprintf(stderr, "weft %s: %s\n", tag, text);
}

int weft_loop_set_log_handler(weft_loop_t *loop, weft_log_fn fn, void *arg, weft_free_fn arg_free) {
  if (loop == NULL)
    return WEFT_EINVAL;
  loop->log_fn = fn;
  if (fn == NULL)
    arg = NULL, arg_free = NULL;
  weft__replace_arg(loop, &loop->log_arg, &loop->log_arg_free, arg, arg_free);
  return 0;
}

void weft_loop_default_exception_handler(weft_loop_t *loop, const weft_error_context_t *context) {
  if (context == NULL)
    return;
  char text[900];
  size_t used = (size_t)snprintf(text, sizeof text, "%s",
                                 context->message ? context->message : "Unhandled error in loop");
  char desc[200];
  if (context->future != NULL && used < sizeof text) {
    weft__future_describe(context->future, desc, sizeof desc);
    used += (size_t)snprintf(text + used, sizeof text - used, "\nfuture: %s", desc);
  }
  if (context->task != NULL && used < sizeof text) {
    weft__future_describe(weft_task_future(context->task), desc, sizeof desc);
    used += (size_t)snprintf(text + used, sizeof text - used, "\ntask: %s", desc);
  }
  if (context->handle != NULL && used < sizeof text) {
    used +=
        (size_t)snprintf(text + used, sizeof text - used, "\nhandle: <Handle %p%s>",
                         (void *)context->handle, context->handle->cancelled ? " cancelled" : "");
  }
  if (context->error != 0 && used < sizeof text) {
    snprintf(text + used, sizeof text - used, "\nerror: %s: %s", weft_err_name(context->error),
             context->error_message ? context->error_message : weft_strerror(context->error));
  }
  weft__loop_log(loop, WEFT_LOG_ERROR, "%s", text);
}

/* A report made inside a stackful task, for the handler once the loop's stack is back: the
 * context's strings are copied and its future, task and handle kept alive until then (a
 * payload stays alive with the future or task it belongs to). */
typedef struct {
  weft_loop_t *loop;
  weft_exception_handler_fn fn;
  void *arg;
  weft_error_context_t ctx;
  char *message, *error_message;
} deferred_report_t;

static void deferred_report_run(void *arg) {
  deferred_report_t *d = arg;
  weft__assert_loop_stack("the exception handler");
  d->fn(d->loop, &d->ctx, d->arg);
  weft_future_release(d->ctx.future);
  weft_task_release(d->ctx.task);
  weft_handle_release(d->ctx.handle);
  free(d->message);
  free(d->error_message);
  free(d);
}

static bool defer_report(weft_loop_t *loop, const weft_error_context_t *context) {
  deferred_report_t *d = calloc(1, sizeof *d);
  if (d == NULL)
    return false;
  d->loop = loop;
  d->fn = loop->exception_handler;
  d->arg = loop->exception_handler_arg;
  weft__copy_sized(&d->ctx, sizeof d->ctx, context);
  d->message = weft__strdup(context->message);
  d->error_message = weft__strdup(d->ctx.error_message);
  if ((context->message != NULL && d->message == NULL) ||
      (d->ctx.error_message != NULL && d->error_message == NULL) ||
      weft__defer(loop, deferred_report_run, d) != 0) {
    free(d->message);
    free(d->error_message);
    free(d);
    return false;
  }
  d->ctx.message = d->message;
  d->ctx.error_message = d->error_message;
  weft_future_retain(d->ctx.future);
  weft_task_retain(d->ctx.task);
  weft_handle_retain(d->ctx.handle);
  return true;
}

void weft_loop_call_exception_handler(weft_loop_t *loop, const weft_error_context_t *context) {
  if (loop == NULL || context == NULL)
    return;
  if (loop->exception_handler != NULL) {
    if (weft__on_task_stack(loop) && defer_report(loop, context))
      return;
    loop->exception_handler(loop, context, loop->exception_handler_arg);
  } else {
    weft_loop_default_exception_handler(loop, context); /* its log line defers itself */
  }
}

int weft_loop_set_exception_handler(weft_loop_t *loop, weft_exception_handler_fn handler, void *arg,
                                    weft_free_fn arg_free) {
  if (loop == NULL)
    return WEFT_EINVAL;
  loop->exception_handler = handler;
  if (handler == NULL)
    arg = NULL, arg_free = NULL;
  weft__replace_arg(loop, &loop->exception_handler_arg, &loop->exception_handler_arg_free, arg,
                    arg_free);
  return 0;
}

weft_exception_handler_fn weft_loop_get_exception_handler(const weft_loop_t *loop, void **arg_out) {
  if (arg_out != NULL)
    *arg_out = loop != NULL ? loop->exception_handler_arg : NULL;
  return loop != NULL ? loop->exception_handler : NULL;
}

int weft_loop_set_debug(weft_loop_t *loop, int enabled) {
  if (loop == NULL)
    return WEFT_EINVAL;
  loop->debug = enabled != 0;
  return 0;
}

int weft_loop_get_debug(const weft_loop_t *loop) {
  return loop != NULL && loop->debug;
}

int weft_loop_set_slow_callback_duration(weft_loop_t *loop, double seconds) {
  if (loop == NULL || !(seconds >= 0))
    return WEFT_EINVAL;
  loop->slow_callback_ns = weft__seconds_to_ns(seconds);
  return 0;
}

double weft_loop_get_slow_callback_duration(const weft_loop_t *loop) {
  return loop == NULL ? 0 : (double)loop->slow_callback_ns / 1e9;
}

/* ---- Small shared helpers ------------------------------------------------------------- */

char *weft__strdup(const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s) + 1;
  char *copy = malloc(n);
  if (copy != NULL)
    memcpy(copy, s, n);
  return copy;
}

void weft__copy_sized(void *dst, size_t dst_size, const void *src) {
  memset(dst, 0, dst_size);
  if (src != NULL) {
    size_t src_size;
    memcpy(&src_size, src, sizeof src_size);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
  }
  memcpy(dst, &dst_size, sizeof dst_size);
}

void weft__copy_options(void *dst, size_t dst_size, const void *src) {
  if (src != NULL) {
    size_t src_size;
    memcpy(&src_size, src, sizeof src_size);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
  }
  memcpy(dst, &dst_size, sizeof dst_size);
}

uint64_t weft__seconds_to_ns(double seconds) {
  if (!(seconds > 0))
    return 0;
  if (seconds >= 1.8e10) /* beyond ~570 years: saturate instead of overflowing */
    return UINT64_MAX / 2;
  return (uint64_t)(seconds * 1e9 + 0.5);
}

void weft_loop_options_init(weft_loop_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}
