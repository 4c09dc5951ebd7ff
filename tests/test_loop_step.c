/* Driving the loop from a host's own poller: weft_loop_run_step and weft_loop_backend_fd.
 * The host here is poll(2) on the backend descriptor, as Go's netpoller would wait on it. */
#include "weft_test.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Waits (bounded, so a lost wake-up fails instead of hanging) until the loop has work. */
static int wait_readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n;
  do
    n = poll(&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  return n;
}

/* Steps the loop as a host would, until *flag is set or the loop reports nothing for 10 s. */
static void step_until(weft_loop_t *loop, const int *flag) {
  int fd = weft_loop_backend_fd(loop);
  ASSERT_TRUE(fd >= 0);
  for (int i = 0; i < 1000 && !*flag; i++) {
    int timeout = 0;
    ASSERT_OK(weft_loop_run_step(loop, 0, &timeout));
    if (*flag)
      break;
    /* A timer's deadline passes without the descriptor becoming readable: libuv keeps
     * its timers to itself. Without one, only a wake-up may end the wait. */
    if (timeout > 0)
      ASSERT_TRUE(wait_readable(fd, timeout) >= 0);
    else if (timeout < 0)
      ASSERT_EQ(wait_readable(fd, 10000), 1);
  }
  ASSERT_TRUE(*flag);
}

static void set_flag(void *arg) {
  *(int *)arg += 1;
}

static void stop_loop(void *arg) {
  weft_loop_stop(arg);
}

typedef struct {
  weft_loop_t *loop;
  int *flag;
} post_t;

static void post_from_thread(void *arg) {
  post_t *p = arg;
  weft_call_soon_threadsafe(p->loop, set_flag, p->flag);
}

/* With nothing alive in libuv's loop but the loop itself, a step reports "wait until woken"
 * (not "at once", which would spin), and a post from another thread wakes the descriptor. */
WEFT_TEST(post_from_thread_wakes_descriptor) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int timeout = 0;
  ASSERT_OK(weft_loop_run_step(loop, 0, &timeout));
  ASSERT_EQ(timeout, -1);
  int flag = 0;
  post_t p = {loop, &flag};
  uv_thread_t thread;
  ASSERT_OK(uv_thread_create(&thread, post_from_thread, &p));
  step_until(loop, &flag);
  ASSERT_OK(uv_thread_join(&thread));
  ASSERT_EQ(flag, 1);
  weft_test_close_loop(loop);
}

typedef struct {
  weft_loop_t *loop;
  int log[8];
  int n;
} order_t;

static order_t *g_order;

static void note(void *arg) {
  g_order->log[g_order->n++] = (int)(intptr_t)arg;
}

static void note_then_schedule(void *arg) {
  note(arg);
  weft_call_soon(g_order->loop, note, (void *)(intptr_t)3, NULL);
}

/* A step is one asyncio iteration: the callbacks ready before it, in order; what they
 * schedule waits for the next step, which the timeout says to run at once. */
WEFT_TEST(step_is_one_iteration) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  order_t order = {.loop = loop};
  g_order = &order;
  ASSERT_OK(weft_call_soon(loop, note, (void *)(intptr_t)1, NULL));
  ASSERT_OK(weft_call_soon(loop, note_then_schedule, (void *)(intptr_t)2, NULL));
  int timeout = -1;
  ASSERT_OK(weft_loop_run_step(loop, 0, &timeout));
  ASSERT_EQ(order.n, 2);
  ASSERT_EQ(order.log[0], 1);
  ASSERT_EQ(order.log[1], 2);
  ASSERT_EQ(timeout, 0);
  ASSERT_OK(weft_loop_run_step(loop, 0, &timeout));
  ASSERT_EQ(order.n, 3);
  ASSERT_EQ(order.log[2], 3);
  ASSERT_EQ(timeout, -1);
  weft_test_close_loop(loop);
}

/* A pending timer bounds the wait; the step after its deadline runs it. */
WEFT_TEST(timer_bounds_the_wait) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int flag = 0;
  weft_handle_t *far;
  ASSERT_OK(weft_call_later(loop, 3600.0, set_flag, &flag, &far));
  int timeout = 0;
  ASSERT_OK(weft_loop_run_step(loop, 0, &timeout));
  ASSERT_TRUE(timeout > 3599 * 1000 && timeout <= 3601 * 1000); /* libuv rounds up a ms */
  weft_handle_cancel(far);
  weft_handle_release(far);
  ASSERT_OK(weft_call_later(loop, 0.001, set_flag, &flag, NULL));
  step_until(loop, &flag);
  ASSERT_EQ(flag, 1);
  weft_test_close_loop(loop);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  char buf[8];
  int *flag = handle->data;
  if (read(handle->io_watcher.fd, buf, sizeof buf) > 0)
    *flag += 1;
}

static void on_poll_closed(uv_handle_t *handle) {
  (void)handle;
}

/* I/O on the loop makes the descriptor readable, and the step runs its callback. */
WEFT_TEST(io_wakes_descriptor) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
  uv_poll_t poll_handle;
  int flag = 0;
  ASSERT_OK(uv_poll_init(weft_loop_uv(loop), &poll_handle, sv[0]));
  poll_handle.data = &flag;
  ASSERT_OK(uv_poll_start(&poll_handle, UV_READABLE, on_readable));
  int timeout = 0;
  ASSERT_OK(weft_loop_run_step(loop, 0, &timeout));
  ASSERT_EQ(timeout, -1);
  ASSERT_EQ(flag, 0);
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  step_until(loop, &flag);
  ASSERT_EQ(flag, 1);
  uv_close((uv_handle_t *)&poll_handle, on_poll_closed);
  ASSERT_OK(weft_loop_run_step(loop, 0, &timeout)); /* runs the close callback */
  close(sv[0]);
  close(sv[1]);
  weft_test_close_loop(loop);
}

/* A stop between steps is not left behind for the next run_forever, and errors are the
 * ones run_once gives. */
WEFT_TEST(step_arguments_and_states) {
  int timeout = 7;
  ASSERT_CODE(weft_loop_run_step(NULL, 0, &timeout), WEFT_EINVAL);
  ASSERT_EQ(timeout, 0);
  ASSERT_CODE(weft_loop_backend_fd(NULL), WEFT_EINVAL);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_CODE(weft_loop_run_step(loop, 0, NULL), WEFT_EINVAL);
  ASSERT_OK(weft_loop_stop(loop));
  ASSERT_OK(weft_loop_run_step(loop, 0, &timeout));
  int flag = 0;
  ASSERT_OK(weft_call_soon(loop, set_flag, &flag, NULL));
  ASSERT_OK(weft_call_soon(loop, stop_loop, loop, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(flag, 1);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_CODE(weft_loop_run_step(loop, 0, &timeout), WEFT_ECLOSED);
  ASSERT_CODE(weft_loop_backend_fd(loop), WEFT_ECLOSED);
  weft_loop_release(loop);
}

/* A waiting step sleeps in libuv's poll until a post arrives, even with nothing else alive
 * (run_once would return at once and leave the post for later). */
WEFT_TEST(waiting_step_waits_for_a_post) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int flag = 0;
  post_t p = {loop, &flag};
  uv_thread_t thread;
  ASSERT_OK(uv_thread_create(&thread, post_from_thread, &p));
  int timeout = 0;
  for (int i = 0; i < 1000 && flag == 0; i++)
    ASSERT_OK(weft_loop_run_step(loop, 1, &timeout));
  ASSERT_OK(uv_thread_join(&thread));
  ASSERT_EQ(flag, 1);
  ASSERT_EQ(timeout, -1);
  weft_test_close_loop(loop);
}

/* An adopted loop is the host's to run and to wait on. */
WEFT_TEST(adopted_loop_is_not_stepped) {
  uv_loop_t host;
  ASSERT_OK(uv_loop_init(&host));
  weft_loop_options_t options;
  weft_loop_options_init(&options);
  options.adopt = &host;
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new_ex(&options, &loop));
  int timeout = 0;
  ASSERT_CODE(weft_loop_run_step(loop, 0, &timeout), WEFT_EINVAL);
  ASSERT_CODE(weft_loop_backend_fd(loop), WEFT_ENOTSUP);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
  ASSERT_OK(uv_run(&host, UV_RUN_DEFAULT)); /* the host runs weft's close callbacks */
  ASSERT_OK(uv_loop_close(&host));
}
