/* Once a child has failed the group is shutting down: spawning is refused (the state
 * error) and the new child never runs; after the group has finished it is refused too. */
#include <casetrace.h>

static int failing(weft_task_t *self, void *arg) {
  (void)arg;
  return weft_task_fail(self, WEFT_EIO, "child failed", NULL, NULL);
}

static int late(weft_task_t *self, void *arg) {
  (void)self, (void)arg;
  casetrace_emit("late runs");
  return 0;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_taskgroup_t *tg;
  int rc = weft_taskgroup_enter(self, &tg);
  if (rc < 0)
    return rc;
  weft_taskgroup_spawn(tg, failing, NULL, NULL, NULL);
  rc = weft_sleep_await(casetrace_loop(self), 10);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("body %s", casetrace_err(rc));
  rc = weft_taskgroup_spawn(tg, late, NULL, NULL, NULL);
  if (rc == 0)
    casetrace_emit("spawned");
  else
    casetrace_emit("spawn-after-failure %s", casetrace_err(rc));
  rc = weft_taskgroup_exit_await(tg, 0);
  char group[128];
  if (rc == WEFT_EGROUP)
    casetrace_emit("group %s", casetrace_group(group, sizeof group, tg));
  rc = weft_taskgroup_spawn(tg, late, NULL, NULL, NULL);
  if (rc < 0)
    casetrace_emit("spawn-after-exit %s", casetrace_err(rc));
  weft_taskgroup_free(tg);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
