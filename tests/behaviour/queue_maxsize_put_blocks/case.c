/* A bounded queue: put waits while it is full and resumes, in order, as items are taken;
 * full() and qsize() track it. */
#include <casetrace.h>

static int producer(weft_task_t *self, void *arg) {
  (void)self;
  weft_queue_t *q = arg;
  for (int item = 1; item <= 4; item++) {
    int rc = weft_queue_put_await(q, weft_value_int(item));
    if (rc < 0)
      return rc;
    casetrace_emit("put %d qsize %zu", item, weft_queue_qsize(q));
  }
  return 0;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_queue_t *q;
  weft_task_t *p;
  int rc = weft_queue_new(loop, WEFT_QUEUE_FIFO, 2, &q);
  if (rc < 0 || (rc = weft_task_spawn(loop, producer, q, NULL, &p)) < 0)
    return rc;
  weft_sleep_await(loop, 0);
  casetrace_emit("full %s producer-done %s", casetrace_bool(weft_queue_full(q)),
                 casetrace_bool(weft_future_done(weft_task_future(p))));
  for (int i = 0; i < 4; i++) {
    weft_value_t item;
    if ((rc = weft_queue_get_await(q, &item, NULL)) < 0)
      return rc;
    casetrace_emit("get %lld", (long long)item.i);
    weft_sleep_await(loop, 0);
  }
  rc = weft_await(weft_task_future(p));
  casetrace_emit("empty %s", casetrace_bool(weft_queue_empty(q)));
  weft_task_release(p);
  weft_queue_release(q);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
