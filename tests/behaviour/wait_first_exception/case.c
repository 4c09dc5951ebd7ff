/* wait(FIRST_EXCEPTION) returns at the first error; with no error it waits for all. */
#include <casetrace.h>
#include <stdio.h>
#include <string.h>

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
  if (c->fail)
    return weft_task_fail(self, WEFT_EIO, c->name, NULL, NULL);
  return weft_task_return(self, weft_value_pointer((void *)c->name, NULL));
}

/* Spawns the children named, waits with FIRST_EXCEPTION and fills the done and pending
 * names (in the given order, which is name order) into the two lines. */
static int spawn_and_wait(weft_loop_t *loop, const child_t *children, int n, weft_task_t **ts,
                          char *done_line, char *pending_line, int *npending) {
  weft_future_t *futs[3], *w;
  for (int i = 0; i < n; i++) {
    weft_task_options_t options;
    weft_task_options_init(&options);
    options.name = children[i].name;
    int rc = weft_task_spawn(loop, after, (void *)&children[i], &options, &ts[i]);
    if (rc < 0)
      return rc;
    futs[i] = weft_task_future(ts[i]);
  }
  int rc = weft_wait(loop, futs, (size_t)n, WEFT_FIRST_EXCEPTION, -1, &w);
  if (rc < 0)
    return rc;
  rc = weft_await(w);
  weft_future_release(w);
  *npending = 0;
  for (int i = 0; i < n; i++) {
    char *line = weft_future_done(futs[i]) ? done_line : pending_line;
    if (!weft_future_done(futs[i]))
      ++*npending;
    snprintf(line + strlen(line), 16, " %s", weft_task_name(ts[i]));
  }
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const child_t first[] = {{"a", 1, 0}, {"b", 3, 1}, {"c", 6, 0}};
  static const child_t ok[] = {{"x", 2, 0}, {"y", 1, 0}};
  weft_task_t *ts[3], *oks[2];
  char done_line[64] = "done", pending_line[64] = " pending";
  int npending;
  int rc = spawn_and_wait(loop, first, 3, ts, done_line, pending_line, &npending);
  if (rc < 0)
    return rc;
  casetrace_emit("%s%s error %s", done_line, pending_line,
                 casetrace_err(weft_future_error(weft_task_future(ts[1]))));
  weft_future_t *rest = weft_task_future(ts[2]), *w;
  rc = weft_wait(loop, &rest, 1, WEFT_ALL_COMPLETED, -1, &w);
  if (rc < 0)
    return rc;
  rc = weft_await(w);
  weft_future_release(w);
  for (int i = 0; i < 3; i++)
    weft_task_release(ts[i]);
  char ok_done[64] = "no-error done", ok_pending[64] = "";
  rc = spawn_and_wait(loop, ok, 2, oks, ok_done, ok_pending, &npending);
  if (rc < 0)
    return rc;
  casetrace_emit("%s pending %d", ok_done, npending);
  for (int i = 0; i < 2; i++)
    weft_task_release(oks[i]);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
