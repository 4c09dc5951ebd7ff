/* TaskGroup, each test one rule of asyncio.TaskGroup. */
#include "weft_test.h"

/* A child: sleeps `delay`, then returns `value` or fails with `error`; when cancelled it
 * records that and fails with `error_on_cancel` if set. */
typedef struct {
  double delay;
  int64_t value;
  int error;
  const char *message;
  int error_on_cancel;
  int cancelled;
  int finished;
  int started;
} child_t;

static int child_fn(weft_task_t *self, void *arg) {
  child_t *c = arg;
  c->started = 1;
  int rc = weft_sleep_await(weft_test_loop_of(self), c->delay);
  if (rc == WEFT_ECANCELLED) {
    c->cancelled = 1;
    return c->error_on_cancel != 0 ? c->error_on_cancel : rc;
  }
  ASSERT_OK(rc);
  c->finished = 1;
  if (c->error != 0)
    return weft_task_fail(self, c->error, c->message, NULL, NULL);
  ASSERT_OK(weft_task_return(self, weft_value_int(c->value)));
  return 0;
}

static void cancel_task_cb(void *arg) {
  ASSERT_EQ(weft_task_cancel(arg, NULL), 1);
}

typedef struct {
  child_t c[3];
  int body_rc;
  int exit_rc;
  size_t nerrors;
  int errors[3];
  char message[64];
  int cancelling_after;
  double elapsed;
  double body_sleep; /* 0: the body does not await */
  int body_fails;    /* the body returns this code instead of awaiting */
} group_case_t;

/* The common body: spawn the children, optionally await, exit, record what happened. */
static int group_main(weft_task_t *self, void *arg) {
  group_case_t *g = arg;
  double start = weft_loop_time(weft_test_loop_of(self));
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  for (int i = 0; i < 3; i++)
    if (g->c[i].delay > 0)
      ASSERT_OK(weft_taskgroup_spawn(group, child_fn, &g->c[i], NULL, NULL));
  int rc = 0;
  if (g->body_fails != 0) {
    ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0)); /* let the children start */
    rc = g->body_fails;
  } else if (g->body_sleep > 0)
    rc = weft_sleep_await(weft_test_loop_of(self), g->body_sleep);
  g->body_rc = rc;
  g->exit_rc = weft_taskgroup_exit_await(group, rc);
  g->elapsed = weft_loop_time(weft_test_loop_of(self)) - start;
  weft_future_t *errors[3];
  g->nerrors = weft_taskgroup_errors(group, errors, 3);
  for (size_t i = 0; i < g->nerrors && i < 3; i++) {
    g->errors[i] = weft_future_error(errors[i]);
    if (i == 0 && weft_future_error_message(errors[i]) != NULL)
      snprintf(g->message, sizeof g->message, "%s", weft_future_error_message(errors[i]));
  }
  g->cancelling_after = weft_task_cancelling(self);
  /* The group is finished: no more children. */
  ASSERT_CODE(weft_taskgroup_spawn(group, child_fn, &g->c[0], NULL, NULL), WEFT_EINVALIDSTATE);
  weft_taskgroup_free(group);
  return g->exit_rc == WEFT_ECANCELLED ? WEFT_ECANCELLED : 0;
}

/* All children finish: exit waits for them and returns normally. */
WEFT_TEST(all_children_finish) {
  group_case_t g = {
      .c = {{.delay = 0.01, .value = 1}, {.delay = 0.03, .value = 2}, {.delay = 0.02, .value = 3}}};
  ASSERT_OK(weft_test_run_task(group_main, &g, NULL));
  ASSERT_OK(g.exit_rc);
  ASSERT_EQ(g.nerrors, 0);
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(g.c[i].finished, 1);
  ASSERT_TRUE(g.elapsed >= 0.03);
  ASSERT_EQ(g.cancelling_after, 0);
}

/* A child fails: its siblings and the body are cancelled, and exit raises the group's
 * errors; the parent's own cancellation count is back to 0. */
WEFT_TEST(child_failure_cancels_siblings_and_body) {
  group_case_t g = {.c = {{.delay = 0.01, .error = WEFT_EIO, .message = "disk on fire"},
                          {.delay = 3600},
                          {.delay = 3600}},
                    .body_sleep = 3600};
  ASSERT_OK(weft_test_run_task(group_main, &g, NULL));
  ASSERT_CODE(g.body_rc, WEFT_ECANCELLED);
  ASSERT_CODE(g.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(g.nerrors, 1);
  ASSERT_CODE(g.errors[0], WEFT_EIO);
  ASSERT_STREQ(g.message, "disk on fire");
  ASSERT_EQ(g.c[1].cancelled, 1);
  ASSERT_EQ(g.c[2].cancelled, 1);
  ASSERT_EQ(g.cancelling_after, 0);
}

/* The same when the body was already in exit, waiting for the children. */
WEFT_TEST(child_failure_during_exit) {
  group_case_t g = {.c = {{.delay = 10}, {.delay = 0.01, .error = WEFT_EIO}}};
  ASSERT_OK(weft_test_run_task(group_main, &g, NULL));
  ASSERT_OK(g.body_rc);
  ASSERT_CODE(g.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(g.nerrors, 1);
  ASSERT_CODE(g.errors[0], WEFT_EIO);
  ASSERT_EQ(g.c[0].cancelled, 1);
  ASSERT_EQ(g.cancelling_after, 0);
}

/* Two children fail: both errors are collected, in the order they failed. */
WEFT_TEST(two_failures_aggregated) {
  group_case_t g = {.c = {{.delay = 0.01, .error = WEFT_EIO},
                          {.delay = 10, .error_on_cancel = WEFT_EPIPE},
                          {.delay = 10}},
                    .body_sleep = 10};
  ASSERT_OK(weft_test_run_task(group_main, &g, NULL));
  ASSERT_CODE(g.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(g.nerrors, 2);
  ASSERT_CODE(g.errors[0], WEFT_EIO);
  ASSERT_CODE(g.errors[1], WEFT_EPIPE);
  ASSERT_EQ(g.c[2].cancelled, 1);
  ASSERT_EQ(g.cancelling_after, 0);
}

/* The body fails: the children are cancelled and the body's error joins the group's. */
WEFT_TEST(body_error_aggregated) {
  group_case_t g = {.c = {{.delay = 10}, {.delay = 10}}, .body_fails = WEFT_EINVAL};
  ASSERT_OK(weft_test_run_task(group_main, &g, NULL));
  ASSERT_CODE(g.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(g.nerrors, 1);
  ASSERT_CODE(g.errors[0], WEFT_EINVAL);
  ASSERT_EQ(g.c[0].cancelled, 1);
  ASSERT_EQ(g.c[1].cancelled, 1);
}

/* Every report the loop's exception handler gets. */
static void count_reports(weft_loop_t *loop, const weft_error_context_t *context, void *arg) {
  (*(int *)arg)++;
}

typedef struct {
  int awaits_failure; /* the body's error comes from an awaited future, else a plain code */
  int exit_rc;
} unread_body_t;

/* A body that fails, a child still running, and nobody reading the group's errors. */
static int unread_body_error(weft_task_t *self, void *arg) {
  unread_body_t *u = arg;
  weft_loop_t *loop = weft_test_loop_of(self);
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  child_t child = {.delay = 10};
  ASSERT_OK(weft_taskgroup_spawn(group, child_fn, &child, NULL, NULL));
  int rc = WEFT_EIO;
  if (u->awaits_failure) {
    weft_future_t *f;
    ASSERT_OK(weft_future_new(loop, &f));
    ASSERT_OK(weft_future_set_error(f, WEFT_EIO, "read failed", NULL, NULL));
    rc = weft_await(f);
    weft_future_release(f);
  }
  ASSERT_CODE(rc, WEFT_EIO);
  u->exit_rc = weft_taskgroup_exit_await(group, rc);
  ASSERT_EQ(child.finished, 0);
  weft_taskgroup_free(group);
  return 0;
}

/* The body's error goes into the group's errors (asyncio's ExceptionGroup), which is how it
 * is delivered: asyncio never reports it as "exception was never retrieved", whether or not
 * the errors are looked at. */
WEFT_TEST(body_error_never_reported_unretrieved) {
  for (int awaits = 0; awaits < 2; awaits++) {
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    int reports = 0;
    ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, &reports, NULL));
    unread_body_t u = {.awaits_failure = awaits};
    weft_task_t *t;
    ASSERT_OK(weft_task_spawn(loop, unread_body_error, &u, NULL, &t));
    ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
    ASSERT_CODE(u.exit_rc, WEFT_EGROUP);
    weft_task_release(t);
    for (int i = 0; i < 3; i++)
      ASSERT_OK(weft_loop_run_once(loop, 1));
    weft_test_close_loop(loop);
    ASSERT_EQ(reports, 0);
  }
}

/* The body fails and a child fails too: both are in the group's errors. */
WEFT_TEST(body_and_child_errors) {
  group_case_t g = {.c = {{.delay = 10, .error_on_cancel = WEFT_EPIPE}}, .body_fails = WEFT_EINVAL};
  ASSERT_OK(weft_test_run_task(group_main, &g, NULL));
  ASSERT_CODE(g.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(g.nerrors, 2);
  ASSERT_CODE(g.errors[0], WEFT_EPIPE);
  ASSERT_CODE(g.errors[1], WEFT_EINVAL);
}

typedef struct {
  child_t c[2];
  int exit_rc;
  int cancelling;
} outside_cancel_t;

static int outside_cancel_main(weft_task_t *self, void *arg) {
  outside_cancel_t *o = arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  for (int i = 0; i < 2; i++)
    ASSERT_OK(weft_taskgroup_spawn(group, child_fn, &o->c[i], NULL, NULL));
  ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb, self, NULL));
  o->exit_rc = weft_taskgroup_exit_await(group, 0);
  o->cancelling = weft_task_cancelling(self);
  weft_taskgroup_free(group);
  return o->exit_rc;
}

/* The parent is cancelled from outside while waiting in exit: the children are cancelled
 * and exit propagates the cancellation. */
WEFT_TEST(parent_cancelled_in_exit) {
  outside_cancel_t o = {.c = {{.delay = 10}, {.delay = 10}}};
  ASSERT_CODE(weft_test_run_task(outside_cancel_main, &o, NULL), WEFT_ECANCELLED);
  ASSERT_CODE(o.exit_rc, WEFT_ECANCELLED);
  ASSERT_EQ(o.c[0].cancelled, 1);
  ASSERT_EQ(o.c[1].cancelled, 1);
  ASSERT_EQ(o.cancelling, 1);
}

/* Cancelled from outside while a child fails as it is cancelled: the errors have priority
 * over the cancellation, which stays requested. */
WEFT_TEST(parent_cancelled_and_child_error) {
  outside_cancel_t o = {.c = {{.delay = 10, .error_on_cancel = WEFT_EIO}, {.delay = 10}}};
  ASSERT_CODE(weft_test_run_task(outside_cancel_main, &o, NULL), WEFT_EGROUP);
  ASSERT_CODE(o.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(o.cancelling, 1);
}

typedef struct {
  child_t c[2];
  int body_rc;
  int exit_rc;
  int cancelling;
  int from_child;
  weft_taskgroup_t *group;
} group_cancel_t;

static int cancelling_child(weft_task_t *self, void *arg) {
  group_cancel_t *g = arg;
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  ASSERT_OK(weft_taskgroup_cancel(g->group));
  return 0;
}

static int group_cancel_main(weft_task_t *self, void *arg) {
  group_cancel_t *g = arg;
  ASSERT_OK(weft_taskgroup_enter(self, &g->group));
  for (int i = 0; i < 2; i++)
    ASSERT_OK(weft_taskgroup_spawn(g->group, child_fn, &g->c[i], NULL, NULL));
  if (g->from_child) {
    ASSERT_OK(weft_taskgroup_spawn(g->group, cancelling_child, g, NULL, NULL));
    g->body_rc = weft_sleep_await(weft_test_loop_of(self), 10);
  } else {
    ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
    ASSERT_OK(weft_taskgroup_cancel(g->group));
    g->body_rc = weft_sleep_await(weft_test_loop_of(self), 10);
  }
  g->exit_rc = weft_taskgroup_exit_await(g->group, g->body_rc);
  g->cancelling = weft_task_cancelling(self);
  ASSERT_EQ(weft_taskgroup_errors(g->group, NULL, 0), 0);
  /* cancel() after the group is done is harmless. */
  ASSERT_OK(weft_taskgroup_cancel(g->group));
  weft_taskgroup_free(g->group);
  /* The task goes on normally. */
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.001));
  return 0;
}

/* TaskGroup.cancel() cancels the children and the body; exit then returns normally,
 * without CancelledError, and the parent is not left cancelling. */
WEFT_TEST(group_cancel) {
  for (int from_child = 0; from_child < 2; from_child++) {
    group_cancel_t g = {.c = {{.delay = 10}, {.delay = 10}}, .from_child = from_child};
    ASSERT_OK(weft_test_run_task(group_cancel_main, &g, NULL));
    ASSERT_CODE(g.body_rc, WEFT_ECANCELLED);
    ASSERT_OK(g.exit_rc);
    ASSERT_EQ(g.c[0].cancelled, 1);
    ASSERT_EQ(g.c[1].cancelled, 1);
    ASSERT_EQ(g.cancelling, 0);
  }
}

static int cancel_in_exit_main(weft_task_t *self, void *arg) {
  group_cancel_t *g = arg;
  ASSERT_OK(weft_taskgroup_enter(self, &g->group));
  for (int i = 0; i < 2; i++)
    ASSERT_OK(weft_taskgroup_spawn(g->group, child_fn, &g->c[i], NULL, NULL));
  ASSERT_OK(weft_taskgroup_spawn(g->group, cancelling_child, g, NULL, NULL));
  g->exit_rc = weft_taskgroup_exit_await(g->group, 0);
  g->cancelling = weft_task_cancelling(self);
  weft_taskgroup_free(g->group);
  return 0;
}

/* TaskGroup.cancel() while the parent already waits in exit. */
WEFT_TEST(group_cancel_during_exit) {
  group_cancel_t g = {.c = {{.delay = 10}, {.delay = 10}}};
  ASSERT_OK(weft_test_run_task(cancel_in_exit_main, &g, NULL));
  ASSERT_OK(g.exit_rc);
  ASSERT_EQ(g.c[0].cancelled, 1);
  ASSERT_EQ(g.cancelling, 0);
}

typedef struct {
  weft_taskgroup_t *group;
  child_t late;
  int spawn_rc;
} spawner_t;

static int spawner_child(weft_task_t *self, void *arg) {
  spawner_t *s = arg;
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  s->spawn_rc = weft_taskgroup_spawn(s->group, child_fn, &s->late, NULL, NULL);
  return 0;
}

static int spawn_in_exit_main(weft_task_t *self, void *arg) {
  spawner_t *s = arg;
  ASSERT_OK(weft_taskgroup_enter(self, &s->group));
  ASSERT_OK(weft_taskgroup_spawn(s->group, spawner_child, s, NULL, NULL));
  ASSERT_OK(weft_taskgroup_exit_await(s->group, 0));
  weft_taskgroup_free(s->group);
  return 0;
}

/* While exit still waits for children, a child may add a sibling; exit waits for it too. */
WEFT_TEST(spawn_while_exiting) {
  spawner_t s = {.late = {.delay = 0.02, .value = 1}};
  ASSERT_OK(weft_test_run_task(spawn_in_exit_main, &s, NULL));
  ASSERT_OK(s.spawn_rc);
  ASSERT_EQ(s.late.finished, 1);
}

static int spawn_when_aborting_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  ASSERT_OK(weft_taskgroup_spawn(group, child_fn, &c[0], NULL, NULL));
  int rc = weft_sleep_await(weft_test_loop_of(self), 10);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  /* A child failed: the group is shutting down. */
  weft_task_t *t = (weft_task_t *)&t;
  ASSERT_CODE(weft_taskgroup_spawn(group, child_fn, &c[1], NULL, &t), WEFT_EINVALIDSTATE);
  ASSERT_TRUE(t == NULL);
  ASSERT_CODE(weft_taskgroup_exit_await(group, rc), WEFT_EGROUP);
  ASSERT_CODE(weft_taskgroup_spawn(group, child_fn, &c[1], NULL, NULL), WEFT_EINVALIDSTATE);
  weft_taskgroup_free(group);
  return 0;
}

/* No spawning once the group is shutting down or finished. */
WEFT_TEST(spawn_after_shutdown) {
  child_t c[2] = {{.delay = 0.01, .error = WEFT_EIO}, {.delay = 0.01}};
  ASSERT_OK(weft_test_run_task(spawn_when_aborting_main, c, NULL));
  ASSERT_EQ(c[1].finished, 0);
}

static void stepped_step(weft_task_t *task, int throw_code, void *arg) {
  (void)throw_code;
  int *ran = arg;
  (*ran)++;
  ASSERT_OK(weft_task_return(task, weft_value_int(5)));
}

static int add_main(weft_task_t *self, void *arg) {
  int *ran = arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  weft_task_t *t;
  ASSERT_OK(weft_task_new_stepped(weft_test_loop_of(self), stepped_step, ran, NULL, NULL, &t));
  ASSERT_OK(weft_taskgroup_add(group, t));
  ASSERT_OK(weft_taskgroup_exit_await(group, 0));
  ASSERT_TRUE(weft_future_done(weft_task_future(t)));
  weft_task_release(t);
  weft_taskgroup_free(group);
  return 0;
}

/* A task created elsewhere (a binding's step-driven task) can join the group. */
WEFT_TEST(add_stepped_task) {
  int ran = 0;
  ASSERT_OK(weft_test_run_task(add_main, &ran, NULL));
  ASSERT_EQ(ran, 1);
}

static int exit_outside_parent_child(weft_task_t *self, void *arg) {
  (void)self;
  ASSERT_CODE(weft_taskgroup_exit_await(arg, 0), WEFT_ENOTINTASK);
  return 0;
}

static int exit_elsewhere_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  ASSERT_OK(weft_taskgroup_spawn(group, exit_outside_parent_child, group, NULL, NULL));
  ASSERT_OK(weft_taskgroup_exit_await(group, 0));
  /* Exiting twice is a misuse. */
  ASSERT_CODE(weft_taskgroup_exit_await(group, 0), WEFT_EINVALIDSTATE);
  weft_taskgroup_free(group);
  return 0;
}

/* Only the parent task can exit its group, once. */
WEFT_TEST(exit_only_from_parent) {
  ASSERT_OK(weft_test_run_task(exit_elsewhere_main, NULL, NULL));
}

static int free_without_exit_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  ASSERT_OK(weft_taskgroup_spawn(group, child_fn, c, NULL, NULL));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0));
  weft_taskgroup_free(group);
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  return 0;
}

/* Freed without exit (a misuse), the group still lets no child outlive it. */
WEFT_TEST(free_without_exit_cancels_children) {
  child_t c = {.delay = 10};
  ASSERT_OK(weft_test_run_task(free_without_exit_main, &c, NULL));
  ASSERT_EQ(c.cancelled, 1);
}

static int null_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_taskgroup_t *group = (weft_taskgroup_t *)&group;
  ASSERT_CODE(weft_taskgroup_enter(NULL, &group), WEFT_EINVAL);
  ASSERT_TRUE(group == NULL);
  ASSERT_CODE(weft_taskgroup_enter(self, NULL), WEFT_EINVAL);
  weft_task_t *t = (weft_task_t *)&t;
  ASSERT_CODE(weft_taskgroup_spawn(NULL, null_main, NULL, NULL, &t), WEFT_EINVAL);
  ASSERT_TRUE(t == NULL);
  ASSERT_CODE(weft_taskgroup_add(NULL, self), WEFT_EINVAL);
  ASSERT_CODE(weft_taskgroup_cancel(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_taskgroup_exit_await(NULL, 0), WEFT_EINVAL);
  ASSERT_EQ(weft_taskgroup_errors(NULL, NULL, 0), 0);
  weft_taskgroup_free(NULL);
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  ASSERT_CODE(weft_taskgroup_spawn(group, NULL, NULL, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_taskgroup_add(group, NULL), WEFT_EINVAL);
  ASSERT_OK(weft_taskgroup_exit_await(group, 0));
  ASSERT_EQ(weft_taskgroup_errors(group, NULL, 0), 0);
  weft_taskgroup_free(group);
  return 0;
}

WEFT_TEST(null_arguments) {
  ASSERT_OK(weft_test_run_task(null_main, NULL, NULL));
}

typedef struct {
  child_t c;
  int body_rc;
  int exit_rc;
  int cancelling;
} body_cancel_t;

static int body_cancelled_main(weft_task_t *self, void *arg) {
  body_cancel_t *b = arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  ASSERT_OK(weft_taskgroup_spawn(group, child_fn, &b->c, NULL, NULL));
  ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb, self, NULL));
  b->body_rc = weft_sleep_await(weft_test_loop_of(self), 10);
  b->exit_rc = weft_taskgroup_exit_await(group, b->body_rc);
  b->cancelling = weft_task_cancelling(self);
  weft_taskgroup_free(group);
  return b->exit_rc;
}

/* The body is cancelled from outside: the children are cancelled and exit propagates the
 * cancellation. */
WEFT_TEST(body_cancelled_from_outside) {
  body_cancel_t b = {.c = {.delay = 10}};
  ASSERT_CODE(weft_test_run_task(body_cancelled_main, &b, NULL), WEFT_ECANCELLED);
  ASSERT_CODE(b.body_rc, WEFT_ECANCELLED);
  ASSERT_CODE(b.exit_rc, WEFT_ECANCELLED);
  ASSERT_EQ(b.c.cancelled, 1);
  ASSERT_EQ(b.cancelling, 1);
}

static int body_awaited_error_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(weft_test_loop_of(self), &f));
  ASSERT_OK(weft_future_set_error(f, WEFT_ECONNRESET, "peer left", NULL, NULL));
  int rc = weft_await(f);
  ASSERT_CODE(rc, WEFT_ECONNRESET);
  weft_future_release(f);
  ASSERT_CODE(weft_taskgroup_exit_await(group, rc), WEFT_EGROUP);
  weft_future_t *errors[1];
  ASSERT_EQ(weft_taskgroup_errors(group, errors, 1), 1);
  ASSERT_CODE(weft_future_error(errors[0]), WEFT_ECONNRESET);
  ASSERT_STREQ(weft_future_error_message(errors[0]), "peer left");
  weft_taskgroup_free(group);
  return 0;
}

/* A body error that came from an awaited future keeps that future's message. */
WEFT_TEST(body_error_keeps_message) {
  ASSERT_OK(weft_test_run_task(body_awaited_error_main, NULL, NULL));
}

static int eager_failing_child(weft_task_t *self, void *arg) {
  (void)arg;
  return weft_task_fail(self, WEFT_EIO, "failed at once", NULL, NULL);
}

static int eager_main(weft_task_t *self, void *arg) {
  child_t *c = arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  ASSERT_OK(weft_taskgroup_spawn(group, child_fn, c, NULL, NULL));
  weft_task_options_t eager = {.size = sizeof eager, .eager_start = 1};
  weft_task_t *t;
  ASSERT_OK(weft_taskgroup_spawn(group, eager_failing_child, NULL, &eager, &t));
  ASSERT_TRUE(weft_future_done(weft_task_future(t)));
  weft_task_release(t);
  int rc = weft_sleep_await(weft_test_loop_of(self), 10);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_CODE(weft_taskgroup_exit_await(group, rc), WEFT_EGROUP);
  ASSERT_EQ(weft_taskgroup_errors(group, NULL, 0), 1);
  ASSERT_EQ(weft_task_cancelling(self), 0);
  weft_taskgroup_free(group);
  return 0;
}

/* A child that fails during its eager start still fails the group, from the loop. */
WEFT_TEST(eager_child_fails) {
  child_t c = {.delay = 10};
  ASSERT_OK(weft_test_run_task(eager_main, &c, NULL));
  ASSERT_EQ(c.cancelled, 1);
}

/* exit as a future, with a step-driven parent (a binding's task): the same rules. */
typedef struct {
  child_t c[2];
  int cancel_parent; /* cancel the parent from outside while exit waits */
  int steps;
  weft_taskgroup_t *group;
  weft_future_t *exit;
  int exit_rc;
  size_t nerrors;
  int cancelling_after;
} stepped_group_t;

static void stepped_parent(weft_task_t *task, int throw_code, void *arg) {
  (void)throw_code;
  stepped_group_t *s = arg;
  if (s->steps++ == 0) {
    ASSERT_OK(weft_taskgroup_enter(task, &s->group));
    for (int i = 0; i < 2; i++)
      ASSERT_OK(weft_taskgroup_spawn(s->group, child_fn, &s->c[i], NULL, NULL));
    ASSERT_OK(weft_taskgroup_exit(s->group, 0, &s->exit));
    weft_future_t *again;
    ASSERT_CODE(weft_taskgroup_exit(s->group, 0, &again), WEFT_EINVALIDSTATE);
    ASSERT_TRUE(again == NULL);
    ASSERT_OK(weft_task_suspend(task, s->exit));
    return;
  }
  /* Whatever woke the step, exit only completes once no child runs. */
  ASSERT_TRUE(weft_future_done(s->exit));
  ASSERT_EQ(s->c[0].cancelled + s->c[0].finished, 1);
  ASSERT_EQ(s->c[1].cancelled + s->c[1].finished, 1);
  s->exit_rc = weft_future_error(s->exit);
  s->nerrors = weft_taskgroup_errors(s->group, NULL, 0);
  s->cancelling_after = weft_task_cancelling(task);
  weft_future_release(s->exit);
  weft_taskgroup_free(s->group);
  if (s->exit_rc == WEFT_ECANCELLED)
    weft_task_fail(task, WEFT_ECANCELLED, NULL, NULL, NULL);
  else
    ASSERT_OK(weft_task_return(task, weft_value_none()));
}

static int stepped_main(weft_task_t *self, void *arg) {
  stepped_group_t *s = arg;
  weft_task_t *parent;
  ASSERT_OK(weft_task_new_stepped(weft_test_loop_of(self), stepped_parent, s, NULL, NULL, &parent));
  if (s->cancel_parent) {
    /* Once both children run, so that each sees its cancellation, however slow the machine. */
    while (!(s->c[0].started && s->c[1].started))
      ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0));
    ASSERT_EQ(weft_task_cancel(parent, NULL), 1);
  }
  int rc = weft_await(weft_task_future(parent));
  weft_task_release(parent);
  return rc;
}

/* Both children finish: the exit future completes without error. */
WEFT_TEST(exit_future_all_finish) {
  stepped_group_t s = {.c = {{.delay = 0.001, .value = 1}, {.delay = 0.002, .value = 2}}};
  ASSERT_OK(weft_test_run_task(stepped_main, &s, NULL));
  ASSERT_OK(s.exit_rc);
  ASSERT_EQ(s.nerrors, 0);
  ASSERT_EQ(s.c[0].finished + s.c[1].finished, 2);
}

/* A child fails while exit waits: its sibling is cancelled, the exit fails with EGROUP and
 * the group's own cancellation of the parent is withdrawn. */
WEFT_TEST(exit_future_child_fails) {
  stepped_group_t s = {.c = {{.delay = 0.001, .error = WEFT_EIO}, {.delay = 10}}};
  ASSERT_OK(weft_test_run_task(stepped_main, &s, NULL));
  ASSERT_CODE(s.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(s.nerrors, 1);
  ASSERT_EQ(s.c[1].cancelled, 1);
  ASSERT_EQ(s.cancelling_after, 0);
}

/* The parent is cancelled from outside while exit waits: cancelling the exit future
 * cancels the children, and the exit then ends cancelled, the request still counted. */
WEFT_TEST(exit_future_parent_cancelled) {
  stepped_group_t s = {.c = {{.delay = 10}, {.delay = 10}}, .cancel_parent = 1};
  ASSERT_CODE(weft_test_run_task(stepped_main, &s, NULL), WEFT_ECANCELLED);
  ASSERT_CODE(s.exit_rc, WEFT_ECANCELLED);
  ASSERT_EQ(s.c[0].cancelled + s.c[1].cancelled, 2);
  ASSERT_EQ(s.cancelling_after, 1);
}
