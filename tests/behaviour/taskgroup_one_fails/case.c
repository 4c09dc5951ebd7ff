/* One child of a TaskGroup fails: its sibling is cancelled, the body's await is cancelled,
 * and the group fails with a group of the one error. */
#include <casetrace.h>

static int sibling(weft_task_t *self, void *arg) {
  int rc = weft_sleep_await(casetrace_loop(self), 10);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("sibling %s %s", (const char *)arg, casetrace_err(rc));
  return rc;
}

static int failing(weft_task_t *self, void *arg) {
  (void)arg;
  int rc = weft_sleep_await(casetrace_loop(self), 0);
  if (rc < 0)
    return rc;
  casetrace_emit("failing raises");
  return weft_task_fail(self, WEFT_EIO, "child failed", NULL, NULL);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_taskgroup_t *tg;
  int rc = weft_taskgroup_enter(self, &tg);
  if (rc < 0)
    return rc;
  weft_taskgroup_spawn(tg, sibling, "a", NULL, NULL);
  weft_taskgroup_spawn(tg, failing, NULL, NULL, NULL);
  rc = weft_sleep_await(casetrace_loop(self), 10);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("body %s", casetrace_err(rc));
  rc = weft_taskgroup_exit_await(tg, rc);
  char group[128];
  if (rc == WEFT_EGROUP)
    casetrace_emit("group %s", casetrace_group(group, sizeof group, tg));
  weft_taskgroup_free(tg);
  casetrace_emit("cancelling %d", weft_task_cancelling(self));
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
