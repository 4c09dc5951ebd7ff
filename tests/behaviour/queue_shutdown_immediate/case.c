/* shutdown(immediate): the items left are dropped (counted as done, so join returns), and
 * waiting getters are woken with EQUEUESHUTDOWN. */
#include <casetrace.h>

static int getter(weft_task_t *self, void *arg) {
  (void)self;
  weft_value_t item;
  int rc = weft_queue_get_await(arg, &item, NULL);
  if (rc == 0)
    casetrace_emit("getter %lld", (long long)item.i);
  else if (rc == WEFT_EQUEUESHUTDOWN)
    casetrace_emit("getter %s", casetrace_err(rc));
  return rc == WEFT_EQUEUESHUTDOWN ? 0 : rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_queue_t *q, *empty;
  weft_task_t *g;
  weft_future_t *joiner;
  int rc = weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &q);
  if (rc < 0 || (rc = weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &empty)) < 0 ||
      (rc = weft_task_spawn(loop, getter, empty, NULL, &g)) < 0)
    return rc;
  for (int item = 1; item <= 3; item++)
    weft_queue_put_nowait(q, weft_value_int(item));
  if ((rc = weft_queue_join(q, &joiner)) < 0)
    return rc;
  weft_sleep_await(loop, 0);
  weft_queue_shutdown(q, 1);
  weft_queue_shutdown(empty, 1);
  rc = weft_await(weft_task_future(g));
  weft_task_release(g);
  if (rc < 0)
    return rc;
  rc = weft_await(joiner);
  weft_future_release(joiner);
  if (rc < 0)
    return rc;
  casetrace_emit("joined qsize %zu", weft_queue_qsize(q));
  weft_value_t item;
  rc = weft_queue_get_await(q, &item, NULL);
  if (rc == WEFT_EQUEUESHUTDOWN)
    casetrace_emit("get %s", casetrace_err(rc));
  weft_queue_release(q);
  weft_queue_release(empty);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
