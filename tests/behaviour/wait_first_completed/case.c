/* wait(FIRST_COMPLETED) returns once any one finishes; the rest stay pending, uncancelled. */
#include <casetrace.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int steps;
} child_t;

static int after(weft_task_t *self, void *arg) {
  const child_t *c = arg;
  int rc = casetrace_steps(casetrace_loop(self), c->steps);
  if (rc < 0)
    return rc;
  return weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

static const char *result_of(weft_future_t *f) {
  const weft_value_t *v;
  return weft_future_result(f, &v) == 0 ? v->ptr : "error";
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  /* Listed in name order, so walking them prints sorted. */
  static const child_t children[] = {{"a", 5}, {"b", 2}, {"c", 8}};
  weft_task_t *ts[3];
  weft_future_t *futs[3], *pending[3], *w;
  for (int i = 0; i < 3; i++) {
    int rc = weft_task_spawn(loop, after, (void *)&children[i], NULL, &ts[i]);
    if (rc < 0)
      return rc;
    futs[i] = weft_task_future(ts[i]);
  }
  int rc = weft_wait(loop, futs, 3, WEFT_FIRST_COMPLETED, -1, &w);
  if (rc < 0)
    return rc;
  rc = weft_await(w);
  weft_future_release(w);
  if (rc < 0)
    return rc;
  char done_line[64] = "done", pending_line[64] = "pending";
  size_t npending = 0;
  for (int i = 0; i < 3; i++) {
    if (weft_future_done(futs[i])) {
      snprintf(done_line + strlen(done_line), 16, " %s", result_of(futs[i]));
    } else {
      snprintf(pending_line + strlen(pending_line), 16, " %s", children[i].name);
      pending[npending++] = futs[i];
    }
  }
  casetrace_emit("%s", done_line);
  casetrace_emit("%s", pending_line);
  rc = weft_wait(loop, pending, npending, WEFT_ALL_COMPLETED, -1, &w);
  if (rc < 0)
    return rc;
  rc = weft_await(w);
  weft_future_release(w);
  if (rc < 0)
    return rc;
  char then_line[64] = "then-done";
  size_t still = 0;
  for (size_t i = 0; i < npending; i++) {
    if (weft_future_done(pending[i]))
      snprintf(then_line + strlen(then_line), 16, " %s", result_of(pending[i]));
    else
      still++;
  }
  casetrace_emit("%s pending %zu", then_line, still);
  for (int i = 0; i < 3; i++)
    weft_task_release(ts[i]);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
