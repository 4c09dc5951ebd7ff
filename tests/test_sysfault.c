/* System-call faults that kernels and peers produce: descriptors running out on connect and
 * accept, a peer that resets the connection in the middle of a write, writes the kernel
 * takes a little at a time, signals arriving during the loop's system calls, a peer that
 * half-closes, a child killed in the middle of communicate. Each checks that the error
 * reaches the user as documented and that the data already handed over is not lost.
 *
 * socket() and accept4() are interposed here (the executable's definitions come before
 * libc's, for weft and for libuv alike): armed, they fail as a kernel out of descriptors
 * does, which no rlimit can make happen for ENFILE and which works under valgrind, whose
 * own descriptors make a lowered RLIMIT_NOFILE unreliable. tcp.emfile_backoff does the same
 * with a real rlimit. */
#include "net_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- interposed system calls ---- */

static atomic_int socket_fail_left, socket_fail_errno;
static atomic_int accept_fail_left, accept_fail_errno, accept_failed;

/* The next definition of `name` after this executable's (libc's, or a sanitizer's). */
static void *next_symbol(const char *name) {
  void *sym = dlsym(RTLD_NEXT, name);
  if (sym == NULL) {
    fprintf(stderr, "dlsym(%s) failed\n", name);
    abort();
  }
  return sym;
}

int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (real == NULL)
    memcpy(&real, &(void *){next_symbol("socket")}, sizeof real);
  if (atomic_load(&socket_fail_left) > 0) {
    atomic_fetch_sub(&socket_fail_left, 1);
    errno = atomic_load(&socket_fail_errno);
    return -1;
  }
  return real(domain, type, protocol);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  static int (*real)(int, struct sockaddr *, socklen_t *, int);
  if (real == NULL)
    memcpy(&real, &(void *){next_symbol("accept4")}, sizeof real);
  if (atomic_load(&accept_fail_left) > 0) {
    atomic_fetch_sub(&accept_fail_left, 1);
    atomic_fetch_add(&accept_failed, 1);
    errno = atomic_load(&accept_fail_errno);
    return -1;
  }
  return real(fd, addr, len, flags);
}

/* ---- protocols ---- */

/* A server side that echoes, or (reply_on_eof) answers the peer's EOF with a large reply
 * and then closes. */
typedef struct serv_s {
  size_t reply_on_eof;
  char got[64];
  size_t got_len;
  int eofs, lost, lost_error;
  int *lost_flag;
} serv_t;

static void sv_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  serv_t *s = arg;
  if (s->eofs)
    s->got_len = SIZE_MAX; /* data after EOF: a protocol-order bug */
  if (s->got_len + len <= sizeof s->got) {
    memcpy(s->got + s->got_len, data, len);
    s->got_len += len;
  }
  if (!s->reply_on_eof)
    weft_transport_write(t, data, len);
}

static unsigned char pattern_byte(size_t i) {
  return (unsigned char)(i % 251);
}

static int sv_eof(weft_transport_t *t, void *arg) {
  serv_t *s = arg;
  s->eofs++;
  if (!s->reply_on_eof)
    return 0;
  char *reply = malloc(s->reply_on_eof);
  ASSERT_TRUE(reply != NULL);
  for (size_t i = 0; i < s->reply_on_eof; i++)
    reply[i] = (char)pattern_byte(i);
  ASSERT_OK(weft_transport_write(t, reply, s->reply_on_eof));
  free(reply);
  weft_transport_close(t); /* after the reply has gone out */
  return 1;                /* keep our half open: the reply still has to be written */
}

static void sv_lost(weft_transport_t *t, int error, void *arg) {
  serv_t *s = arg;
  s->lost++;
  s->lost_error = error;
  if (s->lost_flag)
    *s->lost_flag = 1;
}

/* The server protocol's state lives in the test (one connection per server). */
static int sv_factory(void *farg, weft_protocol_t *p, void **arg) {
  p->data_received = sv_data;
  p->eof_received = sv_eof;
  p->connection_lost = sv_lost;
  *arg = farg;
  return 0;
}

typedef struct cl_s {
  int made, lost, lost_error, eofs;
  char *buf;
  size_t len, cap, want;
  int done;
} cl_t;

static void cl_made(weft_transport_t *t, void *arg) {
  ((cl_t *)arg)->made++;
}
static void cl_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  cl_t *c = arg;
  if (c->len + len <= c->cap)
    memcpy(c->buf + c->len, data, len);
  c->len += len;
  if (c->want && c->len >= c->want)
    c->done = 1;
}
static int cl_eof(weft_transport_t *t, void *arg) {
  ((cl_t *)arg)->eofs++;
  return 0;
}
static void cl_lost(weft_transport_t *t, int error, void *arg) {
  cl_t *c = arg;
  c->lost++;
  c->lost_error = error;
  c->done = 1;
}
static const weft_protocol_t cl_proto = {.size = sizeof(weft_protocol_t),
                                         .connection_made = cl_made,
                                         .data_received = cl_data,
                                         .eof_received = cl_eof,
                                         .connection_lost = cl_lost};

static weft_server_t *start_server(weft_loop_t *loop, serv_t *s, double retry_delay) {
  weft_server_options_t so;
  weft_server_options_init(&so);
  if (retry_delay > 0)
    so.accept_retry_delay = retry_delay;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, sv_factory, s, NULL, "127.0.0.1", 0, &so, &f));
  int rc;
  weft_server_t *server = await_server(loop, f, &rc);
  ASSERT_OK(rc);
  return server;
}

static void stop_server(weft_loop_t *loop, weft_server_t *s) {
  ASSERT_OK(weft_server_close(s));
  weft_future_t *w;
  ASSERT_OK(weft_server_wait_closed(s, &w));
  ASSERT_OK(weft_loop_run_until_complete(loop, w));
  weft_future_release(w);
  weft_server_release(s);
}

/* Connects; returns the error (0 with *out set, a new reference). A failure may come from
 * the call or from the future: both are create_connection failing. */
static int try_connect(weft_loop_t *loop, int port, cl_t *c, weft_transport_t **out) {
  *out = NULL;
  weft_future_t *f;
  int rc = weft_create_connection(loop, &cl_proto, c, "127.0.0.1", port, NULL, &f);
  if (rc != 0)
    return rc;
  weft_transport_t *t = await_ptr(loop, f, &rc);
  if (rc == 0)
    *out = weft_transport_retain(t);
  weft_future_release(f);
  return rc;
}

/* A listening socket of the test's own on 127.0.0.1 (the peer side, raw). */
static int raw_listener(int *port) {
  return loopback_listener(4, port);
}

static int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_TRUE(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  ASSERT_OK(connect(fd, (struct sockaddr *)&a, sizeof a)); /* the backlog takes it */
  return fd;
}

static void set_nonblocking(int fd) {
  ASSERT_OK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK));
}

/* Reads what is there from a non-blocking fd, checking the pattern from *offset on.
 * Returns 0 at EOF, -1 when nothing was there, else the bytes read. */
static ssize_t read_pattern(int fd, size_t *offset) {
  static char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0) {
    ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
    return -1;
  }
  for (ssize_t i = 0; i < n; i++)
    if ((unsigned char)buf[i] != pattern_byte(*offset + (size_t)i))
      WEFT_FAIL_AT("byte %zu out of order", *offset + (size_t)i);
  *offset += (size_t)n;
  return n;
}

static char *pattern(size_t len) {
  char *p = malloc(len);
  ASSERT_TRUE(p != NULL);
  for (size_t i = 0; i < len; i++)
    p[i] = (char)pattern_byte(i);
  return p;
}

/* ---- descriptors run out ---- */

/* create_connection when no descriptor can be had: the connect fails with the kernel's
 * code (asyncio raises OSError(EMFILE/ENFILE)), no protocol callback runs, and the next
 * connect, with descriptors back, works. */
WEFT_TEST(connect_emfile_enfile) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  serv_t sv = {0};
  weft_server_t *server = start_server(loop, &sv, 0);
  int port = weft_server_port(server);
  const int codes[] = {EMFILE, ENFILE};
  const int expected[] = {WEFT_EMFILE, WEFT_ENFILE};
  for (int i = 0; i < 2; i++) {
    cl_t c = {0};
    weft_transport_t *t;
    atomic_store(&socket_fail_errno, codes[i]);
    atomic_store(&socket_fail_left, 1);
    ASSERT_CODE(try_connect(loop, port, &c, &t), expected[i]);
    ASSERT_EQ(atomic_load(&socket_fail_left), 0); /* the failure came from socket() */
    ASSERT_TRUE(t == NULL);
    ASSERT_EQ(c.made, 0);
    ASSERT_EQ(c.lost, 0);
  }
  cl_t c = {.buf = malloc(16), .cap = 16, .want = 4};
  weft_transport_t *t;
  ASSERT_OK(try_connect(loop, port, &c, &t));
  ASSERT_OK(weft_transport_write(t, "ping", 4));
  run_until_flag(loop, &c.done, 30);
  ASSERT_EQ(c.len, 4);
  ASSERT_TRUE(memcmp(c.buf, "ping", 4) == 0);
  weft_transport_close(t);
  c.done = 0;
  run_until_flag(loop, &c.done, 30);
  ASSERT_EQ(c.lost, 1);
  ASSERT_OK(c.lost_error);
  weft_transport_release(t);
  free(c.buf);
  stop_server(loop, server);
  weft_test_close_loop(loop);
}

static int reports, report_code;
static void count_reports(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop;
  (void)arg;
  reports++;
  report_code = ctx->error;
}

/* accept() failing for want of descriptors: the server reports it once and stops watching
 * the listening socket (the connection stays queued, so watching would spin) until
 * accept_retry_delay has passed. Here that is a minute, which the test never waits for:
 * however many iterations run, accept is not tried again. */
WEFT_TEST(accept_enfile_pauses) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports = 0;
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, NULL, NULL));
  serv_t sv = {0};
  weft_server_t *server = start_server(loop, &sv, 60);
  atomic_store(&accept_failed, 0);
  atomic_store(&accept_fail_errno, ENFILE);
  atomic_store(&accept_fail_left, 1000000);
  int peer = raw_connect(weft_server_port(server));
  for (int i = 0; i < 100000 && reports == 0; i++)
    weft_loop_run_once(loop, 1);
  ASSERT_EQ(reports, 1);
  ASSERT_CODE(report_code, WEFT_ENFILE);
  for (int i = 0; i < 200; i++)
    weft_loop_run_once(loop, 1);
  ASSERT_EQ(reports, 1);
  ASSERT_EQ(atomic_load(&accept_failed), 1);
  ASSERT_EQ(weft_server_connection_count(server), 0);
  atomic_store(&accept_fail_left, 0);
  close(peer);
  stop_server(loop, server);
  weft_test_close_loop(loop);
}

/* The server keeps serving once descriptors are free again: after three failed accepts
 * (each reported, each followed by a pause: never two attempts without one), the queued
 * connection is accepted and served, for EMFILE and ENFILE alike. */
WEFT_TEST(accept_emfile_enfile_recovers) {
  const int codes[] = {EMFILE, ENFILE};
  const int expected[] = {WEFT_EMFILE, WEFT_ENFILE};
  for (int k = 0; k < 2; k++) {
    weft_loop_t *loop;
    ASSERT_OK(weft_loop_new(&loop));
    reports = 0;
    ASSERT_OK(weft_loop_set_exception_handler(loop, count_reports, NULL, NULL));
    serv_t sv = {0};
    weft_server_t *server = start_server(loop, &sv, 0.001);
    atomic_store(&accept_failed, 0);
    atomic_store(&accept_fail_errno, codes[k]);
    atomic_store(&accept_fail_left, 3);
    cl_t c = {.buf = malloc(16), .cap = 16, .want = 5};
    weft_transport_t *t;
    ASSERT_OK(try_connect(loop, weft_server_port(server), &c, &t)); /* the backlog takes it */
    ASSERT_OK(weft_transport_write(t, "hello", 5));
    run_until_flag(loop, &c.done, 30);
    ASSERT_EQ(c.len, 5);
    ASSERT_TRUE(memcmp(c.buf, "hello", 5) == 0);
    ASSERT_EQ(atomic_load(&accept_failed), 3);
    ASSERT_EQ(reports, 3);
    ASSERT_CODE(report_code, expected[k]);
    ASSERT_EQ(weft_server_connection_count(server), 1);
    weft_transport_close(t);
    c.done = 0;
    run_until_flag(loop, &c.done, 30);
    ASSERT_EQ(c.lost, 1);
    weft_transport_release(t);
    free(c.buf);
    stop_server(loop, server);
    weft_test_close_loop(loop);
  }
}

/* ---- a peer resets the connection in the middle of a write ---- */

/* 8 MiB queued; the peer reads part of it, then closes with SO_LINGER 0 (an RST). The
 * writer's connection_lost carries ECONNRESET or EPIPE (whichever the kernel reports
 * first, as asyncio's ConnectionResetError or BrokenPipeError), exactly once; writes then
 * fail with WEFT_ECLOSED; what the peer read is the start of what was written, in order. */
WEFT_TEST(write_reset_midway) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int port;
  int lfd = raw_listener(&port);
  cl_t c = {0};
  weft_transport_t *t;
  ASSERT_OK(try_connect(loop, port, &c, &t));
  int peer = accept(lfd, NULL, NULL);
  ASSERT_TRUE(peer >= 0);
  set_nonblocking(peer);
  const size_t total = 8u << 20;
  char *data = pattern(total);
  for (size_t off = 0; off < total; off += 65536)
    ASSERT_OK(weft_transport_write(t, data + off, 65536));
  free(data);
  size_t got = 0;
  for (int i = 0; i < 1000000 && got < 256 * 1024; i++) {
    read_pattern(peer, &got);
    weft_loop_run_once(loop, 1);
  }
  ASSERT_TRUE(got >= 256 * 1024);
  ASSERT_TRUE(weft_transport_get_write_buffer_size(t) > 0); /* still writing */
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  ASSERT_OK(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  close(peer);
  run_until_flag(loop, &c.done, 30);
  ASSERT_EQ(c.lost, 1);
  if (c.lost_error != WEFT_ECONNRESET && c.lost_error != WEFT_EPIPE)
    WEFT_FAIL_AT("connection_lost(%s)", weft_err_name(c.lost_error));
  ASSERT_TRUE(weft_transport_is_closing(t));
  ASSERT_CODE(weft_transport_write(t, "x", 1), WEFT_ECLOSED);
  spin(loop, 3);
  ASSERT_EQ(c.lost, 1);
  weft_transport_release(t);
  close(lfd);
  weft_test_close_loop(loop);
}

/* ---- partial writes ---- */

/* A send buffer of a few KiB: the kernel takes each write a little at a time. 4 MiB written
 * in chunks of uneven sizes all arrive, in order, then the EOF of the close. */
WEFT_TEST(partial_writes_tiny_sndbuf) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int port;
  int lfd = raw_listener(&port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_TRUE(fd >= 0);
  int small = 4096;
  ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small));
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  ASSERT_OK(connect(fd, (struct sockaddr *)&a, sizeof a));
  int peer = accept(lfd, NULL, NULL);
  ASSERT_TRUE(peer >= 0);
  set_nonblocking(peer);
  cl_t c = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_connection_fd(loop, &cl_proto, &c, fd, NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  const size_t total = 4u << 20;
  char *data = pattern(total);
  size_t off = 0, step = 1;
  int queued_seen = 0;
  while (off < total) {
    size_t n = step < total - off ? step : total - off;
    ASSERT_OK(weft_transport_write(t, data + off, n));
    off += n;
    step = step * 7 % 65521 + 1; /* uneven sizes, 1 byte to 64 KiB */
    queued_seen |= weft_transport_get_write_buffer_size(t) > 0;
  }
  free(data);
  ASSERT_TRUE(queued_seen); /* the kernel did not take it all at once */
  weft_transport_close(t);
  size_t got = 0;
  ssize_t n = -1;
  for (long i = 0; i < 10000000 && n != 0; i++) {
    n = read_pattern(peer, &got);
    if (n < 0)
      weft_loop_run_once(loop, 1);
  }
  if (n != 0)
    fprintf(stderr, "got %zu of %zu, %zu queued\n", got, total,
            weft_transport_get_write_buffer_size(t));
  ASSERT_EQ(n, 0); /* EOF, after every byte */
  ASSERT_EQ(got, total);
  run_until_flag(loop, &c.done, 30);
  ASSERT_EQ(c.lost, 1);
  ASSERT_OK(c.lost_error);
  weft_transport_release(t);
  close(peer);
  close(lfd);
  weft_test_close_loop(loop);
}

/* ---- a peer that half-closes ---- */

/* The peer sends a request and shuts down its writing side. Our server gets the data, then
 * eof_received once; keeping its half open, it writes a 1 MiB reply (more than the socket
 * buffers hold, so most of it goes out after the EOF) and closes: the peer reads every
 * byte, in order, then EOF; connection_lost carries no error. */
WEFT_TEST(peer_half_closes_reply_still_arrives) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int lost = 0;
  serv_t sv = {.reply_on_eof = 1u << 20, .lost_flag = &lost};
  weft_server_t *server = start_server(loop, &sv, 0);
  int peer = raw_connect(weft_server_port(server));
  ASSERT_EQ(write(peer, "request", 7), 7);
  ASSERT_OK(shutdown(peer, SHUT_WR));
  set_nonblocking(peer);
  size_t got = 0;
  ssize_t n = -1;
  for (long i = 0; i < 10000000 && n != 0; i++) {
    n = read_pattern(peer, &got);
    if (n < 0)
      weft_loop_run_once(loop, 1);
  }
  ASSERT_EQ(n, 0);
  ASSERT_EQ(got, sv.reply_on_eof);
  run_until_flag(loop, &lost, 30);
  ASSERT_EQ(sv.got_len, 7);
  ASSERT_TRUE(memcmp(sv.got, "request", 7) == 0);
  ASSERT_EQ(sv.eofs, 1);
  ASSERT_EQ(sv.lost, 1);
  ASSERT_OK(sv.lost_error);
  close(peer);
  stop_server(loop, server);
  weft_test_close_loop(loop);
}

/* ---- signals during system calls ---- */

/* Sends SIGUSR1 until told to stop, and at least 300 times: signals keep arriving for
 * as long as the loop works. */
typedef struct signaller_s {
  atomic_int stop;
  int sent;
} signaller_t;

static void *send_signals(void *arg) {
  signaller_t *s = arg;
  for (s->sent = 0; s->sent < 300 || !atomic_load(&s->stop); s->sent++) {
    kill(getpid(), SIGUSR1);
    sched_yield();
  }
  return NULL;
}

static void on_usr1(void *arg) {
  (*(int *)arg)++;
}

typedef struct pipe_work_s {
  int fd;
  size_t want;
} pipe_work_t;

/* On a worker: a blocking read of `want` bytes, as run_in_executor code would do. */
static int read_pipe_work(void *arg, weft_value_t *result) {
  pipe_work_t *w = arg;
  char buf[4096];
  size_t got = 0;
  while (got < w->want) {
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n < 0)
      return errno == EINTR ? WEFT_EINTR : WEFT_EIO; /* EINTR would be the bug */
    if (n == 0)
      break;
    got += (size_t)n;
  }
  *result = weft_value_int((int64_t)got);
  return 0;
}

static void *feed_pipe(void *arg) {
  int fd = *(int *)arg;
  static char chunk[4096];
  for (int i = 0; i < 256; i++) {
    if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
      break;
    sched_yield();
  }
  close(fd);
  return NULL;
}

/* SIGUSR1s all the while the loop echoes 2 MiB over TCP and a worker thread reads 1 MiB from a
 * pipe with blocking reads. The signals land on the loop's thread (the other threads block
 * them), interrupting its polls and reads and writes: every byte still arrives in order,
 * the handler runs (signals of one kind coalesce, so at least once), and the worker's
 * reads are never interrupted (the executor's threads block every signal). */
WEFT_TEST(signals_during_io_and_executor) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int handled = 0;
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR1, on_usr1, &handled, NULL));
  serv_t sv = {0};
  weft_server_t *server = start_server(loop, &sv, 0);
  const size_t total = 2u << 20;
  cl_t c = {.buf = malloc(total), .cap = total, .want = total};
  weft_transport_t *t;
  ASSERT_OK(try_connect(loop, weft_server_port(server), &c, &t));

  int fds[2];
  ASSERT_OK(pipe(fds));
  pipe_work_t work = {.fd = fds[0], .want = 256 * 4096};
  weft_future_t *wf;
  ASSERT_OK(weft_run_in_executor(loop, NULL, read_pipe_work, &work, &wf));

  /* The helper threads start with SIGUSR1 blocked, so it is the loop's thread that gets
   * the signals. */
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_OK(pthread_sigmask(SIG_BLOCK, &usr1, &old));
  signaller_t sig = {.sent = 0};
  pthread_t sender, feeder;
  ASSERT_OK(pthread_create(&sender, NULL, send_signals, &sig));
  ASSERT_OK(pthread_create(&feeder, NULL, feed_pipe, &fds[1]));
  ASSERT_OK(pthread_sigmask(SIG_SETMASK, &old, NULL));

  char *data = pattern(total);
  for (size_t off = 0; off < total; off += 32768)
    ASSERT_OK(weft_transport_write(t, data + off, 32768));
  run_until_flag(loop, &c.done, 60);
  ASSERT_EQ(c.len, total);
  ASSERT_TRUE(memcmp(c.buf, data, total) == 0);
  free(data);
  ASSERT_OK(weft_loop_run_until_complete(loop, wf));
  atomic_store(&sig.stop, 1);
  pthread_join(sender, NULL);
  ASSERT_TRUE(sig.sent >= 300);
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(wf, &v));
  ASSERT_EQ(v->i, 256 * 4096);
  weft_future_release(wf);
  pthread_join(feeder, NULL);
  close(fds[0]);
  /* The signals were all sent before the join, and taken by this thread since; the
   * handler runs from the loop. */
  for (int i = 0; i < 100000 && handled == 0; i++)
    weft_loop_run_once(loop, 1);
  ASSERT_TRUE(handled >= 1);
  weft_transport_close(t);
  c.done = 0;
  run_until_flag(loop, &c.done, 30);
  ASSERT_EQ(c.lost, 1);
  weft_transport_release(t);
  free(c.buf);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR1), 1);
  stop_server(loop, server);
  weft_test_close_loop(loop);
}

/* ---- a child killed in the middle of communicate ---- */

/* The child writes to stdout, says it has (a file appears), then waits for good. Killed
 * while communicate reads: communicate completes with -SIGKILL, and what the child wrote
 * before dying is in the output; nothing hangs. */
WEFT_TEST(child_killed_mid_communicate) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char ready[64];
  snprintf(ready, sizeof ready, "/tmp/weft-sysfault-%d", (int)getpid());
  unlink(ready);
  char command[160];
  /* exec: the shell becomes sleep, so the kill closes the last writer of the pipe. */
  snprintf(command, sizeof command, "printf partial; printf err >&2; : > %s; exec sleep 600",
           ready);
  weft_process_options_t o;
  weft_process_options_init(&o);
  for (int i = 0; i < 3; i++)
    o.stdio[i].mode = WEFT_STDIO_PIPE;
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_shell(loop, command, &o, &p));
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, "ignored", 7, &f));
  struct stat st;
  /* Communicate can only finish first if the child died early (SIGPIPE when a pipe could
   * not be set up): the assertion below then fails, rather than a wait for a file that will
   * never come. */
  for (long i = 0; i < 10000000 && stat(ready, &st) != 0 && !weft_future_done(f); i++)
    weft_loop_run_once(loop, 1);
  ASSERT_OK(stat(ready, &st));
  ASSERT_TRUE(!weft_future_done(f));
  ASSERT_OK(weft_process_kill(p));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->i, -SIGKILL);
  weft_future_release(f);
  const char *out;
  size_t len;
  ASSERT_OK(weft_process_output(p, 1, &out, &len));
  ASSERT_EQ(len, 7);
  ASSERT_TRUE(memcmp(out, "partial", 7) == 0);
  ASSERT_OK(weft_process_output(p, 2, &out, &len));
  ASSERT_EQ(len, 3);
  ASSERT_TRUE(memcmp(out, "err", 3) == 0);
  int code;
  ASSERT_OK(weft_process_returncode(p, &code));
  ASSERT_EQ(code, -SIGKILL);
  weft_process_release(p);
  unlink(ready);
  weft_test_close_loop(loop);
}
