/* as_completed with a timeout: what finishes in time comes out, then the next one fails
 * with ETIMEDOUT. */
#include <casetrace.h>

typedef struct {
  const char *name;
  int steps;
} child_t;

static int quick(weft_task_t *self, void *arg) {
  const child_t *c = arg;
  int rc = casetrace_steps(casetrace_loop(self), c->steps);
  return rc < 0 ? rc : weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const child_t a = {"a", 3}, b = {"b", 1};
  weft_task_t *ta, *tb;
  weft_future_t *gate;
  int rc = weft_future_new(loop, &gate);
  if (rc < 0 || (rc = weft_task_spawn(loop, quick, (void *)&a, NULL, &ta)) < 0 ||
      (rc = weft_task_spawn(loop, quick, (void *)&b, NULL, &tb)) < 0)
    return rc;
  weft_future_t *aws[3] = {weft_task_future(ta), gate, weft_task_future(tb)};
  weft_as_completed_t *it;
  if ((rc = weft_as_completed_new(loop, aws, 3, 0.5, &it)) < 0)
    return rc;
  for (int i = 0; i < 3; i++) {
    weft_future_t *next;
    if ((rc = weft_as_completed_next(it, &next)) < 0)
      return rc;
    rc = weft_await(next);
    const weft_value_t *which, *v;
    if (rc == 0 && weft_future_result(next, &which) == 0 &&
        weft_future_result(weft_value_object(which, WEFT_VALUE_FUTURE), &v) == 0)
      casetrace_emit("completed %s", (const char *)v->ptr);
    else if (rc == WEFT_ETIMEDOUT)
      casetrace_emit("timeout %s", casetrace_err(rc));
    weft_future_release(next);
  }
  weft_as_completed_free(it);
  casetrace_emit("gate cancelled %s", casetrace_bool(weft_future_cancelled(gate)));
  weft_task_release(ta);
  weft_task_release(tb);
  weft_future_release(gate);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
