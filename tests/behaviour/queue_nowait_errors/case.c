/* get_nowait on an empty queue fails with EQUEUEEMPTY; put_nowait on a full one with
 * EQUEUEFULL; the queue is unchanged by either. */
#include <casetrace.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_queue_t *q;
  weft_value_t item;
  int rc = weft_queue_new(casetrace_loop(self), WEFT_QUEUE_FIFO, 1, &q);
  if (rc < 0)
    return rc;
  rc = weft_queue_get_nowait(q, &item, NULL);
  if (rc < 0)
    casetrace_emit("get_nowait-empty %s", casetrace_err(rc));
  weft_queue_put_nowait(q, weft_value_pointer("x", NULL));
  rc = weft_queue_put_nowait(q, weft_value_pointer("y", NULL));
  if (rc < 0)
    casetrace_emit("put_nowait-full %s", casetrace_err(rc));
  size_t qsize = weft_queue_qsize(q);
  if ((rc = weft_queue_get_nowait(q, &item, NULL)) == 0)
    casetrace_emit("qsize %zu get %s", qsize, (const char *)item.ptr);
  weft_queue_release(q);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
