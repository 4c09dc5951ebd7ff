/* The event loop: scheduling order, iterations, timers, stop, threads, close, debug. */
#include "weft_test.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "internal.h"

typedef struct {
  int log[64];
  int n;
  weft_loop_t *loop;
} trace_t;

static trace_t *g_trace;

static void record(void *arg) {
  g_trace->log[g_trace->n++] = (int)(intptr_t)arg;
}

static void stop_loop(void *arg) {
  weft_loop_stop(arg);
}

WEFT_TEST(call_soon_fifo) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {0};
  g_trace = &trace;
  for (intptr_t i = 0; i < 10; i++)
    ASSERT_OK(weft_call_soon(loop, record, (void *)i, NULL));
  ASSERT_OK(weft_call_soon(loop, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 10);
  for (int i = 0; i < 10; i++)
    ASSERT_EQ(trace.log[i], i);
  weft_test_close_loop(loop);
}

/* A callback scheduled while an iteration runs waits for the next one: with stop() called
 * in the same batch, the loop exits before running it. */
static void schedule_then_stop(void *arg) {
  trace_t *t = arg;
  weft_call_soon(t->loop, record, (void *)(intptr_t)99, NULL);
  weft_loop_stop(t->loop);
}

WEFT_TEST(new_callbacks_run_next_iteration) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {.loop = loop};
  g_trace = &trace;
  ASSERT_OK(weft_call_soon(loop, schedule_then_stop, &trace, NULL));
  ASSERT_OK(weft_call_soon(loop, record, (void *)(intptr_t)1, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 1);
  ASSERT_EQ(trace.log[0], 1);
  /* The next run picks it up. */
  ASSERT_OK(weft_call_soon(loop, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 2);
  ASSERT_EQ(trace.log[1], 99);
  weft_test_close_loop(loop);
}

WEFT_TEST(cancelled_handle_never_runs) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {0};
  g_trace = &trace;
  weft_handle_t *h1, *h2;
  ASSERT_OK(weft_call_soon(loop, record, (void *)(intptr_t)1, &h1));
  ASSERT_OK(weft_call_later(loop, 0.001, record, (void *)(intptr_t)2, &h2));
  ASSERT_EQ(weft_handle_when(h1), -1);
  ASSERT_TRUE(weft_handle_when(h2) > 0);
  weft_handle_cancel(h1);
  weft_handle_cancel(h2);
  weft_handle_cancel(h2); /* twice is harmless */
  ASSERT_TRUE(weft_handle_cancelled(h1));
  ASSERT_OK(weft_call_later(loop, 0.02, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 0);
  weft_handle_release(h1);
  weft_handle_release(h2);
  weft_test_close_loop(loop);
}

WEFT_TEST(timers_in_deadline_order_ties_fifo) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {0};
  g_trace = &trace;
  /* Deadlines are taken relative to one `now`, so a slow machine (valgrind) cannot reorder
   * them; the negative delay is scheduled first so that "now" really is the earliest. */
  double now = weft_loop_time(loop);
  ASSERT_OK(weft_call_later(loop, -5, record, (void *)(intptr_t)0, NULL)); /* negative: now */
  ASSERT_OK(weft_call_at(loop, now + 0.03, record, (void *)(intptr_t)3, NULL));
  ASSERT_OK(weft_call_at(loop, now + 0.01, record, (void *)(intptr_t)1, NULL));
  ASSERT_OK(weft_call_at(loop, now + 0.02, record, (void *)(intptr_t)20, NULL));
  ASSERT_OK(weft_call_at(loop, now + 0.02, record, (void *)(intptr_t)21, NULL));
  ASSERT_OK(weft_call_at(loop, now + 0.02, record, (void *)(intptr_t)22, NULL));
  ASSERT_OK(weft_call_at(loop, now + 0.05, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  int expected[] = {0, 1, 20, 21, 22, 3};
  ASSERT_EQ(trace.n, 6);
  for (int i = 0; i < 6; i++)
    ASSERT_EQ(trace.log[i], expected[i]);
  weft_test_close_loop(loop);
}

static double g_fired_at;
static void note_time(void *arg) {
  g_fired_at = weft_loop_time(arg);
  weft_loop_stop(arg);
}

WEFT_TEST(timer_never_fires_early) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  for (int i = 0; i < 20; i++) {
    double start = weft_loop_time(loop);
    double delay = 0.0005 * (i % 5);
    ASSERT_OK(weft_call_later(loop, delay, note_time, loop, NULL));
    ASSERT_OK(weft_loop_run_forever(loop));
    ASSERT_TRUE(g_fired_at - start >= delay);
  }
  weft_test_close_loop(loop);
}

static void cancel_other(void *arg) {
  weft_handle_cancel(arg);
}

WEFT_TEST(timer_cancelled_by_earlier_timer) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {0};
  g_trace = &trace;
  weft_handle_t *victim;
  double now = weft_loop_time(loop);
  ASSERT_OK(weft_call_at(loop, now + 0.02, record, (void *)(intptr_t)7, &victim));
  ASSERT_OK(weft_call_at(loop, now + 0.01, cancel_other, victim, NULL));
  ASSERT_OK(weft_call_at(loop, now + 0.04, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 0);
  weft_handle_release(victim);
  weft_test_close_loop(loop);
}

static int g_count;
static void count(void *arg) {
  (void)arg;
  g_count++;
}

WEFT_TEST(many_timers_random_cancel) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  enum { N = 2000 };
  static weft_handle_t *handles[N];
  g_count = 0;
  unsigned seed = 12345;
  for (int i = 0; i < N; i++) {
    seed = seed * 1103515245u + 12345u;
    ASSERT_OK(weft_call_later(loop, (seed % 20) / 1000.0, count, NULL, &handles[i]));
  }
  int cancelled = 0;
  for (int i = 0; i < N; i += 3, cancelled++)
    weft_handle_cancel(handles[i]);
  ASSERT_OK(weft_call_later(loop, 0.05, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(g_count, N - cancelled);
  for (int i = 0; i < N; i++)
    weft_handle_release(handles[i]);
  weft_test_close_loop(loop);
}

WEFT_TEST(close_releases_pending_timers) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  for (int i = 0; i < 100; i++)
    ASSERT_OK(weft_call_later(loop, 10, count, NULL, NULL));
  ASSERT_OK(weft_call_soon(loop, count, NULL, NULL));
  weft_loop_release(loop); /* valgrind: nothing leaks */
}

WEFT_TEST(many_timers_fire_in_order) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_count = 0;
  for (int i = 0; i < 5000; i++)
    ASSERT_OK(weft_call_later(loop, (i % 10) / 1000.0, count, NULL, NULL));
  ASSERT_OK(weft_call_later(loop, 0.03, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(g_count, 5000);
  weft_test_close_loop(loop);
}

WEFT_TEST(stop_before_run_runs_one_iteration) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {0};
  g_trace = &trace;
  ASSERT_OK(weft_call_soon(loop, record, (void *)(intptr_t)5, NULL));
  ASSERT_OK(weft_loop_stop(loop));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 1);
  ASSERT_TRUE(!weft_loop_is_running(loop));
  weft_test_close_loop(loop);
}

static void *post_from_thread(void *arg);

typedef struct {
  weft_loop_t *loop;
  int received;
  uv_thread_t self;
  int on_loop_thread;
} threadsafe_t;

static void got_post(void *arg) {
  threadsafe_t *s = arg;
  uv_thread_t me = uv_thread_self();
  s->on_loop_thread = uv_thread_equal(&me, &s->self);
  if (++s->received == 100)
    weft_loop_stop(s->loop);
}

static void thread_main(void *arg) {
  post_from_thread(arg);
}

static void *post_from_thread(void *arg) {
  threadsafe_t *s = arg;
  for (int i = 0; i < 100; i++) {
    ASSERT_OK(weft_call_soon_threadsafe(s->loop, got_post, s));
    if (i % 10 == 0)
      uv_sleep(1);
  }
  return NULL;
}

WEFT_TEST(call_soon_threadsafe_wakes_loop) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  threadsafe_t s = {.loop = loop, .self = uv_thread_self()};
  uv_thread_t thread;
  /* Nothing else is scheduled: the loop sleeps in poll until the other thread wakes it. */
  ASSERT_OK(uv_thread_create(&thread, thread_main, &s));
  ASSERT_OK(weft_loop_run_forever(loop));
  uv_thread_join(&thread);
  ASSERT_EQ(s.received, 100);
  ASSERT_TRUE(s.on_loop_thread);
  weft_test_close_loop(loop);
}

typedef struct {
  weft_loop_t *loop;
  int rc;
} wrong_thread_t;

static void call_from_other_thread(void *arg) {
  wrong_thread_t *w = arg;
  w->rc = weft_call_soon(w->loop, count, NULL, NULL);
  weft_loop_stop(w->loop); /* stop is thread-safe */
}

static void start_other_thread(void *arg) {
  wrong_thread_t *w = arg;
  uv_thread_t thread;
  ASSERT_OK(uv_thread_create(&thread, call_from_other_thread, w));
  uv_thread_join(&thread);
}

WEFT_TEST(wrong_thread_is_refused) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  wrong_thread_t w = {.loop = loop};
  ASSERT_OK(weft_call_soon(loop, start_other_thread, &w, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_CODE(w.rc, WEFT_EWRONGTHREAD);
  weft_test_close_loop(loop);
}

static void try_nested_run(void *arg) {
  weft_loop_t *loop = arg;
  ASSERT_CODE(weft_loop_run_forever(loop), WEFT_ERUNNING);
  ASSERT_CODE(weft_loop_close(loop), WEFT_ERUNNING);
  ASSERT_TRUE(weft_loop_is_running(loop));
  weft_loop_stop(loop);
}

WEFT_TEST(running_loop_refuses_run_and_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_call_soon(loop, try_nested_run, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  weft_test_close_loop(loop);
}

WEFT_TEST(closed_loop_gives_eclosed) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_handle_t *h;
  ASSERT_OK(weft_call_later(loop, 10, count, NULL, &h));
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_OK(weft_loop_close(loop)); /* twice is harmless */
  ASSERT_TRUE(weft_loop_is_closed(loop));
  ASSERT_CODE(weft_call_soon(loop, count, NULL, NULL), WEFT_ECLOSED);
  ASSERT_CODE(weft_call_later(loop, 1, count, NULL, NULL), WEFT_ECLOSED);
  ASSERT_CODE(weft_call_soon_threadsafe(loop, count, NULL), WEFT_ECLOSED);
  ASSERT_CODE(weft_loop_run_forever(loop), WEFT_ECLOSED);
  ASSERT_CODE(weft_loop_run_once(loop, 1), WEFT_ECLOSED);
  weft_future_t *f;
  ASSERT_CODE(weft_future_new(loop, &f), WEFT_ECLOSED);
  ASSERT_CODE(weft_task_spawn(loop, NULL, NULL, NULL, NULL), WEFT_EINVAL);
  weft_handle_cancel(h); /* a handle outliving its loop is still safe to use */
  weft_handle_release(h);
  weft_loop_release(loop);
}

WEFT_TEST(null_arguments) {
  weft_loop_t *loop = NULL;
  ASSERT_CODE(weft_loop_new(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_call_soon(NULL, count, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_call_later(NULL, 1, count, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_call_soon_threadsafe(NULL, count, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_loop_run_forever(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_loop_run_until_complete(NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_loop_stop(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_loop_close(NULL), WEFT_EINVAL);
  weft_loop_release(NULL);
  weft_handle_cancel(NULL);
  weft_handle_release(NULL);
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_CODE(weft_call_soon(loop, NULL, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_call_later(loop, NAN, count, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_loop_set_slow_callback_duration(loop, -1), WEFT_EINVAL);
  weft_test_close_loop(loop);
}

WEFT_TEST(time_is_monotonic) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  double a = weft_loop_time(loop);
  uint64_t an = weft_loop_time_ns(loop);
  uv_sleep(2);
  ASSERT_TRUE(weft_loop_time(loop) > a);
  ASSERT_TRUE(weft_loop_time_ns(loop) >= an + 1000000);
  weft_test_close_loop(loop);
}

/* ---- The exception handler and debug mode -------------------------------------------- */

typedef struct {
  int calls;
  char message[256];
  int error;
  int level;
  char text[512];
} report_t;

static void capture_report(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop;
  report_t *r = arg;
  r->calls++;
  snprintf(r->message, sizeof r->message, "%s", ctx->message);
  r->error = ctx->error;
}

static void capture_log(weft_loop_t *loop, int level, const char *text, void *arg) {
  (void)loop;
  report_t *r = arg;
  r->calls++;
  r->level = level;
  snprintf(r->text, sizeof r->text, "%s", text);
}

WEFT_TEST(exception_handler_set_get_default) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  report_t r = {0};
  void *arg = NULL;
  ASSERT_TRUE(weft_loop_get_exception_handler(loop, &arg) == NULL);
  ASSERT_OK(weft_loop_set_exception_handler(loop, capture_report, &r, NULL));
  ASSERT_TRUE(weft_loop_get_exception_handler(loop, &arg) == capture_report);
  ASSERT_PTR_EQ(arg, &r);
  weft_error_context_t ctx = {.size = sizeof ctx, .message = "boom", .error = WEFT_EPIPE};
  weft_loop_call_exception_handler(loop, &ctx);
  ASSERT_EQ(r.calls, 1);
  ASSERT_STREQ(r.message, "boom");
  ASSERT_CODE(r.error, WEFT_EPIPE);
  /* Back to the default, which writes to the log. */
  ASSERT_OK(weft_loop_set_exception_handler(loop, NULL, NULL, NULL));
  report_t logged = {0};
  ASSERT_OK(weft_loop_set_log_handler(loop, capture_log, &logged, NULL));
  weft_loop_call_exception_handler(loop, &ctx);
  ASSERT_EQ(logged.calls, 1);
  ASSERT_EQ(logged.level, WEFT_LOG_ERROR);
  ASSERT_TRUE(strstr(logged.text, "boom") != NULL);
  ASSERT_TRUE(strstr(logged.text, "WEFT_EPIPE") != NULL);
  weft_test_close_loop(loop);
}

static void busy_wait(void *arg) {
  uv_sleep((unsigned)(intptr_t)arg);
}

WEFT_TEST(debug_reports_slow_callbacks) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  report_t logged = {0};
  ASSERT_OK(weft_loop_set_log_handler(loop, capture_log, &logged, NULL));
  /* Generous margins: under valgrind on a loaded machine even a trivial callback is slow. */
  ASSERT_OK(weft_loop_set_slow_callback_duration(loop, 0.15));
  ASSERT_NEAR(weft_loop_get_slow_callback_duration(loop), 0.15, 1e-9);
  /* Off: nothing reported. */
  ASSERT_OK(weft_loop_set_debug(loop, 0));
  ASSERT_OK(weft_call_soon(loop, busy_wait, (void *)(intptr_t)200, NULL));
  ASSERT_OK(weft_call_soon(loop, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(logged.calls, 0);
  /* On: the slow one is reported, the fast one is not. */
  ASSERT_OK(weft_loop_set_debug(loop, 1));
  ASSERT_TRUE(weft_loop_get_debug(loop));
  ASSERT_OK(weft_call_soon(loop, busy_wait, (void *)(intptr_t)200, NULL));
  ASSERT_OK(weft_call_soon(loop, busy_wait, (void *)(intptr_t)0, NULL));
  ASSERT_OK(weft_call_soon(loop, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(logged.calls, 1);
  ASSERT_EQ(logged.level, WEFT_LOG_WARNING);
  ASSERT_TRUE(strstr(logged.text, "took") != NULL);
  weft_test_close_loop(loop);
}

WEFT_TEST(debug_from_environment) {
  setenv("WEFT_DEBUG", "1", 1);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_TRUE(weft_loop_get_debug(loop));
  weft_test_close_loop(loop);
  unsetenv("WEFT_DEBUG");
}

WEFT_TEST(run_once_nowait) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {0};
  g_trace = &trace;
  ASSERT_OK(weft_call_soon(loop, record, (void *)(intptr_t)1, NULL));
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(trace.n, 1);
  /* Nothing left to do: returns at once instead of blocking. */
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_EQ(trace.n, 1);
  weft_test_close_loop(loop);
}

/* ---- Batched callbacks ---------------------------------------------------------------- */

typedef struct {
  int batches;
  int sizes[16];
  uintptr_t ids[64];
  int n;
} batches_t;

static void run_batch(weft_loop_t *loop, const uintptr_t *ids, size_t count, void *arg) {
  (void)loop;
  batches_t *b = arg;
  b->sizes[b->batches++] = (int)count;
  for (size_t i = 0; i < count; i++)
    b->ids[b->n++] = ids[i];
}

static void record_plain(void *arg) {
  g_trace->log[g_trace->n++] = (int)(intptr_t)arg;
}

WEFT_TEST(batched_callbacks_keep_queue_order) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  batches_t b = {0};
  trace_t trace = {0};
  g_trace = &trace;
  ASSERT_OK(weft_loop_set_batch_handler(loop, run_batch, &b, NULL));
  /* ids 1-3, a plain callback, ids 4-5: two runs around the plain one. */
  weft_handle_t *cancelled;
  ASSERT_OK(weft_call_soon_id(loop, 1, NULL));
  ASSERT_OK(weft_call_soon_id(loop, 2, &cancelled));
  ASSERT_OK(weft_call_soon_id(loop, 3, NULL));
  ASSERT_OK(weft_call_soon(loop, record_plain, (void *)(intptr_t)100, NULL));
  ASSERT_OK(weft_call_soon_id(loop, 4, NULL));
  ASSERT_OK(weft_call_soon_threadsafe_id(loop, 5));
  weft_handle_cancel(cancelled);
  weft_handle_release(cancelled);
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(b.batches, 2);
  ASSERT_EQ(b.sizes[0], 2); /* 1 and 3: the cancelled 2 never reaches the binding */
  ASSERT_EQ(b.sizes[1], 2);
  uintptr_t expected[] = {1, 3, 4, 5};
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(b.ids[i], expected[i]);
  ASSERT_EQ(trace.n, 1);
  weft_test_close_loop(loop);
}

WEFT_TEST(batched_timers) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  batches_t b = {0};
  ASSERT_OK(weft_loop_set_batch_handler(loop, run_batch, &b, NULL));
  double now = weft_loop_time(loop);
  ASSERT_OK(weft_call_at_id(loop, now + 0.002, 20, NULL));
  ASSERT_OK(weft_call_at_id(loop, now + 0.001, 10, NULL));
  ASSERT_OK(weft_call_at(loop, now + 0.01, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(b.n, 2);
  ASSERT_EQ(b.ids[0], 10);
  ASSERT_EQ(b.ids[1], 20);
  ASSERT_CODE(weft_call_at_id(loop, NAN, 1, NULL), WEFT_EINVAL);
  weft_test_close_loop(loop);
}

static void custom_sigpipe(int signum) {
  (void)signum;
}

WEFT_TEST(sigpipe_ignored_unless_handled) {
  /* A default disposition becomes "ignore", so a dead reader gives EPIPE, not death. */
  signal(SIGPIPE, SIG_DFL);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  struct sigaction now;
  ASSERT_OK(sigaction(SIGPIPE, NULL, &now));
  ASSERT_TRUE(now.sa_handler == SIG_IGN);
  weft_test_close_loop(loop);
  /* A handler the program set stays. */
  signal(SIGPIPE, custom_sigpipe);
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(sigaction(SIGPIPE, NULL, &now));
  ASSERT_TRUE(now.sa_handler == custom_sigpipe);
  weft_test_close_loop(loop);
}

/* ---- Order within an iteration -------------------------------------------------------- */

typedef struct {
  weft_loop_t *loop;
  int fd;
} reader_t;

static void record_readable(void *arg) {
  reader_t *r = arg;
  char byte;
  ASSERT_TRUE(read(r->fd, &byte, 1) == 1);
  g_trace->log[g_trace->n++] = (int)byte;
  ASSERT_EQ(weft_remove_reader(r->loop, r->fd), 1);
  ASSERT_OK(weft_loop_stop(r->loop));
}

/* The set-up the ordering tests share: a loop, its trace, and a socket pair whose reader
 * (`on_readable`) finds the byte 2 in the loop's first poll. */
typedef struct {
  weft_loop_t *loop;
  trace_t trace;
  reader_t reader;
  int peer;
} io_order_t;

static void io_order_open(io_order_t *o, weft_callback_fn on_readable) {
  ASSERT_OK(weft_loop_new(&o->loop));
  o->trace = (trace_t){.loop = o->loop};
  g_trace = &o->trace;
  int sp[2];
  ASSERT_TRUE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
  o->reader = (reader_t){o->loop, sp[0]};
  o->peer = sp[1];
  ASSERT_OK(weft_add_reader(o->loop, sp[0], on_readable, &o->reader, NULL));
  ASSERT_TRUE(write(o->peer, "\x02", 1) == 1);
}

/* Runs the loop until a callback stops it, checks that the trace is `want`, and closes. */
static void io_order_expect(io_order_t *o, const int *want, int n) {
  ASSERT_OK(weft_loop_run_forever(o->loop));
  ASSERT_EQ(o->trace.n, n);
  for (int i = 0; i < n; i++)
    ASSERT_EQ(o->trace.log[i], want[i]);
  close(o->reader.fd);
  close(o->peer);
  weft_test_close_loop(o->loop);
}

/* asyncio's select queues the I/O it finds behind the callbacks already ready: a callback
 * scheduled before the data arrived runs before the reader that consumes it. */
WEFT_TEST(callback_scheduled_before_io_runs_first) {
  io_order_t o;
  io_order_open(&o, record_readable);
  ASSERT_OK(weft_call_soon(o.loop, record, (void *)(intptr_t)1, NULL));
  io_order_expect(&o, (int[]){1, 2}, 2);
}

static void record_readable_then_continue(void *arg) {
  reader_t *r = arg;
  char byte;
  ASSERT_TRUE(read(r->fd, &byte, 1) == 1);
  g_trace->log[g_trace->n++] = (int)byte;
  ASSERT_EQ(weft_remove_reader(r->loop, r->fd), 1);
}

static void record_and_stop(void *arg) {
  record(arg);
  ASSERT_OK(weft_loop_stop(g_trace->loop));
}

/* asyncio appends the due timers behind the I/O its select found: a callback ready before
 * the iteration, then the reader, then a timer that fell due, all in one iteration. */
WEFT_TEST(due_timer_runs_after_io_of_its_iteration) {
  io_order_t o;
  io_order_open(&o, record_readable_then_continue);
  ASSERT_OK(weft_call_later(o.loop, 0.0, record_and_stop, (void *)(intptr_t)3, NULL));
  ASSERT_OK(weft_call_soon(o.loop, record, (void *)(intptr_t)1, NULL));
  io_order_expect(&o, (int[]){1, 2, 3}, 3);
}

/* Stopping from a ready callback ends the run after the rest of that iteration, which in
 * asyncio includes the I/O its select found and the timers then due: libuv's poll after
 * uv_stop does not block, and stands for that select. */
WEFT_TEST(stop_still_runs_the_io_and_timers_of_its_iteration) {
  io_order_t o;
  io_order_open(&o, record_readable_then_continue);
  ASSERT_OK(weft_call_soon(o.loop, record_and_stop, (void *)(intptr_t)1, NULL));
  ASSERT_OK(weft_call_later(o.loop, 0.0, record, (void *)(intptr_t)3, NULL));
  io_order_expect(&o, (int[]){1, 2, 3}, 3);
}

static void read_then_schedule(void *arg) {
  reader_t *r = arg;
  record_readable_then_continue(r);
  ASSERT_OK(weft_call_at(r->loop, weft_loop_time(r->loop) - 1, record_and_stop, (void *)(intptr_t)4,
                         NULL));
  ASSERT_OK(weft_call_soon(r->loop, record, (void *)(intptr_t)3, NULL));
}

/* asyncio collects the due timers before it runs the I/O callbacks: a timer an I/O callback
 * schedules in the past runs in the next iteration, behind what that callback call_soon'd. */
WEFT_TEST(past_timer_scheduled_by_io_waits_for_next_iteration) {
  io_order_t o;
  io_order_open(&o, read_then_schedule);
  io_order_expect(&o, (int[]){2, 3, 4}, 3);
}

/* ---- Posts from other threads within an iteration ------------------------------------ */

static void record_then_schedule(void *arg) {
  record(arg);
  ASSERT_OK(weft_call_soon(g_trace->loop, record, (void *)(intptr_t)3, NULL));
}

static void ignore_idle(uv_idle_t *idle) {
  (void)idle;
}

/* A post that wakes a poll runs in that iteration, as asyncio runs a threadsafe callback in
 * the iteration whose select it woke; what it schedules waits for the next one, also when
 * it was queued while another post of the same wake-up still waited. The posts are made
 * before the loop runs (weft_call_soon_threadsafe is safe from any thread), so the async
 * handle takes both in the one poll; a libuv idle handle keeps that poll from blocking. */
WEFT_TEST(post_runs_in_the_iteration_it_wakes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {.loop = loop};
  g_trace = &trace;
  uv_idle_t keep_alive;
  ASSERT_TRUE(uv_idle_init(weft_loop_uv(loop), &keep_alive) == 0);
  ASSERT_TRUE(uv_idle_start(&keep_alive, ignore_idle) == 0);
  ASSERT_OK(weft_call_soon_threadsafe(loop, record_then_schedule, (void *)(intptr_t)1));
  ASSERT_OK(weft_call_soon_threadsafe(loop, record, (void *)(intptr_t)2));
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_EQ(trace.n, 2);
  ASSERT_EQ(trace.log[0], 1);
  ASSERT_EQ(trace.log[1], 2);
  uv_close((uv_handle_t *)&keep_alive, NULL);
  /* The callback queued behind the second post still woke the loop for the next iteration:
   * nothing else keeps it alive now. */
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(trace.n, 3);
  ASSERT_EQ(trace.log[2], 3);
  weft_test_close_loop(loop);
}

static void schedule_post_stop(void *arg) {
  (void)arg;
  ASSERT_OK(weft_call_soon(g_trace->loop, record, (void *)(intptr_t)2, NULL));
  ASSERT_OK(weft_call_soon_threadsafe(g_trace->loop, record_and_stop, (void *)(intptr_t)3));
  ASSERT_OK(weft_loop_stop(g_trace->loop));
}

/* A post made after a callback was scheduled waits with it for the next iteration, and runs
 * after it (asyncio appends both to one queue), although the async handle takes the post
 * in the poll in between: that poll's check runs neither. */
WEFT_TEST(post_behind_a_waiting_callback_keeps_its_place) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {.loop = loop};
  g_trace = &trace;
  ASSERT_OK(weft_call_soon(loop, schedule_post_stop, NULL, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 0);
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 2);
  ASSERT_EQ(trace.log[0], 2);
  ASSERT_EQ(trace.log[1], 3);
  weft_test_close_loop(loop);
}

static void count_drop(void *arg) {
  ++*(int *)arg;
}

static void never_runs(void *arg) {
  (void)arg;
  WEFT_FAIL_AT("a post dropped by the loop's close ran");
}

static void wait_post_stop(void *arg) {
  ASSERT_OK(weft_call_soon(g_trace->loop, record, (void *)(intptr_t)1, NULL));
  ASSERT_OK(weft__loop_post(g_trace->loop, never_runs, count_drop, arg));
  ASSERT_OK(weft_loop_stop(g_trace->loop));
}

/* A post the async handle moved into the ready queue, where it waits behind a callback for
 * an iteration that never comes, still owns its argument: the loop's close hands it to the
 * post's destructor (an executor job's or a thread-safe write's memory, else leaked). */
WEFT_TEST(close_drops_a_post_waiting_in_the_ready_queue) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  trace_t trace = {.loop = loop};
  g_trace = &trace;
  int drops = 0;
  ASSERT_OK(weft_call_soon(loop, wait_post_stop, &drops, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(trace.n, 0);
  ASSERT_EQ(drops, 0);
  weft_test_close_loop(loop);
  ASSERT_EQ(drops, 1);
}

static void cancel_handle(void *arg) {
  weft_handle_cancel(arg);
}

static void count_active_timer(uv_handle_t *handle, void *arg) {
  if (handle->type == UV_TIMER && uv_is_active(handle))
    ++*(int *)arg;
}

/* Runs after weft's prepare handle (libuv runs the one started last first), just before
 * poll: the libuv timers poll would wait for. */
static void count_timers_before_poll(uv_prepare_t *prepare) {
  *(int *)prepare->data = 0;
  uv_walk(prepare->loop, count_active_timer, prepare->data);
}

/* Cancelling the last timer from a ready callback lets go of the libuv timer before poll:
 * otherwise poll would wait for the cancelled deadline, and a host (Node) would not exit. */
WEFT_TEST(cancelling_the_last_timer_frees_the_libuv_loop) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int timers = -1;
  uv_prepare_t after;
  ASSERT_TRUE(uv_prepare_init(weft_loop_uv(loop), &after) == 0);
  after.data = &timers;
  ASSERT_TRUE(uv_prepare_start(&after, count_timers_before_poll) == 0);
  uv_unref((uv_handle_t *)&after);
  weft_handle_t *timer;
  ASSERT_OK(weft_call_later(loop, 3600, record, NULL, &timer));
  ASSERT_OK(weft_call_soon(loop, cancel_handle, timer, NULL));
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(timers, 0);
  ASSERT_EQ(uv_loop_alive(weft_loop_uv(loop)), 0);
  uv_close((uv_handle_t *)&after, NULL);
  weft_handle_release(timer);
  weft_test_close_loop(loop);
}
