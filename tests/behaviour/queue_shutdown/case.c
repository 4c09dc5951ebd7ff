/* shutdown(): put is refused at once, waiting putters are woken with EQUEUESHUTDOWN,
 * getters drain what is left and then get EQUEUESHUTDOWN too. */
#include <casetrace.h>

static int putter(weft_task_t *self, void *arg) {
  (void)self;
  int rc = weft_queue_put_await(arg, weft_value_int(3));
  if (rc == 0)
    casetrace_emit("putter put");
  else if (rc == WEFT_EQUEUESHUTDOWN)
    casetrace_emit("putter %s", casetrace_err(rc));
  return rc == WEFT_EQUEUESHUTDOWN ? 0 : rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_queue_t *q;
  weft_task_t *p;
  int rc = weft_queue_new(loop, WEFT_QUEUE_FIFO, 2, &q);
  if (rc < 0)
    return rc;
  weft_queue_put_nowait(q, weft_value_int(1));
  weft_queue_put_nowait(q, weft_value_int(2));
  if ((rc = weft_task_spawn(loop, putter, q, NULL, &p)) < 0)
    return rc;
  weft_sleep_await(loop, 0);
  weft_queue_shutdown(q, 0);
  rc = weft_await(weft_task_future(p));
  weft_task_release(p);
  if (rc < 0)
    return rc;
  rc = weft_queue_put_nowait(q, weft_value_int(4));
  if (rc == WEFT_EQUEUESHUTDOWN)
    casetrace_emit("put_nowait %s", casetrace_err(rc));
  for (int i = 0; i < 3; i++) {
    weft_value_t item;
    rc = weft_queue_get_await(q, &item, NULL);
    if (rc == 0)
      casetrace_emit("get %lld", (long long)item.i);
    else
      casetrace_emit("get %s", casetrace_err(rc));
  }
  weft_queue_release(q);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
