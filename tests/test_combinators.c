/* The combinators, each test one rule of asyncio's sleep, gather, wait, wait_for, shield and
 * as_completed, driven from stackful tasks. */
#include "weft_test.h"

#include <unistd.h>

/* ---- Helpers -------------------------------------------------------------------------- */

static weft_loop_t *new_loop(void) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  return loop;
}

/* Spawns fn(arg) as the test's main task, runs the loop until it is done, returns its code. */
static int run_main(weft_loop_t *loop, weft_task_fn fn, void *arg) {
  weft_task_t *task;
  ASSERT_OK(weft_task_spawn(loop, fn, arg, NULL, &task));
  int rc = weft_loop_run_until_complete(loop, weft_task_future(task));
  weft_task_release(task);
  return rc;
}

/* A child task: sleeps `delay`, then returns `value` or fails with `error`. If cancelled,
 * it records that and, when `swallow` is set, returns `value` anyway after `cleanup` more
 * seconds of sleep. */
typedef struct {
  double delay;
  double until; /* when set, sleep until this loop time instead: an order that no start-up
                 * delay of a loaded machine (valgrind) can change */
  int64_t value;
  int error;
  const char *message;
  int swallow;
  double cleanup;
  int *order; /* appends `value` here on completion when set */
  size_t *order_len;
  int cancelled;
  int finished_cleanup;
} child_t;

static int child_fn(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_loop_t *loop = weft_test_loop_of(self);
  int rc = weft_sleep_await(loop, c->until > 0 ? c->until - weft_loop_time(loop) : c->delay);
  if (rc == WEFT_ECANCELLED) {
    c->cancelled = 1;
    if (c->cleanup > 0)
      ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), c->cleanup));
    c->finished_cleanup = 1;
    if (!c->swallow)
      return rc;
  } else {
    ASSERT_OK(rc);
  }
  if (c->order != NULL)
    c->order[(*c->order_len)++] = (int)c->value;
  if (c->error != 0)
    return weft_task_fail(self, c->error, c->message, NULL, NULL);
  ASSERT_OK(weft_task_return(self, weft_value_int(c->value)));
  return 0;
}

static weft_task_t *spawn_child(weft_loop_t *loop, child_t *c) {
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, child_fn, c, NULL, &t));
  return t;
}

static int64_t int_result(weft_future_t *f) {
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_TRUE(v != NULL);
  ASSERT_EQ(v->type, WEFT_VALUE_INT);
  return v->i;
}

/* Cancels the task given as arg (a callback for weft_call_later). */
static void cancel_task_cb(void *arg) {
  ASSERT_EQ(weft_task_cancel(arg, NULL), 1);
}

/* Counts reports made to the exception handler. */
typedef struct {
  int calls;
  int last_error;
} reports_t;

static void count_reports(weft_loop_t *loop, const weft_error_context_t *context, void *arg) {
  (void)loop;
  reports_t *r = arg;
  r->calls++;
  r->last_error = context->error;
}

/* ---- sleep ---------------------------------------------------------------------------- */

typedef struct {
  char log[16];
  size_t len;
} log_t;

typedef struct {
  log_t *log;
  char name;
} ticker_t;

static int ticker_fn(weft_task_t *self, void *arg) {
  ticker_t *t = arg;
  for (int i = 0; i < 3; i++) {
    t->log->log[t->log->len++] = (char)(t->name + i);
    if (i < 2)
      ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0));
  }
  return 0;
}

/* asyncio.sleep(0) yields to the loop exactly once: two tasks alternate step by step. */
WEFT_TEST(sleep_zero_yields_once) {
  weft_loop_t *loop = new_loop();
  log_t log = {0};
  ticker_t a = {&log, 'a'}, b = {&log, 'A'};
  weft_task_t *ta, *tb;
  ASSERT_OK(weft_task_spawn(loop, ticker_fn, &a, NULL, &ta));
  ASSERT_OK(weft_task_spawn(loop, ticker_fn, &b, NULL, &tb));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(tb)));
  ASSERT_TRUE(weft_future_done(weft_task_future(ta)));
  ASSERT_STREQ(log.log, "aAbBcC");
  weft_task_release(ta);
  weft_task_release(tb);
  weft_test_close_loop(loop);
}

static int sleep_duration_main(weft_task_t *self, void *arg) {
  double *elapsed = arg;
  double start = weft_loop_time(weft_test_loop_of(self));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.05));
  *elapsed = weft_loop_time(weft_test_loop_of(self)) - start;
  return 0;
}

/* asyncio.sleep(delay) suspends the task for at least `delay` seconds. */
WEFT_TEST(sleep_takes_at_least_delay) {
  weft_loop_t *loop = new_loop();
  double elapsed = 0;
  ASSERT_OK(run_main(loop, sleep_duration_main, &elapsed));
  ASSERT_TRUE(elapsed >= 0.05);
  weft_test_close_loop(loop);
}

static int sleep_cancel_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_task_t *t = spawn_child(weft_test_loop_of(self), c);
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  ASSERT_EQ(weft_task_cancel(t, "stop"), 1);
  ASSERT_CODE(weft_await(weft_task_future(t)), WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_cancelled(weft_task_future(t)));
  ASSERT_STREQ(weft_future_error_message(weft_task_future(t)), "stop");
  weft_task_release(t);
  return 0;
}

/* Cancelling a sleeping task wakes it at once with CancelledError (its hour-long sleep
 * would time the test out otherwise: no clock is read, so load cannot fail it). */
WEFT_TEST(sleep_cancelled) {
  weft_loop_t *loop = new_loop();
  child_t c = {.delay = 3600};
  ASSERT_OK(run_main(loop, sleep_cancel_main, &c));
  ASSERT_EQ(c.cancelled, 1);
  weft_test_close_loop(loop);
}

/* weft_sleep_await only works inside a task. */
WEFT_TEST(sleep_outside_task) {
  weft_loop_t *loop = new_loop();
  ASSERT_CODE(weft_sleep_await(loop, 0.01), WEFT_ENOTINTASK);
  ASSERT_CODE(weft_sleep_await(loop, 0), WEFT_ENOTINTASK);
  weft_test_close_loop(loop);
}

/* A sleep future finishes with None after the delay; cancelling it stops the timer. */
WEFT_TEST(sleep_future) {
  weft_loop_t *loop = new_loop();
  weft_future_t *f, *g;
  double start = weft_loop_time(loop); /* before the timer starts: it may be read late after */
  ASSERT_OK(weft_sleep(loop, 0.01, &f));
  ASSERT_OK(weft_sleep(loop, 3600, &g));
  ASSERT_EQ(weft_future_cancel(g, NULL), 1);
  ASSERT_TRUE(weft_future_cancelled(g));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  ASSERT_TRUE(weft_loop_time(loop) - start >= 0.01);
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->type, WEFT_VALUE_NONE);
  weft_future_release(f);
  weft_future_release(g);
  weft_test_close_loop(loop);
}

/* ---- gather --------------------------------------------------------------------------- */

typedef struct {
  child_t c[3];
  int order[3];
  size_t order_len;
} trio_t;

static int gather_order_main(weft_task_t *self, void *arg) {
  trio_t *t = arg;
  weft_future_t *fs[3];
  for (int i = 0; i < 3; i++)
    fs[i] = weft_task_future(spawn_child(weft_test_loop_of(self), &t->c[i]));
  weft_future_t *g;
  ASSERT_OK(weft_gather(weft_test_loop_of(self), fs, 3, 0, &g));
  ASSERT_OK(weft_await(g));
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(int_result(fs[i]), t->c[i].value);
    weft_future_release(fs[i]);
  }
  weft_future_release(g);
  return 0;
}

/* gather's results come in the order of the inputs, whatever the order of completion. */
WEFT_TEST(gather_results_in_input_order) {
  weft_loop_t *loop = new_loop();
  trio_t t = {0};
  double delays[3] = {0.15, 0.05, 0.10};
  for (int i = 0; i < 3; i++)
    t.c[i] =
        (child_t){.delay = delays[i], .value = i + 1, .order = t.order, .order_len = &t.order_len};
  ASSERT_OK(run_main(loop, gather_order_main, &t));
  ASSERT_EQ(t.order_len, 3);
  ASSERT_EQ(t.order[0], 2);
  ASSERT_EQ(t.order[1], 3);
  ASSERT_EQ(t.order[2], 1);
  weft_test_close_loop(loop);
}

static int gather_error_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_future_t *fs[2] = {weft_task_future(spawn_child(weft_test_loop_of(self), &c[0])),
                          weft_task_future(spawn_child(weft_test_loop_of(self), &c[1]))};
  weft_future_t *g;
  ASSERT_OK(weft_gather(weft_test_loop_of(self), fs, 2, 0, &g));
  double start = weft_loop_time(weft_test_loop_of(self));
  ASSERT_CODE(weft_await(g), WEFT_EIO);
  ASSERT_TRUE(weft_loop_time(weft_test_loop_of(self)) - start < 0.2);
  ASSERT_STREQ(weft_future_error_message(g), "disk on fire");
  ASSERT_TRUE(!weft_future_cancelled(g));
  /* The other input was not cancelled: it goes on and finishes. */
  ASSERT_TRUE(!weft_future_done(fs[1]));
  ASSERT_OK(weft_await(fs[1]));
  ASSERT_EQ(int_result(fs[1]), 7);
  ASSERT_EQ(c[1].cancelled, 0);
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
  weft_future_release(g);
  return 0;
}

/* Without return_exceptions the first error propagates at once; the others keep running. */
WEFT_TEST(gather_first_error_propagates) {
  weft_loop_t *loop = new_loop();
  reports_t reports = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, &reports, NULL));
  child_t c[2] = {{.delay = 0.01, .error = WEFT_EIO, .message = "disk on fire"},
                  {.delay = 0.3, .value = 7}};
  ASSERT_OK(run_main(loop, gather_error_main, c));
  ASSERT_EQ(reports.calls, 0); /* the error went through the gather: retrieved */
  weft_test_close_loop(loop);
}

static int gather_return_exceptions_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_future_t *fs[3];
  for (int i = 0; i < 3; i++)
    fs[i] = weft_task_future(spawn_child(weft_test_loop_of(self), &c[i]));
  weft_future_t *g;
  ASSERT_OK(weft_gather(weft_test_loop_of(self), fs, 3, 1, &g));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0));
  ASSERT_EQ(weft_task_cancel(weft_task_from_future(fs[2]), NULL), 1);
  ASSERT_OK(weft_await(g));
  ASSERT_TRUE(weft_future_done(fs[0]) && weft_future_done(fs[1]) && weft_future_done(fs[2]));
  ASSERT_CODE(weft_future_error(fs[0]), WEFT_EIO);
  ASSERT_EQ(int_result(fs[1]), 2);
  ASSERT_TRUE(weft_future_cancelled(fs[2]));
  for (int i = 0; i < 3; i++)
    weft_future_release(fs[i]);
  weft_future_release(g);
  return 0;
}

/* With return_exceptions, errors and cancellations are collected like results. */
WEFT_TEST(gather_return_exceptions) {
  weft_loop_t *loop = new_loop();
  reports_t reports = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, &reports, NULL));
  child_t c[3] = {
      {.delay = 0.01, .error = WEFT_EIO}, {.delay = 0.03, .value = 2}, {.delay = 10, .value = 3}};
  ASSERT_OK(run_main(loop, gather_return_exceptions_main, c));
  ASSERT_EQ(reports.calls, 0);
  weft_test_close_loop(loop);
}

static int gather_child_cancelled_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_future_t *fs[2] = {weft_task_future(spawn_child(weft_test_loop_of(self), &c[0])),
                          weft_task_future(spawn_child(weft_test_loop_of(self), &c[1]))};
  weft_future_t *g;
  ASSERT_OK(weft_gather(weft_test_loop_of(self), fs, 2, 0, &g));
  ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb,
                            weft_task_from_future(fs[0]), NULL));
  ASSERT_CODE(weft_await(g), WEFT_ECANCELLED);
  /* The gather raises CancelledError, but the awaiting task itself was not cancelled. */
  ASSERT_EQ(weft_task_cancelling(self), 0);
  ASSERT_TRUE(weft_future_cancelled(fs[0]));
  ASSERT_TRUE(!weft_future_done(fs[1]));
  ASSERT_OK(weft_await(fs[1]));
  ASSERT_EQ(c[1].cancelled, 0);
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
  weft_future_release(g);
  return 0;
}

/* A cancelled input (without return_exceptions) makes the gather fail with CancelledError;
 * the other inputs are not cancelled. */
WEFT_TEST(gather_child_cancelled) {
  weft_loop_t *loop = new_loop();
  child_t c[2] = {{.delay = 10}, {.delay = 0.2, .value = 1}};
  ASSERT_OK(run_main(loop, gather_child_cancelled_main, c));
  weft_test_close_loop(loop);
}

typedef struct {
  child_t c[2];
  int by_future; /* cancel the gather itself rather than the task awaiting it */
  int return_exceptions;
} gather_cancel_t;

static int gather_cancel_main(weft_task_t *self, void *arg) {
  gather_cancel_t *t = arg;
  weft_future_t *fs[2] = {weft_task_future(spawn_child(weft_test_loop_of(self), &t->c[0])),
                          weft_task_future(spawn_child(weft_test_loop_of(self), &t->c[1]))};
  weft_future_t *g;
  ASSERT_OK(weft_gather(weft_test_loop_of(self), fs, 2, t->return_exceptions, &g));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  if (t->by_future) {
    ASSERT_EQ(weft_future_cancel(g, NULL), 1);
  } else {
    ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb, self, NULL));
  }
  ASSERT_CODE(weft_await(g), WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_done(g));
  ASSERT_CODE(weft_future_error(g), WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_cancelled(fs[0]));
  ASSERT_TRUE(weft_future_cancelled(fs[1]));
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
  weft_future_release(g);
  return t->by_future ? 0 : WEFT_ECANCELLED;
}

/* Cancelling the gather (or the task awaiting it) cancels every input still pending. */
WEFT_TEST(gather_cancel_cancels_children) {
  for (int mode = 0; mode < 4; mode++) {
    weft_loop_t *loop = new_loop();
    gather_cancel_t t = {
        .c = {{.delay = 10}, {.delay = 10}}, .by_future = mode & 1, .return_exceptions = mode >> 1};
    ASSERT_CODE(run_main(loop, gather_cancel_main, &t), t.by_future ? 0 : WEFT_ECANCELLED);
    ASSERT_EQ(t.c[0].cancelled, 1);
    ASSERT_EQ(t.c[1].cancelled, 1);
    weft_test_close_loop(loop);
  }
}

/* gather() of nothing is done at once, with an (empty) result. */
WEFT_TEST(gather_zero_inputs) {
  weft_loop_t *loop = new_loop();
  weft_future_t *g;
  ASSERT_OK(weft_gather(loop, NULL, 0, 0, &g));
  ASSERT_TRUE(weft_future_done(g));
  ASSERT_OK(weft_future_error(g));
  ASSERT_OK(weft_loop_run_until_complete(loop, g));
  weft_future_release(g);
  weft_test_close_loop(loop);
}

/* The same future given twice counts as one: the gather completes once it is done, and
 * its result appears in both places. */
WEFT_TEST(gather_same_future_twice) {
  weft_loop_t *loop = new_loop();
  weft_future_t *f, *g;
  ASSERT_OK(weft_future_new(loop, &f));
  weft_future_t *fs[2] = {f, f};
  ASSERT_OK(weft_gather(loop, fs, 2, 0, &g));
  ASSERT_OK(weft_future_set_result(f, weft_value_int(5)));
  ASSERT_OK(weft_loop_run_until_complete(loop, g));
  ASSERT_EQ(int_result(fs[0]), 5);
  weft_future_release(g);
  weft_future_release(f);

  /* And an error given twice is reported once, through the gather. */
  reports_t reports = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, &reports, NULL));
  ASSERT_OK(weft_future_new(loop, &f));
  fs[0] = fs[1] = f;
  ASSERT_OK(weft_gather(loop, fs, 2, 0, &g));
  ASSERT_OK(weft_future_set_error(f, WEFT_EPIPE, NULL, NULL, NULL));
  ASSERT_CODE(weft_loop_run_until_complete(loop, g), WEFT_EPIPE);
  weft_future_release(g);
  weft_future_release(f);
  ASSERT_EQ(reports.calls, 0);
  weft_test_close_loop(loop);
}

/* Every input must belong to the combinator's loop. */
WEFT_TEST(gather_other_loop) {
  weft_loop_t *loop = new_loop(), *other = new_loop();
  weft_future_t *mine, *theirs, *g = (weft_future_t *)&g;
  ASSERT_OK(weft_future_new(loop, &mine));
  ASSERT_OK(weft_future_new(other, &theirs));
  weft_future_t *fs[2] = {mine, theirs};
  ASSERT_CODE(weft_gather(loop, fs, 2, 0, &g), WEFT_EINVAL);
  ASSERT_TRUE(g == NULL);
  /* The same for the other combinators taking a loop. */
  ASSERT_CODE(weft_wait(loop, fs, 2, WEFT_ALL_COMPLETED, -1, &g), WEFT_EINVAL);
  ASSERT_CODE(weft_wait_for(loop, theirs, 1, &g), WEFT_EINVAL);
  weft_as_completed_t *it;
  ASSERT_CODE(weft_as_completed_new(loop, fs, 2, -1, &it), WEFT_EINVAL);
  weft_future_release(mine);
  weft_future_release(theirs);
  weft_test_close_loop(other);
  weft_test_close_loop(loop);
}

/* ---- wait ----------------------------------------------------------------------------- */

typedef struct {
  child_t c[3];
  size_t n;
  int return_when;
  double timeout;
  int done[3];
  int cancelled[3];
  double elapsed;
} wait_case_t;

static int wait_main(weft_task_t *self, void *arg) {
  wait_case_t *w = arg;
  weft_future_t *fs[3];
  for (size_t i = 0; i < w->n; i++)
    fs[i] = weft_task_future(spawn_child(weft_test_loop_of(self), &w->c[i]));
  weft_future_t *f;
  double start = weft_loop_time(weft_test_loop_of(self));
  ASSERT_OK(weft_wait(weft_test_loop_of(self), fs, w->n, w->return_when, w->timeout, &f));
  ASSERT_OK(weft_await(f));
  w->elapsed = weft_loop_time(weft_test_loop_of(self)) - start;
  weft_future_release(f);
  for (size_t i = 0; i < w->n; i++) {
    w->done[i] = weft_future_done(fs[i]);
    w->cancelled[i] = weft_future_cancelled(fs[i]);
  }
  /* Clean up: whatever is left gets cancelled and waited for. */
  for (size_t i = 0; i < w->n; i++) {
    weft_task_cancel(weft_task_from_future(fs[i]), NULL);
    weft_await(fs[i]);
    weft_future_release(fs[i]);
  }
  return 0;
}

/* FIRST_COMPLETED returns as soon as one input is done; the others stay pending. */
WEFT_TEST(wait_first_completed) {
  weft_loop_t *loop = new_loop();
  wait_case_t w = {.c = {{.delay = 3600}, {.delay = 0.01}, {.delay = 3600}},
                   .n = 3,
                   .return_when = WEFT_FIRST_COMPLETED,
                   .timeout = -1};
  ASSERT_OK(run_main(loop, wait_main, &w));
  ASSERT_EQ(w.done[0], 0);
  ASSERT_EQ(w.done[1], 1);
  ASSERT_EQ(w.done[2], 0);
  weft_test_close_loop(loop);
}

/* FIRST_EXCEPTION returns when an input fails; results before it do not end the wait. */
WEFT_TEST(wait_first_exception) {
  weft_loop_t *loop = new_loop();
  wait_case_t w = {.c = {{.delay = 0.01}, {.delay = 0.1, .error = WEFT_EIO}, {.delay = 3600}},
                   .n = 3,
                   .return_when = WEFT_FIRST_EXCEPTION,
                   .timeout = -1};
  ASSERT_OK(run_main(loop, wait_main, &w));
  ASSERT_EQ(w.done[0], 1);
  ASSERT_EQ(w.done[1], 1);
  ASSERT_EQ(w.done[2], 0);
  ASSERT_TRUE(w.elapsed >= 0.1);
  weft_test_close_loop(loop);
}

/* FIRST_EXCEPTION without any failure waits for everything, like ALL_COMPLETED; a
 * cancelled input does not count as an exception. */
WEFT_TEST(wait_first_exception_none_fails) {
  weft_loop_t *loop = new_loop();
  wait_case_t w = {.c = {{.delay = 0.01}, {.delay = 0.03}},
                   .n = 2,
                   .return_when = WEFT_FIRST_EXCEPTION,
                   .timeout = -1};
  ASSERT_OK(run_main(loop, wait_main, &w));
  ASSERT_EQ(w.done[0], 1);
  ASSERT_EQ(w.done[1], 1);
  ASSERT_TRUE(w.elapsed >= 0.03);
  weft_test_close_loop(loop);
}

/* ALL_COMPLETED waits for every input, failed ones included. */
WEFT_TEST(wait_all_completed) {
  weft_loop_t *loop = new_loop();
  wait_case_t w = {.c = {{.delay = 0.03}, {.delay = 0.01, .error = WEFT_EIO}, {.delay = 0.02}},
                   .n = 3,
                   .return_when = WEFT_ALL_COMPLETED,
                   .timeout = -1};
  ASSERT_OK(run_main(loop, wait_main, &w));
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(w.done[i], 1);
  ASSERT_TRUE(w.elapsed >= 0.03);
  weft_test_close_loop(loop);
}

/* On timeout, wait returns normally and leaves the inputs pending, not cancelled. */
WEFT_TEST(wait_timeout_leaves_inputs) {
  weft_loop_t *loop = new_loop();
  wait_case_t w = {.c = {{.delay = 3600}, {.delay = 3600}},
                   .n = 2,
                   .return_when = WEFT_ALL_COMPLETED,
                   .timeout = 0.02};
  ASSERT_OK(run_main(loop, wait_main, &w));
  ASSERT_EQ(w.done[0], 0);
  ASSERT_EQ(w.done[1], 0);
  ASSERT_EQ(w.cancelled[0], 0);
  ASSERT_TRUE(w.elapsed >= 0.02);
  /* They were only cancelled by the clean-up afterwards. */
  ASSERT_EQ(w.c[0].cancelled, 1);
  weft_test_close_loop(loop);
}

/* asyncio.wait refuses an empty set; so do an invalid return_when and a NaN timeout. */
WEFT_TEST(wait_invalid_arguments) {
  weft_loop_t *loop = new_loop();
  weft_future_t *f = (weft_future_t *)&f, *in;
  ASSERT_CODE(weft_wait(loop, NULL, 0, WEFT_ALL_COMPLETED, -1, &f), WEFT_EINVAL);
  ASSERT_TRUE(f == NULL);
  ASSERT_OK(weft_future_new(loop, &in));
  ASSERT_CODE(weft_wait(loop, &in, 1, 0, -1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait(loop, &in, 1, 4, -1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait(loop, &in, 1, WEFT_ALL_COMPLETED, NAN, &f), WEFT_EINVAL);
  weft_future_release(in);
  weft_test_close_loop(loop);
}

/* Inputs already done count at once: the wait is done without running the loop. */
WEFT_TEST(wait_already_done) {
  weft_loop_t *loop = new_loop();
  weft_future_t *done, *pending, *f;
  ASSERT_OK(weft_future_new(loop, &done));
  ASSERT_OK(weft_future_new(loop, &pending));
  ASSERT_OK(weft_future_set_result(done, weft_value_int(1)));
  weft_future_t *fs[2] = {done, pending};
  ASSERT_OK(weft_wait(loop, fs, 2, WEFT_FIRST_COMPLETED, -1, &f));
  ASSERT_TRUE(weft_future_done(f));
  weft_future_release(f);
  ASSERT_OK(weft_wait(loop, fs, 1, WEFT_ALL_COMPLETED, -1, &f));
  ASSERT_TRUE(weft_future_done(f));
  weft_future_release(f);
  /* One done, one pending, ALL_COMPLETED: waits for the other. */
  ASSERT_OK(weft_wait(loop, fs, 2, WEFT_ALL_COMPLETED, -1, &f));
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_OK(weft_future_set_result(pending, weft_value_none()));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  weft_future_release(done);
  weft_future_release(pending);
  weft_test_close_loop(loop);
}

static void finish_both(void *arg) {
  weft_future_t **fs = arg;
  ASSERT_OK(weft_future_set_result(fs[0], weft_value_none()));
  ASSERT_OK(weft_future_set_result(fs[1], weft_value_none()));
}

/* The caller may drop its reference to the wait future at once, even when several inputs
 * complete in the same iteration. */
WEFT_TEST(wait_released_at_once) {
  weft_loop_t *loop = new_loop();
  weft_future_t *fs[2], *f, *later;
  ASSERT_OK(weft_future_new(loop, &fs[0]));
  ASSERT_OK(weft_future_new(loop, &fs[1]));
  ASSERT_OK(weft_wait(loop, fs, 2, WEFT_FIRST_COMPLETED, 10, &f));
  weft_future_release(f);
  ASSERT_OK(weft_call_soon(loop, finish_both, fs, NULL));
  ASSERT_OK(weft_sleep(loop, 0.01, &later));
  ASSERT_OK(weft_loop_run_until_complete(loop, later));
  weft_future_release(later);
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
  weft_test_close_loop(loop);
}

static int wait_cancelled_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_future_t *in = weft_task_future(spawn_child(weft_test_loop_of(self), c));
  weft_future_t *f;
  ASSERT_OK(weft_wait(weft_test_loop_of(self), &in, 1, WEFT_ALL_COMPLETED, -1, &f));
  ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb, self, NULL));
  ASSERT_CODE(weft_await(f), WEFT_ECANCELLED);
  ASSERT_TRUE(!weft_future_done(in));
  ASSERT_EQ(weft_task_uncancel(self), 0);
  ASSERT_OK(weft_await(in));
  weft_future_release(f);
  weft_future_release(in);
  return 0;
}

/* Cancelling the task in wait() does not cancel the inputs. */
WEFT_TEST(wait_cancelled_leaves_inputs) {
  weft_loop_t *loop = new_loop();
  child_t c = {.delay = 0.05, .value = 1};
  ASSERT_OK(run_main(loop, wait_cancelled_main, &c));
  ASSERT_EQ(c.cancelled, 0);
  weft_test_close_loop(loop);
}

/* ---- wait_for ------------------------------------------------------------------------- */

typedef struct {
  child_t c;
  double timeout;
  int rc;
  int inner_done_at_timeout;
  int inner_cancelled;
  double elapsed;
  int64_t value;
  char message[64];
} wait_for_case_t;

static int wait_for_main(weft_task_t *self, void *arg) {
  wait_for_case_t *w = arg;
  weft_task_t *inner = spawn_child(weft_test_loop_of(self), &w->c);
  weft_future_t *f;
  double start = weft_loop_time(weft_test_loop_of(self));
  ASSERT_OK(weft_wait_for(weft_test_loop_of(self), weft_task_future(inner), w->timeout, &f));
  w->rc = weft_await(f);
  w->elapsed = weft_loop_time(weft_test_loop_of(self)) - start;
  w->inner_done_at_timeout = weft_future_done(weft_task_future(inner));
  w->inner_cancelled = weft_future_cancelled(weft_task_future(inner));
  if (w->rc == 0)
    w->value = int_result(f);
  const char *message = weft_future_error_message(f);
  if (message != NULL)
    snprintf(w->message, sizeof w->message, "%s", message);
  weft_future_release(f);
  weft_await(weft_task_future(inner));
  weft_task_release(inner);
  return 0;
}

/* wait_for returns the awaitable's result when it finishes in time. */
WEFT_TEST(wait_for_result) {
  weft_loop_t *loop = new_loop();
  wait_for_case_t w = {.c = {.delay = 0.01, .value = 42}, .timeout = 3600};
  ASSERT_OK(run_main(loop, wait_for_main, &w));
  ASSERT_OK(w.rc);
  ASSERT_EQ(w.value, 42);
  weft_test_close_loop(loop);
}

/* An error of the awaitable propagates through wait_for, with its message. */
WEFT_TEST(wait_for_error_passthrough) {
  weft_loop_t *loop = new_loop();
  reports_t reports = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, &reports, NULL));
  wait_for_case_t w = {.c = {.delay = 0.01, .error = WEFT_EPIPE, .message = "broken"},
                       .timeout = 3600};
  ASSERT_OK(run_main(loop, wait_for_main, &w));
  ASSERT_CODE(w.rc, WEFT_EPIPE);
  ASSERT_STREQ(w.message, "broken");
  ASSERT_EQ(reports.calls, 0);
  weft_test_close_loop(loop);
}

/* On timeout, wait_for cancels the task, waits until it has really finished (its clean-up
 * included), then raises TimeoutError. */
WEFT_TEST(wait_for_timeout_cancels_inner) {
  weft_loop_t *loop = new_loop();
  wait_for_case_t w = {.c = {.delay = 3600, .cleanup = 0.03}, .timeout = 0.02};
  ASSERT_OK(run_main(loop, wait_for_main, &w));
  ASSERT_CODE(w.rc, WEFT_ETIMEDOUT);
  ASSERT_EQ(w.c.cancelled, 1);
  ASSERT_EQ(w.c.finished_cleanup, 1);
  ASSERT_EQ(w.inner_done_at_timeout, 1);
  ASSERT_EQ(w.inner_cancelled, 1);
  ASSERT_TRUE(w.elapsed >= 0.05);
  weft_test_close_loop(loop);
}

/* A timeout of 0 with a future already done gives its result; with one still pending it
 * times out and cancels it. */
WEFT_TEST(wait_for_zero_timeout) {
  weft_loop_t *loop = new_loop();
  weft_future_t *done, *pending, *f;
  ASSERT_OK(weft_future_new(loop, &done));
  ASSERT_OK(weft_future_set_result(done, weft_value_int(9)));
  ASSERT_OK(weft_wait_for(loop, done, 0, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  ASSERT_EQ(int_result(f), 9);
  weft_future_release(f);

  ASSERT_OK(weft_future_new(loop, &pending));
  ASSERT_OK(weft_wait_for(loop, pending, 0, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ETIMEDOUT);
  ASSERT_TRUE(weft_future_cancelled(pending));
  weft_future_release(f);
  weft_future_release(done);
  weft_future_release(pending);
  weft_test_close_loop(loop);
}

static void set_seven(void *arg) {
  ASSERT_OK(weft_future_set_result(arg, weft_value_int(7)));
}

static void block_loop(void *arg) {
  (void)arg;
  usleep(50 * 1000);
}

/* The future completes in the iteration its timeout expires, before the timer runs: its
 * result has not reached wait_for yet, and the timeout wins, as in asyncio 3.12 and later
 * (3.11 returned the result). Blocking the loop puts both deadlines in one iteration, in
 * deadline order. */
WEFT_TEST(wait_for_timeout_wins_over_result_not_yet_seen) {
  weft_loop_t *loop = new_loop();
  weft_future_t *inner, *f;
  ASSERT_OK(weft_future_new(loop, &inner));
  ASSERT_OK(weft_call_later(loop, 0.01, set_seven, inner, NULL));
  ASSERT_OK(weft_wait_for(loop, inner, 0.02, &f));
  ASSERT_OK(weft_call_soon(loop, block_loop, NULL, NULL));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ETIMEDOUT);
  ASSERT_TRUE(!weft_future_cancelled(inner));
  ASSERT_EQ(int_result(inner), 7);
  weft_future_release(f);
  weft_future_release(inner);
  weft_test_close_loop(loop);
}

/* An awaitable that swallows the timeout's cancellation and returns a value: wait_for
 * returns that value. */
WEFT_TEST(wait_for_inner_swallows_cancel) {
  weft_loop_t *loop = new_loop();
  wait_for_case_t w = {.c = {.delay = 10, .swallow = 1, .value = 5}, .timeout = 0.01};
  ASSERT_OK(run_main(loop, wait_for_main, &w));
  ASSERT_OK(w.rc);
  ASSERT_EQ(w.value, 5);
  ASSERT_EQ(w.c.cancelled, 1);
  weft_test_close_loop(loop);
}

/* An awaitable that answers the timeout's cancellation with an error of its own: that
 * error propagates, not TimeoutError. */
WEFT_TEST(wait_for_inner_fails_on_timeout) {
  weft_loop_t *loop = new_loop();
  wait_for_case_t w = {.c = {.delay = 10, .swallow = 1, .error = WEFT_EPIPE, .message = "late"},
                       .timeout = 0.01};
  ASSERT_OK(run_main(loop, wait_for_main, &w));
  ASSERT_CODE(w.rc, WEFT_EPIPE);
  ASSERT_STREQ(w.message, "late");
  weft_test_close_loop(loop);
}

static int wait_for_cancel_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_task_t *inner = spawn_child(weft_test_loop_of(self), c);
  weft_future_t *f;
  ASSERT_OK(weft_wait_for(weft_test_loop_of(self), weft_task_future(inner), 10, &f));
  ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb, self, NULL));
  ASSERT_CODE(weft_await(f), WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_cancelled(f));
  ASSERT_TRUE(weft_future_cancelled(weft_task_future(inner)));
  weft_future_release(f);
  weft_task_release(inner);
  return WEFT_ECANCELLED;
}

/* Cancelling the task in wait_for cancels the awaitable too. */
WEFT_TEST(wait_for_cancel_cancels_inner) {
  weft_loop_t *loop = new_loop();
  child_t c = {.delay = 10};
  ASSERT_CODE(run_main(loop, wait_for_cancel_main, &c), WEFT_ECANCELLED);
  ASSERT_EQ(c.cancelled, 1);
  weft_test_close_loop(loop);
}

/* A negative timeout means no timeout. */
WEFT_TEST(wait_for_no_timeout) {
  weft_loop_t *loop = new_loop();
  wait_for_case_t w = {.c = {.delay = 0.02, .value = 3}, .timeout = -1};
  ASSERT_OK(run_main(loop, wait_for_main, &w));
  ASSERT_OK(w.rc);
  ASSERT_EQ(w.value, 3);
  weft_test_close_loop(loop);
}

/* ---- shield --------------------------------------------------------------------------- */

static int shield_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_task_t *inner = spawn_child(weft_test_loop_of(self), c);
  weft_future_t *s;
  ASSERT_OK(weft_shield(weft_task_future(inner), &s));
  ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb, self, NULL));
  ASSERT_CODE(weft_await(s), WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_cancelled(s));
  ASSERT_TRUE(!weft_future_done(weft_task_future(inner)));
  ASSERT_EQ(weft_task_uncancel(self), 0);
  weft_future_release(s);
  if (c->error == 0) {
    ASSERT_OK(weft_await(weft_task_future(inner)));
    ASSERT_EQ(int_result(weft_task_future(inner)), c->value);
  } else {
    /* Let it fail without looking at its outcome. */
    while (!weft_future_done(weft_task_future(inner)))
      ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  }
  weft_task_release(inner);
  return 0;
}

/* Cancelling a shield leaves the shielded task running to its result. */
WEFT_TEST(shield_outer_cancel_inner_runs) {
  weft_loop_t *loop = new_loop();
  child_t c = {.delay = 0.03, .value = 11};
  ASSERT_OK(run_main(loop, shield_main, &c));
  ASSERT_EQ(c.cancelled, 0);
  weft_test_close_loop(loop);
}

/* Once the shield was cancelled, the inner task's later error is not reported as an
 * exception nobody retrieved (asyncio marks it retrieved). */
WEFT_TEST(shield_inner_error_after_cancel_not_reported) {
  weft_loop_t *loop = new_loop();
  reports_t reports = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, &reports, NULL));
  child_t c = {.delay = 0.03, .error = WEFT_EIO};
  ASSERT_OK(run_main(loop, shield_main, &c));
  ASSERT_EQ(c.cancelled, 0);
  ASSERT_EQ(reports.calls, 0);
  weft_test_close_loop(loop);
}

static int shield_error_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_task_t *inner = spawn_child(weft_test_loop_of(self), c);
  weft_future_t *s;
  ASSERT_OK(weft_shield(weft_task_future(inner), &s));
  ASSERT_CODE(weft_await(s), WEFT_EPIPE);
  ASSERT_STREQ(weft_future_error_message(s), "pipe gone");
  weft_future_release(s);
  weft_task_release(inner);
  return 0;
}

/* The shield takes on the inner task's error, message included. */
WEFT_TEST(shield_inner_error_mirrored) {
  weft_loop_t *loop = new_loop();
  reports_t reports = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, &reports, NULL));
  child_t c = {.delay = 0.01, .error = WEFT_EPIPE, .message = "pipe gone"};
  ASSERT_OK(run_main(loop, shield_error_main, &c));
  ASSERT_EQ(reports.calls, 0);
  weft_test_close_loop(loop);
}

/* A shield of a done future is done at once; cancelling the inner cancels the shield. */
WEFT_TEST(shield_done_and_inner_cancelled) {
  weft_loop_t *loop = new_loop();
  weft_future_t *f, *s;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_set_result(f, weft_value_int(4)));
  ASSERT_OK(weft_shield(f, &s));
  ASSERT_TRUE(weft_future_done(s));
  ASSERT_EQ(int_result(s), 4);
  weft_future_release(s);
  weft_future_release(f);

  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_shield(f, &s));
  ASSERT_EQ(weft_future_cancel(f, NULL), 1);
  ASSERT_CODE(weft_loop_run_until_complete(loop, s), WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_cancelled(s));
  weft_future_release(s);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

/* ---- as_completed --------------------------------------------------------------------- */

static int as_completed_main(weft_task_t *self, void *arg) {
  trio_t *t = arg;
  weft_future_t *fs[3];
  double now = weft_loop_time(weft_test_loop_of(self));
  for (int i = 0; i < 3; i++) {
    t->c[i].until = now + t->c[i].delay; /* timers fire in deadline order, even late ones */
    fs[i] = weft_task_future(spawn_child(weft_test_loop_of(self), &t->c[i]));
  }
  weft_as_completed_t *it;
  ASSERT_OK(weft_as_completed_new(weft_test_loop_of(self), fs, 3, -1, &it));
  for (int i = 0; i < 3; i++) {
    weft_future_t *next;
    ASSERT_OK(weft_as_completed_next(it, &next));
    ASSERT_OK(weft_await(next));
    const weft_value_t *v;
    ASSERT_OK(weft_future_result(next, &v));
    ASSERT_EQ(v->type, WEFT_VALUE_FUTURE);
    t->order[t->order_len++] = (int)int_result(v->ptr);
    weft_future_release(next);
  }
  weft_future_t *none = (weft_future_t *)&none;
  ASSERT_CODE(weft_as_completed_next(it, &none), WEFT_EEOF);
  ASSERT_TRUE(none == NULL);
  weft_as_completed_free(it);
  for (int i = 0; i < 3; i++)
    weft_future_release(fs[i]);
  return 0;
}

/* as_completed hands out the inputs in the order they complete, then is exhausted. */
WEFT_TEST(as_completed_order) {
  weft_loop_t *loop = new_loop();
  trio_t t = {
      .c = {{.delay = 0.15, .value = 1}, {.delay = 0.05, .value = 2}, {.delay = 0.10, .value = 3}}};
  ASSERT_OK(run_main(loop, as_completed_main, &t));
  ASSERT_EQ(t.order_len, 3);
  ASSERT_EQ(t.order[0], 2);
  ASSERT_EQ(t.order[1], 3);
  ASSERT_EQ(t.order[2], 1);
  weft_test_close_loop(loop);
}

static int as_completed_timeout_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_future_t *fs[3];
  for (int i = 0; i < 3; i++)
    fs[i] = weft_task_future(spawn_child(weft_test_loop_of(self), &c[i]));
  weft_as_completed_t *it;
  ASSERT_OK(weft_as_completed_new(weft_test_loop_of(self), fs, 3, 0.2, &it));
  weft_future_t *next;
  ASSERT_OK(weft_as_completed_next(it, &next));
  ASSERT_OK(weft_await(next));
  weft_future_release(next);
  /* The next one is pending when the timeout passes. */
  ASSERT_OK(weft_as_completed_next(it, &next));
  ASSERT_CODE(weft_await(next), WEFT_ETIMEDOUT);
  weft_future_release(next);
  /* And the remaining one times out at once. */
  ASSERT_OK(weft_as_completed_next(it, &next));
  ASSERT_TRUE(weft_future_done(next));
  ASSERT_CODE(weft_await(next), WEFT_ETIMEDOUT);
  weft_future_release(next);
  ASSERT_CODE(weft_as_completed_next(it, &next), WEFT_EEOF);
  weft_as_completed_free(it);
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(!weft_future_done(fs[i]) == (i != 0));
    weft_task_cancel(weft_task_from_future(fs[i]), NULL);
    weft_await(fs[i]);
    weft_future_release(fs[i]);
  }
  return 0;
}

/* After the timeout, every input not handed out yet gives TimeoutError. */
WEFT_TEST(as_completed_timeout) {
  weft_loop_t *loop = new_loop();
  child_t c[3] = {{.delay = 0.01}, {.delay = 10}, {.delay = 10}};
  ASSERT_OK(run_main(loop, as_completed_timeout_main, c));
  weft_test_close_loop(loop);
}

static int as_completed_late_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = weft_test_loop_of(self);
  weft_future_t *fs[2], *next;
  ASSERT_OK(weft_future_new(loop, &fs[0]));
  ASSERT_OK(weft_future_new(loop, &fs[1]));
  weft_as_completed_t *it;
  ASSERT_OK(weft_as_completed_new(loop, fs, 2, 0.01, &it));
  ASSERT_OK(weft_as_completed_next(it, &next));
  ASSERT_CODE(weft_await(next), WEFT_ETIMEDOUT);
  weft_future_release(next);
  /* An input completing after the timeout is not handed out: asyncio stops listening to
   * the inputs when the timeout passes. */
  ASSERT_OK(weft_future_set_result(fs[0], weft_value_none()));
  ASSERT_OK(weft_sleep_await(loop, 0));
  ASSERT_OK(weft_as_completed_next(it, &next));
  ASSERT_CODE(weft_await(next), WEFT_ETIMEDOUT);
  weft_future_release(next);
  ASSERT_CODE(weft_as_completed_next(it, &next), WEFT_EEOF);
  weft_as_completed_free(it);
  weft_future_cancel(fs[1], NULL);
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
  return 0;
}

/* After the timeout, inputs that complete later still give TimeoutError. */
WEFT_TEST(as_completed_timeout_then_completion) {
  weft_loop_t *loop = new_loop();
  ASSERT_OK(run_main(loop, as_completed_late_main, NULL));
  weft_test_close_loop(loop);
}

/* No inputs: exhausted at once. */
WEFT_TEST(as_completed_empty) {
  weft_loop_t *loop = new_loop();
  weft_as_completed_t *it;
  ASSERT_OK(weft_as_completed_new(loop, NULL, 0, 1, &it));
  weft_future_t *next;
  ASSERT_CODE(weft_as_completed_next(it, &next), WEFT_EEOF);
  weft_as_completed_free(it);
  weft_test_close_loop(loop);
}

/* Freeing the iterator before everything completed leaves nothing behind: the pending
 * next() future is cancelled, callbacks on the inputs are gone. */
WEFT_TEST(as_completed_free_early) {
  weft_loop_t *loop = new_loop();
  weft_future_t *fs[2], *next, *later;
  ASSERT_OK(weft_future_new(loop, &fs[0]));
  ASSERT_OK(weft_future_new(loop, &fs[1]));
  weft_as_completed_t *it;
  ASSERT_OK(weft_as_completed_new(loop, fs, 2, 10, &it));
  ASSERT_OK(weft_as_completed_next(it, &next));
  ASSERT_TRUE(!weft_future_done(next));
  weft_as_completed_free(it);
  ASSERT_TRUE(weft_future_cancelled(next));
  weft_future_release(next);
  ASSERT_OK(weft_future_set_result(fs[0], weft_value_none()));
  ASSERT_OK(weft_future_set_result(fs[1], weft_value_none()));
  ASSERT_OK(weft_sleep(loop, 0.01, &later));
  ASSERT_OK(weft_loop_run_until_complete(loop, later));
  weft_future_release(later);
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
  weft_test_close_loop(loop);
}

/* Even when an input's completion is already scheduled as the iterator is freed. */
WEFT_TEST(as_completed_free_with_completion_scheduled) {
  weft_loop_t *loop = new_loop();
  weft_future_t *fs[2], *later;
  ASSERT_OK(weft_future_new(loop, &fs[0]));
  ASSERT_OK(weft_future_new(loop, &fs[1]));
  weft_as_completed_t *it;
  ASSERT_OK(weft_as_completed_new(loop, fs, 2, -1, &it));
  ASSERT_OK(weft_future_set_result(fs[0], weft_value_none()));
  weft_as_completed_free(it);
  ASSERT_OK(weft_sleep(loop, 0.01, &later));
  ASSERT_OK(weft_loop_run_until_complete(loop, later));
  weft_future_release(later);
  weft_future_release(fs[0]);
  weft_future_release(fs[1]);
  weft_test_close_loop(loop);
}

/* ---- NULL arguments ------------------------------------------------------------------- */

WEFT_TEST(null_arguments) {
  weft_loop_t *loop = new_loop();
  weft_future_t *f = (weft_future_t *)&f, *in;
  ASSERT_OK(weft_future_new(loop, &in));
  ASSERT_CODE(weft_sleep_await(NULL, 0), WEFT_EINVAL);
  ASSERT_CODE(weft_sleep_await(loop, NAN), WEFT_EINVAL);
  ASSERT_CODE(weft_sleep(NULL, 1, &f), WEFT_EINVAL);
  ASSERT_TRUE(f == NULL);
  ASSERT_CODE(weft_sleep(loop, 1, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_sleep(loop, NAN, &f), WEFT_EINVAL);

  weft_future_t *with_null[2] = {in, NULL};
  ASSERT_CODE(weft_gather(NULL, &in, 1, 0, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_gather(loop, NULL, 1, 0, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_gather(loop, with_null, 2, 0, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_gather(loop, &in, 1, 0, NULL), WEFT_EINVAL);

  ASSERT_CODE(weft_wait(NULL, &in, 1, WEFT_ALL_COMPLETED, -1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait(loop, NULL, 1, WEFT_ALL_COMPLETED, -1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait(loop, with_null, 2, WEFT_ALL_COMPLETED, -1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait(loop, &in, 1, WEFT_ALL_COMPLETED, -1, NULL), WEFT_EINVAL);

  ASSERT_CODE(weft_wait_for(NULL, in, 1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait_for(loop, NULL, 1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait_for(loop, in, NAN, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_wait_for(loop, in, 1, NULL), WEFT_EINVAL);

  ASSERT_CODE(weft_shield(NULL, &f), WEFT_EINVAL);
  ASSERT_TRUE(f == NULL);
  ASSERT_CODE(weft_shield(in, NULL), WEFT_EINVAL);

  weft_as_completed_t *it = (weft_as_completed_t *)&it;
  ASSERT_CODE(weft_as_completed_new(NULL, &in, 1, -1, &it), WEFT_EINVAL);
  ASSERT_TRUE(it == NULL);
  ASSERT_CODE(weft_as_completed_new(loop, NULL, 1, -1, &it), WEFT_EINVAL);
  ASSERT_CODE(weft_as_completed_new(loop, with_null, 2, -1, &it), WEFT_EINVAL);
  ASSERT_CODE(weft_as_completed_new(loop, &in, 1, NAN, &it), WEFT_EINVAL);
  ASSERT_CODE(weft_as_completed_new(loop, &in, 1, -1, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_as_completed_next(NULL, &f), WEFT_EINVAL);
  ASSERT_OK(weft_as_completed_new(loop, &in, 1, -1, &it));
  ASSERT_CODE(weft_as_completed_next(it, NULL), WEFT_EINVAL);
  weft_as_completed_free(it);
  weft_as_completed_free(NULL);

  weft_future_release(in);
  weft_test_close_loop(loop);
}

/* A sleep's scheduled call holds a reference to its future. A loop closed before the call
 * ran lets go of it: valgrind and ASan check that the futures (and so the loop, which each
 * live future holds) are freed. sleep(0) waits in the ready queue, a longer sleep on a
 * timer; both with a done callback, which the close drops unrun. */
static void never_called(weft_future_t *f, void *arg) {
  (void)f;
  (void)arg;
  WEFT_FAIL_AT("a done callback ran after its loop closed");
}

static void close_with_a_sleep_pending(double seconds) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_sleep(loop, seconds, &f));
  ASSERT_OK(weft_future_add_done_callback(f, never_called, NULL));
  weft_future_release(f);
  weft_test_close_loop(loop);
}

WEFT_TEST(loop_close_before_a_yield_runs) {
  close_with_a_sleep_pending(0);
}

WEFT_TEST(loop_close_with_a_sleep_pending) {
  close_with_a_sleep_pending(3600);
}
