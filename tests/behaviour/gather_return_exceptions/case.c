/* gather with return_exceptions waits for every child and leaves results and errors in
 * argument order, whatever order they finished in. */
#include <casetrace.h>
#include <string.h>

typedef struct {
  const char *name;
  int steps;
  int fail;
} child_t;

static int child(weft_task_t *self, void *arg) {
  const child_t *c = arg;
  int rc = casetrace_steps(casetrace_loop(self), c->steps);
  if (rc < 0)
    return rc;
  casetrace_emit("child %s ends", c->name);
  if (c->fail)
    return weft_task_fail(self, c->fail, c->name, NULL, NULL);
  return weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const child_t children[] = {
      {"a", 3, 0}, {"b", 1, WEFT_EIO}, {"c", 2, 0}, {"d", 0, WEFT_EPERM}};
  weft_task_t *tasks[4];
  weft_future_t *futs[4], *g;
  for (int i = 0; i < 4; i++) {
    int rc = weft_task_spawn(loop, child, (void *)&children[i], NULL, &tasks[i]);
    if (rc < 0)
      return rc;
    futs[i] = weft_task_future(tasks[i]);
  }
  int rc = weft_gather(loop, futs, 4, 1, &g);
  if (rc < 0)
    return rc;
  rc = weft_await(g);
  weft_future_release(g);
  if (rc < 0)
    return rc;
  char line[128] = "results";
  for (int i = 0; i < 4; i++) {
    const weft_value_t *v;
    int err = weft_future_result(futs[i], &v);
    strcat(line, " ");
    strcat(line, err == 0 ? (const char *)v->ptr : casetrace_err(err));
    weft_task_release(tasks[i]);
  }
  casetrace_emit("%s", line);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
