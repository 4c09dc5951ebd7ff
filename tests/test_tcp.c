/* TCP transports, protocols and servers on loopback. */
#include "net_util.h"

#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- an echo server protocol ---- */

typedef struct echo_s {
  int made, lost, eofs, lost_error;
  size_t received;
  int keep_open_on_eof;
} echo_t;

static void echo_made(weft_transport_t *t, void *arg) {
  ((echo_t *)arg)->made++;
}
static void echo_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  ((echo_t *)arg)->received += len;
  weft_transport_write(t, data, len);
}
static int echo_eof(weft_transport_t *t, void *arg) {
  echo_t *e = arg;
  e->eofs++;
  if (e->keep_open_on_eof) {
    weft_transport_write(t, "bye", 3);
    weft_transport_close(t);
  }
  return e->keep_open_on_eof;
}
static void echo_lost(weft_transport_t *t, int error, void *arg) {
  echo_t *e = arg;
  e->lost++;
  e->lost_error = error;
  free(e);
}

static int echo_factory(void *farg, weft_protocol_t *p, void **arg) {
  p->connection_made = echo_made;
  p->data_received = echo_data;
  p->eof_received = echo_eof;
  p->connection_lost = echo_lost;
  echo_t *e = calloc(1, sizeof(*e));
  e->keep_open_on_eof = farg != NULL;
  *arg = e;
  return 0;
}

/* ---- a recording client protocol ---- */

typedef struct client_s {
  int made, lost, eof, lost_error, paused, resumed;
  char buf[1 << 16];
  size_t len;
  size_t want;
  int done;
  int order_ok;
} client_t;

static void c_made(weft_transport_t *t, void *arg) {
  client_t *c = arg;
  c->made++;
  c->order_ok = c->lost == 0 && c->len == 0;
}
static void c_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  client_t *c = arg;
  if (c->len + len <= sizeof(c->buf)) {
    memcpy(c->buf + c->len, data, len);
  }
  c->len += len;
  if (c->want && c->len >= c->want)
    c->done = 1;
}
static int c_eof(weft_transport_t *t, void *arg) {
  ((client_t *)arg)->eof++;
  return 0;
}
static void c_lost(weft_transport_t *t, int error, void *arg) {
  client_t *c = arg;
  c->lost++;
  c->lost_error = error;
  c->done = 1;
}
static void c_pause(weft_transport_t *t, void *arg) {
  ((client_t *)arg)->paused++;
}
static void c_resume(weft_transport_t *t, void *arg) {
  ((client_t *)arg)->resumed++;
}

static const weft_protocol_t client_proto = {
    .size = sizeof(weft_protocol_t),
    .connection_made = c_made,
    .data_received = c_data,
    .eof_received = c_eof,
    .connection_lost = c_lost,
    .pause_writing = c_pause,
    .resume_writing = c_resume,
};

static weft_server_t *start_echo(weft_loop_t *loop, const char *host, void *farg) {
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, echo_factory, farg, NULL, host, 0, NULL, &f));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_PTR_EQ(weft_value_object(v, WEFT_VALUE_SERVER), s);
  weft_future_release(f);
  ASSERT_TRUE(weft_server_is_serving(s));
  return s;
}

static void stop_server(weft_loop_t *loop, weft_server_t *s) {
  ASSERT_OK(weft_server_close(s));
  weft_future_t *w;
  ASSERT_OK(weft_server_wait_closed(s, &w));
  ASSERT_OK(weft_loop_run_until_complete(loop, w));
  weft_future_release(w);
  weft_server_release(s);
}

static weft_transport_t *connect_client(weft_loop_t *loop, int port, client_t *c) {
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &client_proto, c, "127.0.0.1", port, NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(c->made, 1);
  return t;
}

WEFT_TEST(echo) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_server_t *s = start_echo(loop, "127.0.0.1", NULL);
  int port = weft_server_port(s);
  ASSERT_TRUE(port > 0);
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *t = connect_client(loop, port, c);
  ASSERT_TRUE(c->order_ok);
  c->want = 11;
  ASSERT_OK(weft_transport_write(t, "hello", 5));
  const void *bufs[2] = {" wo", "rld"};
  size_t lens[2] = {3, 3};
  ASSERT_OK(weft_transport_writelines(t, bufs, lens, 2));
  run_until_flag(loop, &c->done, 5);
  ASSERT_EQ(c->len, 11);
  ASSERT_TRUE(memcmp(c->buf, "hello world", 11) == 0);
  ASSERT_EQ(weft_server_connection_count(s), 1);

  /* extra info */
  struct sockaddr_storage ss;
  size_t len = sizeof(ss);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_PEERNAME, &ss, &len));
  ASSERT_EQ(addr_port((struct sockaddr *)&ss), port);
  int fd = -1;
  len = sizeof(fd);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_FD, &fd, &len));
  ASSERT_TRUE(fd >= 0);
  len = 1;
  ASSERT_CODE(weft_transport_get_extra_info(t, WEFT_INFO_SOCKNAME, &ss, &len), WEFT_ENOBUFS);
  ASSERT_TRUE(weft_transport_is_reading(t));
  ASSERT_TRUE(weft_transport_can_write_eof(t));
  size_t lo, hi;
  ASSERT_OK(weft_transport_get_write_buffer_limits(t, &lo, &hi));
  ASSERT_EQ(hi, 65536);
  ASSERT_EQ(lo, 16384);

  ASSERT_OK(weft_transport_close(t));
  ASSERT_TRUE(weft_transport_is_closing(t));
  ASSERT_OK(weft_transport_close(t)); /* twice is harmless */
  ASSERT_CODE(weft_transport_write(t, "x", 1), WEFT_ECLOSED);
  c->done = 0;
  run_until_flag(loop, &c->done, 5);
  ASSERT_EQ(c->lost, 1);
  ASSERT_EQ(c->lost_error, 0);
  weft_transport_release(t);
  free(c);
  stop_server(loop, s);
  weft_test_close_loop(loop);
}

WEFT_TEST(connection_refused) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  /* A port that was just free: bind, read the port, close. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  ASSERT_OK(bind(fd, (struct sockaddr *)&a, sizeof(a)));
  getsockname(fd, (struct sockaddr *)&a, &al);
  close(fd);
  client_t c = {0};
  weft_future_t *f;
  ASSERT_OK(
      weft_create_connection(loop, &client_proto, &c, "127.0.0.1", ntohs(a.sin_port), NULL, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ECONNREFUSED);
  ASSERT_TRUE(weft_future_error_message(f) != NULL);
  weft_future_release(f);
  ASSERT_EQ(c.made, 0);
  ASSERT_EQ(c.lost, 0);
  /* a name that does not resolve */
  ASSERT_OK(weft_create_connection(loop, &client_proto, &c, "no-such-host.invalid", 80, NULL, &f));
  int rc = weft_loop_run_until_complete(loop, f);
  ASSERT_TRUE(rc <= WEFT_EAI_ADDRFAMILY && rc >= WEFT_EAI_SOCKTYPE);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

/* A loopback port that refuses connections: bound, never listening (held by *holder). */
static struct sockaddr_in refusing_port(int *holder) {
  *holder = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  ASSERT_OK(bind(*holder, (struct sockaddr *)&a, sizeof(a)));
  ASSERT_OK(getsockname(*holder, (struct sockaddr *)&a, &al));
  return a;
}

WEFT_TEST(connect_socket_hands_over_the_descriptor) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_server_t *srv = start_echo(loop, "127.0.0.1", NULL);
  int holder;
  struct sockaddr_in refused = refusing_port(&holder);
  struct sockaddr_in good = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)weft_server_port(srv)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  const struct sockaddr *addrs[] = {(struct sockaddr *)&refused, (struct sockaddr *)&good};
  weft_future_t *f;
  ASSERT_OK(weft_connect_socket(loop, addrs, 2, NULL, 0, NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  ASSERT_EQ(weft_connect_failure_count(f), 0); /* it did not fail */
  int fd = weft_connect_socket_take(f);
  ASSERT_TRUE(fd >= 0);
  ASSERT_CODE(weft_connect_socket_take(f), WEFT_EINVAL); /* once */
  struct sockaddr_in peer;
  socklen_t pl = sizeof(peer);
  ASSERT_OK(getpeername(fd, (struct sockaddr *)&peer, &pl));
  ASSERT_EQ(peer.sin_port, good.sin_port);
  ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  weft_future_release(f);
  close(fd);
  /* a descriptor never taken goes with the future (valgrind --track-fds would tell) */
  ASSERT_OK(weft_connect_socket(loop, addrs + 1, 1, NULL, 0, NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  /* invalid arguments are returned at once */
  ASSERT_CODE(weft_connect_socket(loop, addrs, 0, NULL, 0, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_connect_socket(loop, addrs, 1, NULL, 1, NULL, &f), WEFT_EINVAL);
  close(holder);
  stop_server(loop, srv);
  weft_test_close_loop(loop);
}

WEFT_TEST(connect_failures_step_by_step) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int holder;
  struct sockaddr_in refused = refusing_port(&holder);
  struct sockaddr_in6 v6 = {
      .sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  /* the local address is taken (by the holder): the bind fails with EADDRINUSE at once */
  const struct sockaddr *addrs[] = {(struct sockaddr *)&refused, (struct sockaddr *)&v6};
  const struct sockaddr *locals[] = {(struct sockaddr *)&refused};
  weft_future_t *f;
  ASSERT_OK(weft_connect_socket(loop, addrs, 2, locals, 1, NULL, &f));
  int rc = weft_loop_run_until_complete(loop, f);
  ASSERT_TRUE(rc == WEFT_EADDRINUSE || rc == WEFT_EADDRNOTAVAIL);
  ASSERT_TRUE(strstr(weft_future_error_message(f), "Multiple exceptions") != NULL);
  ASSERT_EQ(weft_connect_failure_count(f), 2);
  struct sockaddr_storage ss;
  size_t len = sizeof(ss);
  int step = -1;
  ASSERT_CODE(weft_connect_failure(f, 0, &step, (struct sockaddr *)&ss, &len), WEFT_EADDRINUSE);
  ASSERT_EQ(step, WEFT_CONNECT_STEP_BIND);
  ASSERT_EQ(len, sizeof(struct sockaddr_in));
  ASSERT_EQ(((struct sockaddr_in *)&ss)->sin_port, refused.sin_port);
  len = sizeof(ss);
  ASSERT_CODE(weft_connect_failure(f, 1, &step, (struct sockaddr *)&ss, &len), WEFT_EADDRNOTAVAIL);
  ASSERT_EQ(step, WEFT_CONNECT_STEP_NO_LOCAL); /* no IPv6 local address */
  ASSERT_EQ(len, sizeof(struct sockaddr_in6));
  ASSERT_CODE(weft_connect_failure(f, 2, &step, NULL, NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_connect_socket_take(f), WEFT_EINVAL);
  weft_future_release(f);
  /* a refused connect, through weft_create_connection_addrs too */
  client_t c = {0};
  ASSERT_OK(weft_create_connection_addrs(loop, &client_proto, &c, addrs, 1, NULL, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ECONNREFUSED);
  ASSERT_EQ(weft_connect_failure_count(f), 1);
  len = sizeof(ss);
  ASSERT_CODE(weft_connect_failure(f, 0, &step, (struct sockaddr *)&ss, &len), WEFT_ECONNREFUSED);
  ASSERT_EQ(step, WEFT_CONNECT_STEP_CONNECT);
  ASSERT_EQ(((struct sockaddr_in *)&ss)->sin_port, refused.sin_port);
  weft_future_release(f);
  ASSERT_EQ(c.made, 0);
  /* cancelled during the race: no result, no failures */
  ASSERT_OK(weft_connect_socket(loop, addrs, 1, NULL, 0, NULL, &f));
  weft_future_cancel(f, NULL);
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ECANCELLED);
  ASSERT_EQ(weft_connect_failure_count(f), 0);
  weft_future_release(f);
  spin(loop, 3);
  close(holder);
  weft_test_close_loop(loop);
}

int main_placeholder_unused;

WEFT_TEST(half_close_server_keeps_open) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_server_t *s = start_echo(loop, "127.0.0.1", (void *)1); /* eof_received keeps open */
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *t = connect_client(loop, weft_server_port(s), c);
  ASSERT_OK(weft_transport_write(t, "abc", 3));
  ASSERT_OK(weft_transport_write_eof(t));
  ASSERT_CODE(weft_transport_write(t, "x", 1), WEFT_EINVALIDSTATE);
  run_until_flag(loop, &c->done, 5);
  ASSERT_EQ(c->eof, 1); /* the server answered after our EOF, then closed */
  ASSERT_EQ(c->len, 6);
  ASSERT_TRUE(memcmp(c->buf, "abcbye", 6) == 0);
  ASSERT_EQ(c->lost, 1);
  weft_transport_release(t);
  free(c);
  stop_server(loop, s);
  weft_test_close_loop(loop);
}

WEFT_TEST(connection_reset) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  ASSERT_OK(bind(lfd, (struct sockaddr *)&a, sizeof(a)));
  ASSERT_OK(listen(lfd, 4));
  getsockname(lfd, (struct sockaddr *)&a, &al);
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *t = connect_client(loop, ntohs(a.sin_port), c);
  int peer = accept(lfd, NULL, NULL);
  ASSERT_TRUE(peer >= 0);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(peer); /* RST */
  run_until_flag(loop, &c->done, 5);
  ASSERT_EQ(c->lost, 1);
  ASSERT_CODE(c->lost_error, WEFT_ECONNRESET);
  ASSERT_TRUE(weft_transport_is_closing(t));
  ASSERT_CODE(weft_transport_write(t, "x", 1), WEFT_ECLOSED);
  weft_transport_release(t);
  free(c);
  close(lfd);
  weft_test_close_loop(loop);
}

WEFT_TEST(peer_stops_reading_pause_writing) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  ASSERT_OK(bind(lfd, (struct sockaddr *)&a, sizeof(a)));
  ASSERT_OK(listen(lfd, 4));
  getsockname(lfd, (struct sockaddr *)&a, &al);
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *t = connect_client(loop, ntohs(a.sin_port), c);
  int peer = accept(lfd, NULL, NULL); /* never reads until later */
  ASSERT_OK(weft_transport_set_write_buffer_limits(t, 256 * 1024, -1));
  size_t lo, hi;
  weft_transport_get_write_buffer_limits(t, &lo, &hi);
  ASSERT_EQ(hi, 256 * 1024);
  ASSERT_EQ(lo, 64 * 1024);
  ASSERT_CODE(weft_transport_set_write_buffer_limits(t, 10, 20), WEFT_EINVAL);
  static char chunk[16384];
  size_t written = 0;
  /* A well-behaved writer stops when paused: the buffer stays bounded. */
  for (int i = 0; i < 100000 && !c->paused; i++) {
    ASSERT_OK(weft_transport_write(t, chunk, sizeof(chunk)));
    written += sizeof(chunk);
    if (i % 16 == 0)
      spin(loop, 1);
  }
  ASSERT_EQ(c->paused, 1);
  ASSERT_TRUE(weft_transport_get_write_buffer_size(t) > 256 * 1024);
  ASSERT_TRUE(weft_transport_get_write_buffer_size(t) <= 256 * 1024 + sizeof(chunk));
  ASSERT_EQ(c->resumed, 0);
  /* the peer reads everything: resume_writing follows */
  int fl = fcntl(peer, F_GETFL);
  fcntl(peer, F_SETFL, fl | O_NONBLOCK);
  size_t got = 0;
  static char sink[65536];
  double deadline = weft_loop_time(loop) + 10;
  while (got < written && weft_loop_time(loop) < deadline) {
    ssize_t n = read(peer, sink, sizeof(sink));
    if (n > 0)
      got += (size_t)n;
    spin(loop, 1);
  }
  ASSERT_EQ(got, written);
  ASSERT_EQ(c->resumed, 1);
  ASSERT_EQ(weft_transport_get_write_buffer_size(t), 0);
  weft_transport_abort(t);
  c->done = 0;
  run_until_flag(loop, &c->done, 5);
  ASSERT_EQ(c->lost, 1);
  weft_transport_release(t);
  free(c);
  close(peer);
  close(lfd);
  weft_test_close_loop(loop);
}

/* Happy eyeballs: the first address is [::1]:P whose listener has a full accept queue, so
 * SYNs to it go unanswered; the second is 127.0.0.1:P, listening normally. Both are
 * loopback; the v6 attempt hangs, and after the delay the v4 attempt wins. */
WEFT_TEST(happy_eyeballs_delay) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int v4 = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a4);
  ASSERT_OK(bind(v4, (struct sockaddr *)&a4, sizeof(a4)));
  ASSERT_OK(listen(v4, 8));
  getsockname(v4, (struct sockaddr *)&a4, &al);
  int v6 = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a6 = {
      .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT, .sin6_port = a4.sin_port};
  if (bind(v6, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
    fprintf(stderr, "no IPv6 loopback: skipped\n");
    close(v6);
    close(v4);
    weft_test_close_loop(loop);
    return;
  }
  ASSERT_OK(listen(v6, 0));
  /* fill the v6 accept queue */
  int fillers[4];
  for (int i = 0; i < 4; i++) {
    fillers[i] = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fillers[i], (struct sockaddr *)&a6, sizeof(a6));
  }
  /* The queue is full once the first of them is established (a backlog of 0 holds one):
   * wait for that, not for a time. The others stay unanswered. */
  struct pollfd first = {.fd = fillers[0], .events = POLLOUT};
  ASSERT_EQ(poll(&first, 1, 60000), 1);
  client_t *c = calloc(1, sizeof(*c));
  const struct sockaddr *addrs[2] = {(struct sockaddr *)&a6, (struct sockaddr *)&a4};
  weft_connect_options_t o;
  weft_connect_options_init(&o);
  o.happy_eyeballs_delay = 0.2;
  weft_future_t *f;
  double t0 = weft_loop_time(loop);
  ASSERT_OK(weft_create_connection_addrs(loop, &client_proto, c, addrs, 2, &o, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  /* No upper bound: without the fallback the v6 attempt would hang and time the test out. */
  double took = weft_loop_time(loop) - t0;
  if (took < 0.19)
    fprintf(stderr, "took %g\n", took);
  ASSERT_TRUE(took >= 0.19);
  weft_future_release(f);
  struct sockaddr_storage peer;
  size_t pl = sizeof(peer);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_PEERNAME, &peer, &pl));
  ASSERT_EQ(peer.ss_family, AF_INET);
  weft_transport_close(t);
  run_until_flag(loop, &c->done, 5);
  weft_transport_release(t);
  free(c);
  spin(loop, 3);
  for (int i = 0; i < 4; i++)
    close(fillers[i]);
  close(v6);
  close(v4);
  weft_test_close_loop(loop);
}

static int quiet_count;
static void quiet_handler(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  quiet_count++;
}

/* EMFILE: in a child with a low descriptor limit, clients keep connecting while the server
 * cannot accept; it must back off (no more retries than the delay allows) and accept once
 * descriptors are free again. */
WEFT_TEST(emfile_backoff) {
  const char *pre = getenv("LD_PRELOAD");
  if (pre && strstr(pre, "vgpreload")) {
    /* valgrind needs descriptors of its own and runs far slower than the CPU bound here */
    fprintf(stderr, "skipped under valgrind\n");
    return;
  }
  pid_t pid = fork();
  ASSERT_TRUE(pid >= 0);
  if (pid == 0) {
    weft_loop_t *loop;
    if (weft_loop_new(&loop))
      _exit(10);
    weft_loop_set_exception_handler(loop, quiet_handler, NULL, NULL);
    weft_server_options_t so;
    weft_server_options_init(&so);
    so.accept_retry_delay = 0.1;
    weft_future_t *f;
    if (weft_create_server(loop, echo_factory, NULL, NULL, "127.0.0.1", 0, &so, &f))
      _exit(11);
    int rc;
    weft_server_t *s = weft_server_retain(await_ptr(loop, f, &rc));
    weft_future_release(f);
    if (rc)
      _exit(12);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)weft_server_port(s))};
    /* use up the descriptors */
    int hogs[4096], nh = 0;
    struct rlimit rl = {.rlim_cur = 64, .rlim_max = 64};
    setrlimit(RLIMIT_NOFILE, &rl);
    while (nh < 4096) {
      int fd = open("/dev/null", O_RDONLY);
      if (fd < 0)
        break;
      hogs[nh++] = fd;
    }
    /* free two: a client socket can be made, the server's accept cannot get one after */
    close(hogs[--nh]);
    int cl = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(cl, (struct sockaddr *)&a, sizeof(a));
    double t0 = weft_loop_time(loop);
    int flag = 0;
    run_until_flag(loop, &flag, 0.5);
    double elapsed = weft_loop_time(loop) - t0;
    if (quiet_count < 1)
      _exit(13); /* EMFILE was reported */
    /* Each retry waits out the delay, so however slow the machine, the retries are bounded
     * by the time that passed; a spin would make thousands. */
    if (quiet_count > 2 + (int)(elapsed / 0.1))
      _exit(14);
    for (int i = 0; i < nh; i++)
      close(hogs[i]);
    /* Recovered and accepted: waited for (a retry comes every 0.1 s), up to a minute. */
    for (int i = 0; i < 600 && weft_server_connection_count(s) != 1; i++)
      run_until_flag(loop, &flag, 0.1);
    if (weft_server_connection_count(s) != 1)
      _exit(15);
    close(cl);
    flag = 0;
    run_until_flag(loop, &flag, 0.2);
    weft_server_close(s);
    weft_future_t *w;
    weft_server_wait_closed(s, &w);
    weft_loop_run_until_complete(loop, w);
    weft_future_release(w);
    weft_server_release(s);
    weft_loop_close(loop);
    weft_loop_release(loop);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

WEFT_TEST(bad_input) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ASSERT_CODE(weft_transport_write(NULL, "x", 1), WEFT_EINVAL);
  ASSERT_CODE(weft_transport_close(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_transport_abort(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_transport_write_eof(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_transport_pause_reading(NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_transport_is_closing(NULL), 0);
  ASSERT_EQ(weft_transport_get_write_buffer_size(NULL), 0);
  ASSERT_CODE(weft_transport_sendto(NULL, "x", 1, NULL), WEFT_EINVAL);
  weft_transport_release(NULL);
  weft_future_t *f = NULL;
  ASSERT_CODE(weft_create_connection(NULL, &client_proto, NULL, "h", 1, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_create_connection(loop, NULL, NULL, "h", 1, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_create_connection(loop, &client_proto, NULL, NULL, 1, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_create_connection(loop, &client_proto, NULL, "h", 70000, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_create_server(loop, NULL, NULL, NULL, NULL, 0, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_server_close(NULL), WEFT_EINVAL);
  ASSERT_CODE(weft_server_start_serving(NULL), WEFT_EINVAL);
  ASSERT_EQ(weft_server_is_serving(NULL), 0);
  ASSERT_CODE(weft_stream_write(NULL, "x", 1), WEFT_EINVAL);
  ASSERT_CODE(weft_stream_drain(NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_stream_read(NULL, 1, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_stream_drain_await(NULL), WEFT_EINVAL);
  int fd = -1;
  ASSERT_CODE(weft_create_server_fds(loop, echo_factory, NULL, NULL, &fd, 1, NULL, NULL),
              WEFT_EINVAL);
  ASSERT_CODE(weft_create_server_fds(loop, echo_factory, NULL, NULL, &fd, 1, NULL, &f),
              WEFT_ENOTSOCK);
  /* a server closed twice, start_serving after close */
  weft_server_t *s = start_echo(loop, "127.0.0.1", NULL);
  ASSERT_OK(weft_server_close(s));
  ASSERT_OK(weft_server_close(s));
  ASSERT_CODE(weft_server_start_serving(s), WEFT_ECLOSED);
  ASSERT_EQ(weft_server_is_serving(s), 0);
  stop_server(loop, s);
  spin(loop, 2);
  weft_test_close_loop(loop);
}

/* Server on both families of a NULL host, start_serving, fds, serve_forever. */
WEFT_TEST(server_options) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.start_serving = 0;
  so.reuse_port = 1;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, echo_factory, NULL, NULL, "localhost", 0, &so, &f));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(weft_server_is_serving(s), 0);
  ASSERT_TRUE(weft_server_socket_count(s) >= 1);
  ASSERT_TRUE(weft_server_socket_fd(s, 0) >= 0);
  weft_future_t *forever;
  ASSERT_OK(weft_server_serve_forever(s, &forever));
  ASSERT_EQ(weft_server_is_serving(s), 1);
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *t = connect_client(loop, weft_server_port(s), c);
  c->want = 2;
  weft_transport_write(t, "hi", 2);
  run_until_flag(loop, &c->done, 5);
  ASSERT_EQ(c->len, 2);
  /* wait_closed waits for the accepted connection too */
  weft_future_t *wc;
  ASSERT_OK(weft_server_wait_closed(s, &wc));
  weft_future_cancel(forever, NULL); /* closes the server */
  spin(loop, 5);
  ASSERT_EQ(weft_server_is_serving(s), 0);
  ASSERT_TRUE(!weft_future_done(wc));
  ASSERT_OK(weft_server_close_clients(s));
  ASSERT_OK(weft_loop_run_until_complete(loop, wc));
  weft_future_release(wc);
  weft_future_release(forever);
  run_until_flag(loop, &c->lost, 5);
  ASSERT_EQ(c->lost, 1);
  weft_transport_release(t);
  free(c);
  weft_server_release(s);
  /* an existing listening socket */
  int lfd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  if (bind(lfd, (struct sockaddr *)&a6, sizeof(a6)) == 0) {
    ASSERT_OK(weft_create_server_fds(loop, echo_factory, NULL, NULL, &lfd, 1, NULL, &f));
    ASSERT_TRUE(weft_future_done(f)); /* made during the call */
    s = await_server(loop, f, &rc);
    ASSERT_OK(rc);
    ASSERT_TRUE(weft_server_port(s) > 0);
    struct sockaddr_storage ss;
    size_t sl = sizeof(ss);
    ASSERT_OK(weft_server_socket_address(s, 0, (struct sockaddr *)&ss, &sl));
    ASSERT_EQ(ss.ss_family, AF_INET6);
    weft_future_t *cf;
    client_t c2 = {0};
    ASSERT_OK(
        weft_create_connection(loop, &client_proto, &c2, "::1", weft_server_port(s), NULL, &cf));
    ASSERT_OK(weft_loop_run_until_complete(loop, cf));
    const weft_value_t *v;
    weft_future_result(cf, &v);
    /* A connect future's result says it is a transport, and is nothing else. */
    ASSERT_EQ(v->type, WEFT_VALUE_TRANSPORT);
    ASSERT_TRUE(weft_value_object(v, WEFT_VALUE_SERVER) == NULL);
    weft_transport_abort(weft_value_object(v, WEFT_VALUE_TRANSPORT));
    weft_future_release(cf);
    run_until_flag(loop, &c2.done, 5);
    stop_server(loop, s);
  } else {
    close(lfd);
  }
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* A buffered protocol reads straight into its own buffer; sendfile over a transport. */
typedef struct bufp_s {
  char buf[1000];
  size_t total;
  int done;
  int lost;
} bufp_t;
static void *bp_get(weft_transport_t *t, size_t hint, size_t *len, void *arg) {
  *len = sizeof(((bufp_t *)arg)->buf);
  return ((bufp_t *)arg)->buf;
}
static void bp_upd(weft_transport_t *t, size_t n, void *arg) {
  ((bufp_t *)arg)->total += n;
}
static int bp_eof(weft_transport_t *t, void *arg) {
  ((bufp_t *)arg)->done = 1;
  return 0;
}
static void bp_lost(weft_transport_t *t, int e, void *arg) {
  ((bufp_t *)arg)->lost = 1;
}

/* A file for sendfile to read, already unlinked, holding `len` bytes of `data`. */
static int sendfile_source(const void *data, size_t len) {
  char path[] = "/tmp/weft-sendfile-XXXXXX";
  int file = mkstemp(path);
  ASSERT_TRUE(file >= 0);
  unlink(path);
  ASSERT_EQ(write(file, data, len), (ssize_t)len);
  return file;
}

/* A started client transport over a connected descriptor (a new reference). */
static weft_transport_t *client_on_fd(weft_loop_t *loop, client_t *c, int fd, int unix_socket) {
  weft_future_t *f;
  if (unix_socket)
    ASSERT_OK(weft_create_unix_connection_fd(loop, &client_proto, c, fd, NULL, &f));
  else
    ASSERT_OK(weft_create_connection_fd(loop, &client_proto, c, fd, NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  return t;
}

WEFT_TEST(buffered_protocol_and_sendfile) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  ASSERT_OK(bind(lfd, (struct sockaddr *)&a, sizeof(a)));
  ASSERT_OK(listen(lfd, 4));
  getsockname(lfd, (struct sockaddr *)&a, &al);
  bufp_t bp = {0};
  weft_protocol_t p = {.size = sizeof(p),
                       .get_buffer = bp_get,
                       .buffer_updated = bp_upd,
                       .eof_received = bp_eof,
                       .connection_lost = bp_lost};
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &p, &bp, "127.0.0.1", ntohs(a.sin_port), NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc); /* else accept below would wait for a connection that never comes */
  weft_future_release(f);
  int peer = accept(lfd, NULL, NULL);
  /* the peer becomes a weft transport too, and sends a file to us with sendfile */
  static char data[300000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (char)(i * 7);
  int file = sendfile_source(data, sizeof(data));
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *pt = client_on_fd(loop, c, peer, 0);
  ASSERT_OK(weft_sendfile(pt, file, 1000, 0, 1, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  const weft_value_t *v;
  weft_future_result(f, &v);
  ASSERT_EQ(v->i, (int64_t)sizeof(data) - 1000);
  weft_future_release(f);
  weft_transport_write_eof(pt);
  run_until_flag(loop, &bp.done, 5);
  ASSERT_EQ(bp.total, sizeof(data) - 1000);
  run_until_flag(loop, &bp.lost, 5);
  weft_transport_close(pt);
  run_until_flag(loop, &c->done, 5);
  weft_transport_release(pt);
  weft_transport_release(t);
  free(c);
  close(file);
  close(lfd);
  weft_test_close_loop(loop);
}

/* An accepted transport's own socket, for asyncio's get_extra_info('socket'): the fd is
 * the connection's (getpeername on it names the client), and it is the transport's to close:
 * after connection_lost it is gone from the transport. */
typedef struct accepted_s {
  weft_transport_t *t;
  int lost;
} accepted_t;

static void acc_made(weft_transport_t *t, void *arg) {
  ((accepted_t *)arg)->t = weft_transport_retain(t);
}
static void acc_lost(weft_transport_t *t, int error, void *arg) {
  ((accepted_t *)arg)->lost = 1;
}
static int acc_factory(void *farg, weft_protocol_t *p, void **arg) {
  p->connection_made = acc_made;
  p->connection_lost = acc_lost;
  *arg = farg;
  return 0;
}

WEFT_TEST(accepted_transport_socket_and_wait_closed) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  accepted_t acc = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, acc_factory, &acc, NULL, "127.0.0.1", 0, NULL, &f));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *t = connect_client(loop, weft_server_port(s), c);
  double deadline = weft_loop_time(loop) + 5;
  while (!acc.t && weft_loop_time(loop) < deadline)
    weft_loop_run_once(loop, 1);
  ASSERT_TRUE(acc.t != NULL);
  int fd = -1;
  size_t len = sizeof(fd);
  ASSERT_OK(weft_transport_get_extra_info(acc.t, WEFT_INFO_FD, &fd, &len));
  struct sockaddr_storage peer, mine;
  socklen_t pl = sizeof(peer);
  ASSERT_OK(getpeername(fd, (struct sockaddr *)&peer, &pl));
  len = sizeof(mine);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_SOCKNAME, &mine, &len));
  ASSERT_EQ(addr_port((struct sockaddr *)&peer), addr_port((struct sockaddr *)&mine));
  /* wait_closed: done once the server is closed and its last connection is gone. */
  weft_future_t *wc;
  ASSERT_OK(weft_server_wait_closed(s, &wc));
  ASSERT_OK(weft_server_close(s));
  spin(loop, 3);
  ASSERT_EQ(weft_future_done(wc), 0);
  ASSERT_OK(weft_transport_close(acc.t));
  ASSERT_OK(weft_loop_run_until_complete(loop, wc));
  ASSERT_EQ(acc.lost, 1);
  len = sizeof(fd);
  ASSERT_CODE(weft_transport_get_extra_info(acc.t, WEFT_INFO_FD, &fd, &len), WEFT_ENOENT);
  weft_future_release(wc);
  weft_transport_release(acc.t);
  run_until_flag(loop, &c->lost, 5);
  weft_transport_release(t);
  free(c);
  weft_server_release(s);
  weft_test_close_loop(loop);
}

/* A peer that stops reading and closes mid-transfer: the sendfile future fails with a
 * connection error and says how many bytes went out before. */
WEFT_TEST(sendfile_peer_closes_reports_sent) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  static char data[4 << 20];
  int file = sendfile_source(data, sizeof(data));
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *pt = client_on_fd(loop, c, sv[1], 1);
  weft_future_t *f;
  ASSERT_OK(weft_sendfile(pt, file, 0, 0, 1, &f));
  spin(loop, 5);
  char buf[1024];
  ASSERT_TRUE(read(sv[0], buf, sizeof(buf)) > 0);
  close(sv[0]);
  int rc = weft_loop_run_until_complete(loop, f);
  ASSERT_TRUE(rc == WEFT_EPIPE || rc == WEFT_ECONNRESET);
  int64_t sent = weft_sendfile_sent(f);
  ASSERT_TRUE(sent > 0 && sent < (int64_t)sizeof(data));
  weft_future_release(f);
  ASSERT_CODE(weft_sendfile_sent(NULL), WEFT_EINVAL);
  run_until_flag(loop, &c->lost, 5);
  weft_transport_release(pt);
  free(c);
  close(file);
  weft_test_close_loop(loop);
}

/* A loop closed with a server, its connection and a client still open frees them all:
 * each transport gets connection_lost(WEFT_ECLOSED), so its protocol can free its state,
 * and nothing leaks (valgrind and ASan check that). */
WEFT_TEST(loop_close_frees_open_transports) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_server_t *s = start_echo(loop, "127.0.0.1", NULL);
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *t = connect_client(loop, weft_server_port(s), c);
  c->want = 5;
  ASSERT_OK(weft_transport_write(t, "hello", 5));
  run_until_flag(loop, &c->done, 5);
  ASSERT_EQ(weft_server_connection_count(s), 1);
  weft_transport_release(t);
  weft_server_release(s);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(c->lost, 1);
  ASSERT_EQ(c->lost_error, WEFT_ECLOSED);
  free(c);
  weft_loop_release(loop);
}

/* A sendfile starts from the loop. A loop closed before that start ran drops the call,
 * which still owns the sendfile's future and a reference to the transport: both go with it
 * (valgrind and ASan check that the transport and the future are freed). */
WEFT_TEST(loop_close_before_a_sendfile_starts) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  int file = sendfile_source("payload", 7);
  client_t *c = calloc(1, sizeof(*c));
  weft_transport_t *pt = client_on_fd(loop, c, sv[1], 1);
  weft_future_t *f;
  ASSERT_OK(weft_sendfile(pt, file, 0, 0, 1, &f));
  weft_transport_release(pt);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f));
  weft_future_release(f);
  ASSERT_EQ(c->lost, 1);
  ASSERT_CODE(c->lost_error, WEFT_ECLOSED);
  char buf[8];
  ASSERT_EQ(read(sv[0], buf, sizeof buf), 0); /* nothing was sent, and the socket is closed */
  free(c);
  close(file);
  close(sv[0]);
  weft_loop_release(loop);
}

/* A transport of weft_transport_new's whose write buffer never drains: a sendfile over it
 * (read and write) waits on a timer, the only holder of the sendfile's state. */
typedef struct full_impl_s {
  int freed;
} full_impl_t;

static int full_write(void *impl, const void *const *bufs, const size_t *lens, size_t count) {
  (void)impl, (void)bufs, (void)lens, (void)count;
  return 0;
}
static size_t full_buffer_size(void *impl) {
  (void)impl;
  return (size_t)1 << 30;
}
static void full_free(void *impl) {
  ((full_impl_t *)impl)->freed++;
}

/* The loop closes while the sendfile waits: the timer's destructor lets go of its state and
 * its reference to the transport, which is then freed. */
WEFT_TEST(loop_close_while_a_sendfile_waits_on_its_timer) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int file = sendfile_source("payload", 7);
  weft_transport_ops_t ops = {.size = sizeof ops,
                              .write = full_write,
                              .get_write_buffer_size = full_buffer_size,
                              .free = full_free};
  full_impl_t impl = {0};
  weft_protocol_t proto = {.size = sizeof proto};
  weft_transport_t *t;
  ASSERT_OK(weft_transport_new(loop, &ops, &impl, &proto, NULL, &t));
  weft_future_t *f;
  ASSERT_OK(weft_sendfile(t, file, 0, 0, 1, &f));
  weft_transport_release(t);
  spin(loop, 2); /* the start runs and finds the buffer full */
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_EQ(impl.freed, 0);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(impl.freed, 1);
  weft_future_release(f);
  close(file);
  weft_loop_release(loop);
}

/* weft_listen_sockets: bound (not listening) sockets for each address, IPv6 ones IPv6-only,
 * with the options asked for, families the system lacks skipped, and a failed bind named by its
 * index with every socket closed. */
WEFT_TEST(listen_sockets_as_create_server_makes_them) {
  struct sockaddr_storage v4, v6, taken;
  ASSERT_TRUE(weft_sockaddr_ip(AF_INET, "127.0.0.1", 0, 0, 0, (struct sockaddr *)&v4, sizeof v4) >
              0);
  ASSERT_TRUE(weft_sockaddr_ip(AF_INET6, "::1", 0, 0, 0, (struct sockaddr *)&v6, sizeof v6) > 0);
  weft_listen_address_t addrs[] = {
      {AF_INET, SOCK_STREAM, 0, (struct sockaddr *)&v4, 0},
      {-1, SOCK_STREAM, 0, (struct sockaddr *)&v4, 0}, /* no such family: skipped */
      {AF_INET6, SOCK_STREAM, 0, (struct sockaddr *)&v6, 0},
  };
  weft_listen_options_t o;
  weft_listen_options_init(&o);
  o.reuse_address = 1;
  int fds[3] = {-1, -1, -1};
  o.keep_alive = 1;
  int made = weft_listen_sockets(addrs, 3, &o, fds, NULL);
  ASSERT_TRUE(made == 2 || made == 1); /* 1 where the machine has no IPv6 loopback */
  int one = 0;
  socklen_t len = sizeof one;
  ASSERT_EQ(getsockopt(fds[0], SOL_SOCKET, SO_REUSEADDR, &one, &len), 0);
  ASSERT_TRUE(one);
  one = 0;
  ASSERT_EQ(getsockopt(fds[0], SOL_SOCKET, SO_KEEPALIVE, &one, &len), 0);
  ASSERT_TRUE(one);
  ASSERT_TRUE(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
  if (made == 2) {
    one = 0;
    ASSERT_EQ(getsockopt(fds[1], IPPROTO_IPV6, IPV6_V6ONLY, &one, &len), 0);
    ASSERT_TRUE(one);
  }
  /* Bound, not listening: a listen() of the caller's own works. */
  len = sizeof taken;
  ASSERT_EQ(getsockname(fds[0], (struct sockaddr *)&taken, &len), 0);
  ASSERT_TRUE(((struct sockaddr_in *)&taken)->sin_port != 0);
  ASSERT_EQ(listen(fds[0], 4), 0);
  /* The port in use: the second address fails, the first one's socket is closed. */
  weft_listen_address_t clash[] = {
      {AF_INET, SOCK_STREAM, 0, (struct sockaddr *)&v4, 0},
      {AF_INET, SOCK_STREAM, 0, (struct sockaddr *)&taken, 0},
  };
  weft_listen_failure_t failure = {99, 99};
  int before = dup(0);
  close(before);
  weft_listen_options_init(&o);
  int more[2] = {-1, -1};
  ASSERT_CODE(weft_listen_sockets(clash, 2, &o, more, &failure), WEFT_EADDRINUSE);
  ASSERT_EQ(failure.index, 1);
  ASSERT_EQ(failure.option, 0);
  int after = dup(0);
  ASSERT_EQ(after, before); /* nothing left open */
  close(after);
  /* Off by default. */
  ASSERT_EQ(weft_listen_sockets(clash, 1, &o, more, NULL), 1);
  one = 1;
  ASSERT_EQ(getsockopt(more[0], SOL_SOCKET, SO_KEEPALIVE, &one, &len), 0);
  ASSERT_EQ(one, 0);
  close(more[0]);
  /* An address that cannot be assigned is skipped when asked, an error otherwise. */
  struct sockaddr_storage foreign;
  ASSERT_TRUE(weft_sockaddr_ip(AF_INET, "192.0.2.1", 0, 0, 0, (struct sockaddr *)&foreign,
                               sizeof foreign) > 0);
  weft_listen_address_t unavailable = {AF_INET, SOCK_STREAM, 0, (struct sockaddr *)&foreign, 0};
  FILE *nonlocal = fopen("/proc/sys/net/ipv4/ip_nonlocal_bind", "r");
  int binds_anything = nonlocal && fgetc(nonlocal) == '1';
  if (nonlocal)
    fclose(nonlocal);
  if (!binds_anything)
    ASSERT_CODE(weft_listen_sockets(&unavailable, 1, &o, more, &failure), WEFT_EADDRNOTAVAIL);
  o.skip_unavailable = 1;
  int skipped = weft_listen_sockets(&unavailable, 1, &o, more, &failure);
  ASSERT_EQ(skipped, binds_anything ? 1 : 0);
  if (skipped == 1)
    close(more[0]);
  for (int i = 0; i < made; i++)
    close(fds[i]);
  weft_listen_address_t missing = {AF_INET, SOCK_STREAM, 0, NULL, 0};
  ASSERT_CODE(weft_listen_sockets(&missing, 1, &o, more, NULL), WEFT_EINVAL);
}
