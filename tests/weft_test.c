/* The harness's runner: `binary NAME` runs one test; `binary --list` lists them. */
#include "weft_test.h"

#include <signal.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
  const char *name;
  weft_test_fn fn;
} tests[MAX_TESTS];
static int test_count;

void weft_test_register(const char *name, weft_test_fn fn) {
  if (test_count == MAX_TESTS) {
    fprintf(stderr, "too many tests\n");
    exit(2);
  }
  tests[test_count].name = name;
  tests[test_count].fn = fn;
  test_count++;
}

void weft_test_close_loop(weft_loop_t *loop) {
  size_t pending = weft_all_tasks(loop, NULL, 0);
  if (pending != 0)
    WEFT_FAIL_AT("%zu task(s) still pending at the end of the test", pending);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}

int weft_test_run_task(weft_task_fn fn, void *arg, const char *name) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_options_t options = {.size = sizeof options, .name = name};
  weft_task_t *task;
  ASSERT_OK(weft_task_spawn(loop, fn, arg, &options, &task));
  int rc = weft_loop_run_until_complete(loop, weft_task_future(task));
  weft_task_release(task);
  weft_test_close_loop(loop);
  return rc;
}

weft_loop_t *weft_test_loop_of(weft_task_t *task) {
  return weft_future_loop(weft_task_future(task));
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < test_count; i++)
      printf("%s\n", tests[i].name);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s TEST | --list\n", argv[0]);
    return 2;
  }
  for (int i = 0; i < test_count; i++) {
    if (strcmp(tests[i].name, argv[1]) == 0) {
      /* A hang fails the test instead of blocking the suite. Slow runners (valgrind) get
       * the longer limit ctest gives them, through WEFT_TEST_TIMEOUT. */
      const char *limit = getenv("WEFT_TEST_TIMEOUT");
      alarm(limit != NULL && atoi(limit) > 0 ? (unsigned)atoi(limit) : 60);
      tests[i].fn();
      return 0;
    }
  }
  fprintf(stderr, "no test named %s\n", argv[1]);
  return 2;
}
