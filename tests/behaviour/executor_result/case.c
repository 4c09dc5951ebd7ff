/* run_in_executor runs a blocking call on another thread and hands its result, or its
 * error, back to the awaiting task. The work's result is a pair, (x * 2, on another
 * thread), carried as bytes. */
#include <casetrace.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

typedef struct {
  int64_t value;
  int other_thread;
} pair_t;

static pthread_t main_thread;

static int work(void *arg, weft_value_t *result) {
  pair_t pair = {(intptr_t)arg * 2, !pthread_equal(pthread_self(), main_thread)};
  return weft_value_bytes(result, &pair, sizeof pair);
}

static int failing(void *arg, weft_value_t *result) {
  (void)arg, (void)result;
  return WEFT_EIO;
}

static pair_t pair_of(weft_future_t *f) {
  pair_t pair = {0, 0};
  const weft_value_t *v;
  if (weft_future_result(f, &v) == 0 && v->type == WEFT_VALUE_BYTES && v->len == sizeof pair)
    memcpy(&pair, v->ptr, sizeof pair);
  return pair;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_future_t *f, *futs[4], *g;
  int rc = weft_run_in_executor(loop, NULL, work, (void *)(intptr_t)21, &f);
  if (rc < 0)
    return rc;
  if ((rc = weft_await(f)) == 0) {
    pair_t pair = pair_of(f);
    casetrace_emit("result %lld other-thread %s", (long long)pair.value,
                   casetrace_bool(pair.other_thread));
  }
  weft_future_release(f);
  if ((rc = weft_run_in_executor(loop, NULL, failing, NULL, &f)) < 0)
    return rc;
  rc = weft_await(f);
  if (rc < 0)
    casetrace_emit("error %s", casetrace_err(rc));
  weft_future_release(f);
  for (intptr_t i = 0; i < 4; i++)
    if ((rc = weft_run_in_executor(loop, NULL, work, (void *)i, &futs[i])) < 0)
      return rc;
  if ((rc = weft_gather(loop, futs, 4, 0, &g)) < 0)
    return rc;
  if ((rc = weft_await(g)) == 0)
    casetrace_emit("gathered %lld %lld %lld %lld", (long long)pair_of(futs[0]).value,
                   (long long)pair_of(futs[1]).value, (long long)pair_of(futs[2]).value,
                   (long long)pair_of(futs[3]).value);
  weft_future_release(g);
  for (int i = 0; i < 4; i++)
    weft_future_release(futs[i]);
  return rc;
}

int main(void) {
  main_thread = pthread_self();
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
