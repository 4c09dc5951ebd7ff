/* Timeouts around a block, each test one rule of asyncio.timeout / timeout_at / Timeout. */
#include "weft_test.h"

static double now(weft_task_t *task) {
  return weft_loop_time(weft_test_loop_of(task));
}

static void cancel_task_cb(void *arg) {
  ASSERT_EQ(weft_task_cancel(arg, NULL), 1);
}

static int expiry_main(weft_task_t *self, void *arg) {
  (void)arg;
  double start = now(self);
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 0.02, &t));
  double when = weft_timeout_when(t);
  ASSERT_TRUE(when >= start + 0.02 && when <= now(self) + 0.02);
  ASSERT_EQ(weft_timeout_expired(t), 0);
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_timeout_expired(t), 1);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);
  double elapsed = now(self) - start;
  ASSERT_TRUE(elapsed >= 0.02);
  /* The timeout withdrew its own cancellation: the task goes on normally. */
  ASSERT_EQ(weft_task_cancelling(self), 0);
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.001));
  return 0;
}

/* On expiry the block is cancelled, and leaving it turns that into TimeoutError. */
WEFT_TEST(expiry_becomes_timeout) {
  ASSERT_OK(weft_test_run_task(expiry_main, NULL, NULL));
}

static int no_expiry_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 3600, &t));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  ASSERT_OK(weft_timeout_exit(t, 0));
  ASSERT_OK(weft_timeout_enter(self, 3600, &t));
  ASSERT_CODE(weft_timeout_exit(t, WEFT_EIO), WEFT_EIO);
  /* A cancellation that is not the timeout's passes through unchanged. */
  ASSERT_OK(weft_timeout_enter(self, 3600, &t));
  ASSERT_CODE(weft_timeout_exit(t, WEFT_ECANCELLED), WEFT_ECANCELLED);
  /* Nothing fires later: the timers are gone. */
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  ASSERT_EQ(weft_task_cancelling(self), 0);
  return 0;
}

/* Without expiry, the block's outcome passes through the exit untouched. */
WEFT_TEST(no_expiry_keeps_outcome) {
  ASSERT_OK(weft_test_run_task(no_expiry_main, NULL, NULL));
}

static int reschedule_later_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 0.02, &t));
  double when = now(self) + 3600;
  ASSERT_OK(weft_timeout_reschedule(t, when));
  ASSERT_TRUE(weft_timeout_when(t) == when);
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.05));
  ASSERT_EQ(weft_timeout_expired(t), 0);
  ASSERT_OK(weft_timeout_exit(t, 0));
  return 0;
}

/* Rescheduling to a later deadline postpones the expiry. */
WEFT_TEST(reschedule_later) {
  ASSERT_OK(weft_test_run_task(reschedule_later_main, NULL, NULL));
}

static int reschedule_earlier_main(weft_task_t *self, void *arg) {
  (void)arg;
  double start = now(self);
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 10, &t));
  ASSERT_OK(weft_timeout_reschedule(t, start + 0.02));
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_TRUE(now(self) - start < 1.0);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);
  return 0;
}

/* Rescheduling to an earlier deadline brings the expiry forward. */
WEFT_TEST(reschedule_earlier) {
  ASSERT_OK(weft_test_run_task(reschedule_earlier_main, NULL, NULL));
}

static int reschedule_past_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 10, &t));
  ASSERT_OK(weft_timeout_reschedule(t, now(self) - 1));
  /* A deadline in the past expires from the loop, not inside the call. */
  ASSERT_EQ(weft_timeout_expired(t), 0);
  int rc = weft_sleep_await(weft_test_loop_of(self), 0);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);

  /* Same with a negative delay at enter. */
  ASSERT_OK(weft_timeout_enter(self, -1, &t));
  ASSERT_EQ(weft_timeout_expired(t), 0);
  rc = weft_sleep_await(weft_test_loop_of(self), 1);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);
  return 0;
}

/* A deadline already past expires on the next loop iteration. */
WEFT_TEST(deadline_in_the_past) {
  ASSERT_OK(weft_test_run_task(reschedule_past_main, NULL, NULL));
}

static int reschedule_infinity_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 0.02, &t));
  ASSERT_OK(weft_timeout_reschedule(t, INFINITY));
  ASSERT_TRUE(isinf(weft_timeout_when(t)));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.05));
  ASSERT_EQ(weft_timeout_expired(t), 0);
  ASSERT_OK(weft_timeout_exit(t, 0));

  /* And from no deadline to one. */
  ASSERT_OK(weft_timeout_enter(self, INFINITY, &t));
  ASSERT_TRUE(isinf(weft_timeout_when(t)));
  ASSERT_OK(weft_timeout_reschedule(t, now(self) + 0.02));
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);
  return 0;
}

/* reschedule(None) (INFINITY here) disables the timeout, and back. */
WEFT_TEST(reschedule_infinity) {
  ASSERT_OK(weft_test_run_task(reschedule_infinity_main, NULL, NULL));
}

static int expired_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 0.01, &t));
  ASSERT_EQ(weft_timeout_expired(t), 0);
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_EQ(weft_timeout_expired(t), 1);
  /* Once expired, the deadline cannot move any more. */
  ASSERT_CODE(weft_timeout_reschedule(t, now(self) + 10), WEFT_EINVALIDSTATE);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);
  return 0;
}

/* expired() tells whether the deadline passed. */
WEFT_TEST(expired_flag) {
  ASSERT_OK(weft_test_run_task(expired_main, NULL, NULL));
}

static int enter_at_main(weft_task_t *self, void *arg) {
  (void)arg;
  double start = now(self);
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter_at(self, start + 0.02, &t));
  ASSERT_TRUE(weft_timeout_when(t) == start + 0.02);
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_TRUE(now(self) - start >= 0.02);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);
  return 0;
}

/* timeout_at takes an absolute loop time. */
WEFT_TEST(enter_at) {
  ASSERT_OK(weft_test_run_task(enter_at_main, NULL, NULL));
}

static int outer_cancel_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 3600, &t));
  ASSERT_OK(weft_call_later(weft_test_loop_of(self), 0.01, cancel_task_cb, self, NULL));
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_timeout_expired(t), 0);
  rc = weft_timeout_exit(t, rc);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_task_cancelling(self), 1);
  return rc;
}

/* A cancellation from outside during the block stays a cancellation. */
WEFT_TEST(outer_cancel_not_converted) {
  ASSERT_CODE(weft_test_run_task(outer_cancel_main, NULL, NULL), WEFT_ECANCELLED);
}

static int both_cancel_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 0.02, &t));
  /* An outside cancellation at the very same deadline, scheduled after the timeout's. */
  ASSERT_OK(
      weft_call_at(weft_test_loop_of(self), weft_timeout_when(t), cancel_task_cb, self, NULL));
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_timeout_expired(t), 1);
  rc = weft_timeout_exit(t, rc);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_task_cancelling(self), 1);
  return rc;
}

/* The timeout expired but the task was also cancelled from outside: the cancellation
 * wins, since it is still pending after the timeout withdrew its own. */
WEFT_TEST(expiry_and_outer_cancel) {
  ASSERT_CODE(weft_test_run_task(both_cancel_main, NULL, NULL), WEFT_ECANCELLED);
}

static int nested_inner_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *outer, *inner;
  ASSERT_OK(weft_timeout_enter(self, 3600, &outer));
  ASSERT_OK(weft_timeout_enter(self, 0.02, &inner));
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_timeout_expired(inner), 1);
  ASSERT_EQ(weft_timeout_expired(outer), 0);
  ASSERT_CODE(weft_timeout_exit(inner, rc), WEFT_ETIMEDOUT);
  /* The outer block goes on undisturbed. */
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  ASSERT_OK(weft_timeout_exit(outer, 0));
  ASSERT_EQ(weft_task_cancelling(self), 0);
  return 0;
}

/* Nested: when the inner timeout expires, only the inner block times out. */
WEFT_TEST(nested_inner_expires) {
  ASSERT_OK(weft_test_run_task(nested_inner_main, NULL, NULL));
}

static int nested_outer_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *outer, *inner;
  ASSERT_OK(weft_timeout_enter(self, 0.02, &outer));
  ASSERT_OK(weft_timeout_enter(self, 3600, &inner));
  int rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_timeout_expired(inner), 0);
  rc = weft_timeout_exit(inner, rc);
  ASSERT_CODE(rc, WEFT_ECANCELLED); /* not the inner's to claim */
  ASSERT_CODE(weft_timeout_exit(outer, rc), WEFT_ETIMEDOUT);
  ASSERT_EQ(weft_task_cancelling(self), 0);
  return 0;
}

/* Nested: when the outer timeout expires, the inner block passes the cancellation on and
 * the outer one turns it into TimeoutError. */
WEFT_TEST(nested_outer_expires) {
  ASSERT_OK(weft_test_run_task(nested_outer_main, NULL, NULL));
}

static int after_cancel_main(weft_task_t *self, void *arg) {
  (void)arg;
  /* Entered while a cancellation is already pending: the timeout's own expiry still counts,
   * but the earlier cancellation is not turned into a timeout. */
  ASSERT_EQ(weft_task_cancel(self, NULL), 1);
  int rc = weft_sleep_await(weft_test_loop_of(self), 0);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_EQ(weft_task_cancelling(self), 1);
  weft_timeout_t *t;
  ASSERT_OK(weft_timeout_enter(self, 0.01, &t));
  rc = weft_sleep_await(weft_test_loop_of(self), 3600);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  ASSERT_CODE(weft_timeout_exit(t, rc), WEFT_ETIMEDOUT);
  ASSERT_EQ(weft_task_cancelling(self), 1);
  ASSERT_EQ(weft_task_uncancel(self), 0);
  return 0;
}

/* The count of cancellations at enter is the baseline: only requests above it are new. */
WEFT_TEST(enter_while_cancelling) {
  ASSERT_OK(weft_test_run_task(after_cancel_main, NULL, NULL));
}

static int null_main(weft_task_t *self, void *arg) {
  (void)arg;
  weft_timeout_t *t = (weft_timeout_t *)&t;
  ASSERT_CODE(weft_timeout_enter(NULL, 1, &t), WEFT_EINVAL);
  ASSERT_TRUE(t == NULL);
  ASSERT_CODE(weft_timeout_enter(self, 1, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_timeout_enter(self, NAN, &t), WEFT_EINVAL);
  ASSERT_CODE(weft_timeout_enter_at(NULL, 1, &t), WEFT_EINVAL);
  ASSERT_CODE(weft_timeout_enter_at(self, 1, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_timeout_enter_at(self, NAN, &t), WEFT_EINVAL);
  ASSERT_CODE(weft_timeout_reschedule(NULL, 1), WEFT_EINVAL);
  ASSERT_TRUE(weft_timeout_when(NULL) == 0.0);
  ASSERT_EQ(weft_timeout_expired(NULL), 0);
  ASSERT_CODE(weft_timeout_exit(NULL, 0), WEFT_EINVAL);
  ASSERT_OK(weft_timeout_enter(self, 3600, &t));
  ASSERT_CODE(weft_timeout_reschedule(t, NAN), WEFT_EINVAL);
  ASSERT_OK(weft_timeout_exit(t, 0));
  return 0;
}

WEFT_TEST(null_arguments) {
  ASSERT_OK(weft_test_run_task(null_main, NULL, NULL));
}
