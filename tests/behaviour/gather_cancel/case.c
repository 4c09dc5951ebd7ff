/* Cancelling a gather cancels every child still running; the gather ends cancelled, and
 * children that had already finished keep their results. */
#include <casetrace.h>

typedef struct {
  const char *name;
  int steps;
} child_t;

static int child(weft_task_t *self, void *arg) {
  const child_t *c = arg;
  int rc = casetrace_steps(casetrace_loop(self), c->steps);
  if (rc == WEFT_ECANCELLED) {
    casetrace_emit("child %s %s", c->name, casetrace_err(rc));
    return rc;
  }
  casetrace_emit("child %s ends", c->name);
  return weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const child_t children[] = {{"a", 0}, {"b", 5}, {"c", 10}};
  weft_task_t *tasks[3];
  weft_future_t *futs[3], *g;
  for (int i = 0; i < 3; i++) {
    int rc = weft_task_spawn(loop, child, (void *)&children[i], NULL, &tasks[i]);
    if (rc < 0)
      return rc;
    futs[i] = weft_task_future(tasks[i]);
  }
  int rc = weft_gather(loop, futs, 3, 0, &g);
  if (rc < 0)
    return rc;
  casetrace_steps(loop, 2);
  casetrace_emit("cancel %s", casetrace_bool(weft_future_cancel(g, NULL)));
  rc = weft_await(g);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("gather %s %s", casetrace_err(rc), casetrace_bool(weft_future_cancelled(g)));
  const char *outcome[3];
  for (int i = 0; i < 3; i++) {
    const weft_value_t *v;
    outcome[i] = weft_future_cancelled(futs[i])         ? "cancelled"
                 : weft_future_result(futs[i], &v) == 0 ? (const char *)v->ptr
                                                        : "error";
  }
  casetrace_emit("children %s %s %s", outcome[0], outcome[1], outcome[2]);
  for (int i = 0; i < 3; i++)
    weft_task_release(tasks[i]);
  weft_future_release(g);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
