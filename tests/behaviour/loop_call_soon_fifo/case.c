/* call_soon runs callbacks in the order they were scheduled, each with its arguments. */
#include <casetrace.h>
#include <weft.h>

typedef struct {
  const char *label;
  const char *extra;
} cb_arg_t;

static void emit_cb(void *arg) {
  const cb_arg_t *a = arg;
  if (a->extra)
    casetrace_emit("cb %s %s", a->label, a->extra);
  else
    casetrace_emit("cb %s", a->label);
}

static void finish(void *arg) {
  weft_future_set_result(arg, weft_value_none());
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  static const cb_arg_t args[] = {{"0", NULL}, {"1", NULL}, {"2", NULL},
                                  {"3", NULL}, {"4", NULL}, {"last", "two-args"}};
  weft_future_t *done;
  int rc = weft_future_new(loop, &done);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
    weft_call_soon(loop, emit_cb, (void *)&args[i], NULL);
  weft_call_soon(loop, finish, done, NULL);
  casetrace_emit("scheduled");
  rc = weft_await(done);
  weft_future_release(done);
  casetrace_emit("done");
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
