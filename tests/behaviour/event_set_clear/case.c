/* Event: set() wakes every waiter, in the order they waited; waiting on a set event returns
 * at once; clear() makes later waiters wait again. */
#include <casetrace.h>

static weft_event_t *ev;

static int waiter(weft_task_t *self, void *arg) {
  (void)self;
  casetrace_emit("waits %s", (const char *)arg);
  int rc = weft_event_wait_await(ev);
  if (rc < 0)
    return rc;
  casetrace_emit("woken %s", (const char *)arg);
  return 0;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const char *names[] = {"a", "b", "c"};
  weft_task_t *tasks[3], *late;
  weft_future_t *futs[3], *g;
  int rc = weft_event_new(loop, &ev);
  if (rc < 0)
    return rc;
  for (int i = 0; i < 3; i++) {
    if ((rc = weft_task_spawn(loop, waiter, (void *)names[i], NULL, &tasks[i])) < 0)
      return rc;
    futs[i] = weft_task_future(tasks[i]);
  }
  weft_sleep_await(loop, 0);
  casetrace_emit("set");
  weft_event_set(ev);
  casetrace_emit("is_set %s", casetrace_bool(weft_event_is_set(ev)));
  if ((rc = weft_gather(loop, futs, 3, 0, &g)) < 0)
    return rc;
  rc = weft_await(g);
  weft_future_release(g);
  for (int i = 0; i < 3; i++)
    weft_task_release(tasks[i]);
  if (rc < 0)
    return rc;
  casetrace_emit("wait-on-set %s", casetrace_bool(weft_event_wait_await(ev) == 0));
  weft_event_clear(ev);
  if ((rc = weft_task_spawn(loop, waiter, "late", NULL, &late)) < 0)
    return rc;
  weft_sleep_await(loop, 0);
  casetrace_emit("late done %s", casetrace_bool(weft_future_done(weft_task_future(late))));
  weft_event_set(ev);
  rc = weft_await(weft_task_future(late));
  weft_task_release(late);
  weft_event_release(ev);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
