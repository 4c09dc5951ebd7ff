/* gather without return_exceptions fails with the first error as soon as it happens; the
 * other children are not cancelled and run on to the end. */
#include <casetrace.h>

typedef struct {
  const char *name;
  int steps;
  int fail;
} child_t;

static int child(weft_task_t *self, void *arg) {
  const child_t *c = arg;
  int rc = casetrace_steps(casetrace_loop(self), c->steps);
  if (rc == WEFT_ECANCELLED) {
    casetrace_emit("child %s %s", c->name, casetrace_err(rc));
    return rc;
  }
  casetrace_emit("child %s ends", c->name);
  if (c->fail)
    return weft_task_fail(self, c->fail, c->name, NULL, NULL);
  return weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const child_t children[] = {{"a", 4, 0}, {"b", 1, WEFT_EIO}, {"c", 2, WEFT_EPERM}};
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
  rc = weft_await(g);
  if (rc < 0)
    casetrace_emit("gather %s", casetrace_err(rc));
  weft_future_release(g);
  casetrace_emit("states %s %s %s", weft_future_done(futs[0]) ? "done" : "pending",
                 weft_future_done(futs[1]) ? "done" : "pending",
                 weft_future_done(futs[2]) ? "done" : "pending");
  casetrace_steps(loop, 3);
  const weft_value_t *v;
  if (weft_future_result(futs[0], &v) == 0)
    casetrace_emit("a %s c %s", (const char *)v->ptr, casetrace_err(weft_future_error(futs[2])));
  for (int i = 0; i < 3; i++)
    weft_task_release(tasks[i]);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
