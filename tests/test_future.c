/* Futures: states, outcomes, done callbacks, ownership, thread-safe completion. */
#include "weft_test.h"

#include <uv.h>

typedef struct {
  int order[16];
  int n;
} calls_t;

static calls_t g_calls;

static void on_done(weft_future_t *f, void *arg) {
  (void)f;
  g_calls.order[g_calls.n++] = (int)(intptr_t)arg;
}

static void stop_loop(void *arg) {
  weft_loop_stop(arg);
}

static void run_briefly(weft_loop_t *loop) {
  ASSERT_OK(weft_call_soon(loop, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
}

WEFT_TEST(result_and_states) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_PTR_EQ(weft_future_loop(f), loop);
  ASSERT_TRUE(!weft_future_done(f));
  const weft_value_t *v;
  ASSERT_CODE(weft_future_result(f, &v), WEFT_EINVALIDSTATE);
  ASSERT_CODE(weft_future_error(f), WEFT_EINVALIDSTATE);
  ASSERT_OK(weft_future_set_result(f, weft_value_int(42)));
  ASSERT_TRUE(weft_future_done(f));
  ASSERT_TRUE(!weft_future_cancelled(f));
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->type, WEFT_VALUE_INT);
  ASSERT_EQ(v->i, 42);
  /* Done futures refuse a second outcome. */
  ASSERT_CODE(weft_future_set_result(f, weft_value_int(1)), WEFT_EINVALIDSTATE);
  ASSERT_CODE(weft_future_set_error(f, WEFT_EIO, NULL, NULL, NULL), WEFT_EINVALIDSTATE);
  ASSERT_EQ(weft_future_cancel(f, NULL), 0);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

WEFT_TEST(error_with_message_and_payload) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  char *payload = malloc(8);
  strcpy(payload, "object");
  ASSERT_OK(weft_future_set_error(f, WEFT_ECONNRESET, "peer went away", payload, free));
  ASSERT_CODE(weft_future_error(f), WEFT_ECONNRESET);
  ASSERT_CODE(weft_future_result(f, NULL), WEFT_ECONNRESET);
  ASSERT_STREQ(weft_future_error_message(f), "peer went away");
  ASSERT_STREQ(weft_future_error_payload(f), "object");
  ASSERT_CODE(weft_future_set_error(f, 5, NULL, NULL, NULL), WEFT_EINVAL);
  weft_future_release(f); /* the payload is freed with the future */
  weft_test_close_loop(loop);
}

WEFT_TEST(cancel_with_message) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_EQ(weft_future_cancel(f, "no longer needed"), 1);
  ASSERT_TRUE(weft_future_cancelled(f));
  ASSERT_TRUE(weft_future_done(f));
  ASSERT_CODE(weft_future_error(f), WEFT_ECANCELLED);
  ASSERT_STREQ(weft_future_error_message(f), "no longer needed");
  ASSERT_EQ(weft_future_cancel(f, NULL), 0);
  /* set_error with the cancelled code cancels, as asyncio refuses CancelledError there. */
  weft_future_t *g;
  ASSERT_OK(weft_future_new(loop, &g));
  ASSERT_OK(weft_future_set_error(g, WEFT_ECANCELLED, "via error", NULL, NULL));
  ASSERT_TRUE(weft_future_cancelled(g));
  weft_future_release(f);
  weft_future_release(g);
  weft_test_close_loop(loop);
}

WEFT_TEST(callbacks_scheduled_in_order_not_inline) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_calls.n = 0;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  for (intptr_t i = 1; i <= 5; i++)
    ASSERT_OK(weft_future_add_done_callback(f, on_done, (void *)i));
  ASSERT_OK(weft_future_set_result(f, weft_value_none()));
  ASSERT_EQ(g_calls.n, 0); /* not inline */
  /* A callback added once the future is done is scheduled at once, after the others. */
  ASSERT_OK(weft_future_add_done_callback(f, on_done, (void *)(intptr_t)6));
  run_briefly(loop);
  ASSERT_EQ(g_calls.n, 6);
  for (int i = 0; i < 6; i++)
    ASSERT_EQ(g_calls.order[i], i + 1);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

WEFT_TEST(remove_done_callback) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_calls.n = 0;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_add_done_callback(f, on_done, (void *)(intptr_t)1));
  ASSERT_OK(weft_future_add_done_callback(f, on_done, (void *)(intptr_t)2));
  ASSERT_OK(weft_future_add_done_callback(f, on_done, (void *)(intptr_t)1));
  ASSERT_EQ(weft_future_remove_done_callback(f, on_done, (void *)(intptr_t)1), 2);
  ASSERT_EQ(weft_future_remove_done_callback(f, on_done, (void *)(intptr_t)9), 0);
  ASSERT_OK(weft_future_cancel(f, NULL) == 1 ? 0 : -1);
  run_briefly(loop);
  ASSERT_EQ(g_calls.n, 1);
  ASSERT_EQ(g_calls.order[0], 2);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

static int g_freed;
static void count_free(void *p) {
  (void)p;
  g_freed++;
}

WEFT_TEST(values_owned_by_future) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_freed = 0;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  static int object;
  ASSERT_OK(weft_future_set_result(f, weft_value_pointer(&object, count_free)));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_PTR_EQ(v->ptr, &object);
  /* A caller's pointer is not an object of the core, whatever type is asked for. */
  ASSERT_TRUE(weft_value_object(v, WEFT_VALUE_POINTER) == NULL);
  ASSERT_TRUE(weft_value_object(v, WEFT_VALUE_TRANSPORT) == NULL);
  ASSERT_TRUE(weft_value_object(NULL, WEFT_VALUE_TRANSPORT) == NULL);
  ASSERT_EQ(g_freed, 0);
  weft_future_release(f);
  ASSERT_EQ(g_freed, 1);
  /* A value refused is still freed: ownership moves in even on failure. */
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_cancel(f, NULL) == 1 ? 0 : -1);
  ASSERT_CODE(weft_future_set_result(f, weft_value_pointer(&object, count_free)),
              WEFT_EINVALIDSTATE);
  ASSERT_EQ(g_freed, 2);
  weft_future_release(f);
  /* Bytes. */
  ASSERT_OK(weft_future_new(loop, &f));
  weft_value_t bytes;
  ASSERT_OK(weft_value_bytes(&bytes, "hello", 5));
  ASSERT_OK(weft_future_set_result(f, bytes));
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->len, 5);
  ASSERT_TRUE(memcmp(v->ptr, "hello", 5) == 0);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

typedef struct {
  int calls;
  int error;
  char message[128];
} report_t;

static void capture_report(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop;
  report_t *r = arg;
  r->calls++;
  r->error = ctx->error;
  snprintf(r->message, sizeof r->message, "%s", ctx->message);
}

WEFT_TEST(unretrieved_error_reported_on_free) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  report_t r = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, capture_report, &r, NULL));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_set_error(f, WEFT_EPIPE, NULL, NULL, NULL));
  weft_future_release(f);
  ASSERT_EQ(r.calls, 1);
  ASSERT_CODE(r.error, WEFT_EPIPE);
  ASSERT_STREQ(r.message, "Future exception was never retrieved");
  /* Retrieved: nothing to report. */
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_set_error(f, WEFT_EPIPE, NULL, NULL, NULL));
  ASSERT_CODE(weft_future_error(f), WEFT_EPIPE);
  weft_future_release(f);
  /* Cancelled: nothing to report either. */
  ASSERT_OK(weft_future_new(loop, &f));
  weft_future_cancel(f, NULL);
  weft_future_release(f);
  ASSERT_EQ(r.calls, 1);
  weft_test_close_loop(loop);
}

typedef struct {
  weft_future_t *future;
  int code;
} completer_t;

static void complete_from_thread(void *arg) {
  completer_t *c = arg;
  uv_sleep(5);
  if (c->code == 0)
    ASSERT_OK(weft_future_set_result_threadsafe(c->future, weft_value_int(7)));
  else
    ASSERT_OK(weft_future_set_error_threadsafe(c->future, c->code, "from a thread", NULL, NULL));
}

WEFT_TEST(threadsafe_completion) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  for (int round = 0; round < 2; round++) {
    weft_future_t *f;
    ASSERT_OK(weft_future_new(loop, &f));
    completer_t c = {weft_future_retain(f), round == 0 ? 0 : WEFT_EIO};
    uv_thread_t thread;
    ASSERT_OK(uv_thread_create(&thread, complete_from_thread, &c));
    int rc = weft_loop_run_until_complete(loop, f);
    uv_thread_join(&thread);
    if (round == 0) {
      ASSERT_OK(rc);
      const weft_value_t *v;
      ASSERT_OK(weft_future_result(f, &v));
      ASSERT_EQ(v->i, 7);
    } else {
      ASSERT_CODE(rc, WEFT_EIO);
      ASSERT_STREQ(weft_future_error_message(f), "from a thread");
    }
    weft_future_release(f);
  }
  weft_test_close_loop(loop);
}

WEFT_TEST(threadsafe_completion_of_done_future_is_ignored) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_freed = 0;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  weft_future_cancel(f, NULL);
  static int object;
  ASSERT_OK(weft_future_set_result_threadsafe(weft_future_retain(f),
                                              weft_value_pointer(&object, count_free)));
  run_briefly(loop);
  ASSERT_TRUE(weft_future_cancelled(f));
  ASSERT_EQ(g_freed, 1);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

WEFT_TEST(threadsafe_completion_dropped_at_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_freed = 0;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  static int object;
  ASSERT_OK(weft_future_set_result_threadsafe(weft_future_retain(f),
                                              weft_value_pointer(&object, count_free)));
  ASSERT_OK(weft_loop_close(loop)); /* never applied, but nothing leaks */
  ASSERT_EQ(g_freed, 1);
  ASSERT_TRUE(!weft_future_done(f));
  weft_future_release(f);
  weft_loop_release(loop);
}

static void complete_later(void *arg) {
  weft_future_set_result(arg, weft_value_double(1.5));
}

WEFT_TEST(run_until_complete) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_call_later(loop, 0.005, complete_later, f, NULL));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_NEAR(v->d, 1.5, 0);
  weft_future_release(f);
  /* Stopped before the future is done. */
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_call_soon(loop, stop_loop, loop, NULL));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_EINVALIDSTATE);
  /* A future of another loop is refused. */
  weft_loop_t *other;
  ASSERT_OK(weft_loop_new(&other));
  ASSERT_CODE(weft_loop_run_until_complete(other, f), WEFT_EINVAL);
  weft_test_close_loop(other);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

WEFT_TEST(set_result_on_closed_loop) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_calls.n = 0;
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_add_done_callback(f, on_done, NULL));
  ASSERT_OK(weft_loop_close(loop));
  /* The outcome is kept; the callbacks have no loop to run on, and that is reported. */
  ASSERT_CODE(weft_future_set_result(f, weft_value_int(1)), WEFT_ECLOSED);
  ASSERT_TRUE(weft_future_done(f));
  ASSERT_EQ(g_calls.n, 0);
  weft_future_release(f);
  weft_loop_release(loop);
}

WEFT_TEST(null_arguments) {
  ASSERT_CODE(weft_future_new(NULL, NULL), WEFT_EINVAL);
  weft_future_t *f = NULL;
  ASSERT_CODE(weft_future_new(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_future_set_result(NULL, weft_value_none()), WEFT_EINVAL);
  ASSERT_CODE(weft_future_set_error(NULL, WEFT_EIO, NULL, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_future_cancel(NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_future_result(NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_future_error(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_future_add_done_callback(NULL, on_done, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_future_remove_done_callback(NULL, on_done, NULL), WEFT_EINVAL);
  ASSERT_TRUE(weft_future_error_message(NULL) == NULL);
  ASSERT_CODE(weft_future_set_result_threadsafe(NULL, weft_value_none()), WEFT_EINVAL);
  ASSERT_TRUE(!weft_future_done(NULL));
  weft_future_release(NULL);
  ASSERT_TRUE(weft_future_retain(NULL) == NULL);
}

/* Done callbacks are never dropped for want of memory: each takes its slot in the ready
 * queue when it is registered (where WEFT_ENOMEM can be returned), so completing many
 * futures at once, which grows the queue past its first size, cannot fail. Run by the
 * allocation-failure sweep: a registration may fail there, and every callback that was
 * registered must run. A dropped one aborts (a crash to the sweep, not the early exit of
 * a failed assertion, which the sweep accepts). */
static void count_run(weft_future_t *f, void *arg) {
  (void)f;
  (*(int *)arg)++;
}

WEFT_TEST(done_callbacks_survive_ready_queue_growth) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  enum { N = 300 };
  weft_future_t *fs[N];
  int registered = 0, ran = 0, made = 0;
  for (int i = 0; i < N; i++) {
    if (weft_future_new(loop, &fs[i]) != 0)
      break;
    made++;
    for (int k = 0; k < 2; k++) {
      int rc = weft_future_add_done_callback(fs[i], count_run, &ran);
      if (rc == 0)
        registered++;
      else
        ASSERT_CODE(rc, WEFT_ENOMEM);
    }
  }
  for (int i = 0; i < made; i++)
    ASSERT_OK(weft_future_set_result(fs[i], weft_value_int(i)));
  for (int i = 0; i < 100 && ran < registered; i++)
    weft_loop_run_once(loop, 1);
  if (ran != registered) {
    fprintf(stderr, "%d of %d done callbacks ran\n", ran, registered);
    abort();
  }
  ASSERT_EQ(made, N);
  for (int i = 0; i < made; i++)
    weft_future_release(fs[i]);
  weft_test_close_loop(loop);
}
