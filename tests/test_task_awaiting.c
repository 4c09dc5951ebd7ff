/* weft_task_set_awaiting: a step-driven task whose coroutine goes on by itself between steps
 * (a JS async function) names the future that coroutine awaits, and a cancellation of the
 * task reaches that future at once, as asyncio's Task.cancel() reaches _fut_waiter.
 *
 * The stand-in binding below works as the Node one: the task waits on a gate future of its
 * own; "the coroutine" awaits `body` through a done callback of its own (the Promise's), and
 * ends the task between steps when it hears of body's outcome. */
#include "weft_test.h"

typedef struct {
  weft_loop_t *loop;
  weft_task_t *task;
  weft_future_t *gate;
  weft_future_t *body;
  int steps;
  int gate_pending_at_step; /* the last step: woken early, its gate untouched */
  int throw_at_step;
  char order[8]; /* 's': a step after the first, 'b': the coroutine heard of body */
  int norder;
  int body_code;
  int end_with_result; /* the coroutine catches the cancellation and returns 1 */
} coro_t;

static void coro_step(weft_task_t *task, int throw_code, void *arg) {
  coro_t *c = arg;
  if (c->steps++ > 0) {
    c->order[c->norder++] = 's';
    c->gate_pending_at_step = !weft_future_done(c->gate);
    c->throw_at_step = throw_code;
  }
  weft_future_release(c->gate);
  ASSERT_OK(weft_future_new(c->loop, &c->gate));
  ASSERT_OK(weft_task_suspend(task, c->gate));
}

/* The coroutine hears of body's outcome (the binding's bridge) and stops. */
static void body_heard(weft_future_t *body, void *arg) {
  coro_t *c = arg;
  c->order[c->norder++] = 'b';
  c->body_code = weft_future_error(body);
  if (weft_future_done(weft_task_future(c->task)))
    return;
  if (c->body_code == WEFT_ECANCELLED && !c->end_with_result)
    ASSERT_CODE(weft_task_fail(c->task, WEFT_ECANCELLED, NULL, NULL, NULL), WEFT_ECANCELLED);
  else
    ASSERT_OK(weft_task_return(c->task, weft_value_int(1)));
}

/* Starts the task on a new loop, which it returns, and lets its coroutine await `body`
 * between steps. */
static weft_loop_t *coro_start(coro_t *c) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  c->loop = loop;
  ASSERT_OK(weft_future_new(loop, &c->gate));
  ASSERT_OK(weft_future_new(loop, &c->body));
  ASSERT_OK(weft_task_new_stepped(loop, coro_step, c, NULL, NULL, &c->task));
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(c->steps, 1);
  ASSERT_TRUE(weft_task_awaiting(c->task) == c->gate);
  ASSERT_OK(weft_future_add_done_callback(c->body, body_heard, c));
  ASSERT_OK(weft_task_set_awaiting(c->task, c->body));
  ASSERT_TRUE(weft_task_awaiting(c->task) == c->body);
  return loop;
}

static void coro_free(coro_t *c) {
  weft_future_release(c->gate);
  weft_future_release(c->body);
  weft_task_release(c->task);
  weft_test_close_loop(c->loop);
}

static void coro_finish(coro_t *c) {
  ASSERT_TRUE(weft_future_done(weft_task_future(c->task)));
  ASSERT_OK(weft_loop_run_once(c->loop, 0)); /* whatever the task's end queued */
  coro_free(c);
}

/* cancel_while_awaiting: the awaited future is cancelled by the call itself; the next
 * iteration runs the task's step first, then tells the coroutine; a second cancel() before
 * then adds to the count and delivers nothing more. */
WEFT_TEST(cancel_reaches_awaited_future_at_once) {
  coro_t c = {0};
  weft_loop_t *loop = coro_start(&c);
  ASSERT_EQ(weft_task_cancel(c.task, "stop"), 1);
  ASSERT_TRUE(weft_future_cancelled(c.body));
  ASSERT_STREQ(weft_future_error_message(c.body), "stop");
  ASSERT_EQ(weft_task_cancel(c.task, NULL), 1);
  ASSERT_EQ(weft_task_cancelling(c.task), 2);
  ASSERT_EQ(c.norder, 0);
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_EQ(c.norder, 2);
  ASSERT_EQ(c.order[0], 's');
  ASSERT_EQ(c.order[1], 'b');
  ASSERT_TRUE(c.gate_pending_at_step);
  ASSERT_OK(c.throw_at_step);
  ASSERT_CODE(c.body_code, WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_cancelled(weft_task_future(c.task)));
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_EQ(c.steps, 2);
  coro_finish(&c);
}

static void cancel_task(void *arg) {
  coro_t *c = arg;
  ASSERT_EQ(weft_task_cancel(c->task, NULL), 1);
}

static void complete_body(void *arg) {
  coro_t *c = arg;
  /* Already cancelled: the result comes too late, as asyncio's set_result would. */
  ASSERT_CODE(weft_future_set_result(c->body, weft_value_int(5)), WEFT_EINVALIDSTATE);
}

/* timeout_boundary: a cancellation and the awaited future's completion in one iteration,
 * the cancellation first: the coroutine gets the cancellation, not the result. */
WEFT_TEST(cancel_wins_over_a_later_completion_in_the_same_iteration) {
  coro_t c = {0};
  weft_loop_t *loop = coro_start(&c);
  ASSERT_OK(weft_call_soon(loop, cancel_task, &c, NULL));
  ASSERT_OK(weft_call_soon(loop, complete_body, &c, NULL));
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_TRUE(weft_future_cancelled(c.body));
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_CODE(c.body_code, WEFT_ECANCELLED);
  ASSERT_TRUE(weft_future_cancelled(weft_task_future(c.task)));
  coro_finish(&c);
}

/* asyncio: a coroutine that catches the CancelledError and returns ends with its result. */
WEFT_TEST(coroutine_may_catch_and_return) {
  coro_t c = {.end_with_result = 1};
  weft_loop_t *loop = coro_start(&c);
  ASSERT_EQ(weft_task_cancel(c.task, NULL), 1);
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_CODE(c.body_code, WEFT_ECANCELLED);
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(weft_task_future(c.task), &v));
  ASSERT_EQ(v->i, 1);
  coro_finish(&c);
}

/* The coroutine stops by other means before the step that precedes the cancellation's
 * delivery: it was never told, so the task ends cancelled (as with a cancelled gate). */
WEFT_TEST(coroutine_stopping_before_it_is_told_ends_cancelled) {
  coro_t c = {0};
  weft_loop_t *loop = coro_start(&c);
  ASSERT_EQ(weft_task_cancel(c.task, "late"), 1);
  ASSERT_OK(weft_task_return(c.task, weft_value_int(3)));
  ASSERT_TRUE(weft_future_cancelled(weft_task_future(c.task)));
  ASSERT_STREQ(weft_future_error_message(weft_task_future(c.task)), "late");
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_EQ(c.steps, 1); /* the queued step finds it done */
  coro_free(&c);
}

/* A done body future cannot take the cancellation: the gate does, and the step that it
 * wakes passes the cancellation on (throw_code 0, gate cancelled), as before. */
WEFT_TEST(done_awaited_future_leaves_it_to_the_gate) {
  coro_t c = {.end_with_result = 1};
  weft_loop_t *loop = coro_start(&c);
  ASSERT_EQ(weft_future_remove_done_callback(c.body, body_heard, &c), 1);
  ASSERT_OK(weft_future_set_result(c.body, weft_value_none()));
  weft_future_t *gate = weft_future_retain(c.gate);
  ASSERT_EQ(weft_task_cancel(c.task, NULL), 1);
  ASSERT_TRUE(weft_future_cancelled(gate));
  ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_EQ(c.steps, 2);
  ASSERT_TRUE(!c.gate_pending_at_step);
  weft_future_release(gate);
  ASSERT_OK(weft_task_return(c.task, weft_value_none()));
  coro_finish(&c);
}

static int stackful_noop(weft_task_t *self, void *arg) {
  (void)self;
  (void)arg;
  return 0;
}

WEFT_TEST(set_awaiting_arguments) {
  coro_t c = {.end_with_result = 1};
  weft_loop_t *loop = coro_start(&c), *other;
  ASSERT_OK(weft_loop_new(&other));
  weft_future_t *foreign;
  ASSERT_OK(weft_future_new(other, &foreign));
  ASSERT_CODE(weft_task_set_awaiting(NULL, c.body), WEFT_EINVAL);
  ASSERT_CODE(weft_task_set_awaiting(c.task, weft_task_future(c.task)), WEFT_EINVAL);
  ASSERT_CODE(weft_task_set_awaiting(c.task, foreign), WEFT_EINVAL);
  weft_task_t *stackful;
  ASSERT_OK(weft_task_spawn(loop, stackful_noop, NULL, NULL, &stackful));
  ASSERT_CODE(weft_task_set_awaiting(stackful, c.body), WEFT_EINVAL);
  /* NULL: nothing named any more; the gate is what it waits on. */
  ASSERT_OK(weft_task_set_awaiting(c.task, NULL));
  ASSERT_TRUE(weft_task_awaiting(c.task) == c.gate);
  ASSERT_OK(weft_task_return(c.task, weft_value_none()));
  ASSERT_CODE(weft_task_set_awaiting(c.task, c.body), WEFT_EINVALIDSTATE);
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(stackful)));
  weft_task_release(stackful);
  weft_future_release(foreign);
  weft_test_close_loop(other);
  coro_finish(&c);
}

/* The call graph's text names what the coroutine awaits, not the binding's gate. */
WEFT_TEST(call_graph_shows_the_awaited_future) {
  coro_t c = {.end_with_result = 1};
  weft_loop_t *loop = coro_start(&c);
  weft_graph_t *graph;
  ASSERT_OK(weft_graph_capture(loop, weft_task_future(c.task), &graph));
  char text[512], body_id[64], gate_id[64];
  weft_graph_format(graph, text, sizeof text);
  weft_graph_free(graph);
  snprintf(body_id, sizeof body_id, "awaiting <Future pending id=%p>", (void *)c.body);
  snprintf(gate_id, sizeof gate_id, "id=%p", (void *)c.gate);
  ASSERT_TRUE(strstr(text, body_id) != NULL);
  ASSERT_TRUE(strstr(text, gate_id) == NULL);
  ASSERT_OK(weft_task_return(c.task, weft_value_none()));
  coro_finish(&c);
}
