/* The task running a TaskGroup is cancelled from outside in the same iteration as a child
 * fails. The group still fails with the group of errors (the child's failure is not lost).
 * The parent fails with WEFT_EGROUP and the group's errors as its message, so main can
 * print them. */
#include <casetrace.h>

static int failing(weft_task_t *self, void *arg) {
  int rc = weft_await(arg);
  if (rc < 0)
    return rc;
  casetrace_emit("child raises");
  return weft_task_fail(self, WEFT_EIO, "child failed", NULL, NULL);
}

static int parent(weft_task_t *self, void *arg) {
  weft_taskgroup_t *tg;
  int rc = weft_taskgroup_enter(self, &tg);
  if (rc < 0)
    return rc;
  weft_taskgroup_spawn(tg, failing, arg, NULL, NULL);
  rc = weft_sleep_await(casetrace_loop(self), 10);
  rc = weft_taskgroup_exit_await(tg, rc);
  char group[128];
  casetrace_group(group, sizeof group, tg);
  weft_taskgroup_free(tg);
  if (rc == WEFT_EGROUP) {
    casetrace_emit("parent group %s cancelling %d", group, weft_task_cancelling(self));
    return weft_task_fail(self, rc, group, NULL, NULL);
  }
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("parent cancelled %s", casetrace_err(rc));
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *gate;
  weft_task_t *p;
  int rc = weft_future_new(loop, &gate);
  if (rc < 0 || (rc = weft_task_spawn(loop, parent, gate, NULL, &p)) < 0)
    return rc;
  weft_future_t *pf = weft_task_future(p);
  casetrace_steps(loop, 2);
  weft_future_set_result(gate, weft_value_none()); /* the child fails in the next iteration */
  weft_task_cancel(p, NULL);
  rc = weft_await(pf);
  if (rc == WEFT_EGROUP)
    casetrace_emit("main group %s", weft_future_error_message(pf));
  else if (rc == WEFT_ECANCELLED)
    casetrace_emit("main cancelled %s", casetrace_err(rc));
  casetrace_emit("parent-task cancelled %s", casetrace_bool(weft_future_cancelled(pf)));
  weft_task_release(p);
  weft_future_release(gate);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
