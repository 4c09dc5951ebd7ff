/* Queue, LifoQueue, PriorityQueue: ordering, bounds, task_done/join, shutdown, and no item
 * or wake-up lost to cancellation. */
#include "weft_test.h"

static weft_loop_t *loop;
static weft_queue_t *queue;
static int64_t got[64];
static int ngot;

static void yield_n(int n) {
  for (int i = 0; i < n; i++)
    ASSERT_OK(weft_sleep_await(loop, 0));
}

static weft_task_t *spawn(weft_task_fn fn, void *arg) {
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, fn, arg, NULL, &t));
  return t;
}

static void run_main(weft_task_fn fn) {
  ngot = 0;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t = spawn(fn, NULL);
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  weft_test_close_loop(loop);
}

static int64_t get_int_nowait(void) {
  weft_value_t v;
  ASSERT_OK(weft_queue_get_nowait(queue, &v, NULL));
  ASSERT_EQ(v.type, WEFT_VALUE_INT);
  return v.i;
}

static int getter(weft_task_t *self, void *arg) {
  weft_value_t v;
  int rc = weft_queue_get_await(queue, &v, NULL);
  if (rc == 0) {
    got[ngot++] = v.i;
    weft_value_clear(&v);
  }
  return rc;
}

static int putter(weft_task_t *self, void *arg) {
  return weft_queue_put_await(queue, weft_value_int((int64_t)(intptr_t)arg));
}

static int fifo_main(weft_task_t *self, void *arg) {
  ASSERT_CODE(weft_queue_new(loop, 7, 0, &queue), WEFT_EINVAL);
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 2, &queue));
  ASSERT_EQ(weft_queue_maxsize(queue), 2);
  ASSERT_EQ(weft_queue_empty(queue), 1);
  ASSERT_EQ(weft_queue_full(queue), 0);
  weft_value_t v;
  ASSERT_CODE(weft_queue_get_nowait(queue, &v, NULL), WEFT_EQUEUEEMPTY);
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(1)));
  ASSERT_OK(weft_queue_put_await(queue, weft_value_int(2)));
  ASSERT_EQ(weft_queue_full(queue), 1);
  ASSERT_EQ(weft_queue_qsize(queue), 2);
  /* Full: put_nowait refuses and frees the item (a bytes value, so valgrind would see). */
  weft_value_t b;
  ASSERT_OK(weft_value_bytes(&b, "xyz", 3));
  ASSERT_CODE(weft_queue_put_nowait(queue, b), WEFT_EQUEUEFULL);
  /* Blocked putters are served in order as room appears. */
  weft_task_t *p3 = spawn(putter, (void *)(intptr_t)3);
  weft_task_t *p4 = spawn(putter, (void *)(intptr_t)4);
  yield_n(1);
  ASSERT_EQ(weft_queue_qsize(queue), 2);
  for (int64_t want = 1; want <= 4; want++) {
    ASSERT_OK(weft_queue_get_await(queue, &v, NULL));
    ASSERT_EQ(v.i, want);
  }
  ASSERT_OK(weft_await(weft_task_future(p3)));
  ASSERT_OK(weft_await(weft_task_future(p4)));
  /* Blocked getters are served in order too. */
  weft_task_t *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = spawn(getter, NULL);
  yield_n(1);
  for (int i = 0; i < 3; i++)
    ASSERT_OK(weft_queue_put_await(queue, weft_value_int(10 + i)));
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(weft_await(weft_task_future(g[i])));
    weft_task_release(g[i]);
  }
  ASSERT_EQ(ngot, 3);
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(got[i], 10 + i);
  weft_task_release(p3);
  weft_task_release(p4);
  /* Items left in the queue are freed with it. */
  ASSERT_OK(weft_value_bytes(&b, "left", 4));
  ASSERT_OK(weft_queue_put_nowait(queue, b));
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(fifo_bounded) {
  run_main(fifo_main);
}

static int lifo_priority_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_LIFO, 0, &queue));
  for (int i = 1; i <= 4; i++)
    ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(i)));
  ASSERT_EQ(weft_queue_full(queue), 0); /* unbounded */
  for (int i = 4; i >= 1; i--)
    ASSERT_EQ(get_int_nowait(), i);
  weft_queue_release(queue);

  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_PRIORITY, 0, &queue));
  /* (priority, value): ties come out in put order. */
  static const int64_t items[][2] = {{5, 50}, {1, 10}, {3, 30}, {1, 11}, {-2, -20},
                                     {3, 31}, {1, 12}, {9, 90}, {0, 0}};
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
    ASSERT_OK(weft_queue_put_priority_nowait(queue, items[i][0], weft_value_int(items[i][1])));
  static const int64_t want[] = {-20, 0, 10, 11, 12, 30, 31, 50, 90};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    weft_value_t v;
    int64_t prio;
    ASSERT_OK(weft_queue_get_await(queue, &v, &prio));
    ASSERT_EQ(v.i, want[i]);
    ASSERT_EQ(prio, want[i] < 0 ? -2 : want[i] / 10);
  }
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(lifo_and_priority) {
  run_main(lifo_priority_main);
}

static int join_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &queue));
  ASSERT_CODE(weft_queue_task_done(queue), WEFT_EINVALIDSTATE);
  ASSERT_OK(weft_queue_join_await(queue)); /* nothing unfinished */
  for (int i = 0; i < 3; i++)
    ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(i)));
  weft_future_t *j;
  ASSERT_OK(weft_queue_join(queue, &j));
  for (int i = 0; i < 3; i++) {
    (void)get_int_nowait();
    yield_n(1);
    ASSERT_TRUE(!weft_future_done(j));
    ASSERT_OK(weft_queue_task_done(queue));
  }
  ASSERT_OK(weft_await(j));
  ASSERT_CODE(weft_queue_task_done(queue), WEFT_EINVALIDSTATE);
  weft_future_release(j);
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(task_done_join) {
  run_main(join_main);
}

/* A getter cancelled while waiting takes nothing; one woken but cancelled before it ran
 * passes the wake-up on, as asyncio's Queue.get. */
static int cancel_getters_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &queue));
  weft_task_t *g[3];
  for (int i = 0; i < 3; i++)
    g[i] = spawn(getter, NULL);
  yield_n(1);
  ASSERT_EQ(weft_task_cancel(g[0], NULL), 1);
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(1)));
  ASSERT_CODE(weft_await(weft_task_future(g[0])), WEFT_ECANCELLED);
  ASSERT_OK(weft_await(weft_task_future(g[1])));
  ASSERT_EQ(ngot, 1);
  ASSERT_EQ(got[0], 1);
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(2)));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(3)));
  yield_n(1);
  ASSERT_OK(weft_await(weft_task_future(g[2])));
  ASSERT_EQ(got[1], 2);
  ASSERT_EQ(get_int_nowait(), 3);

  /* Woken, then cancelled before it ran: the wake-up goes on to the next getter, which
   * gets the item. */
  weft_task_t *a = spawn(getter, NULL);
  weft_task_t *b = spawn(getter, NULL);
  yield_n(1);
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(4)));
  ASSERT_EQ(weft_task_cancel(a, NULL), 1);
  ASSERT_CODE(weft_await(weft_task_future(a)), WEFT_ECANCELLED);
  ASSERT_OK(weft_await(weft_task_future(b)));
  ASSERT_EQ(ngot, 3);
  ASSERT_EQ(got[2], 4); /* b got it: nothing lost */
  ASSERT_EQ(weft_queue_qsize(queue), 0);

  /* Future form: cancelling a get future leaves the item for the next getter. */
  weft_future_t *f1, *f2;
  ASSERT_OK(weft_queue_get(queue, &f1));
  ASSERT_OK(weft_queue_get(queue, &f2));
  ASSERT_EQ(weft_future_cancel(f1, NULL), 1);
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(5)));
  ASSERT_OK(weft_await(f2));
  weft_value_t v;
  int64_t prio = -1;
  ASSERT_OK(weft_queue_take(f2, &v, &prio));
  ASSERT_EQ(v.i, 5);
  ASSERT_EQ(prio, 0);
  ASSERT_CODE(weft_queue_take(f2, &v, NULL), WEFT_EINVALIDSTATE);
  ASSERT_CODE(weft_queue_take(f1, &v, NULL), WEFT_ECANCELLED);
  weft_future_release(f1);
  weft_future_release(f2);
  /* A get future released without a take frees its item. */
  weft_value_t bytes;
  ASSERT_OK(weft_value_bytes(&bytes, "abc", 3));
  ASSERT_OK(weft_queue_put_nowait(queue, bytes));
  ASSERT_OK(weft_queue_get(queue, &f1));
  ASSERT_TRUE(weft_future_done(f1));
  weft_future_release(f1);
  for (int i = 0; i < 3; i++)
    weft_task_release(g[i]);
  weft_task_release(a);
  weft_task_release(b);
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(cancel_getters) {
  run_main(cancel_getters_main);
}

static char order[8];
static int norder;

static int noting_putter(weft_task_t *self, void *arg) {
  int rc = weft_queue_put_await(queue, weft_value_int(1));
  order[norder++] = 'p';
  return rc;
}

static int noting_getter(weft_task_t *self, void *arg) {
  weft_value_t v;
  int rc = weft_queue_get_await(queue, &v, NULL);
  order[norder++] = 'g';
  return rc;
}

/* A task waiting in put or get resumes in the iteration after the wake-up, as asyncio's
 * Queue coroutines do: before the waker, which yields once after waking it, runs again. */
static int wake_order_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 1, &queue));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(0)));
  weft_task_t *p = spawn(noting_putter, NULL);
  yield_n(1); /* the putter waits: the queue is full */
  (void)get_int_nowait();
  yield_n(1);
  order[norder++] = 'm';
  ASSERT_OK(weft_await(weft_task_future(p)));
  (void)get_int_nowait();
  weft_task_t *g = spawn(noting_getter, NULL);
  yield_n(1); /* the getter waits: the queue is empty */
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(2)));
  yield_n(1);
  order[norder++] = 'm';
  ASSERT_OK(weft_await(weft_task_future(g)));
  ASSERT_STREQ(order, "pmgm");
  weft_task_release(p);
  weft_task_release(g);
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(woken_waiter_resumes_next_iteration) {
  run_main(wake_order_main);
}

static void note_done(weft_future_t *future, void *arg) {
  (void)future;
  order[norder++] = (char)(intptr_t)arg;
}

/* The future forms and sleep(0) go on in the same iteration: a put or get future's done
 * callbacks run in the iteration after the wake-up (the retry calls them at once, not
 * through the ready queue), and sleep(0)'s in the one after it was called, before the
 * caller, which yields once, runs again. */
static int future_wake_order_main(weft_task_t *self, void *arg) {
  norder = 0;
  memset(order, 0, sizeof order);
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 1, &queue));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(0)));
  weft_future_t *put, *get, *slept;
  ASSERT_OK(weft_queue_put(queue, weft_value_int(1), &put)); /* full: it waits */
  ASSERT_OK(weft_future_add_done_callback(put, note_done, (void *)(intptr_t)'p'));
  ASSERT_EQ(get_int_nowait(), 0);
  yield_n(1);
  order[norder++] = 'm';
  ASSERT_OK(weft_future_error(put));
  ASSERT_EQ(get_int_nowait(), 1);
  ASSERT_OK(weft_queue_get(queue, &get)); /* empty: it waits */
  ASSERT_OK(weft_future_add_done_callback(get, note_done, (void *)(intptr_t)'g'));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(2)));
  yield_n(1);
  order[norder++] = 'm';
  weft_value_t v;
  ASSERT_OK(weft_queue_take(get, &v, NULL));
  ASSERT_EQ(v.i, 2);
  ASSERT_OK(weft_sleep(loop, 0, &slept));
  ASSERT_OK(weft_future_add_done_callback(slept, note_done, (void *)(intptr_t)'s'));
  yield_n(1);
  order[norder++] = 'm';
  ASSERT_STREQ(order, "pmgmsm");
  weft_future_release(put);
  weft_future_release(get);
  weft_future_release(slept);
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(future_forms_go_on_in_the_next_iteration) {
  run_main(future_wake_order_main);
}

static int cancel_putters_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 1, &queue));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(0)));
  weft_task_t *p[3];
  for (int i = 0; i < 3; i++)
    p[i] = spawn(putter, (void *)(intptr_t)(i + 1));
  yield_n(1);
  ASSERT_EQ(weft_task_cancel(p[0], NULL), 1);
  ASSERT_CODE(weft_await(weft_task_future(p[0])), WEFT_ECANCELLED);
  ASSERT_EQ(get_int_nowait(), 0); /* room for one: p[1] is next, not the cancelled p[0] */
  ASSERT_OK(weft_await(weft_task_future(p[1])));
  ASSERT_EQ(get_int_nowait(), 2);
  ASSERT_OK(weft_await(weft_task_future(p[2])));
  ASSERT_EQ(get_int_nowait(), 3);
  /* A put future cancelled while waiting frees its item and passes on nothing. */
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(7)));
  weft_future_t *f, *f2;
  weft_value_t bytes;
  ASSERT_OK(weft_value_bytes(&bytes, "dropped", 7));
  ASSERT_OK(weft_queue_put(queue, bytes, &f));
  ASSERT_OK(weft_queue_put(queue, weft_value_int(8), &f2));
  ASSERT_EQ(weft_future_cancel(f, NULL), 1);
  ASSERT_EQ(get_int_nowait(), 7);
  ASSERT_OK(weft_await(f2));
  ASSERT_EQ(get_int_nowait(), 8);
  weft_future_release(f);
  weft_future_release(f2);
  for (int i = 0; i < 3; i++)
    weft_task_release(p[i]);
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(cancel_putters) {
  run_main(cancel_putters_main);
}

/* shutdown(immediate=0): putters fail, getters drain what is left, then fail. */
static int shutdown_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 2, &queue));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(1)));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(2)));
  weft_task_t *p = spawn(putter, (void *)(intptr_t)3);
  yield_n(1);
  weft_future_t *j;
  ASSERT_OK(weft_queue_join(queue, &j));
  ASSERT_OK(weft_queue_shutdown(queue, 0));
  ASSERT_EQ(weft_queue_is_shutdown(queue), 1);
  ASSERT_CODE(weft_await(weft_task_future(p)), WEFT_EQUEUESHUTDOWN);
  ASSERT_CODE(weft_queue_put_nowait(queue, weft_value_int(4)), WEFT_EQUEUESHUTDOWN);
  ASSERT_CODE(weft_queue_put_await(queue, weft_value_int(4)), WEFT_EQUEUESHUTDOWN);
  weft_value_t v;
  ASSERT_OK(weft_queue_get_await(queue, &v, NULL));
  ASSERT_EQ(v.i, 1);
  ASSERT_EQ(get_int_nowait(), 2);
  ASSERT_CODE(weft_queue_get_nowait(queue, &v, NULL), WEFT_EQUEUESHUTDOWN);
  ASSERT_CODE(weft_queue_get_await(queue, &v, NULL), WEFT_EQUEUESHUTDOWN);
  /* join still waits for task_done. */
  yield_n(1);
  ASSERT_TRUE(!weft_future_done(j));
  ASSERT_OK(weft_queue_task_done(queue));
  ASSERT_OK(weft_queue_task_done(queue));
  ASSERT_OK(weft_await(j));
  ASSERT_OK(weft_queue_shutdown(queue, 0)); /* twice: harmless */
  weft_future_release(j);
  weft_task_release(p);
  weft_queue_release(queue);

  /* A getter blocked on an empty queue fails once it is shut down. */
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_LIFO, 0, &queue));
  weft_task_t *g = spawn(getter, NULL);
  yield_n(1);
  ASSERT_OK(weft_queue_shutdown(queue, 0));
  ASSERT_CODE(weft_await(weft_task_future(g)), WEFT_EQUEUESHUTDOWN);
  weft_task_release(g);
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(shutdown) {
  run_main(shutdown_main);
}

/* shutdown(immediate=1): the queue is emptied (items freed and counted done), join is
 * released, getters fail at once. */
static int shutdown_immediate_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_PRIORITY, 3, &queue));
  for (int i = 0; i < 3; i++) {
    weft_value_t b;
    ASSERT_OK(weft_value_bytes(&b, "item", 4));
    ASSERT_OK(weft_queue_put_priority_nowait(queue, i, b));
  }
  weft_value_t v;
  ASSERT_OK(weft_queue_get_nowait(queue, &v, NULL)); /* got but not yet done */
  weft_value_clear(&v);
  weft_future_t *j;
  ASSERT_OK(weft_queue_join(queue, &j));
  ASSERT_OK(weft_queue_shutdown(queue, 1));
  ASSERT_EQ(weft_queue_qsize(queue), 0);
  yield_n(1);
  ASSERT_TRUE(!weft_future_done(j)); /* one item is still being processed */
  ASSERT_OK(weft_queue_task_done(queue));
  ASSERT_OK(weft_await(j));
  ASSERT_CODE(weft_queue_get_await(queue, &v, NULL), WEFT_EQUEUESHUTDOWN);
  weft_future_release(j);
  weft_queue_release(queue);

  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &queue));
  ASSERT_OK(weft_queue_put_nowait(queue, weft_value_int(1)));
  weft_task_t *g = spawn(getter, NULL);
  weft_task_t *g2 = spawn(getter, NULL);
  yield_n(1);
  ASSERT_EQ(ngot, 1);
  ASSERT_OK(weft_queue_task_done(queue));
  ASSERT_OK(weft_queue_join_await(queue));
  ASSERT_OK(weft_queue_shutdown(queue, 1));
  ASSERT_OK(weft_await(weft_task_future(g)));
  ASSERT_CODE(weft_await(weft_task_future(g2)), WEFT_EQUEUESHUTDOWN);
  weft_task_release(g);
  weft_task_release(g2);
  weft_queue_release(queue);
  return 0;
}

WEFT_TEST(shutdown_immediate) {
  run_main(shutdown_immediate_main);
}

WEFT_TEST(null_handles) {
  weft_future_t *f = NULL;
  weft_value_t v;
  ASSERT_CODE(weft_queue_new(NULL, WEFT_QUEUE_FIFO, 0, &queue), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_put_await(NULL, weft_value_int(1)), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_put(NULL, weft_value_int(1), &f), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_put_nowait(NULL, weft_value_int(1)), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_put_priority_await(NULL, 1, weft_value_int(1)), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_put_priority(NULL, 1, weft_value_int(1), &f), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_put_priority_nowait(NULL, 1, weft_value_int(1)), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_get_await(NULL, &v, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_get(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_get_nowait(NULL, &v, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_take(NULL, &v, NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_queue_qsize(NULL), 0);
  ASSERT_EQ(weft_queue_maxsize(NULL), 0);
  ASSERT_EQ(weft_queue_empty(NULL), 0);
  ASSERT_EQ(weft_queue_full(NULL), 0);
  ASSERT_CODE(weft_queue_task_done(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_join_await(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_join(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_queue_shutdown(NULL, 0), WEFT_EINVAL);
  ASSERT_EQ(weft_queue_is_shutdown(NULL), 0);
  weft_queue_release(NULL);
  ASSERT_TRUE(f == NULL);

  /* Not a get future; outside a task. */
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_CODE(weft_queue_take(f, &v, NULL), WEFT_EINVALIDSTATE);
  ASSERT_OK(weft_future_set_result(f, weft_value_int(3)));
  ASSERT_CODE(weft_queue_take(f, &v, NULL), WEFT_EINVAL);
  weft_future_release(f);
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &queue));
  ASSERT_CODE(weft_queue_get_await(queue, &v, NULL), WEFT_ENOTINTASK);
  ASSERT_CODE(weft_queue_put_await(queue, weft_value_int(1)), WEFT_ENOTINTASK);
  weft_queue_release(queue);
  weft_test_close_loop(loop);
}
