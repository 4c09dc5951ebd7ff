/* Timers with the same deadline. The core runs them in scheduling order; asyncio's timer
 * heap compares deadlines only. expected.txt is asyncio's order; known_differences.txt
 * lists the core's deliberate difference (docs/design.md). */
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
  double t0 = weft_loop_time(loop);
  weft_call_at(loop, t0 + 0.10, casetrace_say, "timer c-0.10", NULL);
  weft_call_at(loop, t0 + 0.05, casetrace_say, "timer a-0.05", NULL);
  weft_call_at(loop, t0 + 0.05, casetrace_say, "timer b-0.05", NULL);
  weft_call_at(loop, t0 + 0.15, finish, done, NULL);
  weft_call_at(loop, t0 + 0.10, casetrace_say, "timer d-0.10", NULL);
  casetrace_emit("scheduled");
  rc = weft_await(done);
  weft_future_release(done);
  casetrace_emit("done");
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
