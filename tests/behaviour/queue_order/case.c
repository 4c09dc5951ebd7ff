/* Queue gives items first in, first out; LifoQueue last in, first out; PriorityQueue
 * smallest first (the item is its own priority). */
#include <casetrace.h>
#include <stdio.h>
#include <string.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  static const struct {
    int32_t kind;
    const char *name;
  } kinds[] = {{WEFT_QUEUE_FIFO, "Queue"},
               {WEFT_QUEUE_LIFO, "LifoQueue"},
               {WEFT_QUEUE_PRIORITY, "PriorityQueue"}};
  static const int items[] = {3, 1, 4, 1, 5, 9, 2, 6};
  for (size_t k = 0; k < 3; k++) {
    weft_queue_t *q;
    int rc = weft_queue_new(casetrace_loop(self), kinds[k].kind, 0, &q);
    if (rc < 0)
      return rc;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
      weft_queue_put_priority_nowait(q, items[i], weft_value_int(items[i]));
    char line[64];
    snprintf(line, sizeof line, "%s", kinds[k].name);
    while (!weft_queue_empty(q)) {
      weft_value_t item;
      if ((rc = weft_queue_get_await(q, &item, NULL)) < 0)
        return rc;
      snprintf(line + strlen(line), sizeof line - strlen(line), " %lld", (long long)item.i);
    }
    casetrace_emit("%s", line);
    weft_queue_release(q);
  }
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
