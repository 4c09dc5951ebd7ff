/* Embedding: weft on a libuv loop the host owns and runs itself (as Node does). */
#include "net_util.h"

#include <uv.h>

typedef struct {
  weft_loop_t *loop;
  int ticks;
  int host_timer_fired;
} embed_t;

static int task_body(weft_task_t *self, void *arg) {
  embed_t *e = arg;
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(weft_sleep_await(e->loop, 0.002));
    e->ticks++;
  }
  return weft_task_return(self, weft_value_int(e->ticks));
}

static void host_timer(uv_timer_t *timer) {
  embed_t *e = timer->data;
  e->host_timer_fired = 1;
  uv_close((uv_handle_t *)timer, NULL);
}

/* A weft loop adopting `host`, a libuv loop the test has just initialised. */
static weft_loop_t *adopted_new(uv_loop_t *host) {
  ASSERT_OK(uv_loop_init(host));
  weft_loop_options_t options = {.size = sizeof options, .adopt = host};
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new_ex(&options, &loop));
  return loop;
}

/* The host's way out: close and release weft's loop, run the close callbacks, close its own. */
static void adopted_close(uv_loop_t *host, weft_loop_t *loop) {
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
  ASSERT_OK(uv_run(host, UV_RUN_DEFAULT));
  ASSERT_OK(uv_loop_close(host));
}

WEFT_TEST(adopted_loop_runs_under_host_uv_run) {
  uv_loop_t host;
  embed_t e = {0};
  e.loop = adopted_new(&host);
  ASSERT_PTR_EQ(weft_loop_uv(e.loop), &host);
  ASSERT_TRUE(weft_loop_is_running(e.loop)); /* the host runs it */
  ASSERT_CODE(weft_loop_run_forever(e.loop), WEFT_EINVAL);
  ASSERT_CODE(weft_loop_run_once(e.loop, 1), WEFT_EINVAL);

  uv_timer_t timer;
  uv_timer_init(&host, &timer);
  timer.data = &e;
  uv_timer_start(&timer, host_timer, 1, 0);

  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(e.loop, task_body, &e, NULL, &t));
  /* The host's own uv_run drives everything and returns once nobody has work left:
   * weft's pending task (its timers) keeps the host loop alive exactly that long. */
  ASSERT_OK(uv_run(&host, UV_RUN_DEFAULT));
  ASSERT_TRUE(weft_future_done(weft_task_future(t)));
  ASSERT_EQ(e.ticks, 3);
  ASSERT_EQ(e.host_timer_fired, 1);
  weft_task_release(t);

  /* Closing weft leaves the host loop alone; the host runs the close callbacks. */
  adopted_close(&host, e.loop);
}

static void stop_marker(void *arg) {
  *(int *)arg = 1;
}

typedef struct {
  weft_loop_t *loop;
  int *flag;
} poster_t;

static void post_later(void *arg) {
  poster_t *p = arg;
  uv_sleep(5);
  ASSERT_OK(weft_call_soon_threadsafe(p->loop, stop_marker, p->flag));
}

static void noop_timer(uv_timer_t *timer) {
  (void)timer;
}

WEFT_TEST(adopted_loop_threadsafe_wakeup) {
  uv_loop_t host;
  weft_loop_t *loop = adopted_new(&host);
  int flag = 0;
  poster_t p = {loop, &flag};
  uv_thread_t thread;
  ASSERT_OK(uv_thread_create(&thread, post_later, &p));
  /* The host keeps its loop alive with a handle of its own (Node always has some) and
   * blocks in poll; the wake-up from the other thread gets weft's callback run. */
  uv_timer_t keepalive;
  uv_timer_init(&host, &keepalive);
  uv_timer_start(&keepalive, noop_timer, 10000, 10000);
  while (!flag)
    uv_run(&host, UV_RUN_ONCE);
  uv_thread_join(&thread);
  uv_close((uv_handle_t *)&keepalive, NULL);
  adopted_close(&host, loop);
}

static int g_steps;
static void count_step(void *arg) {
  (void)arg;
  g_steps++;
}

WEFT_TEST(host_steps_own_loop_with_run_once) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  g_steps = 0;
  ASSERT_OK(weft_call_later(loop, 0.3, count_step, NULL, NULL));
  ASSERT_OK(weft_call_soon(loop, count_step, NULL, NULL));
  /* A host that owns the main loop steps weft: non-blocking polls, then a blocking one. */
  ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(g_steps, 1);
  while (g_steps < 2)
    ASSERT_OK(weft_loop_run_once(loop, 0)); /* blocks until the timer is due */
  ASSERT_EQ(g_steps, 2);
  weft_test_close_loop(loop);
}

/* A chain of hand-overs on an adopted loop: each step schedules the next, as a Lock passed on
 * or sleep(0) does; the host counts its own iterations with a check handle. */
typedef struct {
  weft_loop_t *loop;
  uv_check_t host_check;
  int host_iterations;
  int steps, last;       /* steps run; the chain stops after `last` (0: never) */
  int stop;              /* set by the host: the chain ends */
  int at_iteration;      /* the host iteration of the latest step */
  int in_iteration;      /* steps run in that iteration */
  int most_in_one;       /* the most steps any one host iteration ran */
  int with_timer;        /* step 1 also schedules a timer due at once */
  int order[8], n_order; /* steps 1-3 and the timer (-1), in the order they ran */
} chain_t;

static void host_counts(uv_check_t *check) {
  chain_t *c = check->data;
  c->host_iterations++;
  if (c->last == 0 && c->host_iterations == 3)
    c->stop = 1;
  if (c->stop)
    uv_close((uv_handle_t *)check, NULL);
}

static void chain_timer(void *arg) {
  chain_t *c = arg;
  if (c->n_order < 8)
    c->order[c->n_order++] = -1;
}

static void chain_step(void *arg) {
  chain_t *c = arg;
  c->steps++;
  if (c->at_iteration != c->host_iterations) {
    c->at_iteration = c->host_iterations;
    c->in_iteration = 0;
  }
  if (++c->in_iteration > c->most_in_one)
    c->most_in_one = c->in_iteration;
  if (c->steps <= 3 && c->n_order < 8)
    c->order[c->n_order++] = c->steps;
  if (c->with_timer && c->steps == 1) /* due at once */
    ASSERT_OK(weft_call_later(c->loop, 0, chain_timer, c, NULL));
  if (!c->stop && (c->last == 0 || c->steps < c->last))
    ASSERT_OK(weft_call_soon(c->loop, chain_step, c, NULL));
  else if (!c->stop) /* the chain ends here: the host's poll would block on the check */
    uv_close((uv_handle_t *)&c->host_check, NULL);
}

static void run_chain(chain_t *c, int last, int with_timer) {
  uv_loop_t host;
  *c = (chain_t){.last = last, .with_timer = with_timer};
  c->loop = adopted_new(&host);
  uv_check_init(&host, &c->host_check);
  c->host_check.data = c;
  uv_check_start(&c->host_check, host_counts);
  ASSERT_OK(weft_call_soon(c->loop, chain_step, c, NULL));
  ASSERT_OK(uv_run(&host, UV_RUN_DEFAULT));
  adopted_close(&host, c->loop);
}

WEFT_TEST(adopted_loop_runs_several_hand_overs_per_host_iteration) {
  chain_t c;
  run_chain(&c, 40, 0);
  ASSERT_EQ(c.steps, 40);
  /* Several of asyncio's iterations in one of the host's, not one each... */
  ASSERT_TRUE(c.most_in_one > 1);
  ASSERT_TRUE(c.host_iterations < 40);
  /* ...and still a bounded number of them: the host's own work runs in between. */
  ASSERT_TRUE(c.most_in_one <= 16);
  ASSERT_TRUE(c.host_iterations >= 40 / 16);
}

WEFT_TEST(adopted_loop_hand_overs_that_never_end_leave_the_host_its_iterations) {
  chain_t c;
  run_chain(&c, 0, 0); /* the host's third iteration stops it */
  ASSERT_EQ(c.host_iterations, 3);
  ASSERT_TRUE(c.steps > 3);
  ASSERT_TRUE(c.most_in_one <= 16);
}

WEFT_TEST(adopted_loop_runs_a_due_timer_in_asyncios_order) {
  /* asyncio: step 1 schedules step 2 and a timer due at once; the next iteration runs step 2,
   * then the timer (due timers join the ready queue behind it), then step 3. */
  chain_t c;
  run_chain(&c, 20, 1);
  ASSERT_EQ(c.n_order, 4);
  ASSERT_EQ(c.order[0], 1);
  ASSERT_EQ(c.order[1], 2);
  ASSERT_EQ(c.order[2], -1);
  ASSERT_EQ(c.order[3], 3);
}

/* ---- A close from inside one of weft's callbacks on an adopted loop ------------------- */

/* The host's code closes an adopted loop; from inside one of weft's callbacks the close
 * would free operations under way, the callback's caller among them, so it is refused as
 * asyncio refuses to close a running loop, and the loop goes on as if nothing was asked. */
typedef struct {
  weft_loop_t *loop;
  int close_rc;
  int calls;
  int after; /* a callback scheduled behind the refused close still ran */
  int made, lost;
  int lost_close_rc; /* the close tried from connection_lost */
  weft_future_t *future;
} inside_t;

static void close_then_count(void *arg) {
  inside_t *in = arg;
  in->close_rc = weft_loop_close(in->loop);
  in->calls++;
}

static void count_after(void *arg) {
  ((inside_t *)arg)->after++;
}

/* The host closes the loop from its own code once uv_run returned, then lets libuv finish. */
WEFT_TEST(close_from_a_call_soon_callback_is_refused) {
  uv_loop_t host;
  inside_t in = {0};
  in.loop = adopted_new(&host);
  ASSERT_OK(weft_call_soon(in.loop, close_then_count, &in, NULL));
  ASSERT_OK(weft_call_soon(in.loop, count_after, &in, NULL));
  ASSERT_OK(uv_run(&host, UV_RUN_DEFAULT));
  ASSERT_CODE(in.close_rc, WEFT_ERUNNING);
  ASSERT_EQ(in.calls, 1);
  ASSERT_EQ(in.after, 1);
  adopted_close(&host, in.loop);
}

static void close_from_done(weft_future_t *future, void *arg) {
  inside_t *in = arg;
  ASSERT_TRUE(weft_future_done(future));
  in->close_rc = weft_loop_close(in->loop);
  in->calls++;
}

WEFT_TEST(close_from_a_done_callback_is_refused) {
  uv_loop_t host;
  inside_t in = {0};
  in.loop = adopted_new(&host);
  weft_future_t *f;
  ASSERT_OK(weft_future_new(in.loop, &f));
  ASSERT_OK(weft_future_add_done_callback(f, close_from_done, &in));
  ASSERT_OK(weft_future_add_done_callback(f, close_from_done, &in));
  ASSERT_OK(weft_future_set_result(f, weft_value_int(7)));
  weft_future_release(f); /* the ready queue holds it for its callbacks */
  ASSERT_OK(uv_run(&host, UV_RUN_DEFAULT));
  ASSERT_CODE(in.close_rc, WEFT_ERUNNING);
  ASSERT_EQ(in.calls, 2); /* the second callback still ran: nothing was dropped */
  adopted_close(&host, in.loop);
}

static void made_closes_the_loop(weft_transport_t *t, void *arg) {
  inside_t *in = arg;
  in->made++;
  in->close_rc = weft_loop_close(in->loop);
  weft_transport_close(t); /* the test's own end, so that the host's loop goes idle */
}

static void lost_closes_the_loop(weft_transport_t *t, int error, void *arg) {
  (void)t;
  (void)error;
  inside_t *in = arg;
  in->lost++;
  in->lost_close_rc = weft_loop_close(in->loop);
}

static void connected(weft_future_t *future, void *arg) {
  (void)future;
  ((inside_t *)arg)->calls++;
}

/* connection_made, then connection_lost of the close it asked for: neither closes the loop. */
WEFT_TEST(close_from_connection_made_of_a_connect_is_refused) {
  /* A listening socket the kernel completes connects on; nothing needs to accept them. */
  int port;
  int listener = loopback_listener(4, &port);

  uv_loop_t host;
  inside_t in = {0};
  in.loop = adopted_new(&host);
  weft_protocol_t proto = {.size = sizeof proto,
                           .connection_made = made_closes_the_loop,
                           .connection_lost = lost_closes_the_loop};
  ASSERT_OK(weft_create_connection(in.loop, &proto, &in, "127.0.0.1", port, NULL, &in.future));
  ASSERT_OK(weft_future_add_done_callback(in.future, connected, &in));
  ASSERT_OK(uv_run(&host, UV_RUN_DEFAULT));
  ASSERT_EQ(in.made, 1);
  ASSERT_CODE(in.close_rc, WEFT_ERUNNING);
  ASSERT_EQ(in.calls, 1); /* the connect finished: its future completed, its callback ran */
  ASSERT_OK(weft_future_error(in.future));
  ASSERT_EQ(in.lost, 1);
  ASSERT_CODE(in.lost_close_rc, WEFT_ERUNNING);
  weft_future_release(in.future);
  adopted_close(&host, in.loop);
  close(listener);
}
