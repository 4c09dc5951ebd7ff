/* call_soon_threadsafe made from the loop's own thread joins the same queue as call_soon:
 * callbacks run in the order they were scheduled, whichever call made them. */
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
  weft_call_soon(loop, casetrace_say, "soon-1", NULL);
  weft_call_soon_threadsafe(loop, casetrace_say, "threadsafe-1");
  weft_call_soon(loop, casetrace_say, "soon-2", NULL);
  weft_call_soon_threadsafe(loop, casetrace_say, "threadsafe-2");
  weft_call_soon_threadsafe(loop, casetrace_say, "threadsafe-3");
  weft_call_soon(loop, casetrace_say, "soon-3", NULL);
  weft_call_soon(loop, finish, done, NULL);
  rc = weft_await(done);
  weft_future_release(done);
  casetrace_emit("done");
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
