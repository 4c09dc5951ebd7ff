/* Executors: results and errors, a small pool under load, shutdown, cancellation of
 * queued work, and thread-safe submission from another thread. */
#include "weft_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int answer(void *arg, weft_value_t *result) {
  *result = weft_value_int(42);
  return 0;
}

static int failing(void *arg, weft_value_t *result) {
  *result = weft_value_int(1); /* dropped: an error wins */
  return WEFT_EIO;
}

static int bytes_of(void *arg, weft_value_t *result) {
  return weft_value_bytes(result, arg, strlen(arg));
}

WEFT_TEST(results_and_errors) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_run_in_executor(loop, NULL, answer, NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->type, WEFT_VALUE_INT);
  ASSERT_EQ(v->i, 42);
  weft_future_release(f);

  ASSERT_OK(weft_to_thread(loop, failing, NULL, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_EIO);
  ASSERT_CODE(weft_future_error(f), WEFT_EIO);
  weft_future_release(f);

  weft_executor_t *ex;
  ASSERT_OK(weft_executor_new(1, &ex));
  ASSERT_EQ(weft_executor_max_workers(ex), 1);
  ASSERT_OK(weft_run_in_executor(loop, ex, bytes_of, "hello", &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->type, WEFT_VALUE_BYTES);
  ASSERT_EQ(v->len, 5);
  ASSERT_TRUE(memcmp(v->ptr, "hello", 5) == 0);
  weft_future_release(f);
  ASSERT_OK(weft_executor_shutdown(ex, 1, 0));
  ASSERT_CODE(weft_run_in_executor(loop, ex, answer, NULL, &f), WEFT_ECLOSED);
  weft_executor_release(ex);

  ASSERT_OK(weft_shutdown_default_executor(loop, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  weft_test_close_loop(loop);
}

static atomic_int running_now, max_running, completed;

static int tracked(void *arg, weft_value_t *result) {
  int now = atomic_fetch_add(&running_now, 1) + 1;
  int seen = atomic_load(&max_running);
  while (now > seen && !atomic_compare_exchange_weak(&max_running, &seen, now)) {
  }
  sleep_ms(1);
  atomic_fetch_sub(&running_now, 1);
  atomic_fetch_add(&completed, 1);
  *result = weft_value_int((int64_t)(intptr_t)arg);
  return 0;
}

WEFT_TEST(many_jobs_small_pool) {
  enum { JOBS = 200 };
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_executor_t *ex;
  ASSERT_OK(weft_executor_new(3, &ex));
  weft_future_t *fs[JOBS];
  for (int i = 0; i < JOBS; i++)
    ASSERT_OK(weft_run_in_executor(loop, ex, tracked, (void *)(intptr_t)i, &fs[i]));
  weft_future_t *all;
  ASSERT_OK(weft_gather(loop, fs, JOBS, 0, &all));
  ASSERT_OK(weft_loop_run_until_complete(loop, all));
  weft_future_release(all);
  for (int i = 0; i < JOBS; i++) {
    const weft_value_t *v;
    ASSERT_OK(weft_future_result(fs[i], &v));
    ASSERT_EQ(v->i, i);
    weft_future_release(fs[i]);
  }
  ASSERT_EQ(atomic_load(&completed), JOBS);
  ASSERT_TRUE(atomic_load(&max_running) <= 3);
  ASSERT_TRUE(atomic_load(&max_running) >= 2); /* the pool did run work in parallel */
  weft_executor_release(ex);
  weft_test_close_loop(loop);
}

static atomic_int slow_started, slow_finished;

static int slow(void *arg, weft_value_t *result) {
  atomic_store(&slow_started, 1);
  sleep_ms(200);
  atomic_store(&slow_finished, 1);
  return 0;
}

WEFT_TEST(shutdown_waits_for_running_work) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_loop_set_default_executor_size(loop, 2));
  weft_future_t *work, *done, *refused;
  ASSERT_OK(weft_run_in_executor(loop, NULL, slow, NULL, &work));
  ASSERT_CODE(weft_loop_set_default_executor_size(loop, 4), WEFT_EINVALIDSTATE);
  /* Shut down once the work runs (a wait for the event, bounded: 60 s in 1 ms steps). */
  for (int i = 0; i < 60000 && !atomic_load(&slow_started); i++)
    sleep_ms(1);
  ASSERT_EQ(atomic_load(&slow_started), 1);
  ASSERT_OK(weft_shutdown_default_executor(loop, &done));
  ASSERT_CODE(weft_to_thread(loop, answer, NULL, &refused), WEFT_ECLOSED);
  ASSERT_TRUE(refused == NULL);
  ASSERT_TRUE(!weft_future_done(done)); /* the loop is not blocked: a helper waits */
  ASSERT_OK(weft_loop_run_until_complete(loop, done));
  ASSERT_EQ(atomic_load(&slow_finished), 1); /* what shows the shutdown waited */
  weft_future_release(done);
  /* The work's own outcome still arrives. */
  ASSERT_OK(weft_loop_run_until_complete(loop, work));
  weft_future_release(work);
  weft_test_close_loop(loop);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static atomic_int ran_b, freed_b, blocker_started;

static int blocker(void *arg, weft_value_t *result) {
  atomic_store(&blocker_started, 1);
  pthread_mutex_lock(&gate_lock);
  while (!gate_open)
    pthread_cond_wait(&gate_cond, &gate_lock);
  pthread_mutex_unlock(&gate_lock);
  return 0;
}

static int job_b(void *arg, weft_value_t *result) {
  atomic_store(&ran_b, 1);
  return 0;
}

static void free_b(void *arg) {
  atomic_fetch_add(&freed_b, 1);
}

WEFT_TEST(cancel_queued_work) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_executor_t *ex;
  ASSERT_OK(weft_executor_new(1, &ex));
  weft_future_t *a, *b, *tick;
  ASSERT_OK(weft_run_in_executor(loop, ex, blocker, NULL, &a));
  ASSERT_OK(weft_run_in_executor_ex(loop, ex, job_b, NULL, free_b, &b));
  ASSERT_EQ(weft_future_cancel(b, NULL), 1);
  /* One pass of the loop delivers the cancellation to the executor. */
  ASSERT_OK(weft_sleep(loop, 0.01, &tick));
  ASSERT_OK(weft_loop_run_until_complete(loop, tick));
  weft_future_release(tick);
  ASSERT_EQ(atomic_load(&freed_b), 1);
  pthread_mutex_lock(&gate_lock);
  gate_open = 1;
  pthread_cond_broadcast(&gate_cond);
  pthread_mutex_unlock(&gate_lock);
  ASSERT_OK(weft_loop_run_until_complete(loop, a));
  ASSERT_OK(weft_executor_shutdown(ex, 1, 0));
  ASSERT_EQ(atomic_load(&ran_b), 0);
  ASSERT_TRUE(weft_future_cancelled(b));
  ASSERT_EQ(atomic_load(&freed_b), 1);
  weft_future_release(a);
  weft_future_release(b);
  weft_executor_release(ex);
  weft_test_close_loop(loop);
}

WEFT_TEST(shutdown_cancel_futures) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_executor_t *ex;
  ASSERT_OK(weft_executor_new(1, &ex));
  weft_future_t *a, *b;
  ASSERT_OK(weft_run_in_executor(loop, ex, blocker, NULL, &a));
  ASSERT_OK(weft_run_in_executor_ex(loop, ex, job_b, NULL, free_b, &b));
  /* a is running (waited for, bounded: 60 s), b is queued behind it */
  for (int i = 0; i < 60000 && !atomic_load(&blocker_started); i++)
    sleep_ms(1);
  ASSERT_EQ(atomic_load(&blocker_started), 1);
  ASSERT_OK(weft_executor_shutdown(ex, 0, 1));
  ASSERT_EQ(atomic_load(&freed_b), 1);
  pthread_mutex_lock(&gate_lock);
  gate_open = 1;
  pthread_cond_broadcast(&gate_cond);
  pthread_mutex_unlock(&gate_lock);
  ASSERT_OK(weft_loop_run_until_complete(loop, a));
  ASSERT_CODE(weft_loop_run_until_complete(loop, b), WEFT_ECANCELLED);
  ASSERT_EQ(atomic_load(&ran_b), 0);
  weft_future_release(a);
  weft_future_release(b);
  weft_executor_release(ex);
  weft_test_close_loop(loop);
}

/* A task awaiting work in a thread, as `await asyncio.to_thread(...)`. */
static int awaits_thread(weft_task_t *self, void *arg) {
  weft_loop_t *loop = arg;
  weft_future_t *f;
  int rc = weft_to_thread(loop, answer, NULL, &f);
  if (rc != 0)
    return rc;
  rc = weft_await(f);
  const weft_value_t *v;
  if (rc == 0 && weft_future_result(f, &v) == 0)
    weft_task_return(self, weft_value_int(v->i + 1));
  weft_future_release(f);
  return rc;
}

WEFT_TEST(to_thread_in_task) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, awaits_thread, loop, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(weft_task_future(t), &v));
  ASSERT_EQ(v->i, 43);
  weft_task_release(t);
  weft_future_t *f;
  ASSERT_OK(weft_shutdown_default_executor(loop, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  weft_test_close_loop(loop);
}

/* ---- Thread-safe submission ----------------------------------------------------------- */

static atomic_int task_outcome = 1;
static atomic_int task_started;

static int sleeper_task(weft_task_t *self, void *arg) {
  atomic_store(&task_started, 1);
  double seconds = *(double *)arg;
  int rc = weft_sleep_await(weft_future_loop(weft_task_future(self)), seconds);
  atomic_store(&task_outcome, rc);
  if (rc != 0)
    return rc;
  weft_task_return(self, weft_value_int(7));
  return 0;
}

typedef struct {
  weft_loop_t *loop;
  int failures;
  int cancel;
} submitter_t;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      s->failures++;                                                                               \
    }                                                                                              \
  } while (0)

static void *submitter(void *p) {
  submitter_t *s = p;
  static double short_sleep = 0.1, long_sleep = 3600;
  weft_cfuture_t *cf;
  CHECK(weft_run_threadsafe(s->loop, sleeper_task, s->cancel ? &long_sleep : &short_sleep, &cf) ==
        0);
  if (s->cancel) {
    /* Cancelled once the body runs, so that the body sees it (a cancel that came first
     * would keep the body from ever running, as documented). */
    for (int i = 0; i < 30000 && !atomic_load(&task_started); i++)
      sleep_ms(2);
    CHECK(weft_cfuture_wait(cf, 0.01) == WEFT_ETIMEDOUT); /* an hour-long sleep: still pending */
    CHECK(!weft_cfuture_done(cf));
    CHECK(weft_cfuture_cancel(cf) == 1);
    CHECK(weft_cfuture_cancel(cf) == 0);
    CHECK(weft_cfuture_cancelled(cf));
    CHECK(weft_cfuture_result(cf, 1, NULL) == WEFT_ECANCELLED);
    /* The task itself sees the cancellation on the loop. */
    for (int i = 0; i < 30000 && atomic_load(&task_outcome) == 1; i++)
      sleep_ms(2);
    CHECK(atomic_load(&task_outcome) == WEFT_ECANCELLED);
  } else {
    const weft_value_t *v = NULL;
    CHECK(weft_cfuture_result(cf, -1, &v) == 0); /* no deadline: a loaded machine is slow */
    CHECK(v != NULL && v->type == WEFT_VALUE_INT && v->i == 7);
    CHECK(weft_cfuture_done(cf) && !weft_cfuture_cancelled(cf));
    CHECK(atomic_load(&task_outcome) == 0);
  }
  weft_cfuture_release(cf);
  weft_loop_stop(s->loop);
  return NULL;
}

static void run_submitter(int cancel) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  submitter_t s = {loop, 0, cancel};
  pthread_t th;
  /* Keep the loop busy until the thread stops it. */
  weft_future_t *keep;
  ASSERT_OK(weft_sleep(loop, 3600, &keep));
  ASSERT_EQ(pthread_create(&th, NULL, submitter, &s), 0);
  ASSERT_OK(weft_loop_run_forever(loop));
  pthread_join(th, NULL);
  ASSERT_EQ(s.failures, 0);
  weft_future_cancel(keep, NULL);
  weft_future_release(keep);
  /* Let the cancelled sleep and the released task reference settle. */
  weft_future_t *tick;
  ASSERT_OK(weft_sleep(loop, 0.01, &tick));
  ASSERT_OK(weft_loop_run_until_complete(loop, tick));
  weft_future_release(tick);
  weft_test_close_loop(loop);
}

WEFT_TEST(threadsafe_result_and_timeout) {
  run_submitter(0);
}

WEFT_TEST(threadsafe_cancel) {
  run_submitter(1);
}

/* Posts from other threads run in the order they were made, whether they carry an
 * executor's outcome (posted without allocating, from memory taken at submit) or are
 * call_soon_threadsafe's: on a one-worker executor, job A's outcome is posted before job B
 * calls call_soon_threadsafe, so that callback finds A's future done. The loop does not
 * run meanwhile, so both posts wait in the same batch. */
typedef struct post_order_s {
  weft_loop_t *loop;
  weft_future_t *first;
  int first_done_seen; /* -1 until the posted callback ran */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int posted;
} post_order_t;

static void check_first_done(void *arg) {
  post_order_t *o = arg;
  o->first_done_seen = weft_future_done(o->first);
}

static int post_from_worker(void *arg, weft_value_t *result) {
  post_order_t *o = arg;
  int rc = weft_call_soon_threadsafe(o->loop, check_first_done, o);
  pthread_mutex_lock(&o->lock);
  o->posted = 1;
  pthread_cond_signal(&o->cond);
  pthread_mutex_unlock(&o->lock);
  return rc;
}

WEFT_TEST(outcome_posts_keep_order_with_threadsafe_calls) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_executor_t *ex;
  ASSERT_OK(weft_executor_new(1, &ex));
  for (int i = 0; i < 20; i++) {
    post_order_t o = {.loop = loop, .first_done_seen = -1};
    pthread_mutex_init(&o.lock, NULL);
    pthread_cond_init(&o.cond, NULL);
    weft_future_t *b;
    ASSERT_OK(weft_run_in_executor(loop, ex, answer, NULL, &o.first));
    ASSERT_OK(weft_run_in_executor(loop, ex, post_from_worker, &o, &b));
    pthread_mutex_lock(&o.lock);
    while (!o.posted)
      pthread_cond_wait(&o.cond, &o.lock);
    pthread_mutex_unlock(&o.lock);
    ASSERT_OK(weft_loop_run_until_complete(loop, b));
    ASSERT_EQ(o.first_done_seen, 1);
    ASSERT_OK(weft_loop_run_until_complete(loop, o.first));
    weft_future_release(o.first);
    weft_future_release(b);
    pthread_mutex_destroy(&o.lock);
    pthread_cond_destroy(&o.cond);
  }
  ASSERT_OK(weft_executor_shutdown(ex, 1, 0));
  weft_executor_release(ex);
  weft_test_close_loop(loop);
}
