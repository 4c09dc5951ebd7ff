/* Timers run in deadline order, whatever order they were scheduled in. */
#include <casetrace.h>

static void finish(void *arg) {
  weft_future_set_result(arg, weft_value_none());
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *done;
  int rc = weft_future_new(loop, &done);
  if (rc < 0)
    return rc;
  static const struct {
    const char *line;
    double delay;
  } timers[] = {{"timer c", 0.15},
                {"timer a", 0.05},
                {"timer e", 0.25},
                {"timer b", 0.10},
                {"timer d", 0.20}};
  double t0 = weft_loop_time(loop);
  for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
    weft_call_at(loop, t0 + timers[i].delay, casetrace_say, (void *)timers[i].line, NULL);
  weft_call_at(loop, t0 + 0.30, finish, done, NULL);
  weft_call_later(loop, 0, casetrace_say, "timer now", NULL);
  casetrace_emit("scheduled");
  rc = weft_await(done);
  weft_future_release(done);
  casetrace_emit("done");
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
