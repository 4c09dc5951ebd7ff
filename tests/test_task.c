/* Tasks: stackful and step-driven, awaiting, outcomes, cancellation as asyncio's Task. */
#include "weft_test.h"

static void complete_int(void *arg) {
  weft_future_set_result(arg, weft_value_int(5));
}

static int returns_value(weft_task_t *self, void *arg) {
  weft_loop_t *loop = arg;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_call_soon(loop, complete_int, f, NULL));
  ASSERT_OK(weft_await(f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  int64_t got = v->i;
  weft_future_release(f);
  return weft_task_return(self, weft_value_int(got * 2));
}

WEFT_TEST(stackful_task_result) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, returns_value, loop, NULL, &t));
  ASSERT_EQ(weft_all_tasks(loop, NULL, 0), 1);
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(weft_task_future(t), &v));
  ASSERT_EQ(v->i, 10);
  ASSERT_EQ(weft_all_tasks(loop, NULL, 0), 0);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

static void fail_future(void *arg) {
  weft_future_set_error(arg, WEFT_ECONNREFUSED, "nobody listens", NULL, NULL);
}

static int propagates_error(weft_task_t *self, void *arg) {
  (void)self;
  weft_loop_t *loop = arg;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_call_soon(loop, fail_future, f, NULL));
  int rc = weft_await(f);
  weft_future_release(f);
  return rc; /* like an exception left to propagate */
}

WEFT_TEST(error_propagates_with_message) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, propagates_error, loop, NULL, &t));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_ECONNREFUSED);
  ASSERT_STREQ(weft_future_error_message(weft_task_future(t)), "nobody listens");
  weft_task_release(t);
  weft_test_close_loop(loop);
}

static int fails_explicitly(weft_task_t *self, void *arg) {
  (void)arg;
  static int payload;
  return weft_task_fail(self, WEFT_EPROTO, "bad frame", &payload, NULL);
}

WEFT_TEST(explicit_failure) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, fails_explicitly, NULL, NULL, &t));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_EPROTO);
  ASSERT_STREQ(weft_future_error_message(weft_task_future(t)), "bad frame");
  ASSERT_TRUE(weft_future_error_payload(weft_task_future(t)) != NULL);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

typedef struct {
  weft_loop_t *loop;
  weft_future_t *waiting_on;
  int await_rc;
  int after_catch;
  int catch_and_continue;
} sleeper_t;

static int sleeper(weft_task_t *self, void *arg) {
  sleeper_t *s = arg;
  ASSERT_OK(weft_future_new(s->loop, &s->waiting_on));
  s->await_rc = weft_await(s->waiting_on);
  if (s->await_rc == WEFT_ECANCELLED && s->catch_and_continue) {
    ASSERT_EQ(weft_task_cancelling(self), 1);
    ASSERT_EQ(weft_task_uncancel(self), 0);
    /* Handled: the task goes on and may await again. */
    ASSERT_OK(weft_sleep_await(s->loop, 0));
    s->after_catch = 1;
    return weft_task_return(self, weft_value_int(1));
  }
  return s->await_rc;
}

static void cancel_task(void *arg) {
  ASSERT_EQ(weft_task_cancel(arg, "stop now"), 1);
}

WEFT_TEST(cancel_while_awaiting) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  sleeper_t s = {.loop = loop};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, sleeper, &s, NULL, &t));
  ASSERT_OK(weft_call_later(loop, 0.005, cancel_task, t, NULL));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_ECANCELLED);
  ASSERT_CODE(s.await_rc, WEFT_ECANCELLED);
  /* The awaited future was cancelled with the message; so is the task. */
  ASSERT_TRUE(weft_future_cancelled(s.waiting_on));
  ASSERT_STREQ(weft_future_error_message(s.waiting_on), "stop now");
  ASSERT_TRUE(weft_future_cancelled(weft_task_future(t)));
  ASSERT_STREQ(weft_future_error_message(weft_task_future(t)), "stop now");
  ASSERT_EQ(weft_task_cancel(t, NULL), 0); /* done: nothing to cancel */
  weft_future_release(s.waiting_on);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

WEFT_TEST(cancellation_can_be_handled) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  sleeper_t s = {.loop = loop, .catch_and_continue = 1};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, sleeper, &s, NULL, &t));
  ASSERT_OK(weft_call_later(loop, 0.005, cancel_task, t, NULL));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  ASSERT_EQ(s.after_catch, 1);
  ASSERT_TRUE(!weft_future_cancelled(weft_task_future(t)));
  weft_future_release(s.waiting_on);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

static int g_body_ran;
static int marks_ran(weft_task_t *self, void *arg) {
  (void)self;
  (void)arg;
  g_body_ran = 1;
  return 0;
}

WEFT_TEST(cancelled_before_start_never_runs) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_body_ran = 0;
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, marks_ran, NULL, NULL, &t));
  ASSERT_EQ(weft_task_cancel(t, NULL), 1);
  ASSERT_EQ(weft_task_cancelling(t), 1);
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_ECANCELLED);
  ASSERT_EQ(g_body_ran, 0);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

/* A task that cancels itself is not interrupted until its next suspension point, and an
 * already-done future awaited meanwhile is no suspension point. */
static int cancels_itself(weft_task_t *self, void *arg) {
  weft_loop_t *loop = arg;
  ASSERT_EQ(weft_task_cancel(self, NULL), 1);
  weft_future_t *done;
  ASSERT_OK(weft_future_new(loop, &done));
  ASSERT_OK(weft_future_set_result(done, weft_value_none()));
  ASSERT_OK(weft_await(done));
  weft_future_release(done);
  ASSERT_CODE(weft_sleep_await(loop, 0), WEFT_ECANCELLED);
  return WEFT_ECANCELLED;
}

WEFT_TEST(self_cancel_hits_next_suspension) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, cancels_itself, loop, NULL, &t));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_ECANCELLED);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

/* Returning normally after a cancellation request that nothing delivered still ends
 * cancelled, as asyncio's Task does. */
static int returns_despite_cancel(weft_task_t *self, void *arg) {
  (void)arg;
  weft_task_cancel(self, "late");
  return 0;
}

WEFT_TEST(result_after_undelivered_cancel_is_cancelled) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, returns_despite_cancel, NULL, NULL, &t));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_ECANCELLED);
  ASSERT_STREQ(weft_future_error_message(weft_task_future(t)), "late");
  weft_task_release(t);
  weft_test_close_loop(loop);
}

WEFT_TEST(uncancel_clears_pending_request) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, marks_ran, NULL, NULL, &t));
  g_body_ran = 0;
  ASSERT_EQ(weft_task_cancel(t, NULL), 1);
  ASSERT_EQ(weft_task_cancel(t, NULL), 1);
  ASSERT_EQ(weft_task_cancelling(t), 2);
  ASSERT_EQ(weft_task_uncancel(t), 1);
  ASSERT_EQ(weft_task_uncancel(t), 0);
  ASSERT_EQ(weft_task_uncancel(t), 0);
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  ASSERT_EQ(g_body_ran, 1);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

/* asyncio's Task fails the await of another loop's pending future with RuntimeError
 * ("... attached to a different loop") and lets it have a done one's outcome. */
static int await_other_loops_futures(weft_task_t *self, void *arg) {
  weft_future_t **other = arg;
  ASSERT_CODE(weft_await(other[0]), WEFT_EWRONGLOOP);
  weft_loop_t *other_loop = weft_future_loop(other[0]);
  ASSERT_CODE(weft_sleep_await(other_loop, 0.1), WEFT_EWRONGLOOP);
  ASSERT_CODE(weft_sleep_await(other_loop, 0), WEFT_EWRONGLOOP);
  weft_event_t *event;
  ASSERT_OK(weft_event_new(other_loop, &event));
  ASSERT_CODE(weft_event_wait_await(event), WEFT_EWRONGLOOP);
  weft_event_release(event);
  ASSERT_OK(weft_await(other[1]));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(other[1], &v));
  ASSERT_EQ(v->i, 5);
  /* The task's own loop still works after the refusals. */
  ASSERT_OK(weft_sleep_await(weft_future_loop(weft_task_future(self)), 0));
  return 0;
}

WEFT_TEST(await_future_of_another_loop) {
  weft_loop_t *mine, *other;
  ASSERT_OK(weft_loop_new(&mine));
  ASSERT_OK(weft_loop_new(&other));
  weft_future_t *futures[2];
  ASSERT_OK(weft_future_new(other, &futures[0]));
  ASSERT_OK(weft_future_new(other, &futures[1]));
  ASSERT_OK(weft_future_set_result(futures[1], weft_value_int(5)));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(mine, await_other_loops_futures, futures, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(mine, weft_task_future(t)));
  /* Outside any task it is still the plain refusal. */
  ASSERT_CODE(weft_await(futures[0]), WEFT_ENOTINTASK);
  ASSERT_STREQ(weft_err_name(WEFT_EWRONGLOOP), "WEFT_EWRONGLOOP");
  weft_task_release(t);
  weft_future_release(futures[0]);
  weft_future_release(futures[1]);
  weft_test_close_loop(other);
  weft_test_close_loop(mine);
}

WEFT_TEST(await_outside_task) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_CODE(weft_await(f), WEFT_ENOTINTASK);
  ASSERT_CODE(weft_sleep_await(loop, 0), WEFT_ENOTINTASK);
  ASSERT_CODE(weft_sleep_await(loop, 0.1), WEFT_ENOTINTASK);
  ASSERT_CODE(weft_await(NULL), WEFT_EINVAL);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

static int awaits_itself(weft_task_t *self, void *arg) {
  (void)arg;
  ASSERT_CODE(weft_await(weft_task_future(self)), WEFT_EINVAL);
  ASSERT_CODE(weft_future_set_result(weft_task_future(self), weft_value_none()), WEFT_EINVAL);
  return 0;
}

WEFT_TEST(task_cannot_await_or_complete_itself_as_future) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, awaits_itself, NULL, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  weft_test_close_loop(loop);
}

typedef struct {
  weft_loop_t *loop;
  weft_task_t *seen;
  char order[8];
  int n;
} current_t;

static int checks_current(weft_task_t *self, void *arg) {
  current_t *c = arg;
  c->seen = weft_current_task(c->loop);
  ASSERT_PTR_EQ(c->seen, self);
  return 0;
}

WEFT_TEST(current_task_and_names) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  current_t c = {.loop = loop};
  weft_task_t *a, *b;
  weft_task_options_t named = {.size = sizeof named, .name = "worker"};
  ASSERT_OK(weft_task_spawn(loop, checks_current, &c, NULL, &a));
  ASSERT_OK(weft_task_spawn(loop, checks_current, &c, &named, &b));
  ASSERT_TRUE(strncmp(weft_task_name(a), "Task-", 5) == 0);
  ASSERT_STREQ(weft_task_name(b), "worker");
  ASSERT_OK(weft_task_set_name(a, "renamed"));
  ASSERT_STREQ(weft_task_name(a), "renamed");
  weft_task_t *all[4];
  ASSERT_EQ(weft_all_tasks(loop, all, 4), 2);
  ASSERT_TRUE((all[0] == a && all[1] == b) || (all[0] == b && all[1] == a));
  ASSERT_TRUE(weft_current_task(loop) == NULL);
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(b)));
  ASSERT_PTR_EQ(weft_task_from_future(weft_task_future(a)), a);
  weft_future_t *plain;
  ASSERT_OK(weft_future_new(loop, &plain));
  ASSERT_TRUE(weft_task_from_future(plain) == NULL);
  weft_future_release(plain);
  weft_task_release(a);
  weft_task_release(b);
  weft_test_close_loop(loop);
}

static int appends_letter(weft_task_t *self, void *arg) {
  (void)self;
  current_t *c = arg;
  c->order[c->n++] = 'E';
  weft_sleep_await(c->loop, 0);
  c->order[c->n++] = 'e';
  return 0;
}

static int spawns_eager(weft_task_t *self, void *arg) {
  (void)self;
  current_t *c = arg;
  weft_task_options_t eager = {.size = sizeof eager, .eager_start = 1};
  weft_task_t *child;
  c->order[c->n++] = 'a';
  ASSERT_OK(weft_task_spawn(c->loop, appends_letter, c, &eager, &child));
  /* The child ran up to its first suspension inside spawn, on the spawner's behalf. */
  c->order[c->n++] = 'b';
  ASSERT_PTR_EQ(weft_current_task(c->loop), self);
  ASSERT_OK(weft_await(weft_task_future(child)));
  weft_task_release(child);
  return 0;
}

WEFT_TEST(eager_start) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  current_t c = {.loop = loop};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, spawns_eager, &c, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  ASSERT_EQ(c.n, 4);
  ASSERT_TRUE(memcmp(c.order, "aEbe", 4) == 0);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

static int recurse(int depth) {
  volatile char pad[512];
  pad[0] = (char)depth;
  return depth == 0 ? pad[0] : recurse(depth - 1) + 1;
}

static int deep(weft_task_t *self, void *arg) {
  (void)self;
  return recurse((int)(intptr_t)arg) > 0 ? 0 : WEFT_EINVAL;
}

WEFT_TEST(stack_size_option) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_options_t big = {.size = sizeof big, .stack_size = 4 * 1024 * 1024};
  weft_task_t *t;
  /* About 2 MiB of frames: more than the default stack, well inside the requested one. */
  ASSERT_OK(weft_task_spawn(loop, deep, (void *)(intptr_t)3000, &big, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  weft_test_close_loop(loop);
}

static int g_finished;
static int short_task(weft_task_t *self, void *arg) {
  (void)self;
  if (arg != NULL)
    weft_sleep_await(arg, 0);
  g_finished++;
  return 0;
}

WEFT_TEST(many_tasks) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_finished = 0;
  enum { N = 10000 };
  for (int i = 0; i < N; i++)
    ASSERT_OK(weft_task_spawn(loop, short_task, i % 2 ? loop : NULL, NULL, NULL));
  weft_future_t *sleep;
  ASSERT_OK(weft_sleep(loop, 0.01, &sleep));
  ASSERT_OK(weft_loop_run_until_complete(loop, sleep));
  weft_future_release(sleep);
  ASSERT_EQ(g_finished, N);
  weft_test_close_loop(loop);
}

typedef struct {
  int calls;
  char message[96];
} report_t;

static void capture_report(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop;
  report_t *r = arg;
  r->calls++;
  snprintf(r->message, sizeof r->message, "%s", ctx->message);
  ASSERT_TRUE(ctx->task != NULL);
}

static weft_future_t *g_never;

static int waits_forever(weft_task_t *self, void *arg) {
  (void)self;
  ASSERT_OK(weft_future_new(arg, &g_never));
  return weft_await(g_never);
}

WEFT_TEST(pending_task_reported_at_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  report_t r = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, capture_report, &r, NULL));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, waits_forever, loop, NULL, &t));
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(r.calls, 1);
  ASSERT_STREQ(r.message, "Task was destroyed but it is pending!");
  ASSERT_TRUE(!weft_future_done(weft_task_future(t)));
  weft_task_release(t);
  /* The abandoned stack is never unwound, so what the body held is the owner's to free. */
  weft_future_release(g_never);
  weft_loop_release(loop);
}

WEFT_TEST(unretrieved_task_error_reported) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  report_t r = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, capture_report, &r, NULL));
  ASSERT_OK(weft_task_spawn(loop, fails_explicitly, NULL, NULL, NULL));
  weft_future_t *sleep;
  ASSERT_OK(weft_sleep(loop, 0.005, &sleep));
  ASSERT_OK(weft_loop_run_until_complete(loop, sleep));
  weft_future_release(sleep);
  ASSERT_EQ(r.calls, 1);
  ASSERT_STREQ(r.message, "Task exception was never retrieved");
  weft_test_close_loop(loop);
}

/* ---- Step-driven tasks ---------------------------------------------------------------- */

typedef struct {
  weft_loop_t *loop;
  int steps;
  weft_future_t *awaited;
  int throws_seen;
  int mode; /* 0: await twice then return; 1: never end a step properly */
} stepper_t;

static void stepper(weft_task_t *task, int throw_code, void *arg) {
  stepper_t *s = arg;
  s->steps++;
  if (s->mode == 1)
    return; /* neither suspends nor finishes: a binding bug the core must catch */
  if (throw_code == WEFT_ECANCELLED) {
    s->throws_seen++;
    weft_task_fail(task, WEFT_ECANCELLED, NULL, NULL, NULL);
    return;
  }
  if (s->awaited != NULL) {
    /* Like asyncio's __wakeup: the awaited outcome is sent in, a cancellation thrown. */
    ASSERT_TRUE(weft_future_done(s->awaited));
    int cancelled = weft_future_cancelled(s->awaited);
    weft_future_release(s->awaited);
    s->awaited = NULL;
    if (cancelled) {
      s->throws_seen++;
      weft_task_fail(task, WEFT_ECANCELLED, NULL, NULL, NULL);
      return;
    }
  }
  if (s->steps <= 2) {
    ASSERT_OK(weft_future_new(s->loop, &s->awaited));
    ASSERT_OK(weft_call_soon(s->loop, complete_int, s->awaited, NULL));
    ASSERT_OK(weft_task_suspend(task, s->awaited));
    ASSERT_CODE(weft_task_suspend(task, NULL), WEFT_EINVALIDSTATE); /* once per step */
  } else if (s->steps == 3) {
    ASSERT_OK(weft_task_suspend(task, NULL)); /* a bare yield */
  } else {
    ASSERT_OK(weft_task_return(task, weft_value_int(s->steps)));
  }
}

WEFT_TEST(stepped_task_runs_to_result) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  stepper_t s = {.loop = loop};
  weft_task_t *t;
  ASSERT_OK(weft_task_new_stepped(loop, stepper, &s, NULL, NULL, &t));
  ASSERT_EQ(s.steps, 0); /* the first step comes from the loop */
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(weft_task_future(t), &v));
  ASSERT_EQ(v->i, 4);
  ASSERT_CODE(weft_task_suspend(t, NULL), WEFT_EINVALIDSTATE); /* outside its step */
  weft_task_release(t);
  weft_test_close_loop(loop);
}

WEFT_TEST(stepped_task_cancellation_thrown_in) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  stepper_t s = {.loop = loop};
  weft_task_t *t;
  ASSERT_OK(weft_task_new_stepped(loop, stepper, &s, NULL, NULL, &t));
  ASSERT_OK(weft_loop_run_once(loop, 1)); /* first step: now awaiting a future */
  ASSERT_EQ(s.steps, 1);
  ASSERT_PTR_EQ(weft_task_awaiting(t), s.awaited);
  /* cancel() cancels the awaited future; the wake-up delivers that to the step. */
  ASSERT_EQ(weft_task_cancel(t, NULL), 1);
  ASSERT_TRUE(weft_future_cancelled(s.awaited));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_ECANCELLED);
  ASSERT_EQ(s.throws_seen, 1);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

WEFT_TEST(stepped_task_cancel_before_first_step) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  stepper_t s = {.loop = loop};
  weft_task_t *t;
  ASSERT_OK(weft_task_new_stepped(loop, stepper, &s, NULL, NULL, &t));
  ASSERT_EQ(weft_task_cancel(t, NULL), 1);
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_ECANCELLED);
  ASSERT_EQ(s.steps, 1);
  ASSERT_EQ(s.throws_seen, 1); /* thrown into the very first step */
  weft_task_release(t);
  weft_test_close_loop(loop);
}

WEFT_TEST(stepped_task_step_must_end_properly) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  stepper_t s = {.loop = loop, .mode = 1};
  weft_task_t *t;
  ASSERT_OK(weft_task_new_stepped(loop, stepper, &s, NULL, NULL, &t));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_EINVALIDSTATE);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

/* A binding whose coroutine stops between steps (a JS async function settling in a
 * microtask) ends its task then, not from a later step. */
typedef struct {
  weft_task_t *task;
  weft_future_t *gate;
  int steps;
  int frees;
  int order[4];
  int norder;
  int end_rc;
  int mode; /* what ends the task between steps: 0 result, 1 error */
} gated_t;

static void gated_step(weft_task_t *task, int throw_code, void *arg) {
  gated_t *g = arg;
  (void)throw_code;
  if (g->steps++ == 0) {
    ASSERT_OK(weft_task_suspend(task, g->gate));
    return;
  }
  weft_task_fail(task, WEFT_EINVALIDSTATE, "stepped after it ended", NULL, NULL);
}

static void gated_free(void *arg) {
  ((gated_t *)arg)->frees++;
}

static void gated_note_done(weft_future_t *f, void *arg) {
  (void)f;
  gated_t *g = arg;
  g->order[g->norder++] = 2;
}

static void gated_note_soon(void *arg) {
  gated_t *g = arg;
  g->order[g->norder++] = 3;
}

/* Runs on the loop's stack, outside any step: the coroutine has just stopped. */
static void gated_end(void *arg) {
  gated_t *g = arg;
  ASSERT_TRUE(!weft_future_done(weft_task_future(g->task)));
  if (g->mode == 0)
    g->end_rc = weft_task_return(g->task, weft_value_int(42));
  else
    g->end_rc = weft_task_fail(g->task, WEFT_EIO, "stopped", NULL, NULL);
  /* Done now, in this iteration; its done callbacks queue as from a step's end. */
  ASSERT_TRUE(weft_future_done(weft_task_future(g->task)));
  g->order[g->norder++] = 1;
  ASSERT_OK(weft_call_soon(weft_future_loop(g->gate), gated_note_soon, g, NULL));
}

static void gated_start(weft_loop_t *loop, gated_t *g, int watch) {
  ASSERT_OK(weft_future_new(loop, &g->gate));
  ASSERT_OK(weft_task_new_stepped(loop, gated_step, g, gated_free, NULL, &g->task));
  ASSERT_OK(weft_loop_run_once(loop, 1)); /* first step: now waiting on the gate */
  ASSERT_EQ(g->steps, 1);
  if (watch)
    ASSERT_OK(weft_future_add_done_callback(weft_task_future(g->task), gated_note_done, g));
}

WEFT_TEST(stepped_task_ends_between_steps) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  for (int mode = 0; mode < 2; mode++) {
    gated_t g = {.mode = mode};
    gated_start(loop, &g, 1);
    ASSERT_OK(weft_call_soon(loop, gated_end, &g, NULL));
    ASSERT_OK(weft_loop_run_once(loop, 1));
    ASSERT_EQ(g.end_rc, mode == 0 ? 0 : WEFT_EIO);
    ASSERT_EQ(g.frees, 1); /* no step can follow: arg goes at once */
    ASSERT_OK(weft_loop_run_once(loop, 0));
    ASSERT_EQ(g.norder, 3);
    ASSERT_EQ(g.order[0], 1);
    ASSERT_EQ(g.order[1], 2); /* the done callback was queued before what ran after */
    ASSERT_EQ(g.order[2], 3);
    weft_future_t *f = weft_task_future(g.task);
    if (mode == 0) {
      const weft_value_t *v;
      ASSERT_OK(weft_future_result(f, &v));
      ASSERT_EQ(v->i, 42);
    } else {
      ASSERT_CODE(weft_future_error(f), WEFT_EIO);
      ASSERT_STREQ(weft_future_error_message(f), "stopped");
    }
    ASSERT_EQ(weft_all_tasks(loop, NULL, 0), 0);
    /* The gate no longer wakes it; ending it twice is refused. */
    ASSERT_OK(weft_future_set_result(g.gate, weft_value_none()));
    ASSERT_OK(weft_loop_run_once(loop, 0));
    ASSERT_EQ(g.steps, 1);
    ASSERT_CODE(weft_task_return(g.task, weft_value_int(1)), WEFT_EINVALIDSTATE);
    ASSERT_CODE(weft_task_fail(g.task, WEFT_EIO, NULL, NULL, NULL), WEFT_EINVALIDSTATE);
    weft_future_release(g.gate);
    weft_task_release(g.task);
  }
  weft_test_close_loop(loop);
}

static void gate_then_end(void *arg) {
  gated_t *g = arg;
  /* The gate's wake-up is queued; the task ends before it runs. With no done callback and
   * its last reference dropped here, only the core keeps it alive for that wake-up. */
  ASSERT_OK(weft_future_set_result(g->gate, weft_value_none()));
  g->end_rc = weft_task_return(g->task, weft_value_int(7));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(weft_task_future(g->task), &v));
  ASSERT_EQ(v->i, 7);
  weft_task_release(g->task);
  g->task = NULL;
}

WEFT_TEST(stepped_task_ends_with_wakeup_queued) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  gated_t g = {0};
  gated_start(loop, &g, 0);
  ASSERT_OK(weft_call_soon(loop, gate_then_end, &g, NULL));
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_OK(g.end_rc);
  ASSERT_EQ(g.frees, 1);
  ASSERT_OK(weft_loop_run_once(loop, 0)); /* the stale wake-up runs and steps nothing */
  ASSERT_EQ(g.steps, 1);
  weft_future_release(g.gate);
  weft_test_close_loop(loop);
}

static void cancel_then_end(void *arg) {
  gated_t *g = arg;
  ASSERT_EQ(weft_task_cancel(g->task, "stop"), 1);
  if (g->mode == 2)
    ASSERT_EQ(weft_task_uncancel(g->task), 0); /* withdrawn before it was delivered */
  if (g->mode == 1)
    g->end_rc = weft_task_fail(g->task, WEFT_EIO, NULL, NULL, NULL);
  else
    g->end_rc = weft_task_return(g->task, weft_value_int(9));
}

/* asyncio: a cancellation not yet delivered when the coroutine stops turns its result into
 * a cancellation (with the cancel message); an error stays an error. */
WEFT_TEST(stepped_task_ends_between_steps_with_cancel_pending) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  for (int mode = 0; mode < 3; mode++) {
    gated_t g = {.mode = mode};
    gated_start(loop, &g, 1);
    ASSERT_OK(weft_call_soon(loop, cancel_then_end, &g, NULL));
    weft_future_t *f = weft_task_future(g.task);
    ASSERT_OK(weft_loop_run_once(loop, 1));
    ASSERT_TRUE(weft_future_done(f));
    ASSERT_TRUE(weft_future_cancelled(g.gate));
    if (mode == 0) {
      ASSERT_TRUE(weft_future_cancelled(f));
      ASSERT_STREQ(weft_future_error_message(f), "stop");
    } else if (mode == 1) {
      ASSERT_CODE(weft_future_error(f), WEFT_EIO);
    } else {
      ASSERT_OK(weft_future_error(f));
    }
    ASSERT_OK(weft_loop_run_once(loop, 0));
    ASSERT_EQ(g.steps, 1);
    weft_future_release(g.gate);
    weft_task_release(g.task);
  }
  weft_test_close_loop(loop);
}

static int stackful_waits(weft_task_t *self, void *arg) {
  (void)self;
  return weft_await(arg);
}

WEFT_TEST(stackful_task_cannot_end_between_steps) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *gate;
  ASSERT_OK(weft_future_new(loop, &gate));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, stackful_waits, gate, NULL, &t));
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_CODE(weft_task_return(t, weft_value_int(1)), WEFT_EINVALIDSTATE);
  ASSERT_CODE(weft_task_fail(t, WEFT_EIO, NULL, NULL, NULL), WEFT_EINVALIDSTATE);
  ASSERT_OK(weft_future_set_result(gate, weft_value_none()));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_future_release(gate);
  weft_task_release(t);
  weft_test_close_loop(loop);
}

WEFT_TEST(null_arguments) {
  ASSERT_CODE(weft_task_spawn(NULL, marks_ran, NULL, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_task_new_stepped(NULL, stepper, NULL, NULL, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_task_cancel(NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_task_cancelling(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_task_uncancel(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_task_suspend(NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_task_return(NULL, weft_value_none()), WEFT_EINVAL);
  ASSERT_CODE(weft_task_fail(NULL, WEFT_EIO, NULL, NULL, NULL), WEFT_EINVAL);
  ASSERT_TRUE(weft_task_name(NULL) == NULL);
  ASSERT_TRUE(weft_current_task(NULL) == NULL);
  ASSERT_EQ(weft_all_tasks(NULL, NULL, 0), 0);
  weft_task_release(NULL);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_options_t bad = {.size = 0};
  ASSERT_CODE(weft_task_spawn(loop, marks_ran, NULL, &bad, NULL), WEFT_EINVAL);
  weft_test_close_loop(loop);
}
