/* Throughput of the synchronization primitives and queues: Lock acquire+release round trips
 * uncontended and contended by 100 tasks, and items per second through a bounded queue
 * (maxsize 64) from a producer task to a consumer task.
 *
 *   cmake --build build --target bench_sync && build/bench/bench_sync */
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", what, weft_err_name(rc));
    exit(1);
  }
}

static weft_lock_t *lock;
static weft_queue_t *queue;
static long rounds;

static int uncontended(weft_task_t *self, void *arg) {
  for (long i = 0; i < rounds; i++) {
    check(weft_lock_acquire_await(lock), "acquire");
    check(weft_lock_unlock(lock), "release");
  }
  return 0;
}

/* Each of the contending tasks holds the lock across a yield, so every acquire waits. */
static int contender(weft_task_t *self, void *arg) {
  weft_loop_t *loop = arg;
  for (long i = 0; i < rounds; i++) {
    check(weft_lock_acquire_await(lock), "acquire");
    check(weft_sleep_await(loop, 0), "sleep");
    check(weft_lock_unlock(lock), "release");
  }
  return 0;
}

static int producer(weft_task_t *self, void *arg) {
  for (long i = 0; i < rounds; i++)
    check(weft_queue_put_await(queue, weft_value_int(i)), "put");
  return 0;
}

static int consumer(weft_task_t *self, void *arg) {
  for (long i = 0; i < rounds; i++) {
    weft_value_t v;
    check(weft_queue_get_await(queue, &v, NULL), "get");
    if (v.i != i) {
      fprintf(stderr, "queue order broken\n");
      exit(1);
    }
  }
  return 0;
}

/* Runs `count` tasks of `fn` to completion; returns the seconds taken. */
static double run_tasks(weft_loop_t *loop, weft_task_fn fn, weft_task_fn fn2, int count) {
  weft_task_t **tasks = calloc((size_t)count + 1, sizeof *tasks);
  double t0 = now_s();
  for (int i = 0; i < count; i++)
    check(weft_task_spawn(loop, i == 1 && fn2 ? fn2 : fn, loop, NULL, &tasks[i]), "spawn");
  for (int i = 0; i < count; i++) {
    check(weft_loop_run_until_complete(loop, weft_task_future(tasks[i])), "run");
    weft_task_release(tasks[i]);
  }
  double dt = now_s() - t0;
  free(tasks);
  return dt;
}

int main(void) {
  weft_loop_t *loop;
  check(weft_loop_new(&loop), "loop");
  check(weft_lock_new(loop, &lock), "lock");

  rounds = 5000000;
  double dt = run_tasks(loop, uncontended, NULL, 1);
  printf("lock uncontended:       %10.0f acquire+release/s\n", rounds / dt);

  rounds = 5000;
  dt = run_tasks(loop, contender, NULL, 100);
  printf("lock contended (100):   %10.0f acquire+release/s\n", rounds * 100 / dt);

  rounds = 2000000;
  check(weft_queue_new(loop, WEFT_QUEUE_FIFO, 64, &queue), "queue");
  dt = run_tasks(loop, producer, consumer, 2);
  printf("queue maxsize 64:       %10.0f put+get items/s\n", rounds / dt);

  weft_queue_release(queue);
  weft_lock_release(lock);
  check(weft_loop_close(loop), "close");
  weft_loop_release(loop);
  return 0;
}
