/* Runs a task through an installed weft: what a user's first program does. */
#include <stdio.h>
#include <weft.h>

static int body(weft_task_t *self, void *arg) {
  (void)arg;
  int rc = weft_sleep_await(weft_future_loop(weft_task_future(self)), 0.001);
  return rc != 0 ? rc : weft_task_return(self, weft_value_int(42));
}

int main(void) {
  int rc = weft_run(body, NULL, NULL);
  printf("weft %s: %s\n", weft_version_string(), weft_err_name(rc));
  return rc;
}
