/* wait(ALL_COMPLETED) waits for every input, errors included, and fails with nothing
 * itself. */
#include <casetrace.h>

typedef struct {
  const char *name;
  int steps;
  int fail;
} child_t;

static int after(weft_task_t *self, void *arg) {
  const child_t *c = arg;
  int rc = casetrace_steps(casetrace_loop(self), c->steps);
  if (rc < 0)
    return rc;
  casetrace_emit("finished %s", c->name);
  if (c->fail)
    return weft_task_fail(self, WEFT_EPERM, c->name, NULL, NULL);
  return weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const child_t children[] = {{"a", 3, 0}, {"b", 1, 1}, {"c", 2, 0}};
  weft_task_t *ts[3];
  weft_future_t *futs[3], *w;
  for (int i = 0; i < 3; i++) {
    int rc = weft_task_spawn(loop, after, (void *)&children[i], NULL, &ts[i]);
    if (rc < 0)
      return rc;
    futs[i] = weft_task_future(ts[i]);
  }
  int rc = weft_wait(loop, futs, 3, WEFT_ALL_COMPLETED, -1, &w);
  if (rc < 0)
    return rc;
  rc = weft_await(w);
  weft_future_release(w);
  if (rc < 0)
    return rc;
  int done = 0;
  for (int i = 0; i < 3; i++)
    done += weft_future_done(futs[i]);
  casetrace_emit("done %d pending %d", done, 3 - done);
  const weft_value_t *a, *c;
  weft_future_result(futs[0], &a);
  weft_future_result(futs[2], &c);
  casetrace_emit("outcomes %s %s %s", (const char *)a->ptr,
                 casetrace_err(weft_future_error(futs[1])), (const char *)c->ptr);
  for (int i = 0; i < 3; i++)
    weft_task_release(ts[i]);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
