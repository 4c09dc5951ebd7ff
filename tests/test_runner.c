/* The runner, each test one rule of asyncio.run. */
#include "weft_test.h"

static int return_code_main(weft_task_t *self, void *arg) {
  (void)self;
  return *(int *)arg;
}

/* asyncio.run returns main's result, or raises its error. */
WEFT_TEST(returns_main_code) {
  int code = 0;
  ASSERT_OK(weft_run(return_code_main, &code, NULL));
  code = WEFT_EIO;
  ASSERT_CODE(weft_run(return_code_main, &code, NULL), WEFT_EIO);
  code = WEFT_ECANCELLED;
  ASSERT_CODE(weft_run(return_code_main, &code, NULL), WEFT_ECANCELLED);
}

static int sleeping_main(weft_task_t *self, void *arg) {
  (void)arg;
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  return weft_task_fail(self, WEFT_EPIPE, "main failed", NULL, NULL);
}

/* main runs as a task (it can await), and its error is the run's outcome. */
WEFT_TEST(main_is_a_task) {
  ASSERT_CODE(weft_run(sleeping_main, NULL, NULL), WEFT_EPIPE);
}

typedef struct {
  char name[32];
  int debug;
} seen_t;

static int options_main(weft_task_t *self, void *arg) {
  seen_t *s = arg;
  snprintf(s->name, sizeof s->name, "%s", weft_task_name(self));
  s->debug = weft_loop_get_debug(weft_test_loop_of(self));
  ASSERT_PTR_EQ(weft_current_task(weft_test_loop_of(self)), self);
  return 0;
}

/* The main task is called "main" unless named; debug mode is passed to the loop. */
WEFT_TEST(options) {
  seen_t s = {0};
  ASSERT_OK(weft_run(options_main, &s, NULL));
  ASSERT_STREQ(s.name, "main");
  weft_run_options_t options = {.size = sizeof options, .debug = 1, .main_name = "entry"};
  ASSERT_OK(weft_run(options_main, &s, &options));
  ASSERT_STREQ(s.name, "entry");
  ASSERT_EQ(s.debug, 1);
}

typedef struct {
  int started;
  int cancelled;
  int cleaned_up;
  int fail_with; /* the left-over task fails with this once cancelled */
} leftover_t;

static int leftover_fn(weft_task_t *self, void *arg) {
  leftover_t *l = arg;
  l->started = 1;
  int rc = weft_sleep_await(weft_test_loop_of(self), 10);
  ASSERT_CODE(rc, WEFT_ECANCELLED);
  l->cancelled = 1;
  /* Clean-up that itself awaits: the runner waits for it. */
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  l->cleaned_up = 1;
  if (l->fail_with != 0)
    return weft_task_fail(self, l->fail_with, "cleanup failed", NULL, NULL);
  return rc;
}

typedef struct {
  leftover_t left[2];
  int calls;
  int error;
  char error_message[32];
  char task_name[32];
} leftover_case_t;

static void handler(weft_loop_t *loop, const weft_error_context_t *context, void *arg) {
  (void)loop;
  leftover_case_t *c = arg;
  c->calls++;
  c->error = context->error;
  if (context->error_message != NULL)
    snprintf(c->error_message, sizeof c->error_message, "%s", context->error_message);
  if (context->task != NULL)
    snprintf(c->task_name, sizeof c->task_name, "%s", weft_task_name(context->task));
}

static int leftover_main(weft_task_t *self, void *arg) {
  leftover_case_t *c = arg;
  ASSERT_OK(weft_loop_set_exception_handler(weft_test_loop_of(self), handler, c, NULL));
  weft_task_options_t options = {.size = sizeof options, .name = "straggler"};
  for (int i = 0; i < 2; i++)
    ASSERT_OK(weft_task_spawn(weft_test_loop_of(self), leftover_fn, &c->left[i], &options, NULL));
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0));
  return 0;
}

/* Tasks still pending when main is done are cancelled, and the runner waits until their
 * handling of the cancellation has run. */
WEFT_TEST(leftover_tasks_cancelled) {
  leftover_case_t c = {0};
  ASSERT_OK(weft_run(leftover_main, &c, NULL));
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(c.left[i].started, 1);
    ASSERT_EQ(c.left[i].cancelled, 1);
    ASSERT_EQ(c.left[i].cleaned_up, 1);
  }
  ASSERT_EQ(c.calls, 0);
}

/* A left-over task that fails instead of ending cancelled is reported to the loop's
 * exception handler, once. */
WEFT_TEST(leftover_error_reported) {
  leftover_case_t c = {.left = {{.fail_with = WEFT_EIO}, {0}}};
  ASSERT_OK(weft_run(leftover_main, &c, NULL));
  ASSERT_EQ(c.left[0].cleaned_up, 1);
  ASSERT_EQ(c.calls, 1);
  ASSERT_CODE(c.error, WEFT_EIO);
  ASSERT_STREQ(c.error_message, "cleanup failed");
  ASSERT_STREQ(c.task_name, "straggler");
}

static int note_run_fn(weft_task_t *self, void *arg) {
  (void)self;
  *(int *)arg = 1;
  return 0;
}

static int spawn_and_return_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_task_spawn(weft_test_loop_of(self), note_run_fn, arg, NULL, NULL));
  return 0;
}

/* As in asyncio, a task created just before main returns was scheduled before main's
 * completion was: it still gets its first step before the runner's clean-up. */
WEFT_TEST(task_spawned_at_return_runs) {
  int ran = 0;
  ASSERT_OK(weft_run(spawn_and_return_main, &ran, NULL));
  ASSERT_EQ(ran, 1);
}

typedef struct {
  weft_loop_t *loop;
  int steps; /* how many links of the chain have run */
} chain_t;

static void chain_link(void *arg) {
  chain_t *c = arg;
  if (++c->steps < 3)
    weft_call_soon(c->loop, chain_link, c, NULL);
}

static int chain_and_return_main(weft_task_t *self, void *arg) {
  chain_t *c = arg;
  c->loop = weft_test_loop_of(self);
  ASSERT_OK(weft_call_soon(c->loop, chain_link, c, NULL));
  return 0;
}

/* asyncio.run spends a few iterations after main (shutting down async generators and the
 * default executor) in which callbacks already scheduled still run, so a clean-up that
 * takes a callback or two (an operation a cancelled task gave up, say) is not dropped
 * when the loop closes. */
WEFT_TEST(callbacks_scheduled_at_return_run) {
  chain_t c = {0};
  ASSERT_OK(weft_run(chain_and_return_main, &c, NULL));
  ASSERT_EQ(c.steps, 3);
}

static void reschedule_forever(void *arg) {
  chain_t *c = arg;
  c->steps++;
  weft_call_soon(c->loop, reschedule_forever, c, NULL);
}

static int forever_main(weft_task_t *self, void *arg) {
  chain_t *c = arg;
  c->loop = weft_test_loop_of(self);
  ASSERT_OK(weft_call_soon(c->loop, reschedule_forever, c, NULL));
  return 0;
}

/* ...but a callback that keeps rescheduling itself cannot keep the runner from closing. */
WEFT_TEST(rescheduling_callback_does_not_hold_the_runner) {
  chain_t c = {0};
  ASSERT_OK(weft_run(forever_main, &c, NULL));
  ASSERT_TRUE(c.steps >= 1 && c.steps < 1000);
}

WEFT_TEST(null_arguments) {
  ASSERT_CODE(weft_run(NULL, NULL, NULL), WEFT_EINVAL);
  weft_run_options_t options = {0};
  ASSERT_CODE(weft_run(return_code_main, NULL, &options), WEFT_EINVAL);
}
