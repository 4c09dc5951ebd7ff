/* Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier: asyncio's rules, including
 * FIFO order and what cancellation must never lose. */
#include "weft_test.h"

static weft_loop_t *loop;
static int order[64];
static int norder;

static void record(int id) {
  order[norder++] = id;
}

static void yield_n(int n) {
  for (int i = 0; i < n; i++)
    ASSERT_OK(weft_sleep_await(loop, 0));
}

static weft_task_t *spawn(weft_task_fn fn, void *arg) {
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, fn, arg, NULL, &t));
  return t;
}

/* Runs `fn` as the main task on a fresh loop, then closes it. */
static void run_main(weft_task_fn fn) {
  norder = 0;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t = spawn(fn, NULL);
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  weft_test_close_loop(loop);
}

/* ---- Lock ---- */

static weft_lock_t *lock;

static int lock_user(weft_task_t *self, void *arg) {
  int rc = weft_lock_acquire_await(lock);
  if (rc != 0)
    return rc;
  record((int)(intptr_t)arg);
  yield_n(1);
  ASSERT_OK(weft_lock_unlock(lock));
  return 0;
}

static int lock_basic_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_lock_new(loop, &lock));
  ASSERT_EQ(weft_lock_locked(lock), 0);
  ASSERT_CODE(weft_lock_unlock(lock), WEFT_EINVALIDSTATE);
  ASSERT_OK(weft_lock_acquire_await(lock));
  ASSERT_EQ(weft_lock_locked(lock), 1);
  ASSERT_OK(weft_lock_unlock(lock));
  ASSERT_EQ(weft_lock_locked(lock), 0);
  ASSERT_CODE(weft_lock_unlock(lock), WEFT_EINVALIDSTATE);
  /* The future form: done at once when free, pending while held. */
  weft_future_t *f1, *f2;
  ASSERT_OK(weft_lock_acquire(lock, &f1));
  ASSERT_TRUE(weft_future_done(f1));
  ASSERT_OK(weft_lock_acquire(lock, &f2));
  ASSERT_TRUE(!weft_future_done(f2));
  ASSERT_OK(weft_lock_unlock(lock));
  ASSERT_TRUE(weft_future_done(f2)); /* handed over: the lock is f2's caller's */
  ASSERT_OK(weft_await(f2));
  /* locked() shows 1 again once the waiter has run (its done callback, which a binding's
   * coroutine awaiting f2 would follow), as asyncio's shows True once the woken task ran. */
  ASSERT_EQ(weft_lock_locked(lock), 0);
  yield_n(1);
  ASSERT_EQ(weft_lock_locked(lock), 1);
  ASSERT_OK(weft_lock_unlock(lock));
  weft_future_release(f1);
  weft_future_release(f2);
  weft_lock_release(lock);
  return 0;
}

WEFT_TEST(lock_basic) {
  run_main(lock_basic_main);
}

static int lock_fifo_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_lock_new(loop, &lock));
  ASSERT_OK(weft_lock_acquire_await(lock));
  weft_task_t *t[5];
  for (int i = 0; i < 5; i++)
    t[i] = spawn(lock_user, (void *)(intptr_t)i);
  yield_n(2);
  ASSERT_EQ(norder, 0);
  ASSERT_OK(weft_lock_unlock(lock));
  for (int i = 0; i < 5; i++) {
    ASSERT_OK(weft_await(weft_task_future(t[i])));
    weft_task_release(t[i]);
  }
  for (int i = 0; i < 5; i++)
    ASSERT_EQ(order[i], i);
  ASSERT_EQ(weft_lock_locked(lock), 0);
  weft_lock_release(lock);
  return 0;
}

WEFT_TEST(lock_fifo) {
  run_main(lock_fifo_main);
}

/* A waiter cancelled while queued leaves the line; the others still get the lock in order. */
static int lock_cancel_waiting_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_lock_new(loop, &lock));
  ASSERT_OK(weft_lock_acquire_await(lock));
  weft_task_t *t[3];
  for (int i = 0; i < 3; i++)
    t[i] = spawn(lock_user, (void *)(intptr_t)i);
  yield_n(1);
  ASSERT_EQ(weft_task_cancel(t[1], NULL), 1);
  yield_n(1);
  ASSERT_OK(weft_lock_unlock(lock));
  ASSERT_OK(weft_await(weft_task_future(t[0])));
  ASSERT_CODE(weft_await(weft_task_future(t[1])), WEFT_ECANCELLED);
  ASSERT_OK(weft_await(weft_task_future(t[2])));
  ASSERT_EQ(norder, 2);
  ASSERT_EQ(order[0], 0);
  ASSERT_EQ(order[1], 2);
  ASSERT_EQ(weft_lock_locked(lock), 0);
  for (int i = 0; i < 3; i++)
    weft_task_release(t[i]);
  weft_lock_release(lock);
  return 0;
}

WEFT_TEST(lock_cancel_waiting) {
  run_main(lock_cancel_waiting_main);
}

/* Woken, then cancelled before it could run: the lock goes to the next waiter, not lost. */
static int lock_cancel_woken_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_lock_new(loop, &lock));
  ASSERT_OK(weft_lock_acquire_await(lock));
  weft_task_t *a = spawn(lock_user, (void *)(intptr_t)1);
  weft_task_t *b = spawn(lock_user, (void *)(intptr_t)2);
  yield_n(1);
  ASSERT_OK(weft_lock_unlock(lock));
  ASSERT_EQ(weft_task_cancel(a, NULL), 1); /* its waiter is already done */
  ASSERT_CODE(weft_await(weft_task_future(a)), WEFT_ECANCELLED);
  ASSERT_OK(weft_await(weft_task_future(b)));
  ASSERT_EQ(norder, 1);
  ASSERT_EQ(order[0], 2);
  ASSERT_EQ(weft_lock_locked(lock), 0);
  weft_task_release(a);
  weft_task_release(b);
  weft_lock_release(lock);
  return 0;
}

WEFT_TEST(lock_cancel_woken) {
  run_main(lock_cancel_woken_main);
}

/* After a release the woken waiter owns the next turn: a newcomer queues behind it. */
static int lock_no_barging_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_lock_new(loop, &lock));
  ASSERT_OK(weft_lock_acquire_await(lock));
  weft_task_t *a = spawn(lock_user, (void *)(intptr_t)1);
  yield_n(1);
  ASSERT_OK(weft_lock_unlock(lock));
  ASSERT_EQ(weft_lock_locked(lock), 0); /* handed to a, which has not run: asyncio's False */
  weft_future_t *f;
  ASSERT_OK(weft_lock_acquire(lock, &f));
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_OK(weft_await(f));
  record(9);
  ASSERT_OK(weft_lock_unlock(lock));
  ASSERT_OK(weft_await(weft_task_future(a)));
  ASSERT_EQ(order[0], 1);
  ASSERT_EQ(order[1], 9);
  /* A cancelled future-form request gives nothing away either. */
  ASSERT_OK(weft_lock_acquire_await(lock));
  weft_future_t *g;
  ASSERT_OK(weft_lock_acquire(lock, &g));
  ASSERT_EQ(weft_future_cancel(g, NULL), 1);
  ASSERT_OK(weft_lock_unlock(lock));
  yield_n(2);
  ASSERT_EQ(weft_lock_locked(lock), 0);
  ASSERT_OK(weft_lock_acquire_await(lock)); /* no one in line: free at once */
  ASSERT_OK(weft_lock_unlock(lock));
  weft_future_release(f);
  weft_future_release(g);
  weft_task_release(a);
  weft_lock_release(lock);
  return 0;
}

WEFT_TEST(lock_no_barging) {
  run_main(lock_no_barging_main);
}

/* What locked() shows around a release with a waiter, against asyncio 3.13: a Lock shows
 * False from the release until the woken task runs (the lock is still its, nobody can
 * take it meanwhile), a Semaphore stays locked. Each entry is step * 10 + locked(). */
typedef struct {
  void *obj;
  int (*acquire_await)(void *obj);
  int (*unlock)(void *obj);
  int (*locked)(void *obj);
} lockish_t;

static lockish_t lockish;

static int lockish_lock_acquire(void *o) {
  return weft_lock_acquire_await(o);
}
static int lockish_lock_unlock(void *o) {
  return weft_lock_unlock(o);
}
static int lockish_lock_locked(void *o) {
  return weft_lock_locked(o);
}
static int lockish_sem_acquire(void *o) {
  return weft_semaphore_acquire_await(o);
}
static int lockish_sem_unlock(void *o) {
  return weft_semaphore_unlock(o);
}
static int lockish_sem_locked(void *o) {
  return weft_semaphore_locked(o);
}

static void record_locked(int step) {
  record(step * 10 + lockish.locked(lockish.obj));
}

static void record_locked_soon(void *arg) {
  record_locked((int)(intptr_t)arg);
}

/* b: takes it after the main task, holds it over one yield, lets go. */
static int lockish_b(weft_task_t *self, void *arg) {
  ASSERT_OK(lockish.acquire_await(lockish.obj));
  record_locked(3);
  yield_n(1);
  ASSERT_OK(lockish.unlock(lockish.obj));
  record_locked(6);
  return 0;
}

/* c: arrives after the release, so queues behind b. */
static int lockish_c(weft_task_t *self, void *arg) {
  ASSERT_OK(lockish.acquire_await(lockish.obj));
  record_locked(7);
  ASSERT_OK(lockish.unlock(lockish.obj));
  record_locked(8);
  return 0;
}

static int lockish_main(weft_task_t *self, void *arg) {
  ASSERT_OK(lockish.acquire_await(lockish.obj));
  weft_task_t *b = spawn(lockish_b, NULL);
  yield_n(1);
  record_locked(1);
  ASSERT_OK(lockish.unlock(lockish.obj));
  record_locked(2);
  weft_task_t *c = spawn(lockish_c, NULL);
  ASSERT_OK(weft_call_soon(loop, record_locked_soon, (void *)(intptr_t)4, NULL));
  yield_n(1);
  record_locked(5);
  ASSERT_OK(weft_await(weft_task_future(b)));
  ASSERT_OK(weft_await(weft_task_future(c)));
  record_locked(9);
  weft_task_release(b);
  weft_task_release(c);
  return 0;
}

static int lock_locked_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_lock_new(loop, &lock));
  lockish = (lockish_t){lock, lockish_lock_acquire, lockish_lock_unlock, lockish_lock_locked};
  lockish_main(self, arg);
  weft_lock_release(lock);
  return 0;
}

static void assert_order(const int *expected, int n) {
  ASSERT_EQ(norder, n);
  for (int i = 0; i < n; i++)
    ASSERT_EQ(order[i], expected[i]);
}

WEFT_TEST(lock_locked_as_asyncio) {
  run_main(lock_locked_main);
  /* asyncio: before release True, after release False, b got True, soon True, after yield
   * True, b released False (handed to c), c got True, c released False, end False. */
  static const int expected[] = {11, 20, 31, 41, 51, 60, 71, 80, 90};
  assert_order(expected, 9);
}

/* ---- Event ---- */

static weft_event_t *event;

static int event_waiter(weft_task_t *self, void *arg) {
  int rc = weft_event_wait_await(event);
  if (rc == 0)
    record((int)(intptr_t)arg);
  return rc;
}

static int event_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_event_new(loop, &event));
  ASSERT_EQ(weft_event_is_set(event), 0);
  weft_task_t *t[3];
  for (int i = 0; i < 3; i++)
    t[i] = spawn(event_waiter, (void *)(intptr_t)i);
  yield_n(1);
  ASSERT_EQ(weft_task_cancel(t[1], NULL), 1);
  yield_n(1);
  ASSERT_EQ(norder, 0);
  ASSERT_OK(weft_event_set(event));
  ASSERT_EQ(weft_event_is_set(event), 1);
  ASSERT_OK(weft_await(weft_task_future(t[0])));
  ASSERT_CODE(weft_await(weft_task_future(t[1])), WEFT_ECANCELLED);
  ASSERT_OK(weft_await(weft_task_future(t[2])));
  ASSERT_EQ(norder, 2);
  ASSERT_EQ(order[0], 0);
  ASSERT_EQ(order[1], 2);
  ASSERT_OK(weft_event_wait_await(event)); /* set: no waiting */
  weft_future_t *f;
  ASSERT_OK(weft_event_wait(event, &f));
  ASSERT_TRUE(weft_future_done(f));
  weft_future_release(f);
  ASSERT_OK(weft_event_clear(event));
  ASSERT_EQ(weft_event_is_set(event), 0);
  ASSERT_OK(weft_event_wait(event, &f));
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_OK(weft_event_set(event));
  ASSERT_OK(weft_await(f));
  weft_future_release(f);
  for (int i = 0; i < 3; i++)
    weft_task_release(t[i]);
  weft_event_release(event);
  return 0;
}

WEFT_TEST(event) {
  run_main(event_main);
}

/* ---- Condition ---- */

static weft_condition_t *cond;
static int cond_value;

static int cond_waiter(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_condition_acquire_await(cond));
  int rc = weft_condition_wait_await(cond);
  /* Whatever happened, the lock is ours again. */
  ASSERT_EQ(weft_condition_locked(cond), 1);
  if (rc == 0)
    record((int)(intptr_t)arg);
  ASSERT_OK(weft_condition_unlock(cond));
  return rc;
}

static int cond_notify_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_condition_new(loop, NULL, &cond));
  ASSERT_CODE(weft_condition_wait_await(cond), WEFT_EINVALIDSTATE);
  ASSERT_CODE(weft_condition_notify(cond, 1), WEFT_EINVALIDSTATE);
  weft_task_t *t[5];
  for (int i = 0; i < 5; i++)
    t[i] = spawn(cond_waiter, (void *)(intptr_t)i);
  yield_n(2);
  ASSERT_EQ(weft_condition_locked(cond), 0);
  ASSERT_OK(weft_condition_acquire_await(cond));
  ASSERT_OK(weft_condition_notify(cond, 1));
  ASSERT_OK(weft_condition_unlock(cond));
  yield_n(3);
  ASSERT_EQ(norder, 1);
  ASSERT_EQ(order[0], 0);
  ASSERT_OK(weft_condition_acquire_await(cond));
  ASSERT_OK(weft_condition_notify(cond, 2));
  ASSERT_OK(weft_condition_unlock(cond));
  yield_n(4);
  ASSERT_EQ(norder, 3);
  ASSERT_EQ(order[1], 1);
  ASSERT_EQ(order[2], 2);
  ASSERT_OK(weft_condition_acquire_await(cond));
  ASSERT_OK(weft_condition_notify_all(cond));
  ASSERT_OK(weft_condition_unlock(cond));
  for (int i = 0; i < 5; i++) {
    ASSERT_OK(weft_await(weft_task_future(t[i])));
    weft_task_release(t[i]);
  }
  ASSERT_EQ(norder, 5);
  ASSERT_EQ(order[3], 3);
  ASSERT_EQ(order[4], 4);
  weft_condition_release(cond);
  return 0;
}

WEFT_TEST(condition_notify) {
  run_main(cond_notify_main);
}

/* Cancelled while waiting: wait still re-acquires the lock, and waits for it if needed. */
static int cond_cancel_main(weft_task_t *self, void *arg) {
  weft_lock_t *own;
  ASSERT_OK(weft_lock_new(loop, &own));
  ASSERT_OK(weft_condition_new(loop, own, &cond));
  ASSERT_PTR_EQ(weft_condition_lock(cond), own);
  weft_lock_release(own); /* the condition keeps it */
  weft_task_t *w = spawn(cond_waiter, (void *)(intptr_t)1);
  yield_n(2);
  ASSERT_OK(weft_condition_acquire_await(cond));
  ASSERT_EQ(weft_task_cancel(w, NULL), 1);
  yield_n(5);
  ASSERT_TRUE(!weft_future_done(weft_task_future(w))); /* blocked on our lock */
  ASSERT_OK(weft_condition_unlock(cond));
  ASSERT_CODE(weft_await(weft_task_future(w)), WEFT_ECANCELLED);
  ASSERT_EQ(weft_condition_locked(cond), 0);
  weft_task_release(w);

  /* Notified, then cancelled before re-acquiring: the notification passes to the next. */
  weft_task_t *a = spawn(cond_waiter, (void *)(intptr_t)1);
  weft_task_t *b = spawn(cond_waiter, (void *)(intptr_t)2);
  yield_n(2);
  ASSERT_OK(weft_condition_acquire_await(cond));
  ASSERT_OK(weft_condition_notify(cond, 1));
  ASSERT_EQ(weft_task_cancel(a, NULL), 1);
  ASSERT_OK(weft_condition_unlock(cond));
  ASSERT_CODE(weft_await(weft_task_future(a)), WEFT_ECANCELLED);
  ASSERT_OK(weft_await(weft_task_future(b)));
  ASSERT_EQ(norder, 1);
  ASSERT_EQ(order[0], 2);
  weft_task_release(a);
  weft_task_release(b);
  weft_condition_release(cond);
  return 0;
}

WEFT_TEST(condition_cancel) {
  run_main(cond_cancel_main);
}

static int value_reached(void *arg) {
  return cond_value >= (int)(intptr_t)arg;
}

static int cond_pred_waiter(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_condition_acquire_await(cond));
  int rc = weft_condition_wait_for_await(cond, value_reached, arg);
  ASSERT_EQ(weft_condition_locked(cond), 1);
  if (rc == 0) {
    ASSERT_TRUE(cond_value >= (int)(intptr_t)arg);
    record((int)(intptr_t)arg);
  }
  ASSERT_OK(weft_condition_unlock(cond));
  return rc;
}

static int cond_wait_for_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_condition_new(loop, NULL, &cond));
  cond_value = 0;
  weft_task_t *t3 = spawn(cond_pred_waiter, (void *)(intptr_t)3);
  weft_task_t *t1 = spawn(cond_pred_waiter, (void *)(intptr_t)1);
  yield_n(2);
  for (int v = 1; v <= 3; v++) {
    ASSERT_OK(weft_condition_acquire_await(cond));
    cond_value = v;
    ASSERT_OK(weft_condition_notify_all(cond));
    ASSERT_OK(weft_condition_unlock(cond));
    yield_n(4);
    ASSERT_EQ(norder, v >= 3 ? 2 : 1);
  }
  ASSERT_EQ(order[0], 1);
  ASSERT_EQ(order[1], 3);
  ASSERT_OK(weft_await(weft_task_future(t1)));
  ASSERT_OK(weft_await(weft_task_future(t3)));
  /* True at once: no waiting; the future form carries the predicate's value. */
  ASSERT_OK(weft_condition_acquire_await(cond));
  ASSERT_OK(weft_condition_wait_for_await(cond, value_reached, (void *)(intptr_t)2));
  weft_future_t *f;
  ASSERT_OK(weft_condition_wait_for(cond, value_reached, (void *)(intptr_t)1, &f));
  ASSERT_TRUE(weft_future_done(f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->i, 1);
  weft_future_release(f);
  ASSERT_OK(weft_condition_unlock(cond));
  weft_task_release(t1);
  weft_task_release(t3);
  weft_condition_release(cond);
  return 0;
}

WEFT_TEST(condition_wait_for) {
  run_main(cond_wait_for_main);
}

/* ---- Semaphore ---- */

static weft_semaphore_t *sem;

static int sem_user(weft_task_t *self, void *arg) {
  int rc = weft_semaphore_acquire_await(sem);
  if (rc != 0)
    return rc;
  record((int)(intptr_t)arg);
  yield_n(1);
  ASSERT_OK(weft_semaphore_unlock(sem));
  return 0;
}

static int sem_main(weft_task_t *self, void *arg) {
  ASSERT_CODE(weft_semaphore_new(loop, -1, &sem), WEFT_EINVAL);
  ASSERT_OK(weft_semaphore_new(loop, 2, &sem));
  ASSERT_EQ(weft_semaphore_locked(sem), 0);
  ASSERT_OK(weft_semaphore_acquire_await(sem));
  ASSERT_OK(weft_semaphore_acquire_await(sem));
  ASSERT_EQ(weft_semaphore_value(sem), 0);
  ASSERT_EQ(weft_semaphore_locked(sem), 1);
  weft_task_t *t[4];
  for (int i = 0; i < 4; i++)
    t[i] = spawn(sem_user, (void *)(intptr_t)i);
  yield_n(1);
  ASSERT_EQ(weft_task_cancel(t[1], NULL), 1); /* cancelled while queued */
  ASSERT_OK(weft_semaphore_unlock(sem));      /* goes to t0 */
  ASSERT_OK(weft_semaphore_unlock(sem));      /* goes to t2, passing the cancelled t1 */
  ASSERT_EQ(weft_semaphore_value(sem), 0);
  /* Woken waiters still hold their place: locked though permits are being handed out. */
  ASSERT_EQ(weft_semaphore_locked(sem), 1);
  for (int i = 0; i < 4; i++) {
    int rc = weft_await(weft_task_future(t[i]));
    ASSERT_CODE(rc, i == 1 ? WEFT_ECANCELLED : 0);
    weft_task_release(t[i]);
  }
  ASSERT_EQ(norder, 3);
  ASSERT_EQ(order[0], 0);
  ASSERT_EQ(order[1], 2);
  ASSERT_EQ(order[2], 3);
  ASSERT_EQ(weft_semaphore_value(sem), 2); /* no permit lost */
  ASSERT_EQ(weft_semaphore_locked(sem), 0);

  /* Woken then cancelled before it ran: the permit goes back and on to the next. */
  ASSERT_OK(weft_semaphore_acquire_await(sem));
  ASSERT_OK(weft_semaphore_acquire_await(sem));
  weft_task_t *a = spawn(sem_user, (void *)(intptr_t)7);
  weft_task_t *b = spawn(sem_user, (void *)(intptr_t)8);
  yield_n(1);
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_EQ(weft_task_cancel(a, NULL), 1);
  ASSERT_CODE(weft_await(weft_task_future(a)), WEFT_ECANCELLED);
  ASSERT_OK(weft_await(weft_task_future(b)));
  ASSERT_EQ(order[3], 8);
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_EQ(weft_semaphore_value(sem), 2);
  /* Unbounded: releasing above the start is allowed. */
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_EQ(weft_semaphore_value(sem), 3);
  weft_task_release(a);
  weft_task_release(b);
  weft_semaphore_release(sem);
  return 0;
}

WEFT_TEST(semaphore) {
  run_main(sem_main);
}

/* Semaphore(0): locked; a waiter woken by two releases leaves value 1, yet the semaphore
 * stays locked until the woken waiter has run (its place in line still counts). */
static int sem_locked_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_semaphore_new(loop, 0, &sem));
  ASSERT_EQ(weft_semaphore_locked(sem), 1);
  weft_future_t *f;
  ASSERT_OK(weft_semaphore_acquire(sem, &f));
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_EQ(weft_semaphore_value(sem), 1);
  ASSERT_TRUE(weft_future_done(f));
  ASSERT_EQ(weft_semaphore_locked(sem), 1);
  yield_n(1);
  ASSERT_EQ(weft_semaphore_locked(sem), 0);
  weft_future_release(f);
  weft_semaphore_release(sem);
  return 0;
}

WEFT_TEST(semaphore_locked) {
  run_main(sem_locked_main);
}

static int sem_locked_trace_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_semaphore_new(loop, 1, &sem));
  lockish = (lockish_t){sem, lockish_sem_acquire, lockish_sem_unlock, lockish_sem_locked};
  lockish_main(self, arg);
  weft_semaphore_release(sem);
  return 0;
}

/* The steps of lock_locked_as_asyncio on a Semaphore(1): asyncio counts the permit out to
 * the woken waiter at the release, so locked() stays True until c's release. */
WEFT_TEST(semaphore_locked_as_asyncio) {
  run_main(sem_locked_trace_main);
  static const int expected[] = {11, 21, 31, 41, 51, 61, 71, 80, 90};
  assert_order(expected, 9);
}

static int bounded_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_bounded_semaphore_new(loop, 2, &sem));
  ASSERT_CODE(weft_semaphore_unlock(sem), WEFT_EINVALIDSTATE);
  ASSERT_OK(weft_semaphore_acquire_await(sem));
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_CODE(weft_semaphore_unlock(sem), WEFT_EINVALIDSTATE);
  ASSERT_EQ(weft_semaphore_value(sem), 2);
  /* A woken-then-cancelled waiter gives its permit back without tripping the bound. */
  ASSERT_OK(weft_semaphore_acquire_await(sem));
  ASSERT_OK(weft_semaphore_acquire_await(sem));
  weft_task_t *a = spawn(sem_user, (void *)(intptr_t)1);
  yield_n(1);
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_EQ(weft_task_cancel(a, NULL), 1);
  ASSERT_CODE(weft_await(weft_task_future(a)), WEFT_ECANCELLED);
  ASSERT_EQ(weft_semaphore_value(sem), 1);
  ASSERT_OK(weft_semaphore_unlock(sem));
  ASSERT_CODE(weft_semaphore_unlock(sem), WEFT_EINVALIDSTATE);
  weft_task_release(a);
  weft_semaphore_release(sem);
  return 0;
}

WEFT_TEST(bounded_semaphore) {
  run_main(bounded_main);
}

/* ---- Barrier ---- */

static weft_barrier_t *barrier;
static int barrier_rc[8];
static size_t barrier_index[8];

static int barrier_party(weft_task_t *self, void *arg) {
  int i = (int)(intptr_t)arg;
  barrier_rc[i] = weft_barrier_wait_await(barrier, &barrier_index[i]);
  return 0;
}

static int barrier_main(weft_task_t *self, void *arg) {
  ASSERT_CODE(weft_barrier_new(loop, 0, &barrier), WEFT_EINVAL);
  ASSERT_OK(weft_barrier_new(loop, 3, &barrier));
  ASSERT_EQ(weft_barrier_parties(barrier), 3);
  for (int round = 0; round < 2; round++) {
    weft_task_t *t[3];
    for (int i = 0; i < 3; i++) {
      barrier_rc[i] = 99;
      t[i] = spawn(barrier_party, (void *)(intptr_t)i);
      yield_n(1);
      if (i < 2)
        ASSERT_EQ(weft_barrier_n_waiting(barrier), (size_t)i + 1);
    }
    int seen = 0;
    for (int i = 0; i < 3; i++) {
      ASSERT_OK(weft_await(weft_task_future(t[i])));
      ASSERT_OK(barrier_rc[i]);
      ASSERT_TRUE(barrier_index[i] < 3);
      seen |= 1 << barrier_index[i];
      weft_task_release(t[i]);
    }
    ASSERT_EQ(seen, 7);
    ASSERT_EQ(barrier_index[0], 0);
    ASSERT_EQ(barrier_index[2], 2);
    ASSERT_EQ(weft_barrier_n_waiting(barrier), 0);
  }
  ASSERT_EQ(weft_barrier_broken(barrier), 0);
  weft_barrier_release(barrier);
  return 0;
}

WEFT_TEST(barrier) {
  run_main(barrier_main);
}

static int barrier_abort_main(weft_task_t *self, void *arg) {
  ASSERT_OK(weft_barrier_new(loop, 3, &barrier));
  weft_task_t *t[2];
  for (int i = 0; i < 2; i++)
    t[i] = spawn(barrier_party, (void *)(intptr_t)i);
  yield_n(2);
  ASSERT_EQ(weft_barrier_n_waiting(barrier), 2);
  ASSERT_OK(weft_barrier_abort_await(barrier));
  ASSERT_EQ(weft_barrier_broken(barrier), 1);
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(weft_await(weft_task_future(t[i])));
    ASSERT_CODE(barrier_rc[i], WEFT_EBROKENBARRIER);
    weft_task_release(t[i]);
  }
  /* Broken until reset. */
  ASSERT_CODE(weft_barrier_wait_await(barrier, NULL), WEFT_EBROKENBARRIER);
  ASSERT_OK(weft_barrier_reset_await(barrier));
  ASSERT_EQ(weft_barrier_broken(barrier), 0);

  /* A reset while parties wait breaks their wait, then the barrier fills again. */
  for (int i = 0; i < 2; i++)
    t[i] = spawn(barrier_party, (void *)(intptr_t)i);
  yield_n(2);
  ASSERT_OK(weft_barrier_reset_await(barrier));
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(weft_await(weft_task_future(t[i])));
    ASSERT_CODE(barrier_rc[i], WEFT_EBROKENBARRIER);
    weft_task_release(t[i]);
  }
  ASSERT_EQ(weft_barrier_broken(barrier), 0);
  ASSERT_EQ(weft_barrier_n_waiting(barrier), 0);

  /* A party cancelled while waiting leaves; the barrier still needs three. */
  weft_task_t *c = spawn(barrier_party, (void *)(intptr_t)5);
  yield_n(2);
  ASSERT_EQ(weft_barrier_n_waiting(barrier), 1);
  ASSERT_EQ(weft_task_cancel(c, NULL), 1);
  ASSERT_OK(weft_await(weft_task_future(c)));
  ASSERT_CODE(barrier_rc[5], WEFT_ECANCELLED);
  ASSERT_EQ(weft_barrier_n_waiting(barrier), 0);
  weft_task_release(c);
  weft_task_t *u[3];
  for (int i = 0; i < 3; i++)
    u[i] = spawn(barrier_party, (void *)(intptr_t)i);
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(weft_await(weft_task_future(u[i])));
    ASSERT_OK(barrier_rc[i]);
    weft_task_release(u[i]);
  }
  /* The future form, and a one-party barrier that passes at once. */
  weft_barrier_t *solo;
  ASSERT_OK(weft_barrier_new(loop, 1, &solo));
  weft_future_t *f;
  ASSERT_OK(weft_barrier_wait(solo, &f));
  ASSERT_TRUE(weft_future_done(f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->i, 0);
  weft_future_release(f);
  weft_barrier_release(solo);
  weft_barrier_release(barrier);
  return 0;
}

WEFT_TEST(barrier_abort_reset_cancel) {
  run_main(barrier_abort_main);
}

/* ---- Bad input ---- */

WEFT_TEST(null_handles) {
  weft_future_t *f = NULL;
  ASSERT_CODE(weft_lock_new(NULL, &lock), WEFT_EINVAL);
  ASSERT_CODE(weft_lock_acquire_await(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_lock_acquire(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_lock_unlock(NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_lock_locked(NULL), 0);
  weft_lock_release(NULL);
  ASSERT_CODE(weft_event_new(NULL, &event), WEFT_EINVAL);
  ASSERT_CODE(weft_event_wait_await(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_event_wait(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_event_set(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_event_clear(NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_event_is_set(NULL), 0);
  weft_event_release(NULL);
  ASSERT_CODE(weft_condition_new(NULL, NULL, &cond), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_wait_await(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_wait(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_wait_for_await(NULL, value_reached, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_wait_for(NULL, value_reached, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_notify(NULL, 1), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_notify_all(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_acquire_await(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_condition_unlock(NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_condition_locked(NULL), 0);
  ASSERT_TRUE(weft_condition_lock(NULL) == NULL);
  weft_condition_release(NULL);
  ASSERT_CODE(weft_semaphore_new(NULL, 1, &sem), WEFT_EINVAL);
  ASSERT_CODE(weft_bounded_semaphore_new(NULL, 1, &sem), WEFT_EINVAL);
  ASSERT_CODE(weft_semaphore_acquire_await(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_semaphore_acquire(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_semaphore_unlock(NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_semaphore_locked(NULL), 0);
  weft_semaphore_release(NULL);
  ASSERT_CODE(weft_barrier_new(NULL, 2, &barrier), WEFT_EINVAL);
  ASSERT_CODE(weft_barrier_wait_await(NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_barrier_wait(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_barrier_reset_await(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_barrier_abort_await(NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_barrier_broken(NULL), 0);
  ASSERT_EQ(weft_barrier_parties(NULL), 0);
  ASSERT_EQ(weft_barrier_n_waiting(NULL), 0);
  weft_barrier_release(NULL);
  ASSERT_TRUE(f == NULL);

  /* Outside a task the in-task forms refuse instead of blocking. */
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_lock_new(loop, &lock));
  ASSERT_CODE(weft_lock_acquire_await(lock), WEFT_ENOTINTASK);
  ASSERT_EQ(weft_lock_locked(lock), 0);
  weft_lock_release(lock);
  weft_test_close_loop(loop);
}
