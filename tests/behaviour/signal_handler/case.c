/* add_signal_handler: a signal sent to the process runs the handler as an ordinary callback
 * on the loop; after remove_signal_handler the signal is not handled there. */
#include <casetrace.h>
#include <signal.h>
#include <unistd.h>

static weft_future_t *got;

static void on_signal(void *arg) {
  casetrace_emit("handler %s", (const char *)arg);
  if (!weft_future_done(got))
    weft_future_set_result(got, weft_value_none());
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  int rc = weft_future_new(loop, &got);
  if (rc < 0 || (rc = weft_add_signal_handler(loop, SIGUSR1, on_signal, "usr1", NULL)) < 0)
    return rc;
  kill(getpid(), SIGUSR1);
  casetrace_emit("sent");
  rc = weft_await(got);
  weft_future_release(got);
  if (rc < 0)
    return rc;
  casetrace_emit("removed %s", casetrace_bool(weft_remove_signal_handler(loop, SIGUSR1) == 1));
  casetrace_emit("removed-again %s",
                 casetrace_bool(weft_remove_signal_handler(loop, SIGUSR1) == 1));
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
