/* Two children fail in the same iteration: the group's error holds both, in the order they
 * failed, and the remaining child is cancelled once. */
#include <casetrace.h>

static int failing(weft_task_t *self, void *arg) {
  int code = *(const int *)arg;
  int rc = weft_sleep_await(casetrace_loop(self), 0);
  if (rc < 0)
    return rc;
  casetrace_emit("failing %s", casetrace_err(code));
  return weft_task_fail(self, code, "child failed", NULL, NULL);
}

static int slow(weft_task_t *self, void *arg) {
  (void)arg;
  int rc = weft_sleep_await(casetrace_loop(self), 10);
  if (rc == WEFT_ECANCELLED)
    casetrace_emit("slow %s", casetrace_err(rc));
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  static const int eio = WEFT_EIO, eperm = WEFT_EPERM;
  weft_taskgroup_t *tg;
  int rc = weft_taskgroup_enter(self, &tg);
  if (rc < 0)
    return rc;
  weft_taskgroup_spawn(tg, failing, (void *)&eio, NULL, NULL);
  weft_taskgroup_spawn(tg, slow, NULL, NULL, NULL);
  weft_taskgroup_spawn(tg, failing, (void *)&eperm, NULL, NULL);
  rc = weft_taskgroup_exit_await(tg, 0);
  char group[128];
  if (rc == WEFT_EGROUP)
    casetrace_emit("group %s", casetrace_group(group, sizeof group, tg));
  weft_taskgroup_free(tg);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
