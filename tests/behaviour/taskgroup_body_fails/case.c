/* The body of a TaskGroup fails: the child is cancelled, and the group fails with a group
 * holding the error the child failed with as it unwound, then the body's error. */
#include <casetrace.h>

static int child(weft_task_t *self, void *arg) {
  (void)arg;
  int rc = weft_sleep_await(casetrace_loop(self), 10);
  if (rc == WEFT_ECANCELLED) {
    casetrace_emit("child b %s", casetrace_err(rc));
    return weft_task_fail(self, WEFT_EPERM, "cleanup failed", NULL, NULL);
  }
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_taskgroup_t *tg;
  int rc = weft_taskgroup_enter(self, &tg);
  if (rc < 0)
    return rc;
  weft_taskgroup_spawn(tg, child, NULL, NULL, NULL);
  rc = weft_sleep_await(casetrace_loop(self), 0);
  if (rc == 0) {
    casetrace_emit("body raises");
    rc = WEFT_EIO;
  }
  rc = weft_taskgroup_exit_await(tg, rc);
  char group[128];
  if (rc == WEFT_EGROUP)
    casetrace_emit("group %s", casetrace_group(group, sizeof group, tg));
  weft_taskgroup_free(tg);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
