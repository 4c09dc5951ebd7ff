/* weft_transport_read_threadsafe and weft_transport_set_read_threadsafe: threads read a
 * plain socket the loop handed over, every byte once and in order; the end of the stream
 * and a reset reach the loop's protocol once; a close or abort on the loop racing the reads
 * never lets a read touch a descriptor reused since; handing reading back and forth loses
 * no byte and reorders none. */
#include "net_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* ---- a protocol that keeps what the loop reads, in order ---- */

typedef struct conn_s {
  int made, lost, lost_error, eofs;
  int keep_open; /* what eof_received answers */
  char *data;    /* data_received's bytes */
  size_t len, cap;
} conn_t;

static void c_made(weft_transport_t *t, void *arg) {
  (void)t;
  ((conn_t *)arg)->made++;
}
static void c_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t;
  conn_t *c = arg;
  if (c->len + len > c->cap) {
    c->cap = (c->len + len) * 2;
    c->data = realloc(c->data, c->cap);
    ASSERT_TRUE(c->data != NULL);
  }
  memcpy(c->data + c->len, data, len);
  c->len += len;
}
static int c_eof(weft_transport_t *t, void *arg) {
  (void)t;
  conn_t *c = arg;
  c->eofs++;
  return c->keep_open;
}
static void c_lost(weft_transport_t *t, int error, void *arg) {
  (void)t;
  conn_t *c = arg;
  c->lost++;
  c->lost_error = error;
}

static const weft_protocol_t conn_proto = {
    .size = sizeof(weft_protocol_t),
    .connection_made = c_made,
    .data_received = c_data,
    .eof_received = c_eof,
    .connection_lost = c_lost,
};

/* A loop-side TCP transport and the peer's blocking socket. */
static weft_transport_t *tcp_pair(weft_loop_t *loop, conn_t *c, int *peer_out) {
  weft_transport_t *t = tcp_pair_with(loop, &conn_proto, c, peer_out);
  ASSERT_EQ(c->made, 1);
  return t;
}

static void pair_free(weft_loop_t *loop, weft_transport_t *t, int peer, conn_t *c) {
  weft_transport_release(t);
  if (peer >= 0)
    close(peer);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
  free(c->data);
}

static int transport_fd(weft_transport_t *t) {
  int fd = -1;
  size_t len = sizeof fd;
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_FD, &fd, &len));
  return fd;
}

static void write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    ASSERT_TRUE(n > 0);
    p += n;
    len -= (size_t)n;
  }
}

static uint8_t pattern(size_t i) {
  return (uint8_t)(i * 7 + (i >> 8));
}

/* ---- reading threads: wait with poll, read until the end or an error ---- */

enum { CHUNK = 3000, MAX_CHUNKS = 4096 };

typedef struct rthread_s {
  weft_transport_t *t;
  weft_loop_t *loop;
  int fd; /* polled for readability only */
  size_t got;
  size_t counts[256]; /* how many of each byte value */
  uint8_t *all;       /* one thread alone: every byte, in order */
  size_t all_cap;
  int64_t last;       /* what ended the reading: 0, or the error */
  int64_t again;      /* what the next call said */
  int wrong_positive; /* a read returned bytes after the end */
  int done;
  pthread_t thread;
} rthread_t;

static void rthread_finished(void *arg) {
  ((rthread_t *)arg)->done = 1;
}

static void *rthread_main(void *arg) {
  rthread_t *r = arg;
  uint8_t buf[CHUNK];
  for (;;) {
    int64_t n = weft_transport_read_threadsafe(r->t, buf, sizeof buf);
    if (n == WEFT_EAGAIN) {
      struct pollfd p = {.fd = r->fd, .events = POLLIN};
      poll(&p, 1, 100); /* bounded: a read by another thread may have taken the bytes */
      continue;
    }
    if (n <= 0) {
      r->last = n;
      break;
    }
    if (r->all) {
      ASSERT_TRUE(r->got + (size_t)n <= r->all_cap);
      memcpy(r->all + r->got, buf, (size_t)n);
    }
    for (int64_t i = 0; i < n; i++)
      r->counts[buf[i]]++;
    r->got += (size_t)n;
  }
  r->again = weft_transport_read_threadsafe(r->t, buf, sizeof buf);
  ASSERT_OK(weft_call_soon_threadsafe(r->loop, rthread_finished, r));
  return NULL;
}

static void rthread_start(rthread_t *r, weft_loop_t *loop, weft_transport_t *t, size_t all_cap) {
  memset(r, 0, sizeof *r);
  r->t = t;
  r->loop = loop;
  r->fd = transport_fd(t);
  if (all_cap) {
    r->all = malloc(all_cap);
    ASSERT_TRUE(r->all != NULL);
    r->all_cap = all_cap;
  }
  ASSERT_OK(pthread_create(&r->thread, NULL, rthread_main, r));
}

static void rthread_join(weft_loop_t *loop, rthread_t *r) {
  double deadline = weft_loop_time(loop) + 60;
  while (!r->done && weft_loop_time(loop) < deadline)
    run_until_flag(loop, &r->done, 0.1);
  ASSERT_TRUE(r->done);
  pthread_join(r->thread, NULL);
  free(r->all);
  r->all = NULL;
}

/* The peer writes `total` bytes of the pattern in uneven pieces, then shuts its side. */
typedef struct peer_writer_s {
  int fd;
  size_t total;
  pthread_t thread;
} peer_writer_t;

static void *peer_writer_main(void *arg) {
  peer_writer_t *w = arg;
  static const size_t pieces[] = {1, 700, 65536, 13, 4096, 100000, 2};
  uint8_t *buf = malloc(100000);
  ASSERT_TRUE(buf != NULL);
  size_t at = 0;
  for (int k = 0; at < w->total; k++) {
    size_t n = pieces[k % 7];
    if (n > w->total - at)
      n = w->total - at;
    for (size_t i = 0; i < n; i++)
      buf[i] = pattern(at + i);
    write_all(w->fd, buf, n);
    at += n;
  }
  free(buf);
  ASSERT_OK(shutdown(w->fd, SHUT_WR));
  return NULL;
}

/* One thread reads it all: every byte in order, then the end, again on the next call; the
 * loop's protocol hears of the end once (eof_received), and keeps the transport open as it
 * asked; the loop itself read nothing. */
WEFT_TEST(one_thread_reads_in_order_to_eof) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {.keep_open = 1};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  enum { TOTAL = 3 << 20 };
  rthread_t r;
  rthread_start(&r, loop, t, TOTAL);
  peer_writer_t w = {.fd = peer, .total = TOTAL};
  ASSERT_OK(pthread_create(&w.thread, NULL, peer_writer_main, &w));
  uint8_t *all = r.all; /* rthread_join frees it: check first */
  double deadline = weft_loop_time(loop) + 60;
  while (!r.done && weft_loop_time(loop) < deadline)
    run_until_flag(loop, &r.done, 0.1);
  ASSERT_TRUE(r.done);
  pthread_join(r.thread, NULL);
  pthread_join(w.thread, NULL);
  ASSERT_EQ(r.got, (size_t)TOTAL);
  for (size_t i = 0; i < TOTAL; i++)
    if (all[i] != pattern(i)) {
      fprintf(stderr, "byte %zu differs\n", i);
      ASSERT_TRUE(0);
    }
  free(all);
  r.all = NULL;
  ASSERT_EQ(r.last, 0);
  ASSERT_EQ(r.again, 0);
  run_until_flag(loop, &c.eofs, 5);
  spin(loop, 3);
  ASSERT_EQ(c.eofs, 1);
  ASSERT_EQ(c.len, 0);
  ASSERT_EQ(c.lost, 0);
  ASSERT_EQ(weft_transport_is_closing(t), 0);
  /* Taken back after the end: the loop does not read (and report) it again. */
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 0));
  spin(loop, 3);
  ASSERT_EQ(c.eofs, 1);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost_error, 0);
  pair_free(loop, t, peer, &c);
}

/* Four threads read at once: together they get every byte exactly once, each of them meets
 * the end, and the protocol hears of it once. A protocol that does not keep the transport
 * open at the end closes it then (asyncio's rule), and the reads still say 0. */
WEFT_TEST(threads_share_the_bytes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {.keep_open = 0};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  enum { TOTAL = 256 * 8192, N = 4 };
  rthread_t r[N];
  for (int i = 0; i < N; i++)
    rthread_start(&r[i], loop, t, 0);
  peer_writer_t w = {.fd = peer, .total = TOTAL};
  ASSERT_OK(pthread_create(&w.thread, NULL, peer_writer_main, &w));
  size_t got = 0, counts[256] = {0};
  for (int i = 0; i < N; i++) {
    rthread_join(loop, &r[i]);
    got += r[i].got;
    for (int b = 0; b < 256; b++)
      counts[b] += r[i].counts[b];
    ASSERT_EQ(r[i].last, 0);
    ASSERT_EQ(r[i].again, 0);
  }
  pthread_join(w.thread, NULL);
  ASSERT_EQ(got, (size_t)TOTAL);
  size_t expect[256] = {0};
  for (size_t i = 0; i < TOTAL; i++)
    expect[pattern(i)]++;
  for (int b = 0; b < 256; b++)
    ASSERT_EQ(counts[b], expect[b]);
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.eofs, 1);
  ASSERT_EQ(c.lost, 1);
  ASSERT_EQ(c.lost_error, 0);
  char b;
  ASSERT_EQ(weft_transport_read_threadsafe(t, &b, 1), 0);
  pair_free(loop, t, peer, &c);
}

/* The peer resets the connection: the read fails with WEFT_ECONNRESET, so do the next read
 * and every write, and the loop loses the connection with that error. */
WEFT_TEST(reset_fails_reads_and_loses_connection) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {.keep_open = 1};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  write_all(peer, "abc", 3);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  ASSERT_OK(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  close(peer);
  rthread_t r;
  rthread_start(&r, loop, t, 0);
  rthread_join(loop, &r);
  /* "abc" may be lost with the reset (the kernel drops what a reset finds unread). */
  ASSERT_TRUE(r.got <= 3);
  ASSERT_EQ(r.last, WEFT_ECONNRESET);
  ASSERT_EQ(r.again, WEFT_ECONNRESET);
  /* Writes fail with it at once, whether or not the loop has heard of it yet. */
  ASSERT_EQ(weft_transport_write_threadsafe(t, "x", 1), WEFT_ECONNRESET);
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost, 1);
  ASSERT_EQ(c.lost_error, WEFT_ECONNRESET);
  ASSERT_EQ(c.eofs, 0);
  ASSERT_EQ(weft_transport_is_closing(t), 1);
  pair_free(loop, t, -1, &c);
}

/* Close and abort on the loop while threads read: every read ends with WEFT_ECLOSED at
 * once, and none ever reads from the descriptor number, which the close frees at once and
 * connections with bytes waiting take again right after, before the loop runs on. Several
 * rounds, each with a fresh connection. */
typedef struct racer_s {
  weft_transport_t *t;
  int fd;
  atomic_int stop, done;
  int64_t ended;
  size_t got;
  pthread_t thread;
} racer_t;

static void *racer_main(void *arg) {
  racer_t *r = arg;
  char buf[256];
  while (!atomic_load(&r->stop)) {
    int64_t n = weft_transport_read_threadsafe(r->t, buf, sizeof buf);
    if (n > 0) {
      r->got += (size_t)n;
      continue;
    }
    if (n != WEFT_EAGAIN) {
      r->ended = n;
      break;
    }
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    poll(&p, 1, 1);
  }
  atomic_store(&r->done, 1);
  return NULL;
}

static void close_race_round(int abort_it) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {.keep_open = 1};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  enum { N = 3 };
  racer_t r[N];
  int fd = transport_fd(t);
  for (int i = 0; i < N; i++) {
    r[i] = (racer_t){.t = t, .fd = fd};
    ASSERT_OK(pthread_create(&r[i].thread, NULL, racer_main, &r[i]));
  }
  spin(loop, 2);
  if (abort_it)
    ASSERT_OK(weft_transport_abort(t));
  else
    ASSERT_OK(weft_transport_close(t)); /* nothing queued: it closes now */
  /* Socket pairs with bytes waiting on both ends, until one end has the number. */
  int extra[2 * 8], n_extra = 0, found = 0;
  while (!found && n_extra < 2 * 8) {
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    write_all(sv[0], "reused!", 7);
    write_all(sv[1], "reused!", 7);
    extra[n_extra++] = sv[0];
    extra[n_extra++] = sv[1];
    found = sv[0] == fd || sv[1] == fd;
  }
  ASSERT_TRUE(found); /* the close freed the number at once */
  /* The readers need no loop to end: bounded, so a reader that never ends fails below. */
  for (int spins = 0; spins < 10000; spins++) {
    int all = 1;
    for (int i = 0; i < N; i++)
      all = all && atomic_load(&r[i].done);
    if (all)
      break;
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  for (int i = 0; i < N; i++) {
    atomic_store(&r[i].stop, 1);
    pthread_join(r[i].thread, NULL);
    ASSERT_EQ(r[i].got, 0);
    ASSERT_EQ(r[i].ended, WEFT_ECLOSED);
  }
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost, 1);
  char b;
  ASSERT_EQ(weft_transport_read_threadsafe(t, &b, 1), WEFT_ECLOSED);
  for (int i = 0; i < n_extra; i++) {
    char got[8];
    ASSERT_EQ(read(extra[i], got, sizeof got), 7); /* nobody took these bytes */
    close(extra[i]);
  }
  pair_free(loop, t, peer, &c);
}

WEFT_TEST(close_and_abort_race_reads) {
  for (int round = 0; round < 10; round++)
    close_race_round(round % 2);
}

/* Handing over and back keeps the byte order: what the loop read before stays with its
 * protocol, what arrives while handed over goes to the thread that reads it, what nobody
 * read when reading is taken back is the loop's next data_received, and the loop reads
 * again after. Pausing and resuming the loop's reading meanwhile does not restart it. */
static void wait_len(weft_loop_t *loop, conn_t *c, size_t len) {
  double deadline = weft_loop_time(loop) + 10;
  while (c->len < len && weft_loop_time(loop) < deadline)
    weft_loop_run_once(loop, 0);
  ASSERT_EQ(c->len, len);
}

static int64_t read_wait(weft_transport_t *t, char *buf, size_t len) {
  for (int tries = 0; tries < 1000; tries++) {
    int64_t n = weft_transport_read_threadsafe(t, buf, len);
    if (n != WEFT_EAGAIN)
      return n;
    struct pollfd p = {.fd = transport_fd(t), .events = POLLIN};
    poll(&p, 1, 100);
  }
  return WEFT_EAGAIN;
}

WEFT_TEST(hand_over_and_back_keeps_order) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {.keep_open = 1};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  char buf[64];
  ASSERT_EQ(weft_transport_read_threadsafe(t, buf, sizeof buf), WEFT_EINVALIDSTATE);
  write_all(peer, "one,", 4);
  wait_len(loop, &c, 4);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1)); /* twice: no change */
  ASSERT_EQ(weft_transport_read_threadsafe(t, buf, sizeof buf), WEFT_EAGAIN);
  write_all(peer, "two,", 4);
  ASSERT_OK(weft_transport_pause_reading(t));
  ASSERT_OK(weft_transport_resume_reading(t));
  spin(loop, 3);
  ASSERT_EQ(c.len, 4); /* the loop did not read "two," */
  ASSERT_EQ(read_wait(t, buf, sizeof buf), 4);
  ASSERT_TRUE(memcmp(buf, "two,", 4) == 0);
  write_all(peer, "three,", 6); /* nobody reads it before reading is taken back */
  struct pollfd p = {.fd = transport_fd(t), .events = POLLIN};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 0));
  ASSERT_EQ(weft_transport_read_threadsafe(t, buf, sizeof buf), WEFT_EINVALIDSTATE);
  wait_len(loop, &c, 10);
  write_all(peer, "four,", 5);
  wait_len(loop, &c, 15);
  ASSERT_TRUE(memcmp(c.data, "one,three,four,", 15) == 0);
  /* Handed over while paused: taking it back leaves the loop paused. */
  ASSERT_OK(weft_transport_pause_reading(t));
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 0));
  write_all(peer, "five,", 5);
  spin(loop, 3);
  ASSERT_EQ(c.len, 15);
  ASSERT_OK(weft_transport_resume_reading(t));
  wait_len(loop, &c, 20);
  ASSERT_EQ(c.eofs, 0);
  ASSERT_OK(weft_transport_close(t));
  ASSERT_EQ(weft_transport_set_read_threadsafe(t, 1), WEFT_ECLOSED);
  ASSERT_EQ(weft_transport_read_threadsafe(t, buf, sizeof buf), WEFT_ECLOSED);
  run_until_flag(loop, &c.lost, 5);
  pair_free(loop, t, peer, &c);
}

/* The loop met the end itself before handing over: the reads say 0 at once and the
 * protocol hears of the end only the once. */
WEFT_TEST(end_read_by_the_loop_is_not_repeated) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {.keep_open = 1};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  write_all(peer, "x", 1);
  ASSERT_OK(shutdown(peer, SHUT_WR));
  run_until_flag(loop, &c.eofs, 5);
  ASSERT_EQ(c.len, 1);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  char buf[8];
  ASSERT_EQ(weft_transport_read_threadsafe(t, buf, sizeof buf), 0);
  spin(loop, 3);
  ASSERT_EQ(c.eofs, 1);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  pair_free(loop, t, peer, &c);
}

/* Only plain stream sockets can be handed over; bad arguments are refused. */
static void u_made(weft_transport_t *t, void *arg) {
  (void)t, (void)arg;
}

WEFT_TEST(other_transports_and_arguments) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char buf[8];
  ASSERT_EQ(weft_transport_set_read_threadsafe(NULL, 1), WEFT_EINVAL);
  ASSERT_EQ(weft_transport_read_threadsafe(NULL, buf, 1), WEFT_EINVAL);
  /* A datagram endpoint. */
  weft_protocol_t dp = {.size = sizeof dp, .connection_made = u_made};
  weft_future_t *f;
  weft_datagram_options_t uo;
  weft_datagram_options_init(&uo);
  uo.local_host = "127.0.0.1";
  ASSERT_OK(weft_create_datagram_endpoint(loop, &dp, NULL, &uo, &f));
  int rc;
  weft_transport_t *u = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(weft_transport_set_read_threadsafe(u, 1), WEFT_ENOTSUP);
  ASSERT_EQ(weft_transport_read_threadsafe(u, buf, sizeof buf), WEFT_EINVALIDSTATE);
  weft_transport_close(u);
  weft_transport_release(u);
  /* A read pipe. */
  int pfd[2];
  ASSERT_OK(pipe2(pfd, O_CLOEXEC));
  conn_t c = {.keep_open = 1};
  ASSERT_OK(weft_connect_read_pipe(loop, &conn_proto, &c, pfd[0], &f));
  weft_transport_t *p = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(weft_transport_set_read_threadsafe(p, 1), WEFT_ENOTSUP);
  /* A TCP one: a zero-length read is refused. */
  conn_t c2 = {.keep_open = 1};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c2, &peer);
  ASSERT_OK(weft_transport_set_read_threadsafe(t, 1));
  ASSERT_EQ(weft_transport_read_threadsafe(t, buf, 0), WEFT_EINVAL);
  ASSERT_EQ(weft_transport_read_threadsafe(t, NULL, 1), WEFT_EINVAL);
  ASSERT_OK(weft_transport_abort(t));
  run_until_flag(loop, &c2.lost, 5);
  weft_transport_close(p);
  run_until_flag(loop, &c.lost, 5);
  weft_transport_release(p);
  close(pfd[1]);
  free(c.data);
  pair_free(loop, t, peer, &c2);
}
