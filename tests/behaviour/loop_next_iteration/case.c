/* A callback scheduled while the ready callbacks run waits for the next iteration: it runs
 * after every callback that was already queued. */
#include <casetrace.h>

static weft_loop_t *loop;

static void finish(void *arg) {
  weft_future_set_result(arg, weft_value_none());
}

static void first(void *arg) {
  (void)arg;
  casetrace_emit("first");
  weft_call_soon(loop, casetrace_say, "scheduled-by-first", NULL);
}

static void third(void *arg) {
  casetrace_emit("third");
  weft_call_soon(loop, finish, arg, NULL);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  loop = casetrace_loop(self);
  weft_future_t *done;
  int rc = weft_future_new(loop, &done);
  if (rc < 0)
    return rc;
  weft_call_soon(loop, first, NULL, NULL);
  weft_call_soon(loop, casetrace_say, "second", NULL);
  weft_call_soon(loop, third, done, NULL);
  rc = weft_await(done);
  weft_future_release(done);
  casetrace_emit("done");
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
