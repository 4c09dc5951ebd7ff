/* Barrier: parties wait until all have arrived, each gets its arrival index; abort breaks it
 * and every waiter, present and later, gets EBROKENBARRIER. */
#include <casetrace.h>

static weft_barrier_t *barrier;

static int party(weft_task_t *self, void *arg) {
  (void)self;
  casetrace_emit("arrives %s", (const char *)arg);
  size_t index;
  int rc = weft_barrier_wait_await(barrier, &index);
  if (rc == 0)
    casetrace_emit("passes %s %zu", (const char *)arg, index);
  else if (rc == WEFT_EBROKENBARRIER)
    casetrace_emit("broken %s %s", (const char *)arg, casetrace_err(rc));
  return rc == WEFT_EBROKENBARRIER ? 0 : rc;
}

/* Spawns one party per name and waits for all of them. */
static int parties(weft_loop_t *loop, const char *const *names, int n, int steps_first) {
  weft_task_t *tasks[3];
  weft_future_t *futs[3], *g;
  int rc = 0;
  for (int i = 0; i < n; i++) {
    if ((rc = weft_task_spawn(loop, party, (void *)names[i], NULL, &tasks[i])) < 0)
      return rc;
    futs[i] = weft_task_future(tasks[i]);
  }
  if (steps_first) {
    weft_sleep_await(loop, 0);
    casetrace_emit("n_waiting %zu", weft_barrier_n_waiting(barrier));
    weft_barrier_abort_await(barrier);
  }
  if ((rc = weft_gather(loop, futs, (size_t)n, 0, &g)) < 0)
    return rc;
  rc = weft_await(g);
  weft_future_release(g);
  for (int i = 0; i < n; i++)
    weft_task_release(tasks[i]);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static const char *const first[] = {"a", "b", "c"}, *const later[] = {"x", "y"};
  int rc = weft_barrier_new(loop, 3, &barrier);
  if (rc < 0 || (rc = parties(loop, first, 3, 0)) < 0)
    return rc;
  casetrace_emit("n_waiting %zu broken %s", weft_barrier_n_waiting(barrier),
                 casetrace_bool(weft_barrier_broken(barrier)));
  if ((rc = parties(loop, later, 2, 1)) < 0)
    return rc;
  casetrace_emit("broken %s", casetrace_bool(weft_barrier_broken(barrier)));
  rc = party(self, "late");
  weft_barrier_release(barrier);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
