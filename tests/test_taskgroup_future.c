/* weft_taskgroup_exit, the future form of a TaskGroup's exit: the same rules as
 * exit_await (test_taskgroup.c, whose exit_future_* tests use a step-driven parent), here
 * for the rest of them. The parents are stackful only to have somewhere to wait. */
#include "weft_test.h"

typedef struct {
  double delay;
  int error;
  int error_on_cancel;
  int cancelled;
  int finished;
} child_t;

static int child_fn(weft_task_t *self, void *arg) {
  child_t *c = arg;
  int rc = weft_sleep_await(weft_test_loop_of(self), c->delay);
  if (rc == WEFT_ECANCELLED) {
    c->cancelled = 1;
    return c->error_on_cancel != 0 ? c->error_on_cancel : rc;
  }
  ASSERT_OK(rc);
  c->finished = 1;
  if (c->error != 0)
    return weft_task_fail(self, c->error, "child failed", NULL, NULL);
  return 0;
}

static void cancel_task_cb(void *arg) {
  ASSERT_EQ(weft_task_cancel(arg, NULL), 1);
}

/* Waits on the exit's future; a cancellation of the parent meanwhile cancels that future,
 * which is the group's cue to cancel its children: it completes only once they are done.
 * Returns the exit's outcome and counts the futures it took. */
static int exit_by_future(weft_taskgroup_t *group, int body_rc, int *futures) {
  weft_future_t *f;
  int rc = weft_taskgroup_exit(group, body_rc, &f);
  if (rc != 0)
    return rc;
  (*futures)++;
  /* A stackful parent's await returns at its cancellation, before the future is done: it
   * waits again (a step-driven parent is only stepped once the future is done). */
  while (!weft_future_done(f))
    (void)weft_await(f);
  rc = weft_future_error(f);
  weft_future_release(f);
  return rc;
}

typedef struct {
  child_t c[2];
  double body_sleep;   /* 0: the body does not await */
  int body_fails;      /* the body's outcome instead of awaiting */
  double cancel_after; /* > 0: the parent is cancelled from outside after this */
  int group_cancel;    /* the body calls weft_taskgroup_cancel before awaiting */
  int body_rc, exit_rc, futures, cancelling;
  size_t nerrors;
  int errors[3];
} case_t;

static int parent_main(weft_task_t *self, void *arg) {
  case_t *k = arg;
  weft_loop_t *loop = weft_test_loop_of(self);
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  for (int i = 0; i < 2; i++)
    if (k->c[i].delay > 0)
      ASSERT_OK(weft_taskgroup_spawn(group, child_fn, &k->c[i], NULL, NULL));
  ASSERT_OK(weft_sleep_await(loop, 0)); /* the children start */
  if (k->cancel_after > 0)
    ASSERT_OK(weft_call_later(loop, k->cancel_after, cancel_task_cb, self, NULL));
  if (k->group_cancel)
    ASSERT_OK(weft_taskgroup_cancel(group));
  int rc = 0;
  if (k->body_fails != 0)
    rc = k->body_fails;
  else if (k->body_sleep > 0)
    rc = weft_sleep_await(loop, k->body_sleep);
  k->body_rc = rc;
  k->exit_rc = exit_by_future(group, rc, &k->futures);
  weft_future_t *errors[3];
  k->nerrors = weft_taskgroup_errors(group, errors, 3);
  for (size_t i = 0; i < k->nerrors && i < 3; i++)
    k->errors[i] = weft_future_error(errors[i]);
  k->cancelling = weft_task_cancelling(self);
  weft_future_t *f;
  ASSERT_CODE(weft_taskgroup_exit(group, 0, &f), WEFT_EINVALIDSTATE);
  ASSERT_TRUE(f == NULL);
  ASSERT_CODE(weft_taskgroup_spawn(group, child_fn, &k->c[0], NULL, NULL), WEFT_EINVALIDSTATE);
  weft_taskgroup_free(group);
  return k->exit_rc == WEFT_ECANCELLED ? WEFT_ECANCELLED : 0;
}

/* Every child finishes: the future completes with none once the last one is done. */
WEFT_TEST(all_children_finish) {
  case_t k = {.c = {{.delay = 0.01}, {.delay = 0.02}}};
  ASSERT_OK(weft_test_run_task(parent_main, &k, NULL));
  ASSERT_OK(k.exit_rc);
  ASSERT_EQ(k.futures, 1);
  ASSERT_EQ(k.c[0].finished, 1);
  ASSERT_EQ(k.c[1].finished, 1);
  ASSERT_EQ(k.nerrors, 0);
  ASSERT_EQ(k.cancelling, 0);
}

/* No child: the future is done at once. */
WEFT_TEST(no_children) {
  case_t k = {0};
  ASSERT_OK(weft_test_run_task(parent_main, &k, NULL));
  ASSERT_OK(k.exit_rc);
  ASSERT_EQ(k.futures, 1);
}

/* A child fails while the body waits: the body and the sibling are cancelled, the future
 * fails with WEFT_EGROUP, and the group's cancellation of the parent is withdrawn. */
WEFT_TEST(child_failure_cancels_body) {
  case_t k = {.c = {{.delay = 0.01, .error = WEFT_EIO}, {.delay = 10}}, .body_sleep = 10};
  ASSERT_OK(weft_test_run_task(parent_main, &k, NULL));
  ASSERT_CODE(k.body_rc, WEFT_ECANCELLED);
  ASSERT_CODE(k.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(k.nerrors, 1);
  ASSERT_CODE(k.errors[0], WEFT_EIO);
  ASSERT_EQ(k.c[1].cancelled, 1);
  ASSERT_EQ(k.cancelling, 0);
}

/* A child fails while the parent waits on the future: the group's cancellation of the
 * parent cancels that future, which stays pending until the sibling is gone, and the
 * outcome is the group's errors, not a cancellation. */
WEFT_TEST(child_failure_during_exit) {
  case_t k = {.c = {{.delay = 10}, {.delay = 0.01, .error = WEFT_EIO}}};
  ASSERT_OK(weft_test_run_task(parent_main, &k, NULL));
  ASSERT_OK(k.body_rc);
  ASSERT_CODE(k.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(k.futures, 1);
  ASSERT_EQ(k.nerrors, 1);
  ASSERT_CODE(k.errors[0], WEFT_EIO);
  ASSERT_EQ(k.c[0].cancelled, 1);
  ASSERT_EQ(k.cancelling, 0);
}

/* The body fails: the children are cancelled and the body's error joins the group's. */
WEFT_TEST(body_and_child_errors) {
  case_t k = {.c = {{.delay = 10, .error_on_cancel = WEFT_EPIPE}}, .body_fails = WEFT_EINVAL};
  ASSERT_OK(weft_test_run_task(parent_main, &k, NULL));
  ASSERT_CODE(k.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(k.nerrors, 2);
  ASSERT_CODE(k.errors[0], WEFT_EPIPE);
  ASSERT_CODE(k.errors[1], WEFT_EINVAL);
}

/* The parent is cancelled from outside while it waits on the future: the children are
 * cancelled, the future completes once they are gone, and the cancellation propagates,
 * still requested. */
WEFT_TEST(parent_cancelled_while_waiting) {
  case_t k = {.c = {{.delay = 10}, {.delay = 10}}, .cancel_after = 0.01};
  ASSERT_CODE(weft_test_run_task(parent_main, &k, NULL), WEFT_ECANCELLED);
  ASSERT_CODE(k.exit_rc, WEFT_ECANCELLED);
  ASSERT_EQ(k.futures, 1);
  ASSERT_EQ(k.c[0].cancelled, 1);
  ASSERT_EQ(k.c[1].cancelled, 1);
  ASSERT_EQ(k.cancelling, 1);
}

/* ...and when a child fails as it is cancelled, its error wins over the cancellation. */
WEFT_TEST(parent_cancelled_and_child_error) {
  case_t k = {.c = {{.delay = 10, .error_on_cancel = WEFT_EIO}, {.delay = 10}},
              .cancel_after = 0.01};
  ASSERT_OK(weft_test_run_task(parent_main, &k, NULL));
  ASSERT_CODE(k.exit_rc, WEFT_EGROUP);
  ASSERT_EQ(k.cancelling, 1);
}

/* weft_taskgroup_cancel: the children and the body are cancelled, and exit ends normally. */
WEFT_TEST(group_cancel) {
  case_t k = {.c = {{.delay = 10}, {.delay = 10}}, .group_cancel = 1, .body_sleep = 10};
  ASSERT_OK(weft_test_run_task(parent_main, &k, NULL));
  ASSERT_CODE(k.body_rc, WEFT_ECANCELLED);
  ASSERT_OK(k.exit_rc);
  ASSERT_EQ(k.c[0].cancelled, 1);
  ASSERT_EQ(k.cancelling, 0);
}

typedef struct {
  child_t c;
  int future_cancelled;
} freed_t;

static int free_during_exit_main(weft_task_t *self, void *arg) {
  freed_t *d = arg;
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  ASSERT_OK(weft_taskgroup_spawn(group, child_fn, &d->c, NULL, NULL));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0)); /* the child starts */
  weft_future_t *pending, *f;
  ASSERT_OK(weft_taskgroup_exit(group, 0, &pending));
  /* Not again while that future is pending, and never with bad arguments. */
  ASSERT_CODE(weft_taskgroup_exit(group, 0, &f), WEFT_EINVALIDSTATE);
  ASSERT_CODE(weft_taskgroup_exit(NULL, 0, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_taskgroup_exit(group, 0, NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_future_done(pending), 0);
  weft_taskgroup_free(group);
  d->future_cancelled = weft_future_cancelled(pending);
  weft_future_release(pending);
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.001)); /* let the child see it */
  return 0;
}

/* A group freed while its exit future is pending (a misuse) cancels the children and the
 * future, so that nobody waits forever. */
WEFT_TEST(free_during_exit) {
  freed_t d = {.c = {.delay = 10}};
  ASSERT_OK(weft_test_run_task(free_during_exit_main, &d, NULL));
  ASSERT_EQ(d.future_cancelled, 1);
  ASSERT_EQ(d.c.cancelled, 1);
}
