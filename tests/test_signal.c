/* Signal handlers: delivered as ordinary loop callbacks, replaced, removed; invalid
 * numbers; the runner's SIGINT guard; and handlers on the alternate signal stack. */
#include "weft_test.h"

#include "signal_internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  weft_loop_t *loop;
  int count;
  int in_task_context; /* set if the handler ran while a task was current (it must not) */
  weft_future_t *done;
} hits_t;

static void on_usr1(void *arg) {
  hits_t *h = arg;
  h->count++;
  if (weft_current_task(h->loop) != NULL)
    h->in_task_context = 1;
  if (h->done && !weft_future_done(h->done))
    weft_future_set_result(h->done, weft_value_none());
}

/* Runs the loop until the handler has completed `h->done` (or a timeout fails the test). */
static void run_until_hit(hits_t *h) {
  weft_future_t *waited;
  ASSERT_OK(weft_wait_for(h->loop, h->done, 5, &waited));
  ASSERT_OK(weft_loop_run_until_complete(h->loop, waited));
  weft_future_release(waited);
  weft_future_release(h->done);
  h->done = NULL;
}

static void tick(weft_loop_t *loop, double seconds) {
  weft_future_t *f;
  ASSERT_OK(weft_sleep(loop, seconds, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
}

WEFT_TEST(raise_runs_handler_on_loop) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  hits_t h = {loop, 0, 0, NULL};
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR1, on_usr1, &h, NULL));
  ASSERT_OK(weft_future_new(loop, &h.done));
  raise(SIGUSR1);
  ASSERT_EQ(h.count, 0); /* never in signal context, never inline */
  run_until_hit(&h);
  ASSERT_EQ(h.count, 1);
  ASSERT_EQ(h.in_task_context, 0);

  ASSERT_OK(weft_future_new(loop, &h.done));
  kill(getpid(), SIGUSR1);
  run_until_hit(&h);
  ASSERT_EQ(h.count, 2);

  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR1), 1);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR1), 0);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

static void ignore_idle(uv_idle_t *idle) {
  (void)idle;
}

static void never_handled(void *arg) {
  (void)arg;
  WEFT_FAIL_AT("a handler ran after its loop closed");
}

/* A signal read in the loop's last iteration before its close: the handler call due in the
 * next iteration is dropped with the ready queue, and the reference it held on the handler
 * entry must go with it (valgrind and ASan check that the entry is freed). */
WEFT_TEST(loop_close_with_a_handler_call_pending) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR2, never_handled, NULL, NULL));
  raise(SIGUSR2);
  /* An iteration runs only while something keeps the loop alive; its poll reads the
   * signal, and the call waits for the next iteration. */
  uv_idle_t keep_alive;
  ASSERT_TRUE(uv_idle_init(weft_loop_uv(loop), &keep_alive) == 0);
  ASSERT_TRUE(uv_idle_start(&keep_alive, ignore_idle) == 0);
  ASSERT_OK(weft_loop_run_once(loop, 1));
  uv_close((uv_handle_t *)&keep_alive, NULL);
  weft_test_close_loop(loop);
}

static void on_other(void *arg) {
  int *n = arg;
  (*n)++;
}

WEFT_TEST(replace_and_remove) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  hits_t h = {loop, 0, 0, NULL};
  int other = 0;
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR2, on_usr1, &h, NULL));
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR2, on_other, &other, NULL)); /* replaces */
  raise(SIGUSR2);
  tick(loop, 0.05);
  ASSERT_EQ(h.count, 0);
  ASSERT_EQ(other, 1);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR2), 1);
  /* Removed: the disposition is the default again. Ignore it now so raising is safe, and
   * check nothing arrives. */
  signal(SIGUSR2, SIG_IGN);
  raise(SIGUSR2);
  tick(loop, 0.05);
  ASSERT_EQ(other, 1);
  weft_test_close_loop(loop);
}

WEFT_TEST(invalid_signals) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int n = 0;
  ASSERT_CODE(weft_add_signal_handler(loop, SIGKILL, on_other, &n, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_add_signal_handler(loop, SIGSTOP, on_other, &n, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_add_signal_handler(loop, 0, on_other, &n, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_add_signal_handler(loop, -3, on_other, &n, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_add_signal_handler(loop, 100000, on_other, &n, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_remove_signal_handler(loop, 100000), WEFT_EINVAL);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGHUP), 0);
  weft_test_close_loop(loop);
}

WEFT_TEST(handlers_on_two_signals_and_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int a = 0, b = 0;
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR1, on_other, &a, NULL));
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR2, on_other, &b, NULL));
  raise(SIGUSR1);
  raise(SIGUSR2);
  raise(SIGUSR2);
  tick(loop, 0.05);
  ASSERT_EQ(a, 1);
  ASSERT_TRUE(b >= 1); /* the kernel may merge two pending SIGUSR2 into one */
  /* Left installed: closing the loop removes them. */
  weft_test_close_loop(loop);
}

/* ---- The runner's SIGINT guard -------------------------------------------------------- */

static int waits_forever(weft_task_t *self, void *arg) {
  return weft_sleep_await(weft_future_loop(weft_task_future(self)), 30);
}

WEFT_TEST(sigint_guard_first_cancels_main) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *main_task;
  ASSERT_OK(weft_task_spawn(loop, waits_forever, NULL, NULL, &main_task));
  weft__sigint_guard_t *guard;
  ASSERT_OK(weft__sigint_guard_install(loop, main_task, &guard));
  ASSERT_TRUE(guard != NULL);
  weft__sigint_guard_t *second;
  ASSERT_OK(weft__sigint_guard_install(loop, main_task, &second));
  ASSERT_TRUE(second == NULL); /* one at a time */
  tick(loop, 0.01);
  raise(SIGINT);
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(main_task)), WEFT_ECANCELLED);
  ASSERT_EQ(weft__sigint_guard_remove(guard), 1);
  struct sigaction now;
  sigaction(SIGINT, NULL, &now);
  ASSERT_TRUE(now.sa_handler == SIG_DFL);
  weft_task_release(main_task);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

WEFT_TEST(sigint_guard_second_interrupts) {
  /* In a child: the second SIGINT must end the process at once, killed by SIGINT, even
   * though the loop never gets to run. */
  pid_t pid = fork();
  ASSERT_TRUE(pid >= 0);
  if (pid == 0) {
    weft_loop_t *loop;
    weft_task_t *main_task;
    weft__sigint_guard_t *guard;
    if (weft_loop_new(&loop) || weft_task_spawn(loop, waits_forever, NULL, NULL, &main_task) ||
        weft__sigint_guard_install(loop, main_task, &guard) || !guard)
      _exit(3);
    raise(SIGINT); /* the first: queued for the loop, which is not running */
    raise(SIGINT); /* the second: the default action */
    _exit(4);
  }
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(WTERMSIG(status), SIGINT);
}

WEFT_TEST(sigint_guard_respects_own_handler) {
  signal(SIGINT, SIG_IGN);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *main_task;
  ASSERT_OK(weft_task_spawn(loop, waits_forever, NULL, NULL, &main_task));
  weft__sigint_guard_t *guard;
  ASSERT_OK(weft__sigint_guard_install(loop, main_task, &guard));
  ASSERT_TRUE(guard == NULL);
  ASSERT_EQ(weft__sigint_guard_remove(guard), 0);
  weft_task_cancel(main_task, NULL);
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(main_task)), WEFT_ECANCELLED);
  weft_task_release(main_task);
  weft_test_close_loop(loop);
}

/* ---- Handlers on the alternate signal stack -------------------------------------------- */

/* A thread with an alternate signal stack, as every thread of a Go program has (its
 * goroutines run on stacks too small for a signal frame): the core's handlers must run
 * there. alt is filled with a pattern that a handler's frame overwrites. */
static unsigned char alt[64 * 1024];
static stack_t previous_alt;

static void use_alternate_stack(void) {
  memset(alt, 0xa5, sizeof alt);
  stack_t ours = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  ASSERT_OK(sigaltstack(&ours, &previous_alt));
  if (previous_alt.ss_flags & SS_DISABLE)
    previous_alt = (stack_t){.ss_flags = SS_DISABLE};
}

/* Whether signum, raised on this thread now, had its handler run on alt. */
static int handled_on_alternate_stack(int signum) {
  raise(signum); /* not blocked: handled before raise returns */
  ASSERT_OK(sigaltstack(&previous_alt, NULL));
  /* Read back through the kernel: to valgrind, what the handler's frame left there lies
   * below a stack pointer, unreadable. */
  static unsigned char seen[sizeof alt];
  int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  ASSERT_TRUE(fd >= 0);
  ASSERT_EQ(pread(fd, seen, sizeof seen, (off_t)(uintptr_t)alt), (ssize_t)sizeof seen);
  close(fd);
  for (size_t i = 0; i < sizeof seen; i++)
    if (seen[i] != 0xa5)
      return 1;
  return 0;
}

WEFT_TEST(handlers_run_on_the_alternate_stack) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  use_alternate_stack();
  int n = 0;
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR2, on_other, &n, NULL));
  ASSERT_TRUE(handled_on_alternate_stack(SIGUSR2));
  tick(loop, 0.01);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR2), 1);
  weft_test_close_loop(loop);
}

/* The SIGCHLD watcher the first subprocess starts (libuv's handler, as above). */
WEFT_TEST(sigchld_handler_runs_on_the_alternate_stack) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  use_alternate_stack();
  const char *argv[] = {"true", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, NULL, &p));
  ASSERT_TRUE(handled_on_alternate_stack(SIGCHLD));
  weft_future_t *exited, *bounded;
  ASSERT_OK(weft_process_wait(p, &exited));
  ASSERT_OK(weft_wait_for(loop, exited, 10, &bounded));
  ASSERT_OK(weft_loop_run_until_complete(loop, bounded));
  weft_future_release(bounded);
  weft_future_release(exited);
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}
