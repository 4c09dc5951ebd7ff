/* as_completed hands out the inputs in the order they finish, not argument order. */
#include <casetrace.h>

typedef struct {
  const char *name;
  int steps;
} child_t;

static int after(weft_task_t *self, void *arg) {
  const child_t *c = arg;
  int rc = casetrace_steps(casetrace_loop(self), c->steps);
  return rc < 0 ? rc : weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const child_t children[] = {{"a", 6}, {"b", 2}, {"c", 4}, {"d", 0}};
  weft_task_t *ts[4];
  weft_future_t *futs[4];
  for (int i = 0; i < 4; i++) {
    int rc = weft_task_spawn(loop, after, (void *)&children[i], NULL, &ts[i]);
    if (rc < 0)
      return rc;
    futs[i] = weft_task_future(ts[i]);
  }
  weft_as_completed_t *it;
  int rc = weft_as_completed_new(loop, futs, 4, -1, &it);
  if (rc < 0)
    return rc;
  for (int i = 0; i < 4 && rc == 0; i++) {
    weft_future_t *next;
    if ((rc = weft_as_completed_next(it, &next)) < 0)
      break;
    rc = weft_await(next);
    const weft_value_t *which, *v;
    if (rc == 0 && weft_future_result(next, &which) == 0 &&
        weft_future_result(weft_value_object(which, WEFT_VALUE_FUTURE), &v) == 0)
      casetrace_emit("completed %s", (const char *)v->ptr);
    weft_future_release(next);
  }
  weft_as_completed_free(it);
  for (int i = 0; i < 4; i++)
    weft_task_release(ts[i]);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
