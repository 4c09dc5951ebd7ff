/* A tour of weft from C: tasks, sleep, gather, timeouts, a TaskGroup, cancellation, a
 * queue between a producer and consumers, and a subprocess.
 *
 * Run: build/examples/c/tour */
#include <stdio.h>
#include <string.h>

#include "weft.h"

static double started;

static void say(weft_loop_t *loop, const char *what) {
  printf("[%6.3f s] %s\n", weft_loop_time(loop) - started, what);
}

/* A worker that sleeps, then returns a number. */
static int worker(weft_task_t *self, void *arg) {
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  double seconds = *(double *)arg;
  int rc = weft_sleep_await(loop, seconds);
  if (rc != 0)
    return rc;
  char line[80];
  snprintf(line, sizeof line, "%s slept %.2f s", weft_task_name(self), seconds);
  say(loop, line);
  return weft_task_return(self, weft_value_int((int64_t)(seconds * 1000)));
}

static int crash(weft_task_t *self, void *arg) {
  (void)arg;
  weft_sleep_await(weft_future_loop(weft_task_future(self)), 0.05);
  return weft_task_fail(self, WEFT_EPROTO, "a child that fails on purpose", NULL, NULL);
}

static int consumer(weft_task_t *self, void *arg) {
  weft_queue_t *queue = arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  for (;;) {
    weft_value_t item;
    int rc = weft_queue_get_await(queue, &item, NULL);
    if (rc != 0)
      return rc == WEFT_EQUEUESHUTDOWN ? 0 : rc;
    char line[80];
    snprintf(line, sizeof line, "%s got item %lld", weft_task_name(self), (long long)item.i);
    say(loop, line);
    weft_sleep_await(loop, 0.01); /* the work an item takes */
    weft_queue_task_done(queue);
  }
}

static int tour(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  started = weft_loop_time(loop);

  /* 1. Three tasks at once, gathered. */
  say(loop, "gather: three workers sleeping 0.10, 0.20 and 0.15 s concurrently");
  static double delays[3] = {0.10, 0.20, 0.15};
  weft_future_t *children[3];
  for (int i = 0; i < 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "worker-%d", i + 1);
    weft_task_options_t options = {.size = sizeof options, .name = name};
    weft_task_t *t;
    weft_task_spawn(loop, worker, &delays[i], &options, &t);
    children[i] = weft_task_future(t);
  }
  weft_future_t *all;
  weft_gather(loop, children, 3, 0, &all);
  weft_await(all);
  long long total = 0;
  for (int i = 0; i < 3; i++) {
    const weft_value_t *v;
    weft_future_result(children[i], &v);
    total += v->i;
    weft_future_release(children[i]);
  }
  weft_future_release(all);
  printf("           results add up to %lld ms, after about 0.20 s, not 0.45 s\n", total);

  /* 2. A timeout around a block. */
  say(loop, "timeout: a 1 s sleep inside a 0.1 s timeout");
  weft_timeout_t *timeout;
  weft_timeout_enter(self, 0.1, &timeout);
  int rc = weft_sleep_await(loop, 1.0);
  rc = weft_timeout_exit(timeout, rc);
  printf("           the block ended with %s\n", weft_err_name(rc));

  /* 3. A TaskGroup where one child fails: its sibling and the body are cancelled. */
  say(loop, "TaskGroup: a long sleeper and a child that fails");
  weft_taskgroup_t *group;
  weft_taskgroup_enter(self, &group);
  static double long_sleep = 5.0;
  weft_taskgroup_spawn(group, worker, &long_sleep, NULL, NULL);
  weft_taskgroup_spawn(group, crash, NULL, NULL, NULL);
  rc = weft_sleep_await(loop, 10.0); /* the body: cancelled when the child fails */
  printf("           the body's sleep ended with %s\n", weft_err_name(rc));
  rc = weft_taskgroup_exit_await(group, rc);
  weft_future_t *errors[4];
  size_t n = weft_taskgroup_errors(group, errors, 4);
  printf("           the group ended with %s and %zu error: %s\n", weft_err_name(rc), n,
         n > 0 ? weft_future_error_message(errors[0]) : "-");
  weft_taskgroup_free(group);

  /* 4. A bounded queue between a producer (this task) and two consumers. */
  say(loop, "queue: five items through a queue of size 2 to two consumers");
  weft_queue_t *queue;
  weft_queue_new(loop, WEFT_QUEUE_FIFO, 2, &queue);
  weft_task_t *consumers[2];
  for (int i = 0; i < 2; i++) {
    char name[16];
    snprintf(name, sizeof name, "consumer-%d", i + 1);
    weft_task_options_t options = {.size = sizeof options, .name = name};
    weft_task_spawn(loop, consumer, queue, &options, &consumers[i]);
  }
  for (int i = 1; i <= 5; i++)
    weft_queue_put_await(queue, weft_value_int(i));
  weft_queue_join_await(queue);
  weft_queue_shutdown(queue, 0);
  for (int i = 0; i < 2; i++) {
    weft_await(weft_task_future(consumers[i]));
    weft_task_release(consumers[i]);
  }
  weft_queue_release(queue);

  /* 5. A subprocess, its output captured. */
  say(loop, "subprocess: echo through /bin/sh");
  weft_process_t *proc;
  weft_process_options_t popts = {.size = sizeof popts};
  popts.stdio[1].mode = WEFT_STDIO_PIPE;
  proc = NULL;
  rc = weft_create_subprocess_shell(loop, "echo hello from a child process", &popts, &proc);
  weft_future_t *finished = NULL;
  if (rc == 0)
    rc = weft_process_communicate(proc, NULL, 0, &finished);
  if (rc == 0)
    rc = weft_await(finished);
  if (rc == 0) {
    const char *out = NULL;
    size_t len = 0;
    int code = -1;
    weft_process_output(proc, 1, &out, &len);
    weft_process_returncode(proc, &code);
    printf("           exit %d, output: %.*s", code, (int)len, out);
  } else {
    printf("           could not run it: %s\n", weft_strerror(rc));
  }
  weft_future_release(finished);
  weft_process_release(proc);

  say(loop, "done");
  return 0;
}

int main(void) {
  int rc = weft_run(tour, NULL, NULL);
  printf("weft_run returned %s\n", weft_err_name(rc));
  return rc == 0 ? 0 : 1;
}
