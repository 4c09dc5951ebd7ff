/* weft_transport_write_threadsafe: writes from several threads at once keep each write
 * whole and each thread's order, partial sends queue the rest behind them, a close racing
 * the writers sends every byte it acknowledged, and writes after close, abort, write_eof
 * or a lost connection fail with a clear code. Over TLS the bytes go through the loop. */
#include "net_util.h"

#include "tls_testcerts.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* ---- records: a header (thread, sequence, length) and a payload both sides can compute */

enum { HDR = 9, THREADS = 4 };

static size_t record_size(int seq) {
  static const size_t sizes[] = {16, 1000, 3, 64 * 1024, 700, 1, 20000, 5};
  return seq % 25 == 24 ? 200 * 1024 : sizes[seq % 8];
}

static uint8_t payload_byte(int tid, int seq, size_t i) {
  return (uint8_t)(tid * 31 + seq * 7 + i * 13);
}

static char *make_record(int tid, int seq, size_t *len_out) {
  size_t n = record_size(seq);
  char *r = malloc(HDR + n);
  ASSERT_TRUE(r != NULL);
  r[0] = (char)tid;
  memcpy(r + 1, &seq, 4);
  uint32_t len32 = (uint32_t)n;
  memcpy(r + 5, &len32, 4);
  for (size_t i = 0; i < n; i++)
    r[HDR + i] = (char)payload_byte(tid, seq, i);
  *len_out = HDR + n;
  return r;
}

/* Parses the byte stream as it comes: each record whole, each thread's in order. */
typedef struct parser_s {
  uint8_t hdr[HDR];
  size_t hdr_len;
  int tid, seq;
  size_t left, at;
  int next[THREADS];
  int records;
  int bad;
  size_t bytes;
} parser_t;

static void parse(parser_t *p, const uint8_t *data, size_t len) {
  p->bytes += len;
  while (len > 0 && !p->bad) {
    if (p->hdr_len < HDR) {
      size_t n = HDR - p->hdr_len < len ? HDR - p->hdr_len : len;
      memcpy(p->hdr + p->hdr_len, data, n);
      p->hdr_len += n;
      data += n;
      len -= n;
      if (p->hdr_len < HDR)
        return;
      uint32_t len32;
      p->tid = p->hdr[0];
      memcpy(&p->seq, p->hdr + 1, 4);
      memcpy(&len32, p->hdr + 5, 4);
      if (p->tid >= THREADS || p->seq != p->next[p->tid] || len32 != record_size(p->seq)) {
        fprintf(stderr, "record %d: thread %d seq %d (expected %d) len %u\n", p->records, p->tid,
                p->seq, p->tid < THREADS ? p->next[p->tid] : -1, len32);
        p->bad = 1;
        return;
      }
      p->left = len32;
      p->at = 0;
    }
    size_t n = p->left < len ? p->left : len;
    for (size_t i = 0; i < n; i++)
      if (data[i] != payload_byte(p->tid, p->seq, p->at + i)) {
        fprintf(stderr, "record %d (thread %d seq %d): byte %zu differs\n", p->records, p->tid,
                p->seq, p->at + i);
        p->bad = 1;
        return;
      }
    p->at += n;
    p->left -= n;
    data += n;
    len -= n;
    if (p->left == 0) {
      p->next[p->tid]++;
      p->records++;
      p->hdr_len = 0;
    }
  }
}

/* ---- a plain TCP connection: the transport on the loop, the peer a blocking socket ---- */

typedef struct conn_s {
  int made, lost, lost_error, eofs;
} conn_t;

static void c_made(weft_transport_t *t, void *arg) {
  (void)t;
  ((conn_t *)arg)->made++;
}
static void c_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t, (void)data, (void)len, (void)arg;
}
static int c_eof(weft_transport_t *t, void *arg) {
  (void)t;
  ((conn_t *)arg)->eofs++;
  return 1;
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

/* Connects the loop to a listener of our own; *peer_out is the accepted (blocking) end. */
static weft_transport_t *tcp_pair(weft_loop_t *loop, conn_t *c, int *peer_out) {
  weft_transport_t *t = tcp_pair_with(loop, &conn_proto, c, peer_out);
  ASSERT_EQ(c->made, 1);
  return t;
}

/* tcp_pair, then lets the loop take the first write from another thread: from then on a
 * plain socket is sent on directly. The peer gets "S" first. */
static weft_transport_t *shared_pair(weft_loop_t *loop, conn_t *c, int *peer_out) {
  weft_transport_t *t = tcp_pair(loop, c, peer_out);
  ASSERT_OK(weft_transport_write_threadsafe(t, "", 0));
  ASSERT_TRUE(weft_transport_write_threadsafe(t, "S", 1) >= 0);
  spin(loop, 3);
  return t;
}

/* Lets go of a test's connection, its peer and its loop, in that order. */
static void pair_free(weft_loop_t *loop, weft_transport_t *t, int peer) {
  weft_transport_release(t);
  close(peer);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}

/* ---- the peer's reader thread: parses until `expect` bytes (or EOF) ---- */

typedef struct reader_s {
  int fd;
  weft_loop_t *loop;
  parser_t parser;
  size_t skip;   /* leading bytes that are not records ("S") */
  size_t expect; /* 0: read to EOF */
  int done;      /* set on the loop's thread, by a post */
  void *closer;  /* close_races_writes: what the reader closes */
  pthread_t thread;
} reader_t;

static void reader_finished(void *arg) {
  ((reader_t *)arg)->done = 1;
}

static void *reader_main(void *arg) {
  reader_t *r = arg;
  uint8_t buf[65536];
  for (;;) {
    if (r->expect && r->parser.bytes >= r->expect)
      break;
    ssize_t n = read(r->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size_t off = 0;
    while (r->skip > 0 && off < (size_t)n) {
      r->skip--;
      off++;
    }
    parse(&r->parser, buf + off, (size_t)n - off);
    if (r->parser.bad)
      break;
  }
  ASSERT_OK(weft_call_soon_threadsafe(r->loop, reader_finished, r));
  return NULL;
}

static void reader_start(reader_t *r, weft_loop_t *loop, int fd, size_t skip, size_t expect) {
  memset(r, 0, sizeof *r);
  r->fd = fd;
  r->loop = loop;
  r->skip = skip;
  r->expect = expect;
  ASSERT_OK(pthread_create(&r->thread, NULL, reader_main, r));
}

static void reader_join(weft_loop_t *loop, reader_t *r) {
  double deadline = weft_loop_time(loop) + 60;
  while (!r->done && weft_loop_time(loop) < deadline)
    run_until_flag(loop, &r->done, 0.1);
  ASSERT_TRUE(r->done);
  pthread_join(r->thread, NULL);
}

/* ---- writer threads ---- */

typedef struct writer_s {
  weft_transport_t *t;
  int tid;
  int count; /* records to write; with stop_on_error, the most */
  int stop_on_error;
  int64_t first_error;
  size_t accepted; /* bytes of the writes that returned a size */
  int64_t max_size;
  int writes_after_error, failures_after_error;
  pthread_t thread;
} writer_t;

static void *writer_main(void *arg) {
  writer_t *w = arg;
  for (int seq = 0; seq < w->count; seq++) {
    size_t len;
    char *rec = make_record(w->tid, seq, &len);
    int64_t rc = weft_transport_write_threadsafe(w->t, rec, len);
    free(rec);
    if (rc < 0) {
      if (w->first_error == 0)
        w->first_error = rc;
      /* Once one failed, every later one must fail too. */
      for (int i = 0; i < 10; i++) {
        w->writes_after_error++;
        if (weft_transport_write_threadsafe(w->t, "x", 1) < 0)
          w->failures_after_error++;
      }
      break;
    }
    w->accepted += len;
    if (rc > w->max_size)
      w->max_size = rc;
    /* Keep the loop's queue bounded, as a binding waits for drain above its high mark. */
    for (int spins = 0; rc > 4 << 20 && spins < 100000; spins++) {
      nanosleep(&(struct timespec){0, 200000}, NULL);
      rc = weft_transport_write_threadsafe(w->t, "", 0);
      if (rc < 0)
        break;
    }
  }
  return NULL;
}

static void writers_start(writer_t *ws, int n, weft_transport_t *t, int count) {
  for (int i = 0; i < n; i++) {
    ws[i] = (writer_t){.t = t, .tid = i, .count = count};
    ASSERT_OK(pthread_create(&ws[i].thread, NULL, writer_main, &ws[i]));
  }
}

static size_t expected_bytes(int count) {
  size_t total = 0;
  for (int seq = 0; seq < count; seq++)
    total += HDR + record_size(seq);
  return total;
}

/* The loop runs on this thread while the writers write from theirs; a post from each
 * writer's end would need a loop pointer, so they are joined once the reader has all. */
WEFT_TEST(order_across_threads_tcp) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {0};
  int peer;
  weft_transport_t *t = shared_pair(loop, &c, &peer);
  enum { COUNT = 150 };
  reader_t r;
  reader_start(&r, loop, peer, 1, THREADS * expected_bytes(COUNT));
  writer_t ws[THREADS];
  writers_start(ws, THREADS, t, COUNT);
  reader_join(loop, &r);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(ws[i].thread, NULL);
    ASSERT_OK(ws[i].first_error);
  }
  ASSERT_EQ(r.parser.bad, 0);
  ASSERT_EQ(r.parser.records, THREADS * COUNT);
  for (int i = 0; i < THREADS; i++)
    ASSERT_EQ(r.parser.next[i], COUNT);
  ASSERT_EQ(c.lost, 0);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost_error, 0);
  pair_free(loop, t, peer);
}

/* A socket that takes nothing more: the direct send takes what fits, the rest waits in
 * the transport (the size says so), later writes queue behind it, and the peer gets every
 * byte in order once it reads. */
WEFT_TEST(partial_send_queues_rest) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {0};
  int peer;
  weft_transport_t *t = shared_pair(loop, &c, &peer);
  /* Nothing queued: a small write goes straight to the kernel. */
  size_t len;
  char *rec = make_record(0, 0, &len);
  ASSERT_EQ(weft_transport_write_threadsafe(t, rec, len), 0);
  free(rec);
  int seq = 1;
  int64_t size = 0;
  for (; seq < 4000 && size == 0; seq++) {
    rec = make_record(0, seq, &len);
    size = weft_transport_write_threadsafe(t, rec, len);
    free(rec);
    ASSERT_TRUE(size >= 0);
  }
  ASSERT_TRUE(size > 0); /* the socket filled: part of that write waits */
  /* More while the rest waits: queued behind it, never sent past it. */
  for (int i = 0; i < 50; i++, seq++) {
    rec = make_record(0, seq, &len);
    int64_t now = weft_transport_write_threadsafe(t, rec, len);
    free(rec);
    ASSERT_EQ(now, size + (int64_t)len);
    size = now;
  }
  reader_t r;
  reader_start(&r, loop, peer, 1, expected_bytes(seq));
  reader_join(loop, &r);
  ASSERT_EQ(r.parser.bad, 0);
  ASSERT_EQ(r.parser.next[0], seq);
  /* Everything written: the size the writers see falls back to 0. */
  ASSERT_EQ(weft_transport_write_threadsafe(t, "", 0), 0);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  pair_free(loop, t, peer);
}

/* The loop closes the transport while the writers write: each writer's writes succeed up
 * to one that fails with WEFT_ECLOSED, and so do all after it; the peer receives exactly
 * the bytes the successful writes accepted, whole and in order, then EOF. */
typedef struct closer_s {
  weft_transport_t *t;
  int closed;
} closer_t;

static void close_now(void *arg) {
  closer_t *cl = arg;
  ASSERT_OK(weft_transport_close(cl->t));
  cl->closed = 1;
}

static void *peer_reader_closing(void *arg) {
  reader_t *r = arg;
  uint8_t buf[65536];
  int posted = 0;
  for (;;) {
    ssize_t n = read(r->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size_t off = r->skip > 0 ? 1 : 0;
    r->skip -= off;
    parse(&r->parser, buf + off, (size_t)n - off);
    if (!posted && r->parser.bytes > 2 << 20) {
      posted = 1; /* the writers are under way: close now, from the loop */
      ASSERT_OK(weft_call_soon_threadsafe(r->loop, close_now, r->closer));
    }
  }
  ASSERT_OK(weft_call_soon_threadsafe(r->loop, reader_finished, r));
  return NULL;
}

WEFT_TEST(close_races_writes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {0};
  int peer;
  weft_transport_t *t = shared_pair(loop, &c, &peer);
  closer_t cl = {.t = t};
  reader_t r;
  memset(&r, 0, sizeof r);
  r.fd = peer;
  r.loop = loop;
  r.skip = 1;
  r.closer = &cl;
  ASSERT_OK(pthread_create(&r.thread, NULL, peer_reader_closing, &r));
  writer_t ws[THREADS];
  writers_start(ws, THREADS, t, 100000);
  double deadline = weft_loop_time(loop) + 60;
  while (!r.done && weft_loop_time(loop) < deadline)
    run_until_flag(loop, &r.done, 0.1);
  ASSERT_TRUE(r.done);
  pthread_join(r.thread, NULL);
  ASSERT_EQ(cl.closed, 1);
  size_t accepted = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(ws[i].thread, NULL);
    ASSERT_CODE((int)ws[i].first_error, WEFT_ECLOSED);
    ASSERT_EQ(ws[i].failures_after_error, ws[i].writes_after_error);
    accepted += ws[i].accepted;
  }
  ASSERT_EQ(r.parser.bad, 0);
  ASSERT_EQ(r.parser.bytes, accepted);
  ASSERT_EQ(r.parser.hdr_len, 0); /* no record cut short */
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost, 1);
  ASSERT_CODE(weft_transport_write_threadsafe(t, "x", 1), WEFT_ECLOSED);
  pair_free(loop, t, peer);
}

/* Reads the peer until EOF while the loop runs (its close or shutdown happens there). */
static size_t read_to_eof(weft_loop_t *loop, int fd, char *buf, size_t cap) {
  ASSERT_OK(fcntl(fd, F_SETFL, O_NONBLOCK));
  size_t got = 0;
  double deadline = weft_loop_time(loop) + 10;
  while (weft_loop_time(loop) < deadline) {
    ssize_t n = read(fd, buf + got, cap - got);
    if (n == 0)
      return got;
    if (n > 0)
      got += (size_t)n;
    else if (errno != EAGAIN && errno != EINTR)
      break;
    weft_loop_run_once(loop, 1);
  }
  WEFT_FAIL_AT("no EOF from the peer");
}

/* After close, abort and write_eof, and once the connection is lost, a write fails at once
 * with its code, accepting nothing. */
WEFT_TEST(errors_after_close_abort_eof) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  for (int how = 0; how < 3; how++) {
    conn_t c = {0};
    int peer;
    weft_transport_t *t = shared_pair(loop, &c, &peer);
    ASSERT_EQ(weft_transport_write_threadsafe(t, "ab", 2), 0);
    if (how == 0) {
      ASSERT_OK(weft_transport_close(t));
      ASSERT_CODE(weft_transport_write_threadsafe(t, "x", 1), WEFT_ECLOSED);
    } else if (how == 1) {
      ASSERT_OK(weft_transport_abort(t));
      ASSERT_CODE(weft_transport_write_threadsafe(t, "x", 1), WEFT_ECLOSED);
    } else {
      ASSERT_OK(weft_transport_write_eof(t));
      ASSERT_CODE(weft_transport_write_threadsafe(t, "x", 1), WEFT_EINVALIDSTATE);
      ASSERT_CODE(weft_transport_write_threadsafe(t, "", 0), WEFT_EINVALIDSTATE);
    }
    if (how != 1) { /* the peer gets what was written before, then EOF */
      char buf[8];
      ASSERT_EQ(read_to_eof(loop, peer, buf, sizeof buf), 3);
      ASSERT_TRUE(memcmp(buf, "Sab", 3) == 0);
    }
    if (how == 2)
      ASSERT_OK(weft_transport_close(t));
    run_until_flag(loop, &c.lost, 5);
    ASSERT_EQ(c.lost, 1);
    ASSERT_TRUE(weft_transport_write_threadsafe(t, "x", 1) < 0);
    weft_transport_release(t);
    close(peer);
  }
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}

/* A peer that resets: the writing thread's own send fails, the write reports it, later
 * writes fail with the same code, and the loop ends the connection with it. */
WEFT_TEST(reset_fails_direct_send) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {0};
  int peer;
  weft_transport_t *t = shared_pair(loop, &c, &peer);
  char s;
  ASSERT_EQ(read(peer, &s, 1), 1);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  ASSERT_OK(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  close(peer); /* RST */
  /* The reset arrives asynchronously: a send may still succeed first (bounded). */
  int64_t rc = 0;
  for (int i = 0; i < 1000 && rc >= 0; i++) {
    rc = weft_transport_write_threadsafe(t, "data", 4);
    if (rc >= 0)
      nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  ASSERT_TRUE(rc == WEFT_ECONNRESET || rc == WEFT_EPIPE);
  ASSERT_CODE((int)weft_transport_write_threadsafe(t, "x", 1), (int)rc);
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost, 1);
  ASSERT_CODE(c.lost_error, (int)rc);
  ASSERT_CODE((int)weft_transport_write_threadsafe(t, "x", 1), (int)rc);
  weft_transport_release(t);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}

/* The loop closes (or the transport is let go) while a flush is posted: nothing leaks and
 * nothing runs on freed memory (valgrind, ASan). */
static void set_flag(void *arg) {
  *(int *)arg = 1;
}

static void write_abort_release(void *arg) {
  weft_transport_t *t = arg;
  ASSERT_EQ(weft_transport_write_threadsafe(t, "abc", 3), 3);
  ASSERT_OK(weft_transport_abort(t));
  weft_transport_release(t);
}

WEFT_TEST(loop_close_with_flush_posted) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {0};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  ASSERT_EQ(weft_transport_write_threadsafe(t, "abc", 3), 3); /* posted, not yet taken */
  weft_transport_release(t);                                  /* the connection's stays */
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(c.lost, 1);
  ASSERT_CODE(c.lost_error, WEFT_ECLOSED);
  weft_loop_release(loop);
  close(peer);

  /* The last reference goes while the flush is posted: a timer runs after this iteration's
   * poll, so its post waits for the next one, while the handle's close callback comes at
   * the end of this one. The flush then frees the transport. */
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c2 = {0};
  t = tcp_pair(loop, &c2, &peer);
  weft_handle_t *h;
  ASSERT_OK(weft_call_later(loop, 0, write_abort_release, t, &h));
  weft_handle_release(h);
  run_until_flag(loop, &c2.lost, 5); /* connection_lost comes from the ready queue */
  ASSERT_EQ(c2.lost, 1);
  /* Posts run in order: once this one has, so has the flush. */
  int after = 0;
  ASSERT_OK(weft_call_soon_threadsafe(loop, set_flag, &after));
  run_until_flag(loop, &after, 10);
  ASSERT_EQ(after, 1);
  close(peer);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}

WEFT_TEST(bad_arguments) {
  ASSERT_CODE((int)weft_transport_write_threadsafe(NULL, "x", 1), WEFT_EINVAL);
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  conn_t c = {0};
  int peer;
  weft_transport_t *t = tcp_pair(loop, &c, &peer);
  ASSERT_CODE((int)weft_transport_write_threadsafe(t, NULL, 1), WEFT_EINVAL);
  ASSERT_OK(weft_transport_write_threadsafe(t, NULL, 0));
  weft_future_t *f;
  weft_datagram_options_t o;
  weft_datagram_options_init(&o);
  o.local_host = "127.0.0.1";
  ASSERT_OK(weft_create_datagram_endpoint(loop, &conn_proto, &c, &o, &f));
  int rc;
  weft_transport_t *u = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_CODE((int)weft_transport_write_threadsafe(u, "x", 1), WEFT_ENOTSUP);
  weft_transport_close(u);
  weft_transport_release(u);
  weft_transport_close(t);
  spin(loop, 3);
  pair_free(loop, t, peer);
}

/* ---- TLS: no direct sends; every write is queued and posted, still whole and in order */

typedef struct tls_srv_s {
  parser_t parser;
  int made, lost;
  int close_at_made; /* sends close_notify as soon as the handshake is done */
  size_t skip;
} tls_srv_t;

static void ts_made(weft_transport_t *t, void *arg) {
  tls_srv_t *s = arg;
  s->made++;
  if (s->close_at_made)
    ASSERT_OK(weft_transport_close(t));
}
static void ts_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t;
  tls_srv_t *s = arg;
  while (s->skip > 0 && len > 0) {
    s->skip--;
    data++;
    len--;
  }
  parse(&s->parser, (const uint8_t *)data, len);
}
static void ts_lost(weft_transport_t *t, int error, void *arg) {
  (void)t, (void)error;
  ((tls_srv_t *)arg)->lost++;
}
static int ts_factory(void *farg, weft_protocol_t *p, void **arg) {
  p->connection_made = ts_made;
  p->data_received = ts_data;
  p->connection_lost = ts_lost;
  *arg = farg;
  return 0;
}

/* A TLS server on the loop and a client connected to it; the client's transport is
 * returned (a reference of the caller's). */
typedef struct tls_env_s {
  weft_tls_context_t *sctx, *cctx;
  weft_server_t *server;
} tls_env_t;

static weft_transport_t *tls_pair(weft_loop_t *loop, tls_srv_t *srv, conn_t *c, tls_env_t *env) {
  const weft_testcerts_t *certs = weft_testcerts();
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &env->sctx));
  ASSERT_OK(weft_tls_context_load_cert_chain_pem(env->sctx, certs->server.cert_pem,
                                                 certs->server.cert_len, certs->server.key_pem,
                                                 certs->server.key_len, NULL));
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &env->cctx));
  ASSERT_OK(weft_tls_context_load_verify_pem(env->cctx, certs->ca.cert_pem, certs->ca.cert_len));
  weft_tls_options_t stls = {.size = sizeof stls, .context = env->sctx};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &stls;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, ts_factory, srv, NULL, "127.0.0.1", 0, &so, &f));
  int rc;
  env->server = await_server(loop, f, &rc);
  ASSERT_OK(rc);
  weft_tls_options_t ctls = {.size = sizeof ctls, .context = env->cctx};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &ctls;
  ASSERT_OK(weft_create_connection(loop, &conn_proto, c, "127.0.0.1", weft_server_port(env->server),
                                   &co, &f));
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  return t;
}

static void tls_env_free(weft_loop_t *loop, tls_env_t *env) {
  ASSERT_OK(weft_server_close(env->server));
  weft_server_release(env->server);
  spin(loop, 3);
  weft_tls_context_release(env->sctx);
  weft_tls_context_release(env->cctx);
}

WEFT_TEST(tls_order_across_threads) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  tls_srv_t srv = {.skip = 1};
  conn_t c = {0};
  tls_env_t env;
  weft_transport_t *t = tls_pair(loop, &srv, &c, &env);
  /* Queued, not sent: the size covers the bytes until the loop takes them. */
  ASSERT_EQ(weft_transport_write_threadsafe(t, "S", 1), 1);
  spin(loop, 3);
  enum { COUNT = 60 };
  writer_t ws[THREADS];
  writers_start(ws, THREADS, t, COUNT);
  size_t want = THREADS * expected_bytes(COUNT);
  double deadline = weft_loop_time(loop) + 60;
  while (srv.parser.bytes < want && !srv.parser.bad && weft_loop_time(loop) < deadline)
    run_until_flag(loop, &srv.parser.bad, 0.05);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(ws[i].thread, NULL);
    ASSERT_OK(ws[i].first_error);
  }
  ASSERT_EQ(srv.parser.bad, 0);
  ASSERT_EQ(srv.parser.records, THREADS * COUNT);
  ASSERT_EQ(srv.parser.bytes, want);
  ASSERT_OK(weft_transport_close(t));
  ASSERT_CODE(weft_transport_write_threadsafe(t, "x", 1), WEFT_ECLOSED);
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &srv.lost, 5);
  weft_transport_release(t);
  tls_env_free(loop, &env);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}

/* The peer closes first (close_notify): the layer starts its own shutdown, and from then
 * on a write fails instead of being accepted and dropped. */
WEFT_TEST(tls_peer_close_ends_writes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  tls_srv_t srv = {.close_at_made = 1};
  conn_t c = {0};
  tls_env_t env;
  weft_transport_t *t = tls_pair(loop, &srv, &c, &env);
  run_until_flag(loop, &c.eofs, 10);
  ASSERT_EQ(c.eofs, 1);
  ASSERT_CODE((int)weft_transport_write_threadsafe(t, "x", 1), WEFT_ECLOSED);
  run_until_flag(loop, &c.lost, 10);
  ASSERT_EQ(c.lost, 1);
  weft_transport_release(t);
  run_until_flag(loop, &srv.lost, 10);
  tls_env_free(loop, &env);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}
