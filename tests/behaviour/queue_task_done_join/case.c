/* join waits until task_done has been called once per item put; calling task_done more
 * often than that is refused (the state error). */
#include <casetrace.h>

static int consumer(weft_task_t *self, void *arg) {
  weft_queue_t *q = arg;
  for (;;) {
    weft_value_t item;
    int rc = weft_queue_get_await(q, &item, NULL);
    if (rc < 0)
      return rc;
    if ((rc = weft_sleep_await(casetrace_loop(self), 0)) < 0)
      return rc;
    casetrace_emit("processed %s", (const char *)item.ptr);
    weft_queue_task_done(q);
  }
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const char *items[] = {"a", "b", "c"};
  weft_queue_t *q;
  weft_task_t *c;
  int rc = weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &q);
  if (rc < 0)
    return rc;
  for (int i = 0; i < 3; i++)
    weft_queue_put_nowait(q, weft_value_pointer((void *)items[i], NULL));
  if ((rc = weft_task_spawn(loop, consumer, q, NULL, &c)) < 0)
    return rc;
  if ((rc = weft_queue_join_await(q)) < 0)
    return rc;
  casetrace_emit("joined qsize %zu", weft_queue_qsize(q));
  if ((rc = weft_queue_join_await(q)) < 0)
    return rc;
  casetrace_emit("join-again none");
  weft_task_cancel(c, NULL);
  weft_task_release(c);
  rc = weft_queue_task_done(q);
  if (rc < 0)
    casetrace_emit("task_done-too-often %s", casetrace_err(rc));
  weft_queue_release(q);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
