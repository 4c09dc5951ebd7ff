/* A producer/consumer pipeline: a producer fills a bounded queue, consumers take jobs
 * from it and hand each to a worker pool whose size a semaphore limits.
 *
 * Run: build/examples/c/pipeline */
#include <stdio.h>

#include "weft.h"

enum { JOBS = 12, QUEUE_SIZE = 3, CONSUMERS = 4, POOL_SIZE = 2 };

typedef struct {
  weft_loop_t *loop;
  weft_queue_t *queue;
  weft_semaphore_t *pool;
  int in_pool, most_in_pool, done;
} pipeline_t;

static int producer(weft_task_t *self, void *arg) {
  (void)self;
  pipeline_t *p = arg;
  for (int job = 1; job <= JOBS; job++) {
    int rc =
        weft_queue_put_await(p->queue, weft_value_int(job)); /* waits while the queue is full */
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int consumer(weft_task_t *self, void *arg) {
  (void)self;
  pipeline_t *p = arg;
  for (;;) {
    weft_value_t job;
    int rc = weft_queue_get_await(p->queue, &job, NULL);
    if (rc == WEFT_EQUEUESHUTDOWN)
      return 0;
    if (rc != 0)
      return rc;
    if ((rc = weft_semaphore_acquire_await(p->pool)) != 0)
      return rc;
    p->in_pool++;
    if (p->in_pool > p->most_in_pool)
      p->most_in_pool = p->in_pool;
    weft_sleep_await(p->loop, 0.01 * (double)(job.i % 3 + 1)); /* the work */
    p->in_pool--;
    p->done++;
    weft_semaphore_unlock(p->pool);
    weft_queue_task_done(p->queue);
  }
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  pipeline_t p = {.loop = weft_future_loop(weft_task_future(self))};
  weft_queue_new(p.loop, WEFT_QUEUE_FIFO, QUEUE_SIZE, &p.queue);
  weft_semaphore_new(p.loop, POOL_SIZE, &p.pool);
  weft_taskgroup_t *group;
  weft_taskgroup_enter(self, &group);
  weft_task_t *producing;
  weft_taskgroup_spawn(group, producer, &p, NULL, &producing);
  for (int i = 0; i < CONSUMERS; i++)
    weft_taskgroup_spawn(group, consumer, &p, NULL, NULL);
  /* join() returns at once on a queue with nothing unfinished, so first let the producer
   * put every job in; then wait until every job is done. */
  int rc = weft_await(weft_task_future(producing));
  weft_task_release(producing);
  if (rc == 0)
    rc = weft_queue_join_await(p.queue);
  weft_queue_shutdown(p.queue, 0); /* the consumers stop */
  rc = weft_taskgroup_exit_await(group, rc);
  weft_taskgroup_free(group);
  printf("%d jobs done by %d consumers through a queue of %d; at most %d in the pool of %d\n",
         p.done, CONSUMERS, QUEUE_SIZE, p.most_in_pool, POOL_SIZE);
  weft_semaphore_release(p.pool);
  weft_queue_release(p.queue);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
