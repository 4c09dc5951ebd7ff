/* Core benchmarks: weft against the nearest raw libuv equivalent, in the same process.
 *
 * Every case runs once to warm up (pools, ring buffer, heap, page faults), then REPS times
 * (each run takes 5 to 50 ms); the best run counts, since on a shared VM noise only ever
 * adds time. Times come from
 * uv_hrtime. The table gives ops/s for both sides, the time ratio weft/libuv (above 1:
 * weft is slower) and ns per operation. A case with no raw libuv peer says so.
 *
 * One weft loop and one raw uv loop serve every case, so weft's free lists and stack pool
 * stay warm from one run to the next, as they would in a long-running program.
 *
 * Usage: bench_core [scale [filter]]
 *   scale multiplies every operation count (default 1); filter runs only the cases whose name
 *   contains it (for profiling one case under callgrind or perf). */
#include <weft.h>

#include <uv.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Many short runs rather than a few long ones: on a busy machine a run of a few
 * milliseconds has a fair chance of not being preempted, a run of 100 ms has none. */
#define REPS 10

static weft_loop_t *wloop; /* weft's side */
static uv_loop_t uvl;      /* raw libuv's side: a separate loop, so neither sees the other */

/* Aborts on any failure: a benchmark that silently did less work would lie. */
static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "bench_core: %s failed: %s\n", what, weft_err_name(rc));
    exit(1);
  }
}

static void check_uv(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "bench_core: %s failed: %s\n", what, uv_strerror(rc));
    exit(1);
  }
}

/* What one run measured: elapsed nanoseconds for `ops` operations. */
typedef struct sample_s {
  uint64_t ns;
  uint64_t ops;
} sample_t;

typedef sample_t (*bench_fn)(uint64_t n, uint64_t param);

/* Warms up, then returns the best ns/op of REPS runs; NAN when there is no function. */
static double best_ns_per_op(bench_fn fn, uint64_t n, uint64_t param) {
  if (fn == NULL)
    return NAN;
  fn(n, param);
  double best = INFINITY;
  for (int rep = 0; rep < REPS; rep++) {
    sample_t s = fn(n, param);
    double per = (double)s.ns / (double)s.ops;
    if (per < best)
      best = per;
  }
  return best;
}

/* ---- 1. call_soon dispatch ------------------------------------------------------------ */

/* weft: `batch` callbacks are queued; each runs, then re-queues itself until n callbacks have
 * run in all, so every iteration dispatches `batch` callbacks through the ready queue.
 *
 * libuv has no queue of one-shot callbacks. Its cheapest per-callback dispatch is an idle
 * handle: every iteration calls each active one through a function pointer, walking an
 * intrusive list, and a handle that stays active is called again next iteration, which is
 * what a callback re-queueing itself amounts to. So `batch` active idle handles are the
 * peer of `batch` queued callbacks. uv_async is no peer: sends coalesce into one callback
 * and each wake-up costs an eventfd write and read, a system call, not a dispatch. */
static struct {
  uint64_t remaining; /* callbacks still to be queued */
  uint64_t executed;
  uint64_t live; /* callbacks or handles still going */
} cs;

static void cs_weft_cb(void *arg) {
  cs.executed++;
  if (cs.remaining > 0) {
    cs.remaining--;
    check(weft_call_soon(wloop, cs_weft_cb, arg, NULL), "weft_call_soon");
  } else if (--cs.live == 0) {
    weft_loop_stop(wloop);
  }
}

static sample_t cs_weft(uint64_t n, uint64_t batch) {
  cs.remaining = n - batch;
  cs.executed = 0;
  cs.live = batch;
  uint64_t t0 = uv_hrtime();
  for (uint64_t i = 0; i < batch; i++)
    check(weft_call_soon(wloop, cs_weft_cb, NULL, NULL), "weft_call_soon");
  check(weft_loop_run_forever(wloop), "weft_loop_run_forever");
  return (sample_t){uv_hrtime() - t0, cs.executed};
}

#define MAX_IDLE 1000
static uv_idle_t idles[MAX_IDLE];

static void cs_uv_cb(uv_idle_t *idle) {
  cs.executed++;
  if (cs.remaining > 0)
    cs.remaining--;
  else
    uv_idle_stop(idle); /* the last active handle stopped: uv_run returns */
}

static sample_t cs_uv(uint64_t n, uint64_t batch) {
  cs.remaining = n - batch;
  cs.executed = 0;
  uint64_t t0 = uv_hrtime();
  for (uint64_t i = 0; i < batch; i++)
    uv_idle_start(&idles[i], cs_uv_cb);
  uv_run(&uvl, UV_RUN_DEFAULT);
  return (sample_t){uv_hrtime() - t0, cs.executed};
}

/* ---- 2. Timers ------------------------------------------------------------------------ */

/* n timers with deadlines spread over TIMER_SPREAD_MS milliseconds from a common base,
 * scheduled in one go and all fired. libuv counts timeouts from its cached loop time, so
 * weft's deadlines are taken from one base time too (weft_call_at) rather than from the
 * clock at each call (weft_call_later), which would push later timers further out. libuv's
 * timer handles are initialised once, outside the timing, since weft's handles come from a
 * warm free list: both sides time start + fire, not allocation. */
#define TIMER_SPREAD_MS 4

static struct { uint64_t fired, n; } tm;

static uint64_t spread_ms(uint64_t i) {
  return i % TIMER_SPREAD_MS;
}

static void tm_weft_cb(void *arg) {
  (void)arg;
  if (++tm.fired == tm.n)
    weft_loop_stop(wloop);
}

static sample_t tm_weft(uint64_t n, uint64_t unused) {
  (void)unused;
  tm.fired = 0;
  tm.n = n;
  uint64_t t0 = uv_hrtime();
  double base = weft_loop_time(wloop);
  for (uint64_t i = 0; i < n; i++)
    check(weft_call_at(wloop, base + (double)spread_ms(i) * 1e-3, tm_weft_cb, NULL, NULL),
          "weft_call_at");
  check(weft_loop_run_forever(wloop), "weft_loop_run_forever");
  return (sample_t){uv_hrtime() - t0, tm.fired};
}

static uv_timer_t *timers;
static uint64_t ntimers;

/* Makes `count` handles the first time. libuv links every handle into its loop, so the
 * array can never move afterwards: later calls must not ask for more. */
static void *handle_array(void *array, uint64_t *have, uint64_t count, size_t size) {
  if (array != NULL) {
    if (count > *have) {
      fprintf(stderr, "bench_core: handle array asked to grow\n");
      exit(1);
    }
    return array;
  }
  array = calloc(count, size);
  if (array == NULL) {
    fprintf(stderr, "bench_core: out of memory\n");
    exit(1);
  }
  return array;
}

static void tm_uv_cb(uv_timer_t *timer) {
  (void)timer;
  tm.fired++;
}

static sample_t tm_uv(uint64_t n, uint64_t unused) {
  (void)unused;
  if (timers == NULL) {
    timers = handle_array(NULL, &ntimers, n, sizeof *timers);
    for (uint64_t i = 0; i < n; i++)
      check_uv(uv_timer_init(&uvl, &timers[i]), "uv_timer_init");
    ntimers = n;
  }
  timers = handle_array(timers, &ntimers, n, sizeof *timers);
  tm.fired = 0;
  uint64_t t0 = uv_hrtime();
  uv_update_time(&uvl); /* the base, as weft's */
  for (uint64_t i = 0; i < n; i++)
    check_uv(uv_timer_start(&timers[i], tm_uv_cb, spread_ms(i), 0), "uv_timer_start");
  uv_run(&uvl, UV_RUN_DEFAULT);
  return (sample_t){uv_hrtime() - t0, tm.fired};
}

/* ---- 3. Futures ----------------------------------------------------------------------- */

/* weft: a driver callback creates `batch` futures per iteration; each gets a done callback,
 * a result and loses the creator's reference; the callbacks run next iteration, and the
 * future goes back to the pool after its callback. One op = that whole life.
 *
 * libuv has no futures. The peer is what a raw libuv program would write instead: a
 * malloc'd "promise" holding a callback; completing it appends it to an intrusive list,
 * which an idle handle drains next iteration, calling and freeing each. It lacks what a
 * weft future has (reference counting, several callbacks, error and cancel states, the
 * exception handler for unretrieved errors): the ratio is the price of those. */
static struct { uint64_t n, batch, created, done; } fu;

static void fu_weft_done(weft_future_t *future, void *arg) {
  (void)future;
  (void)arg;
  if (++fu.done == fu.n)
    weft_loop_stop(wloop);
}

static void fu_weft_driver(void *arg) {
  for (uint64_t i = 0; i < fu.batch; i++) {
    weft_future_t *f;
    check(weft_future_new(wloop, &f), "weft_future_new");
    check(weft_future_add_done_callback(f, fu_weft_done, NULL), "weft_future_add_done_callback");
    check(weft_future_set_result(f, weft_value_none()), "weft_future_set_result");
    weft_future_release(f);
  }
  fu.created += fu.batch;
  if (fu.created < fu.n)
    check(weft_call_soon(wloop, fu_weft_driver, arg, NULL), "weft_call_soon");
}

static sample_t fu_weft(uint64_t n, uint64_t batch) {
  fu.n = n;
  fu.batch = batch;
  fu.created = fu.done = 0;
  uint64_t t0 = uv_hrtime();
  check(weft_call_soon(wloop, fu_weft_driver, NULL, NULL), "weft_call_soon");
  check(weft_loop_run_forever(wloop), "weft_loop_run_forever");
  return (sample_t){uv_hrtime() - t0, fu.done};
}

typedef struct promise_s {
  struct promise_s *next;
  void (*cb)(struct promise_s *promise, void *arg);
  void *arg;
  int64_t result;
} promise_t;

static promise_t *completed_head;
static promise_t **completed_tail = &completed_head;

static void promise_complete(promise_t *p, int64_t result) {
  p->result = result;
  p->next = NULL;
  *completed_tail = p;
  completed_tail = &p->next;
}

static void fu_uv_done(promise_t *p, void *arg) {
  (void)p;
  (void)arg;
  fu.done++;
}

static void fu_uv_idle(uv_idle_t *idle) {
  /* Last iteration's completions first, as weft runs them before the driver's next batch. */
  promise_t *p = completed_head;
  completed_head = NULL;
  completed_tail = &completed_head;
  while (p != NULL) {
    promise_t *next = p->next;
    p->cb(p, p->arg);
    free(p);
    p = next;
  }
  if (fu.created >= fu.n) {
    uv_idle_stop(idle);
    return;
  }
  for (uint64_t i = 0; i < fu.batch; i++) {
    promise_t *q = malloc(sizeof *q);
    if (q == NULL) {
      fprintf(stderr, "bench_core: out of memory\n");
      exit(1);
    }
    q->cb = fu_uv_done;
    q->arg = NULL;
    promise_complete(q, 0);
  }
  fu.created += fu.batch;
}

static sample_t fu_uv(uint64_t n, uint64_t batch) {
  fu.n = n;
  fu.batch = batch;
  fu.created = fu.done = 0;
  uint64_t t0 = uv_hrtime();
  uv_idle_start(&idles[0], fu_uv_idle);
  uv_run(&uvl, UV_RUN_DEFAULT);
  return (sample_t){uv_hrtime() - t0, fu.done};
}

/* ---- 4. Tasks ------------------------------------------------------------------------- */

/* A driver callback spawns `batch` stackful tasks with a trivial body per iteration; they
 * start next iteration and finish at once. One op = spawn, first step, finish, release.
 * No raw libuv peer: libuv has no tasks (bench_coro times the bare coroutine). */
static struct { uint64_t n, batch, spawned, finished; } tk;

static int tk_body(weft_task_t *self, void *arg) {
  (void)self;
  (void)arg;
  if (++tk.finished == tk.n)
    weft_loop_stop(wloop);
  return 0;
}

static void tk_driver(void *arg) {
  for (uint64_t i = 0; i < tk.batch; i++)
    check(weft_task_spawn(wloop, tk_body, NULL, NULL, NULL), "weft_task_spawn");
  tk.spawned += tk.batch;
  if (tk.spawned < tk.n)
    check(weft_call_soon(wloop, tk_driver, arg, NULL), "weft_call_soon");
}

static sample_t tk_weft(uint64_t n, uint64_t batch) {
  tk.n = n;
  tk.batch = batch;
  tk.spawned = tk.finished = 0;
  uint64_t t0 = uv_hrtime();
  check(weft_call_soon(wloop, tk_driver, NULL, NULL), "weft_call_soon");
  check(weft_loop_run_forever(wloop), "weft_loop_run_forever");
  return (sample_t){uv_hrtime() - t0, tk.finished};
}

/* ---- 5a. Await on a done future ------------------------------------------------------- */

/* One task awaits an already-done future n times: the fast path, no suspension. No peer. */
static struct { uint64_t n, ns; } ad;

static int ad_body(weft_task_t *self, void *arg) {
  (void)self;
  weft_future_t *done = arg;
  uint64_t t0 = uv_hrtime();
  for (uint64_t i = 0; i < ad.n; i++)
    check(weft_await(done), "weft_await");
  ad.ns = uv_hrtime() - t0;
  return 0;
}

static sample_t ad_weft(uint64_t n, uint64_t unused) {
  (void)unused;
  ad.n = n;
  weft_future_t *done;
  check(weft_future_new(wloop, &done), "weft_future_new");
  check(weft_future_set_result(done, weft_value_none()), "weft_future_set_result");
  weft_task_t *task;
  check(weft_task_spawn(wloop, ad_body, done, NULL, &task), "weft_task_spawn");
  check(weft_loop_run_until_complete(wloop, weft_task_future(task)), "the await task");
  weft_task_release(task);
  weft_future_release(done);
  return (sample_t){ad.ns, n};
}

/* ---- 5b. Await round trip through the loop -------------------------------------------- */

/* `tasks` tasks each loop: make a future, call_soon a callback that completes it, await it.
 * A round trip takes two iterations: the completing callback runs in the one after the
 * task queued it, and the task's wake-up (a done callback) in the one after that. With one
 * task this is the latency of two iterations; with many, the loop's throughput.
 *
 * The raw libuv peer does the same iterations and callbacks without futures or tasks: per
 * task a pair of idle handles playing ping-pong (each callback stops its handle and starts
 * the other, which libuv runs next iteration), one round trip per ping and pong. */
static struct { uint64_t per_task, live, round_trips, t_end; } rt;

static void rt_complete(void *arg) {
  check(weft_future_set_result(arg, weft_value_none()), "weft_future_set_result");
}

static int rt_body(weft_task_t *self, void *arg) {
  (void)self;
  (void)arg;
  for (uint64_t i = 0; i < rt.per_task; i++) {
    weft_future_t *f;
    check(weft_future_new(wloop, &f), "weft_future_new");
    check(weft_call_soon(wloop, rt_complete, f, NULL), "weft_call_soon");
    check(weft_await(f), "weft_await");
    weft_future_release(f);
    rt.round_trips++;
  }
  if (--rt.live == 0) {
    rt.t_end = uv_hrtime();
    weft_loop_stop(wloop);
  }
  return 0;
}

static sample_t rt_weft(uint64_t n, uint64_t tasks) {
  rt.per_task = n / tasks;
  rt.live = tasks;
  rt.round_trips = 0;
  /* Spawning only queues the first steps; the stacks (mmap'd beyond the pool's cache) are
   * not what is measured, so the clock starts after. */
  for (uint64_t i = 0; i < tasks; i++)
    check(weft_task_spawn(wloop, rt_body, NULL, NULL, NULL), "weft_task_spawn");
  uint64_t t0 = uv_hrtime();
  check(weft_loop_run_forever(wloop), "weft_loop_run_forever");
  return (sample_t){rt.t_end - t0, rt.round_trips};
}

typedef struct pingpong_s {
  uv_idle_t ping, pong;
  uint64_t left;
} pingpong_t;

static pingpong_t *pairs;
static uint64_t npairs;

static void pp_ping(uv_idle_t *idle);

static void pp_pong(uv_idle_t *idle) {
  pingpong_t *p = idle->data;
  uv_idle_stop(idle);
  rt.round_trips++;
  if (--p->left > 0)
    uv_idle_start(&p->ping, pp_ping);
}

static void pp_ping(uv_idle_t *idle) {
  pingpong_t *p = idle->data;
  uv_idle_stop(idle);
  uv_idle_start(&p->pong, pp_pong);
}

static sample_t rt_uv(uint64_t n, uint64_t tasks) {
  if (pairs == NULL) {
    /* Made once, by the first (largest) round-trip case. */
    pairs = handle_array(NULL, &npairs, tasks, sizeof *pairs);
    for (uint64_t i = 0; i < tasks; i++) {
      uv_idle_init(&uvl, &pairs[i].ping);
      uv_idle_init(&uvl, &pairs[i].pong);
      pairs[i].ping.data = pairs[i].pong.data = &pairs[i];
    }
    npairs = tasks;
  }
  pairs = handle_array(pairs, &npairs, tasks, sizeof *pairs);
  rt.round_trips = 0;
  uint64_t t0 = uv_hrtime();
  for (uint64_t i = 0; i < tasks; i++) {
    pairs[i].left = n / tasks;
    uv_idle_start(&pairs[i].ping, pp_ping);
  }
  uv_run(&uvl, UV_RUN_DEFAULT);
  return (sample_t){uv_hrtime() - t0, rt.round_trips};
}

/* ---- 6. Posts from another thread ---------------------------------------------------- */

/* A thread posts `batch` callbacks with weft_call_soon_threadsafe, waits until the loop has
 * run them all, and posts the next batch, n in all. With a batch of 1 every post pays for
 * a whole wake-up: the eventfd write, the loop leaving epoll_wait, the semaphore back. With
 * a batch of 1000, posts made while the loop is busy or asleep are taken in one go and the
 * wake-up is paid once per batch (uv_async_send coalesces), the pattern weft.h recommends
 * to a runtime with many threads. libuv's peer, for the batch of 1 only: uv_async_send
 * from the thread, the same ping-pong (uv_async carries no payload, so it has no batch). */
static struct {
  uint64_t n, batch, ran;
  uv_sem_t done;
  uv_async_t async;
} ts;

static void ts_weft_cb(void *arg) {
  (void)arg;
  ts.ran++;
  if (ts.ran % ts.batch == 0 || ts.ran == ts.n)
    uv_sem_post(&ts.done);
  if (ts.ran == ts.n)
    weft_loop_stop(wloop);
}

static void ts_weft_poster(void *arg) {
  (void)arg;
  for (uint64_t sent = 0; sent < ts.n;) {
    uint64_t k = ts.n - sent < ts.batch ? ts.n - sent : ts.batch;
    for (uint64_t i = 0; i < k; i++)
      check(weft_call_soon_threadsafe(wloop, ts_weft_cb, NULL), "weft_call_soon_threadsafe");
    sent += k;
    uv_sem_wait(&ts.done);
  }
}

static sample_t ts_weft(uint64_t n, uint64_t batch) {
  ts.n = n;
  ts.batch = batch;
  ts.ran = 0;
  check_uv(uv_sem_init(&ts.done, 0), "uv_sem_init");
  uv_thread_t thread;
  uint64_t t0 = uv_hrtime();
  check_uv(uv_thread_create(&thread, ts_weft_poster, NULL), "uv_thread_create");
  check(weft_loop_run_forever(wloop), "weft_loop_run_forever");
  uv_thread_join(&thread);
  uint64_t t1 = uv_hrtime();
  uv_sem_destroy(&ts.done);
  return (sample_t){t1 - t0, ts.ran};
}

static void ts_uv_cb(uv_async_t *async) {
  ts.ran++;
  uv_sem_post(&ts.done);
  if (ts.ran == ts.n)
    uv_close((uv_handle_t *)async, NULL);
}

static void ts_uv_poster(void *arg) {
  (void)arg;
  for (uint64_t i = 0; i < ts.n; i++) {
    check_uv(uv_async_send(&ts.async), "uv_async_send");
    uv_sem_wait(&ts.done);
  }
}

static sample_t ts_uv(uint64_t n, uint64_t batch) {
  (void)batch;
  ts.n = n;
  ts.ran = 0;
  check_uv(uv_sem_init(&ts.done, 0), "uv_sem_init");
  check_uv(uv_async_init(&uvl, &ts.async, ts_uv_cb), "uv_async_init");
  uv_thread_t thread;
  uint64_t t0 = uv_hrtime();
  check_uv(uv_thread_create(&thread, ts_uv_poster, NULL), "uv_thread_create");
  uv_run(&uvl, UV_RUN_DEFAULT);
  uv_thread_join(&thread);
  uint64_t t1 = uv_hrtime();
  uv_sem_destroy(&ts.done);
  return (sample_t){t1 - t0, ts.ran};
}

/* ---- The table ------------------------------------------------------------------------ */

typedef struct case_s {
  const char *name;
  bench_fn weft, uv;
  uint64_t n, param;
} case_t;

static void print_rate(double ns_per_op) {
  if (isnan(ns_per_op))
    printf(" %12s", "-");
  else
    printf(" %12.0f", 1e9 / ns_per_op);
}

int main(int argc, char **argv) {
  double scale = argc > 1 ? atof(argv[1]) : 1.0;
  const char *filter = argc > 2 ? argv[2] : NULL;
  if (!(scale > 0)) {
    fprintf(stderr, "usage: bench_core [scale [filter]]\n");
    return 2;
  }
  check(weft_loop_new(&wloop), "weft_loop_new");
  check_uv(uv_loop_init(&uvl), "uv_loop_init");
  for (int i = 0; i < MAX_IDLE; i++)
    uv_idle_init(&uvl, &idles[i]);

  /* The pair array is sized by the first round-trip case, so the largest comes first. */
  const case_t cases[] = {
      {"call_soon, 1000 per iteration", cs_weft, cs_uv, 1000000, 1000},
      {"call_soon, 1 per iteration", cs_weft, cs_uv, 100000, 1},
      {"timer schedule+fire, 100k", tm_weft, tm_uv, 100000, 0},
      {"future new+cb+result+release", fu_weft, fu_uv, 500000, 1000},
      {"task spawn+finish, batch 64", tk_weft, NULL, 100000, 64},
      {"task spawn+finish, batch 1000", tk_weft, NULL, 50000, 1000},
      {"await done future", ad_weft, NULL, 5000000, 0},
      {"await round trip, 1000 tasks", rt_weft, rt_uv, 200000, 1000},
      {"await round trip, 100 tasks", rt_weft, rt_uv, 200000, 100},
      {"await round trip, 1 task", rt_weft, rt_uv, 20000, 1},
      {"call_soon_threadsafe, 1 per wake", ts_weft, ts_uv, 20000, 1},
      {"call_soon_threadsafe, 1000 per wake", ts_weft, NULL, 1000000, 1000},
  };

  printf("%-32s %12s %12s %10s %10s %10s\n", "case", "weft ops/s", "libuv ops/s", "weft/uv",
         "weft ns/op", "uv ns/op");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const case_t *c = &cases[i];
    if (filter != NULL && strstr(c->name, filter) == NULL)
      continue;
    uint64_t n = (uint64_t)((double)c->n * scale);
    if (c->param > 1)
      n = (n + c->param - 1) / c->param * c->param; /* whole batches */
    double w = best_ns_per_op(c->weft, n, c->param);
    double u = best_ns_per_op(c->uv, n, c->param);
    printf("%-32s", c->name);
    print_rate(w);
    print_rate(u);
    if (isnan(u))
      printf(" %10s %10.1f %10s\n", "-", w, "-");
    else
      printf(" %10.2f %10.1f %10.1f\n", w / u, w, u);
    fflush(stdout);
  }

  check(weft_loop_close(wloop), "weft_loop_close");
  weft_loop_release(wloop);
  for (int i = 0; i < MAX_IDLE; i++)
    uv_close((uv_handle_t *)&idles[i], NULL);
  for (uint64_t i = 0; i < ntimers; i++)
    uv_close((uv_handle_t *)&timers[i], NULL);
  for (uint64_t i = 0; i < npairs; i++) {
    uv_close((uv_handle_t *)&pairs[i].ping, NULL);
    uv_close((uv_handle_t *)&pairs[i].pong, NULL);
  }
  uv_run(&uvl, UV_RUN_DEFAULT);
  check_uv(uv_loop_close(&uvl), "uv_loop_close");
  free(timers);
  free(pairs);
  return 0;
}
