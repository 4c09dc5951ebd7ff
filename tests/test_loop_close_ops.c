/* weft_loop_close with an operation still under way: a connect (plain, TLS, TLS over a
 * descriptor), a datagram endpoint or a server being created, a getaddrinfo. The close
 * finishes each one: everything it holds is freed (valgrind and ASan see any leak), the
 * caller's argument is let go of once, and no protocol callback runs. */
#include "net_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

typedef struct calls_s {
  int made, lost, freed;
} calls_t;

static void on_made(weft_transport_t *t, void *arg) {
  (void)t;
  ((calls_t *)arg)->made++;
}

static void on_lost(weft_transport_t *t, int error, void *arg) {
  (void)t;
  (void)error;
  ((calls_t *)arg)->lost++;
}

static void on_free(void *arg) {
  ((calls_t *)arg)->freed++;
}

static weft_protocol_t counting_protocol(void) {
  return (weft_protocol_t){.size = sizeof(weft_protocol_t),
                           .connection_made = on_made,
                           .connection_lost = on_lost,
                           .arg_free = on_free};
}

/* A listening socket on 127.0.0.1 that nobody accepts from: connects to it succeed (the
 * kernel completes them), and a TLS handshake over them never ends. */
static int listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_TRUE(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Runs the loop without blocking until `fd` has bytes to read (the TLS ClientHello), and
 * returns 1, or 0 if none came within the bound or the connect `f` failed first (the
 * allocation-failure sweep makes it). */
static int run_until_readable(weft_loop_t *loop, weft_future_t *f, int fd) {
  for (int i = 0; i < 1000 && !weft_future_done(f); i++) {
    weft_loop_run_once(loop, 1);
    if (poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 10) > 0)
      return 1;
  }
  return 0;
}

/* The loop closes, then the caller's future: the connection was never made (a TLS one's
 * future may fail with its byte transport's close), the protocol was never called and its
 * argument was let go of exactly once. */
static void close_and_check(weft_loop_t *loop, weft_future_t *f, const calls_t *calls) {
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f) || weft_future_error(f) != 0);
  ASSERT_EQ(calls->made, 0);
  ASSERT_EQ(calls->lost, 0);
  ASSERT_EQ(calls->freed, 1);
  weft_future_release(f);
  weft_loop_release(loop);
}

static void connect_then_close(const char *host, int iterations) {
  int port;
  int lfd = listener(&port);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  calls_t calls = {0};
  weft_protocol_t proto = counting_protocol();
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &proto, &calls, host, port, NULL, &f));
  spin(loop, iterations);
  if (iterations > 0 && weft_future_done(f)) {
    /* Connected already: the transport is the close's to abort, as any open one. */
    ASSERT_OK(weft_loop_close(loop));
    ASSERT_EQ(calls.freed, 1);
    weft_future_release(f);
    weft_loop_release(loop);
  } else {
    close_and_check(loop, f, &calls);
  }
  close(lfd);
}

/* Before its first iteration the lookup's answer (numeric: a completed future) is still
 * in the ready queue, or (a name) in the thread pool. */
WEFT_TEST(connect_before_its_first_iteration) {
  connect_then_close("127.0.0.1", 0);
  connect_then_close("localhost", 0);
}

/* After one iteration the race is under way: an attempt's socket is connecting. */
WEFT_TEST(connect_after_its_first_iteration) {
  connect_then_close("127.0.0.1", 1);
  connect_then_close("127.0.0.1", 2);
}

static weft_connect_options_t tls_connect_options(weft_tls_options_t *tls) {
  weft_tls_context_t *ctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &ctx));
  weft_tls_options_init(tls);
  tls->context = ctx;
  tls->server_hostname = "localhost";
  weft_connect_options_t o;
  weft_connect_options_init(&o);
  o.tls = tls;
  return o;
}

/* A TLS connect closed before its first iteration, after the TCP connect, and once its
 * ClientHello reached a peer that never answers. */
WEFT_TEST(tls_connect_during_the_handshake) {
  for (int stage = 0; stage < 3; stage++) {
    int port;
    int lfd = listener(&port);
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    weft_tls_options_t tls;
    weft_connect_options_t o = tls_connect_options(&tls);
    calls_t calls = {0};
    weft_protocol_t proto = counting_protocol();
    weft_future_t *f;
    ASSERT_OK(weft_create_connection(loop, &proto, &calls, "127.0.0.1", port, &o, &f));
    weft_tls_context_release(tls.context);
    int peer = -1;
    if (stage == 1)
      spin(loop, 2);
    if (stage == 2) {
      for (int i = 0; i < 1000 && peer < 0 && !weft_future_done(f); i++) {
        weft_loop_run_once(loop, 1);
        if (poll(&(struct pollfd){.fd = lfd, .events = POLLIN}, 1, 10) > 0)
          peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      }
      ASSERT_TRUE(peer >= 0 || weft_future_done(f));
      ASSERT_TRUE(peer < 0 || run_until_readable(loop, f, peer) || weft_future_done(f));
    }
    close_and_check(loop, f, &calls);
    if (peer >= 0)
      close(peer);
    close(lfd);
  }
}

/* TLS over a connected descriptor, closed before its first iteration and once the
 * ClientHello reached the other end. */
WEFT_TEST(tls_over_a_descriptor_during_the_handshake) {
  for (int stage = 0; stage < 2; stage++) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    weft_tls_options_t tls;
    weft_connect_options_t o = tls_connect_options(&tls);
    calls_t calls = {0};
    weft_protocol_t proto = counting_protocol();
    weft_future_t *f;
    ASSERT_OK(weft_create_unix_connection_fd(loop, &proto, &calls, sv[0], &o, &f));
    weft_tls_context_release(tls.context);
    if (stage == 1)
      ASSERT_TRUE(run_until_readable(loop, f, sv[1]) || weft_future_done(f));
    close_and_check(loop, f, &calls);
    close(sv[1]);
  }
}

/* An endpoint being created, closed before and after its first iterations. */
WEFT_TEST(create_datagram_endpoint_in_progress) {
  for (int iterations = 0; iterations < 3; iterations++) {
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    weft_datagram_options_t o;
    weft_datagram_options_init(&o);
    o.local_host = "127.0.0.1";
    o.remote_host = "127.0.0.1";
    o.remote_port = 9;
    calls_t calls = {0};
    weft_protocol_t proto = counting_protocol();
    weft_future_t *f;
    ASSERT_OK(weft_create_datagram_endpoint(loop, &proto, &calls, &o, &f));
    spin(loop, iterations);
    if (weft_future_done(f)) {
      ASSERT_OK(weft_loop_close(loop));
      ASSERT_EQ(calls.freed, 1);
      weft_future_release(f);
      weft_loop_release(loop);
    } else {
      close_and_check(loop, f, &calls);
    }
  }
}

static int refuse(void *arg, weft_protocol_t *proto, void **arg_out) {
  (void)arg;
  (void)proto;
  (void)arg_out;
  return WEFT_ECONNREFUSED;
}

/* A server being created, closed before and after its first iterations: the factory's
 * argument is let go of once whichever way. */
WEFT_TEST(create_server_in_progress) {
  for (int iterations = 0; iterations < 3; iterations++) {
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    calls_t calls = {0};
    weft_future_t *f;
    ASSERT_OK(weft_create_server(loop, refuse, &calls, on_free, "127.0.0.1", 0, NULL, &f));
    spin(loop, iterations);
    ASSERT_OK(weft_loop_close(loop));
    ASSERT_EQ(calls.freed, 1);
    weft_future_release(f);
    weft_loop_release(loop);
  }
}

/* A numeric lookup, answered without the thread pool but not yet delivered. */
WEFT_TEST(getaddrinfo_pending) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_getaddrinfo(loop, "127.0.0.1", "80", AF_INET, SOCK_STREAM, 0, 0, &f));
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f));
  weft_future_release(f);
  weft_loop_release(loop);
}

typedef struct blocker_s {
  uv_work_t work;
  uv_sem_t started, release;
} blocker_t;

static void blocker_work(uv_work_t *w) {
  blocker_t *b = w->data;
  uv_sem_post(&b->started);
  uv_sem_wait(&b->release);
}

static void blocker_after(uv_work_t *w, int status) {
  (void)w;
  (void)status;
}

/* A lookup in the thread pool, queued behind other work when the close begins: the close
 * finds it still queued (and cancels it) or taken by the worker (and waits for it); either
 * way nothing is touched after it is freed. */
WEFT_TEST(getaddrinfo_in_the_thread_pool) {
  setenv("UV_THREADPOOL_SIZE", "1", 1); /* read when the pool first starts, below */
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  blocker_t b = {.work.data = &b};
  ASSERT_EQ(uv_sem_init(&b.started, 0), 0);
  ASSERT_EQ(uv_sem_init(&b.release, 0), 0);
  ASSERT_EQ(uv_queue_work(weft_loop_uv(loop), &b.work, blocker_work, blocker_after), 0);
  uv_sem_wait(&b.started);
  weft_future_t *f = NULL, *g = NULL;
  int rc = weft_getaddrinfo(loop, "localhost", "80", 0, SOCK_STREAM, 0, 0, &f);
  int rc2 = weft_getaddrinfo(loop, "localhost", NULL, 0, SOCK_STREAM, 0, 0, &g);
  uv_sem_post(&b.release); /* first: a failed assertion's exit waits for the pool */
  ASSERT_OK(rc);
  ASSERT_OK(rc2);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f));
  weft_future_release(f);
  weft_future_release(g);
  weft_loop_release(loop);
  uv_sem_destroy(&b.started);
  uv_sem_destroy(&b.release);
}

/* serve_forever's future, pending while the server serves. */
WEFT_TEST(serve_forever_pending) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  calls_t calls = {0};
  weft_future_t *c;
  ASSERT_OK(weft_create_server(loop, refuse, &calls, on_free, "127.0.0.1", 0, NULL, &c));
  weft_server_t *s = await_server(loop, c, NULL);
  ASSERT_TRUE(s != NULL);
  weft_future_t *f;
  ASSERT_OK(weft_server_serve_forever(s, &f));
  weft_server_release(s);
  spin(loop, 1);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_EQ(calls.freed, 1);
  weft_future_release(f);
  weft_loop_release(loop);
}

/* A sock_recv waiting for a descriptor to be readable. */
WEFT_TEST(sock_recv_waiting) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_sock_recv(loop, sv[0], 16, &f));
  spin(loop, 1);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f));
  weft_future_release(f);
  weft_loop_release(loop);
  close(sv[0]);
  close(sv[1]);
}

/* open_connection (streams over a connect), closed before and after its first iterations. */
WEFT_TEST(open_connection_in_progress) {
  for (int iterations = 0; iterations < 3; iterations++) {
    int port;
    int lfd = listener(&port);
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    weft_future_t *f;
    ASSERT_OK(weft_open_connection(loop, "127.0.0.1", port, NULL, &f));
    spin(loop, iterations);
    ASSERT_OK(weft_loop_close(loop));
    weft_future_release(f);
    weft_loop_release(loop);
    close(lfd);
  }
}

/* StreamWriter.start_tls, closed right after the call and once the ClientHello reached a
 * peer that never answers. */
WEFT_TEST(stream_start_tls_during_the_handshake) {
  for (int stage = 0; stage < 2; stage++) {
    int port;
    int lfd = listener(&port);
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    weft_future_t *opened;
    ASSERT_OK(weft_open_connection(loop, "127.0.0.1", port, NULL, &opened));
    weft_stream_writer_t *w = await_ptr(loop, opened, NULL);
    ASSERT_TRUE(w != NULL);
    ASSERT_EQ(poll(&(struct pollfd){.fd = lfd, .events = POLLIN}, 1, 10000), 1);
    int peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ASSERT_TRUE(peer >= 0);
    weft_tls_options_t tls;
    (void)tls_connect_options(&tls);
    weft_future_t *f;
    ASSERT_OK(weft_stream_start_tls(w, &tls, &f));
    weft_tls_context_release(tls.context);
    weft_future_release(opened); /* the writer with it: the upgrade holds the connection */
    if (stage == 1)
      ASSERT_TRUE(run_until_readable(loop, f, peer) || weft_future_done(f));
    ASSERT_OK(weft_loop_close(loop));
    ASSERT_TRUE(!weft_future_done(f) || weft_future_error(f) != 0);
    weft_future_release(f);
    weft_loop_release(loop);
    close(peer);
    close(lfd);
  }
}

/* Waiters of the synchronisation primitives: a second acquire of a lock and an event wait.
 * The close takes them out of their primitive's line, so the primitive, kept beyond the
 * loop, never reaches them again (unlock and set would wake the first in line). */
WEFT_TEST(lock_and_event_waiters) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_lock_t *lock;
  ASSERT_OK(weft_lock_new(loop, &lock));
  weft_future_t *held, *f, *g;
  ASSERT_OK(weft_lock_acquire(lock, &held));
  ASSERT_TRUE(weft_future_done(held));
  ASSERT_OK(weft_lock_acquire(lock, &f));
  weft_event_t *event;
  ASSERT_OK(weft_event_new(loop, &event));
  ASSERT_OK(weft_event_wait(event, &g));
  spin(loop, 1);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_TRUE(!weft_future_done(g));
  weft_lock_unlock(lock);
  weft_event_set(event);
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_TRUE(!weft_future_done(g));
  weft_future_release(held);
  weft_future_release(f);
  weft_future_release(g);
  weft_lock_release(lock);
  weft_event_release(event);
  weft_loop_release(loop);
}

static void count_item(void *p) {
  (*(int *)p)++;
}

/* A get waiting on an empty queue and a put waiting on a full one: the close takes both out
 * of their line and frees the item the put still held, once. */
WEFT_TEST(queue_get_and_put_waiting) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_queue_t *empty, *full;
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 0, &empty));
  ASSERT_OK(weft_queue_new(loop, WEFT_QUEUE_FIFO, 1, &full));
  int queued = 0, waiting = 0;
  ASSERT_OK(weft_queue_put_nowait(full, weft_value_pointer(&queued, count_item)));
  weft_future_t *get, *put;
  ASSERT_OK(weft_queue_get(empty, &get));
  ASSERT_OK(weft_queue_put(full, weft_value_pointer(&waiting, count_item), &put));
  spin(loop, 1);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(get));
  ASSERT_TRUE(!weft_future_done(put));
  ASSERT_EQ(waiting, 1);
  ASSERT_EQ(queued, 0);
  weft_future_release(get);
  weft_future_release(put);
  weft_queue_release(empty);
  weft_queue_release(full);
  ASSERT_EQ(queued, 1);
  weft_loop_release(loop);
}

/* ---- Combinators: their done callbacks sit on inputs they do not own ---------------- */

static void count_call(weft_future_t *f, void *arg) {
  (void)f;
  (*(int *)arg)++;
}

/* How far the combinator over inputs a (never completed before the close) and b got when
 * the loop closes: nothing ran yet, b completed and its callback ran, or b completed with
 * its callback still waiting in the ready queue. */
enum { AT_ONCE, B_RAN, B_QUEUED, STAGES };

static void reach_stage(weft_loop_t *loop, weft_future_t *b, int stage) {
  if (stage == B_RAN || stage == B_QUEUED)
    ASSERT_OK(weft_future_set_result(b, weft_value_int(1)));
  if (stage == B_RAN)
    spin(loop, 2);
}

/* After the close: the combinator `f` (NULL for as_completed) completed nothing and called
 * nobody, not even when an input completes later, and everything is let go of. */
static void close_combinator(weft_loop_t *loop, weft_future_t *f, weft_future_t *a,
                             weft_future_t *b) {
  int calls = 0;
  if (f != NULL)
    ASSERT_OK(weft_future_add_done_callback(f, count_call, &calls));
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(f == NULL || !weft_future_done(f));
  weft_future_set_result(a, weft_value_int(2));
  weft_future_cancel(b, NULL);
  ASSERT_TRUE(f == NULL || !weft_future_done(f));
  ASSERT_EQ(calls, 0);
  weft_future_release(f);
  weft_future_release(a);
  weft_future_release(b);
  weft_loop_release(loop);
}

static weft_loop_t *two_inputs(weft_future_t **a, weft_future_t **b) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_future_new(loop, a));
  ASSERT_OK(weft_future_new(loop, b));
  return loop;
}

WEFT_TEST(gather_with_an_input_pending) {
  for (int stage = 0; stage < STAGES; stage++)
    for (int ret = 0; ret < 2; ret++) {
      weft_future_t *a, *b, *f;
      weft_loop_t *loop = two_inputs(&a, &b);
      ASSERT_OK(weft_gather(loop, (weft_future_t *[]){a, b}, 2, ret, &f));
      spin(loop, 1);
      reach_stage(loop, b, stage);
      close_combinator(loop, f, a, b);
    }
}

/* A gather of a gather: closing either first must not free the other under it. */
WEFT_TEST(nested_gathers_with_an_input_pending) {
  for (int order = 0; order < 2; order++) {
    weft_future_t *a, *b, *inner, *outer;
    weft_loop_t *loop = two_inputs(&a, &b);
    if (order == 0) {
      ASSERT_OK(weft_gather(loop, (weft_future_t *[]){a, b}, 2, 0, &inner));
      ASSERT_OK(weft_gather(loop, (weft_future_t *[]){inner}, 1, 0, &outer));
    } else {
      /* the outer is made first, over a future the inner gather then replaces */
      weft_future_t *c;
      ASSERT_OK(weft_future_new(loop, &c));
      ASSERT_OK(weft_gather(loop, (weft_future_t *[]){c, a}, 2, 0, &outer));
      ASSERT_OK(weft_gather(loop, (weft_future_t *[]){b, outer}, 2, 0, &inner));
      weft_future_release(c);
    }
    weft_future_release(inner);
    spin(loop, 1);
    close_combinator(loop, outer, a, b);
  }
}

WEFT_TEST(wait_with_an_input_pending) {
  const int modes[] = {WEFT_ALL_COMPLETED, WEFT_FIRST_COMPLETED, WEFT_FIRST_EXCEPTION};
  for (int stage = 0; stage < STAGES; stage++)
    for (int m = 0; m < 3; m++)
      for (int timed = 0; timed < 2; timed++) {
        weft_future_t *a, *b, *f;
        weft_loop_t *loop = two_inputs(&a, &b);
        ASSERT_OK(weft_wait(loop, (weft_future_t *[]){a, b}, 2, modes[m], timed ? 3600 : -1, &f));
        spin(loop, 1);
        reach_stage(loop, b, stage);
        if (weft_future_done(f)) {
          /* FIRST_COMPLETED saw b: only callbacks still queued remain to be let go of. */
          ASSERT_OK(weft_loop_close(loop));
          weft_future_set_result(a, weft_value_int(2));
          weft_future_release(f);
          weft_future_release(a);
          weft_future_release(b);
          weft_loop_release(loop);
        } else {
          close_combinator(loop, f, a, b);
        }
      }
}

WEFT_TEST(wait_for_with_its_future_pending) {
  const double timeouts[] = {-1, 0, 3600};
  for (int iterations = 0; iterations < 3; iterations++)
    for (int t = 0; t < 3; t++) {
      weft_future_t *a, *b, *f;
      weft_loop_t *loop = two_inputs(&a, &b);
      ASSERT_OK(weft_wait_for(loop, a, timeouts[t], &f));
      spin(loop, iterations);
      if (weft_future_done(f)) {
        /* A zero timeout cancelled a, and the wait_for reported it. */
        ASSERT_OK(weft_loop_close(loop));
        weft_future_release(f);
        weft_future_release(a);
        weft_future_release(b);
        weft_loop_release(loop);
      } else {
        close_combinator(loop, f, a, b);
      }
    }
}

WEFT_TEST(shield_with_its_future_pending) {
  for (int stage = 0; stage < 3; stage++) {
    weft_future_t *a, *b, *f;
    weft_loop_t *loop = two_inputs(&a, &b);
    ASSERT_OK(weft_shield(a, &f));
    spin(loop, stage);
    if (stage == 2)
      ASSERT_EQ(weft_future_cancel(f, NULL), 1); /* the shield goes, a stays pending */
    if (stage == 2) {
      ASSERT_OK(weft_loop_close(loop));
      weft_future_release(f);
      weft_future_release(a);
      weft_future_release(b);
      weft_loop_release(loop);
    } else {
      close_combinator(loop, f, a, b);
    }
  }
}

/* The iterator freed before the close (its callback for b still queued) or after it, with
 * a next() waiting. */
WEFT_TEST(as_completed_with_an_input_pending) {
  for (int stage = 0; stage < STAGES; stage++)
    for (int free_first = 0; free_first < 2; free_first++) {
      weft_future_t *a, *b, *next;
      weft_loop_t *loop = two_inputs(&a, &b);
      weft_as_completed_t *it;
      ASSERT_OK(weft_as_completed_new(loop, (weft_future_t *[]){a, b}, 2, 3600, &it));
      ASSERT_OK(weft_as_completed_next(it, &next));
      spin(loop, 1);
      reach_stage(loop, b, stage);
      int calls = 0;
      if (!weft_future_done(next))
        ASSERT_OK(weft_future_add_done_callback(next, count_call, &calls));
      if (free_first)
        weft_as_completed_free(it);
      close_combinator(loop, NULL, a, b);
      ASSERT_EQ(calls, 0);
      if (!free_first)
        weft_as_completed_free(it);
      ASSERT_EQ(calls, 0);
      weft_future_release(next);
    }
}

/* ---- Executors: work running or queued when the loop closes ------------------------- */

typedef struct job_s {
  uv_sem_t started, release;
  atomic_int ran, freed;
} job_t;

static int blocking_job(void *arg, weft_value_t *result) {
  job_t *j = arg;
  atomic_fetch_add(&j->ran, 1);
  uv_sem_post(&j->started);
  uv_sem_wait(&j->release);
  /* memory the result owns: dropped unread, it must still be freed */
  return weft_value_bytes(result, "result", 6);
}

static int quick_job(void *arg, weft_value_t *result) {
  atomic_fetch_add(&((job_t *)arg)->ran, 1);
  return weft_value_bytes(result, "result", 6);
}

static void job_free(void *arg) {
  atomic_fetch_add(&((job_t *)arg)->freed, 1);
}

static void job_init(job_t *j) {
  ASSERT_EQ(uv_sem_init(&j->started, 0), 0);
  ASSERT_EQ(uv_sem_init(&j->release, 0), 0);
  atomic_init(&j->ran, 0);
  atomic_init(&j->freed, 0);
}

static void job_destroy(job_t *j) {
  uv_sem_destroy(&j->started);
  uv_sem_destroy(&j->release);
}

/* A pool of one of the caller's: one job runs, blocked, through the close, one waits behind
 * it. The close takes the waiting one back (its argument let go of once, never run) and
 * leaves the running one to finish into nothing; neither future completes. With `shutdown`
 * the pool's shutdown(cancel_futures) came first, from the loop's thread. */
static void executor_close_with_work(int shutdown) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_executor_t *ex;
  ASSERT_OK(weft_executor_new(1, &ex));
  job_t running, queued;
  job_init(&running);
  job_init(&queued);
  weft_future_t *a, *b;
  int calls = 0;
  ASSERT_OK(weft_run_in_executor_ex(loop, ex, blocking_job, &running, job_free, &a));
  ASSERT_OK(weft_run_in_executor_ex(loop, ex, quick_job, &queued, job_free, &b));
  ASSERT_OK(weft_future_add_done_callback(a, count_call, &calls));
  ASSERT_OK(weft_future_add_done_callback(b, count_call, &calls));
  uv_sem_wait(&running.started);
  spin(loop, 1);
  if (shutdown)
    ASSERT_OK(weft_executor_shutdown(ex, 0, 1));
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(atomic_load(&queued.freed), 1);
  uv_sem_post(&running.release);
  weft_executor_release(ex); /* waits for the running job */
  ASSERT_EQ(atomic_load(&running.ran), 1);
  ASSERT_EQ(atomic_load(&running.freed), 1);
  ASSERT_EQ(atomic_load(&queued.ran), 0);
  ASSERT_EQ(atomic_load(&queued.freed), 1);
  ASSERT_TRUE(!weft_future_done(a));
  ASSERT_TRUE(!weft_future_done(b));
  ASSERT_EQ(calls, 0);
  weft_future_release(a);
  weft_future_release(b);
  weft_loop_release(loop);
  job_destroy(&running);
  job_destroy(&queued);
}

WEFT_TEST(executor_work_running_and_queued) {
  executor_close_with_work(0);
  executor_close_with_work(1);
}

/* The default executor (one worker) finishes its work at the close: the running job was
 * let go as the close began, so it may report before the close or during it, and the
 * queued one runs during it. Either way each outcome is dropped and freed, and no
 * callback runs. */
WEFT_TEST(default_executor_work_at_the_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_loop_set_default_executor_size(loop, 1));
  job_t running, queued;
  job_init(&running);
  job_init(&queued);
  weft_future_t *a, *b;
  int calls = 0;
  ASSERT_OK(weft_run_in_executor_ex(loop, NULL, blocking_job, &running, job_free, &a));
  ASSERT_OK(weft_run_in_executor_ex(loop, NULL, quick_job, &queued, job_free, &b));
  ASSERT_OK(weft_future_add_done_callback(a, count_call, &calls));
  ASSERT_OK(weft_future_add_done_callback(b, count_call, &calls));
  uv_sem_wait(&running.started);
  uv_sem_post(&running.release);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(atomic_load(&running.ran), 1);
  ASSERT_EQ(atomic_load(&running.freed), 1);
  ASSERT_EQ(atomic_load(&queued.ran), 1);
  ASSERT_EQ(atomic_load(&queued.freed), 1);
  ASSERT_TRUE(!weft_future_done(a));
  ASSERT_TRUE(!weft_future_done(b));
  ASSERT_EQ(calls, 0);
  weft_future_release(a);
  weft_future_release(b);
  weft_loop_release(loop);
  job_destroy(&running);
  job_destroy(&queued);
}

/* ---- Subprocesses: a child still running when the loop closes ----------------------- */

static int reaped(int pid) {
  errno = 0;
  return waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static weft_process_options_t all_piped(void) {
  weft_process_options_t o;
  weft_process_options_init(&o);
  for (int i = 0; i < 3; i++)
    o.stdio[i].mode = WEFT_STDIO_PIPE;
  return o;
}

/* Stream form: a wait, a communicate and a read of stderr pending on `sleep 60`. The close
 * kills and reaps the child; what waits stays pending and everything is freed. */
WEFT_TEST(subprocess_running_with_a_wait_and_a_communicate) {
  for (int iterations = 0; iterations < 3; iterations += 2)
    for (int keep = 0; keep < 2; keep++) {
      weft_loop_t *loop;
      ASSERT_OK(weft_loop_new(&loop));
      const char *argv[] = {"sleep", "60", NULL};
      weft_process_options_t o = all_piped();
      weft_process_t *p;
      ASSERT_OK(weft_create_subprocess_exec(loop, argv, &o, &p));
      int pid = weft_process_pid(p);
      weft_future_t *wait, *comm;
      int calls = 0;
      ASSERT_OK(weft_process_wait(p, &wait));
      ASSERT_OK(weft_process_communicate(p, "input", 5, &comm));
      ASSERT_OK(weft_future_add_done_callback(wait, count_call, &calls));
      ASSERT_OK(weft_future_add_done_callback(comm, count_call, &calls));
      spin(loop, iterations);
      if (!keep)
        weft_process_release(p);
      ASSERT_OK(weft_loop_close(loop));
      ASSERT_TRUE(reaped(pid));
      ASSERT_EQ(calls, 0);
      if (keep) {
        int code;
        ASSERT_OK(weft_process_returncode(p, &code));
        ASSERT_EQ(code, -SIGKILL);
        weft_process_release(p);
      }
      weft_future_release(wait);
      weft_future_release(comm);
      weft_loop_release(loop);
    }
}

typedef struct proc_calls_s {
  int made, exited, lost, freed;
} proc_calls_t;

static void sp_made(weft_process_t *p, void *arg) {
  (void)p;
  ((proc_calls_t *)arg)->made++;
}

static void sp_exited(weft_process_t *p, void *arg) {
  (void)p;
  ((proc_calls_t *)arg)->exited++;
}

static void sp_lost(weft_process_t *p, int error, void *arg) {
  (void)p;
  (void)error;
  ((proc_calls_t *)arg)->lost++;
}

static void sp_free(void *arg) {
  ((proc_calls_t *)arg)->freed++;
}

/* Transport + protocol form: closed before connection_made and after it. The protocol
 * hears nothing more from the close, and its argument is let go of once. */
WEFT_TEST(subprocess_protocol_running) {
  for (int iterations = 0; iterations < 3; iterations += 2) {
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    const char *argv[] = {"sleep", "60", NULL};
    weft_process_options_t o = all_piped();
    proc_calls_t calls = {0};
    weft_subprocess_protocol_t proto = {.size = sizeof proto,
                                        .connection_made = sp_made,
                                        .process_exited = sp_exited,
                                        .connection_lost = sp_lost,
                                        .arg_free = sp_free};
    weft_process_t *p;
    ASSERT_OK(weft_subprocess_exec(loop, argv, &o, &proto, &calls, &p));
    int pid = weft_process_pid(p);
    weft_future_t *wait;
    ASSERT_OK(weft_process_wait(p, &wait));
    spin(loop, iterations);
    ASSERT_EQ(calls.made, iterations > 0);
    ASSERT_OK(weft_loop_close(loop));
    ASSERT_TRUE(reaped(pid));
    ASSERT_EQ(calls.exited, 0);
    ASSERT_EQ(calls.lost, 0);
    ASSERT_TRUE(!weft_future_done(wait));
    weft_process_release(p);
    ASSERT_EQ(calls.freed, 1);
    weft_future_release(wait);
    weft_loop_release(loop);
  }
}

/* ---- Other threads: run_threadsafe and call_soon_threadsafe as the loop closes ------ */

typedef struct submit_s {
  weft_loop_t *loop;
  weft_future_t *never; /* what the task waits for */
  int started;          /* written by the task, on the loop's thread */
  uv_sem_t submitted;
  weft_cfuture_t *cf;
  int rc, outcome;
} submit_t;

static int waiting_task(weft_task_t *self, void *arg) {
  (void)self;
  submit_t *s = arg;
  s->started = 1;
  return weft_await(s->never);
}

/* Submits, then waits (bounded, for a failing test) for the outcome on this thread. */
static void submitter_main(void *arg) {
  submit_t *s = arg;
  s->rc = weft_run_threadsafe(s->loop, waiting_task, s, &s->cf);
  uv_sem_post(&s->submitted);
  if (s->rc == 0)
    s->outcome = weft_cfuture_result(s->cf, 60, NULL);
}

/* The task was posted and not started yet, or it runs and waits on a future that never
 * completes: either way the thread waiting for it wakes with WEFT_ECLOSED, and the task,
 * the thread-safe future and the loop are freed. */
WEFT_TEST(run_threadsafe_task_pending) {
  for (int start = 0; start < 2; start++) {
    submit_t s = {0};
    ASSERT_OK(weft_loop_new(&s.loop));
    ASSERT_OK(weft_future_new(s.loop, &s.never));
    ASSERT_EQ(uv_sem_init(&s.submitted, 0), 0);
    uv_thread_t th;
    ASSERT_EQ(uv_thread_create(&th, submitter_main, &s), 0);
    uv_sem_wait(&s.submitted);
    ASSERT_OK(s.rc);
    /* Until the task started, or its start was refused (the allocation-failure sweep makes
     * it) and published; a timer keeps the loop waiting for the post meanwhile. */
    weft_handle_t *h = NULL;
    weft_call_later(s.loop, 60, net_util_noop, NULL, &h);
    for (int i = 0; start && i < 1000 && !s.started && !weft_cfuture_done(s.cf); i++)
      weft_loop_run_once(s.loop, 0);
    weft_handle_cancel(h);
    weft_handle_release(h);
    ASSERT_TRUE(s.started == start || weft_cfuture_done(s.cf));
    ASSERT_OK(weft_loop_close(s.loop));
    ASSERT_EQ(uv_thread_join(&th), 0);
    ASSERT_TRUE(s.outcome == WEFT_ECLOSED || (!s.started && s.outcome == WEFT_ENOMEM));
    weft_cfuture_release(s.cf);
    weft_future_release(s.never);
    weft_loop_release(s.loop);
    uv_sem_destroy(&s.submitted);
  }
}

/* The thread that submitted drops the last reference to its thread-safe future after the
 * loop's close, while the loop's thread releases other objects of the closed loop: the task
 * goes on the loop's thread (ThreadSanitizer saw the two threads share the loop's counts
 * and pools), and a result read before the close stays readable until that drop. */
typedef struct late_s {
  weft_loop_t *loop;
  weft_future_t *never;
  /* 0: the task returns bytes; 1: an int; 2: it waits when the loop closes; 3: a pointer
   * with its destructor (read in place); 4: the same, the caller letting go before the close */
  int form;
  int started;
  uv_sem_t submitted, go, waited, released;
  weft_cfuture_t *cf;
  int rc, outcome, intact;
  atomic_int freed; /* the pointer's destructor ran */
  int payload;
} late_t;

static void late_free(void *p) {
  late_t *l = (late_t *)((char *)p - offsetof(late_t, payload));
  atomic_fetch_add(&l->freed, 1);
}

static int late_task(weft_task_t *self, void *arg) {
  late_t *l = arg;
  l->started = 1;
  if (l->form == 2)
    return weft_await(l->never);
  if (l->form == 1)
    return weft_task_return(self, weft_value_int(42));
  if (l->form >= 3)
    return weft_task_return(self, weft_value_pointer(&l->payload, late_free));
  weft_value_t v;
  int rc = weft_value_bytes(&v, "late", 4);
  return rc != 0 ? rc : weft_task_return(self, v);
}

static void late_main(void *arg) {
  late_t *l = arg;
  l->rc = weft_run_threadsafe(l->loop, late_task, l, &l->cf);
  uv_sem_post(&l->submitted);
  if (l->rc != 0)
    return;
  const weft_value_t *value = NULL;
  l->outcome = weft_cfuture_result(l->cf, 60, &value);
  if (l->form == 4) {
    l->intact = value != NULL && value->ptr == &l->payload;
    uv_sem_wait(&l->waited);     /* the loop's thread no longer looks at the cfuture */
    weft_cfuture_release(l->cf); /* while the loop runs: the task goes there */
    uv_sem_post(&l->released);
    return;
  }
  uv_sem_wait(&l->go); /* the loop is closed now */
  if (l->outcome == 0 && l->form == 0)
    l->intact = value != NULL && value->type == WEFT_VALUE_BYTES && value->len == 4 &&
                memcmp(value->ptr, "late", 4) == 0;
  else if (l->outcome == 0 && l->form == 1)
    l->intact = value != NULL && value->type == WEFT_VALUE_INT && value->i == 42;
  else if (l->outcome == 0 && l->form == 3) /* handed over by the close, not freed yet */
    l->intact = value != NULL && value->type == WEFT_VALUE_POINTER && value->ptr == &l->payload &&
                atomic_load(&l->freed) == 0;
  weft_cfuture_release(l->cf);
}

WEFT_TEST(run_threadsafe_released_on_another_thread_after_the_close) {
  for (int form = 0; form < 5; form++) {
    late_t l = {.form = form};
    ASSERT_OK(weft_loop_new(&l.loop));
    ASSERT_OK(weft_future_new(l.loop, &l.never));
    ASSERT_EQ(uv_sem_init(&l.submitted, 0), 0);
    ASSERT_EQ(uv_sem_init(&l.go, 0), 0);
    ASSERT_EQ(uv_sem_init(&l.waited, 0), 0);
    ASSERT_EQ(uv_sem_init(&l.released, 0), 0);
    uv_thread_t th;
    ASSERT_EQ(uv_thread_create(&th, late_main, &l), 0);
    uv_sem_wait(&l.submitted);
    if (l.rc == 0) {
      /* Until the task is done (or waits), or its start was refused; a timer keeps the loop
       * waiting for the post meanwhile. */
      weft_handle_t *h = NULL;
      weft_call_later(l.loop, 60, net_util_noop, NULL, &h);
      for (int i = 0; i < 1000 && !(form == 2 ? l.started : weft_cfuture_done(l.cf)) &&
                      !(form == 2 && weft_cfuture_done(l.cf));
           i++)
        weft_loop_run_once(l.loop, 0);
      /* The caller lets go while the loop runs: the task, and the pointer with it, go here
       * (the post is queued by now; without memory for it, the close lets go instead). */
      if (form == 4) {
        uv_sem_post(&l.waited);
        uv_sem_wait(&l.released);
        for (int i = 0; i < 10 && atomic_load(&l.freed) == 0; i++)
          weft_loop_run_once(l.loop, 1);
      }
      weft_handle_cancel(h);
      weft_handle_release(h);
    }
    /* Objects of the loop that its thread lets go of after the close. */
    enum { N = 256 };
    weft_future_t *others[N];
    int made = 0;
    while (made < N && weft_future_new(l.loop, &others[made]) == 0)
      made++;
    ASSERT_OK(weft_loop_close(l.loop));
    uv_sem_post(&l.go);
    for (int i = 0; i < made; i++)
      weft_future_release(others[i]);
    weft_future_release(l.never);
    ASSERT_EQ(uv_thread_join(&th), 0);
    if (l.rc == 0 && form != 2 && l.outcome == 0)
      ASSERT_TRUE(l.intact);
    if (l.rc == 0 && form >= 3 && l.outcome == 0)
      ASSERT_EQ(atomic_load(&l.freed), 1);
    if (l.rc == 0 && form == 2)
      ASSERT_TRUE(l.outcome == WEFT_ECLOSED || (!l.started && l.outcome == WEFT_ENOMEM));
    if (l.rc == 0 && form != 2) /* without memory, the task may fail or never start */
      ASSERT_TRUE(l.outcome == 0 || l.outcome == WEFT_ENOMEM);
    weft_loop_release(l.loop);
    uv_sem_destroy(&l.submitted);
    uv_sem_destroy(&l.go);
    uv_sem_destroy(&l.waited);
    uv_sem_destroy(&l.released);
  }
}

typedef struct poster_s {
  weft_loop_t *loop;
  uv_sem_t going;
  int ran;           /* loop thread only */
  int refused_after; /* posts accepted before the first refusal */
} poster_t;

static void count_ran(void *arg) {
  ((poster_t *)arg)->ran++;
}

/* Posts until the loop refuses (bounded), then checks it keeps refusing. */
static void poster_main(void *arg) {
  poster_t *p = arg;
  uv_sem_post(&p->going);
  int accepted = 0;
  for (int i = 0; i < 10000000; i++) {
    if (weft_call_soon_threadsafe(p->loop, count_ran, p) != 0)
      break;
    accepted++;
  }
  p->refused_after = accepted;
  if (weft_call_soon_threadsafe(p->loop, count_ran, p) != WEFT_ECLOSED)
    p->refused_after = -1;
}

/* Calls posted from another thread while the loop runs and closes: those it took before
 * the close ran, the rest are dropped unrun, later ones are refused, and nothing runs
 * after the close. */
WEFT_TEST(call_soon_threadsafe_as_the_loop_closes) {
  poster_t p = {0};
  ASSERT_OK(weft_loop_new(&p.loop));
  ASSERT_EQ(uv_sem_init(&p.going, 0), 0);
  uv_thread_t th;
  ASSERT_EQ(uv_thread_create(&th, poster_main, &p), 0);
  uv_sem_wait(&p.going);
  for (int i = 0; i < 100 && p.ran == 0; i++)
    weft_loop_run_once(p.loop, 0);
  ASSERT_OK(weft_loop_close(p.loop));
  int ran = p.ran;
  ASSERT_EQ(uv_thread_join(&th), 0);
  ASSERT_EQ(p.ran, ran);
  ASSERT_TRUE(p.refused_after >= ran);
  weft_loop_release(p.loop);
  uv_sem_destroy(&p.going);
}

/* ---- TaskGroups: children pending when the loop closes ------------------------------ */

typedef struct group_case_s {
  weft_future_t *never; /* what the children (and a waiting body) wait for */
  int form;             /* 0: the body waits; 1: exit's future form; 2: exit_await */
  weft_taskgroup_t *group;
  weft_future_t *exit; /* the future form's */
  int reached;         /* the body got as far as its wait */
  int returned;        /* a body or child ran on after the close */
} group_case_t;

static int group_child(weft_task_t *self, void *arg) {
  (void)self;
  group_case_t *k = arg;
  int rc = weft_await(k->never);
  k->returned++;
  return rc;
}

static int group_parent(weft_task_t *self, void *arg) {
  group_case_t *k = arg;
  ASSERT_OK(weft_taskgroup_enter(self, &k->group));
  for (int i = 0; i < 2; i++)
    ASSERT_OK(weft_taskgroup_spawn(k->group, group_child, k, NULL, NULL));
  k->reached = 1;
  int rc;
  if (k->form == 0)
    rc = weft_await(k->never);
  else if (k->form == 1)
    rc = weft_taskgroup_exit(k->group, 0, &k->exit) == 0 ? weft_await(k->exit) : -1;
  else
    rc = weft_taskgroup_exit_await(k->group, 0);
  k->returned++;
  return rc;
}

/* A group with two children waiting forever, its body waiting too or its exit waiting for
 * them (both forms), closed before and after the children started. The group itself is freed by its
 * owner after the close, as a binding's would be: nothing runs, nothing is left. */
WEFT_TEST(taskgroup_with_children_pending) {
  for (int run = 0; run < 6; run++) {
    int form = run % 3;
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    group_case_t k = {.form = form};
    ASSERT_OK(weft_future_new(loop, &k.never));
    weft_task_t *parent;
    ASSERT_OK(weft_task_spawn(loop, group_parent, &k, NULL, &parent));
    run_until_flag(loop, &k.reached, 60);
    ASSERT_EQ(k.reached, 1);
    spin(loop, run < 3 ? 0 : 2); /* the children not started yet, or waiting */
    ASSERT_OK(weft_loop_close(loop));
    ASSERT_EQ(k.returned, 0);
    ASSERT_TRUE(!weft_future_done(weft_task_future(parent)));
    weft_taskgroup_free(k.group);
    ASSERT_EQ(k.returned, 0);
    weft_future_release(k.exit);
    weft_task_release(parent);
    weft_future_release(k.never);
    weft_loop_release(loop);
  }
}

/* shutdown_default_executor's helper thread, waiting for the work when the loop closes:
 * the close waits for it as for the default executor itself, and its future stays
 * pending; the helper, its executor and the future are freed. */
WEFT_TEST(shutdown_default_executor_waiting) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_OK(weft_loop_set_default_executor_size(loop, 1));
  job_t running;
  job_init(&running);
  weft_future_t *a, *shut;
  int calls = 0;
  ASSERT_OK(weft_run_in_executor_ex(loop, NULL, blocking_job, &running, job_free, &a));
  uv_sem_wait(&running.started);
  /* Let go first: without memory for its helper the shutdown waits for the work itself.
   * The helper may still wait for the worker when the close comes, or have reported. */
  uv_sem_post(&running.release);
  ASSERT_OK(weft_shutdown_default_executor(loop, &shut));
  ASSERT_OK(weft_future_add_done_callback(shut, count_call, &calls));
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(atomic_load(&running.freed), 1);
  ASSERT_EQ(calls, 0);
  weft_future_release(a);
  weft_future_release(shut);
  weft_loop_release(loop);
  job_destroy(&running);
}
