/* Streams: StreamReader semantics fed by hand, and streams over TCP and Unix sockets. */
#include "net_util.h"

#include <stdlib.h>
#include <unistd.h>

static const char *bytes_of(weft_future_t *f, size_t *len) {
  const weft_value_t *v = NULL;
  if (weft_future_result(f, &v) != 0 || !v || v->type != WEFT_VALUE_BYTES)
    return NULL;
  *len = v->len;
  return v->ptr;
}

#define ASSERT_BYTES(f, str)                                                                       \
  do {                                                                                             \
    size_t l_ = 0;                                                                                 \
    const char *b_ = bytes_of(f, &l_);                                                             \
    ASSERT_TRUE(b_ != NULL);                                                                       \
    ASSERT_EQ(l_, strlen(str));                                                                    \
    ASSERT_TRUE(memcmp(b_, str, l_) == 0);                                                         \
  } while (0)

/* A read that takes everything buffered takes the buffer itself (no copy): its bytes must
 * outlive the reader and later data, and reads that take part of the buffer still copy. */
WEFT_TEST(read_of_the_whole_buffer_keeps_its_bytes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  weft_future_t *a, *b, *c, *d, *e;
  ASSERT_OK(weft_stream_feed_data(r, "abc", 3));
  ASSERT_OK(weft_stream_read(r, 10, &a));
  ASSERT_TRUE(weft_future_done(a));
  ASSERT_EQ(weft_stream_reader_buffered(r), 0);
  char big[1000];
  memset(big, 'q', sizeof big);
  ASSERT_OK(weft_stream_feed_data(r, big, sizeof big));
  ASSERT_OK(weft_stream_read(r, (int64_t)sizeof big, &b));
  ASSERT_OK(weft_stream_feed_data(r, "hello world", 11));
  ASSERT_OK(weft_stream_read(r, 5, &c));
  ASSERT_OK(weft_stream_read(r, 100, &d));
  ASSERT_OK(weft_stream_feed_data(r, "again\n", 6));
  ASSERT_OK(weft_stream_read(r, 6, &e));
  weft_stream_reader_release(r);
  ASSERT_BYTES(a, "abc");
  size_t len = 0;
  const char *got = bytes_of(b, &len);
  ASSERT_TRUE(got != NULL);
  ASSERT_EQ(len, sizeof big);
  ASSERT_TRUE(memcmp(got, big, len) == 0);
  ASSERT_TRUE(got[len] == '\0');
  ASSERT_BYTES(c, "hello");
  ASSERT_BYTES(d, " world");
  ASSERT_BYTES(e, "again\n");
  weft_future_t *all[] = {a, b, c, d, e};
  for (size_t i = 0; i < 5; i++)
    weft_future_release(all[i]);
  weft_test_close_loop(loop);
}

WEFT_TEST(readline_every_split) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *text = "hello\nworld\n";
  size_t n = strlen(text);
  for (size_t split = 0; split <= n; split++) {
    weft_stream_reader_t *r;
    ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
    weft_future_t *a, *b;
    ASSERT_OK(weft_stream_readline(r, &a));
    ASSERT_CODE(weft_stream_readline(r, &b), WEFT_EINVALIDSTATE); /* one waiter at a time */
    ASSERT_OK(weft_stream_feed_data(r, text, split));
    ASSERT_OK(weft_stream_feed_data(r, text + split, n - split));
    ASSERT_TRUE(weft_future_done(a));
    ASSERT_BYTES(a, "hello\n");
    ASSERT_OK(weft_stream_readline(r, &b));
    ASSERT_TRUE(weft_future_done(b));
    ASSERT_BYTES(b, "world\n");
    weft_future_release(a);
    weft_future_release(b);
    weft_stream_reader_release(r);
  }
  /* one byte at a time */
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  weft_future_t *a;
  ASSERT_OK(weft_stream_readline(r, &a));
  for (size_t i = 0; i < 6; i++) {
    ASSERT_TRUE(!weft_future_done(a));
    ASSERT_OK(weft_stream_feed_data(r, text + i, 1));
  }
  ASSERT_BYTES(a, "hello\n");
  weft_future_release(a);
  /* readuntil with two separators, fed byte by byte: the match that ends first wins */
  const void *seps[2] = {"\r\n", "!!"};
  size_t lens[2] = {2, 2};
  ASSERT_OK(weft_stream_readuntil(r, seps, lens, 2, &a));
  const char *t2 = "abc!!def\r\n";
  for (size_t i = 0; i < strlen(t2); i++)
    ASSERT_OK(weft_stream_feed_data(r, t2 + i, 1));
  ASSERT_BYTES(a, "abc!!");
  weft_future_release(a);
  ASSERT_OK(weft_stream_readuntil(r, seps, lens, 2, &a));
  ASSERT_BYTES(a, "def\r\n");
  weft_future_release(a);
  weft_stream_reader_release(r);
  weft_test_close_loop(loop);
}

WEFT_TEST(readexactly_every_split_and_eof) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *text = "0123456789";
  for (size_t split = 0; split <= 10; split++) {
    weft_stream_reader_t *r;
    ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
    weft_future_t *a;
    ASSERT_OK(weft_stream_readexactly(r, 10, &a));
    weft_stream_feed_data(r, text, split);
    ASSERT_EQ(weft_future_done(a), split == 10);
    weft_stream_feed_data(r, text + split, 10 - split);
    ASSERT_BYTES(a, "0123456789");
    weft_future_release(a);
    weft_stream_reader_release(r);
  }
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  weft_future_t *a;
  ASSERT_OK(weft_stream_readexactly(r, 8, &a));
  weft_stream_feed_data(r, "abc", 3);
  weft_stream_feed_eof(r);
  ASSERT_CODE(weft_future_error(a), WEFT_EINCOMPLETE);
  size_t plen;
  const char *p = weft_stream_error_partial(a, &plen);
  ASSERT_EQ(plen, 3);
  ASSERT_TRUE(memcmp(p, "abc", 3) == 0);
  ASSERT_EQ(weft_stream_error_consumed(a), 8);
  ASSERT_TRUE(weft_stream_at_eof(r));
  weft_future_release(a);
  /* read at EOF gives empty bytes, readline too */
  ASSERT_OK(weft_stream_read(r, 100, &a));
  ASSERT_BYTES(a, "");
  weft_future_release(a);
  weft_stream_reader_release(r);
  weft_test_close_loop(loop);
}

WEFT_TEST(read_all_and_read_n) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  weft_future_t *a;
  ASSERT_OK(weft_stream_read(r, -1, &a));
  weft_stream_feed_data(r, "ab", 2);
  weft_stream_feed_data(r, "cd", 2);
  ASSERT_TRUE(!weft_future_done(a));
  weft_stream_feed_eof(r);
  ASSERT_BYTES(a, "abcd");
  weft_future_release(a);
  weft_stream_reader_release(r);
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  weft_stream_feed_data(r, "abcdef", 6);
  ASSERT_OK(weft_stream_read(r, 4, &a));
  ASSERT_BYTES(a, "abcd");
  weft_future_release(a);
  ASSERT_OK(weft_stream_read(r, 0, &a));
  ASSERT_BYTES(a, "");
  weft_future_release(a);
  ASSERT_EQ(weft_stream_reader_buffered(r), 2);
  /* an error fails the waiting read and the next ones */
  weft_stream_feed_data(r, "", 0);
  ASSERT_OK(weft_stream_read(r, 4, &a));
  ASSERT_BYTES(a, "ef");
  weft_future_release(a);
  ASSERT_OK(weft_stream_read(r, 4, &a));
  ASSERT_OK(weft_stream_set_error(r, WEFT_ECONNRESET));
  ASSERT_CODE(weft_future_error(a), WEFT_ECONNRESET);
  weft_future_release(a);
  ASSERT_OK(weft_stream_readline(r, &a));
  ASSERT_CODE(weft_future_error(a), WEFT_ECONNRESET);
  weft_future_release(a);
  ASSERT_EQ(weft_stream_reader_error(r), WEFT_ECONNRESET);
  weft_stream_reader_release(r);
  /* a cancelled read frees its place */
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  ASSERT_OK(weft_stream_read(r, 4, &a));
  ASSERT_EQ(weft_future_cancel(a, NULL), 1);
  weft_future_t *b;
  ASSERT_OK(weft_stream_read(r, 4, &b));
  weft_stream_feed_data(r, "xy", 2);
  ASSERT_BYTES(b, "xy");
  weft_future_release(a);
  weft_future_release(b);
  weft_stream_reader_release(r);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

WEFT_TEST(limit_overrun) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 8, &r));
  ASSERT_EQ(weft_stream_reader_limit(r), 8);
  const void *seps[1] = {"\n"};
  size_t lens[1] = {1};
  weft_future_t *a;
  /* separator found beyond the limit: error, data stays */
  weft_stream_feed_data(r, "0123456789AB\nrest", 17);
  ASSERT_OK(weft_stream_readuntil(r, seps, lens, 1, &a));
  ASSERT_CODE(weft_future_error(a), WEFT_ELIMITOVERRUN);
  ASSERT_EQ(weft_stream_error_consumed(a), 12);
  ASSERT_EQ(weft_stream_reader_buffered(r), 17);
  weft_future_release(a);
  /* readline drops the over-long line and keeps the rest */
  ASSERT_OK(weft_stream_readline(r, &a));
  ASSERT_CODE(weft_future_error(a), WEFT_ELIMITOVERRUN);
  weft_future_release(a);
  ASSERT_EQ(weft_stream_reader_buffered(r), 4);
  weft_stream_reader_release(r);
  /* no separator and more than the limit buffered */
  ASSERT_OK(weft_stream_reader_new(loop, 8, &r));
  ASSERT_OK(weft_stream_readuntil(r, seps, lens, 1, &a));
  weft_stream_feed_data(r, "0123456789ABCDEF", 16);
  ASSERT_CODE(weft_future_error(a), WEFT_ELIMITOVERRUN);
  ASSERT_EQ(weft_stream_reader_buffered(r), 16);
  weft_future_release(a);
  ASSERT_OK(weft_stream_readline(r, &a));
  ASSERT_CODE(weft_future_error(a), WEFT_ELIMITOVERRUN);
  ASSERT_EQ(weft_stream_reader_buffered(r), 0); /* cleared, as asyncio */
  weft_future_release(a);
  /* readuntil at EOF without separator: incomplete with everything */
  weft_stream_feed_data(r, "tail", 4);
  weft_stream_feed_eof(r);
  ASSERT_OK(weft_stream_readuntil(r, seps, lens, 1, &a));
  ASSERT_CODE(weft_future_error(a), WEFT_EINCOMPLETE);
  size_t pl;
  ASSERT_TRUE(weft_stream_error_partial(a, &pl) != NULL);
  ASSERT_EQ(pl, 4);
  weft_future_release(a);
  ASSERT_CODE(weft_stream_readuntil(r, seps, lens, 0, &a), WEFT_EINVAL);
  size_t zero = 0;
  ASSERT_CODE(weft_stream_readuntil(r, seps, &zero, 1, &a), WEFT_EINVAL);
  ASSERT_CODE(weft_stream_feed_data(r, "x", 1), WEFT_EINVALIDSTATE);
  weft_stream_reader_release(r);
  weft_test_close_loop(loop);
}

/* Found by fuzz_stream_reader. With separators whose matches end at the same byte, the
 * shortest one's start is checked against the limit (asyncio sorts them by length). */
WEFT_TEST(readuntil_tie_prefers_shortest_separator) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 2, &r));
  const void *seps[2] = {"ab", "b"};
  size_t lens[2] = {2, 1};
  ASSERT_OK(weft_stream_feed_data(r, "xxab", 4));
  weft_future_t *a;
  ASSERT_OK(weft_stream_readuntil(r, seps, lens, 2, &a));
  ASSERT_CODE(weft_future_error(a), WEFT_ELIMITOVERRUN);
  ASSERT_EQ(weft_stream_error_consumed(a), 3);
  ASSERT_EQ(weft_stream_reader_buffered(r), 4);
  weft_future_release(a);
  weft_stream_reader_release(r);
  weft_test_close_loop(loop);
}

/* Found by fuzz_stream_reader: read(0) answers at once, but not past an error. */
WEFT_TEST(read_zero_reports_the_error) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  weft_future_t *a;
  ASSERT_OK(weft_stream_read(r, 0, &a));
  ASSERT_OK(weft_future_error(a));
  weft_future_release(a);
  ASSERT_OK(weft_stream_set_error(r, WEFT_ECONNRESET));
  ASSERT_OK(weft_stream_read(r, 0, &a));
  ASSERT_CODE(weft_future_error(a), WEFT_ECONNRESET);
  weft_future_release(a);
  weft_value_t v;
  ASSERT_CODE(weft_stream_read_await(r, 0, &v), WEFT_ECONNRESET);
  weft_value_clear(&v);
  weft_stream_reader_release(r);
  weft_test_close_loop(loop);
}

/* ---- over TCP, in tasks ---- */

static int handle_client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  int *served = arg;
  for (;;) {
    weft_value_t line;
    int rc = weft_stream_readline_await(r, &line);
    if (rc)
      return rc;
    if (line.len == 0) {
      weft_value_clear(&line);
      break;
    }
    weft_stream_write(w, line.ptr, line.len);
    weft_value_clear(&line);
    rc = weft_stream_drain_await(w);
    if (rc)
      return rc;
  }
  /* the client half-closed: answer, then close */
  weft_stream_write(w, "bye\n", 4);
  weft_stream_close(w);
  (*served)++;
  return weft_stream_wait_closed_await(w);
}

typedef struct client_ctx_s {
  int port;
  int ok;
  weft_loop_t *loop;
  int even; /* big_client: equal pieces */
} client_ctx_t;

static int client_main(weft_task_t *self, void *arg) {
  client_ctx_t *cx = arg;
  weft_stream_reader_t *r;
  weft_stream_writer_t *w;
  int rc = weft_open_connection_await(cx->loop, "127.0.0.1", cx->port, NULL, &r, &w);
  if (rc)
    return rc;
  for (int i = 0; i < 10; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "line %d\n", i);
    weft_stream_write(w, msg, (size_t)n);
    if ((rc = weft_stream_drain_await(w)))
      return rc;
    weft_value_t v;
    if ((rc = weft_stream_readline_await(r, &v)))
      return rc;
    int same = v.len == (size_t)n && memcmp(v.ptr, msg, (size_t)n) == 0;
    weft_value_clear(&v);
    if (!same)
      return WEFT_EPROTO;
  }
  weft_stream_write_eof(w); /* half-close; the server still answers */
  weft_value_t all;
  if ((rc = weft_stream_read_await(r, -1, &all)))
    return rc;
  int bye = all.len == 4 && memcmp(all.ptr, "bye\n", 4) == 0;
  weft_value_clear(&all);
  char buf[4];
  size_t got = 99;
  ASSERT_CODE(weft_stream_readexactly_into_await(r, buf, 4, &got), WEFT_EINCOMPLETE);
  ASSERT_EQ(got, 0);
  weft_stream_close(w);
  rc = weft_stream_wait_closed_await(w);
  weft_stream_reader_release(r);
  weft_stream_writer_release(w);
  cx->ok = bye;
  return rc;
}

WEFT_TEST(echo_tasks_half_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int served = 0;
  weft_stream_options_t so = {.size = sizeof(so), .client_in_task = 1};
  weft_future_t *sf;
  ASSERT_OK(weft_start_server(loop, handle_client, &served, NULL, "127.0.0.1", 0, &so, &sf));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, sf, &rc));
  ASSERT_OK(rc);
  weft_future_release(sf);
  client_ctx_t cx = {.port = weft_server_port(s), .loop = loop};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, client_main, &cx, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  ASSERT_TRUE(cx.ok);
  weft_server_close(s);
  weft_future_t *wc;
  ASSERT_OK(weft_server_wait_closed(s, &wc));
  ASSERT_OK(weft_loop_run_until_complete(loop, wc));
  weft_future_release(wc);
  ASSERT_EQ(served, 1);
  weft_server_release(s);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- many concurrent clients ---- */

static int many_client(weft_task_t *self, void *arg) {
  client_ctx_t *cx = arg;
  weft_stream_reader_t *r;
  weft_stream_writer_t *w;
  int rc = weft_open_connection_await(cx->loop, "127.0.0.1", cx->port, NULL, &r, &w);
  if (rc)
    return rc;
  weft_stream_write(w, "ping\n", 5);
  weft_value_t v;
  rc = weft_stream_readline_await(r, &v);
  if (rc == 0 && v.len == 5)
    cx->ok++;
  weft_value_clear(&v);
  weft_stream_write_eof(w);
  weft_value_t rest;
  weft_stream_read_await(r, -1, &rest);
  weft_value_clear(&rest);
  weft_stream_reader_release(r);
  weft_stream_writer_release(w);
  return rc;
}

WEFT_TEST(many_connections) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int served = 0;
  weft_stream_options_t so = {.size = sizeof(so), .client_in_task = 1};
  weft_future_t *sf;
  ASSERT_OK(weft_start_server(loop, handle_client, &served, NULL, "127.0.0.1", 0, &so, &sf));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, sf, &rc));
  weft_future_release(sf);
  enum { N = 200 };
  client_ctx_t cx = {.port = weft_server_port(s), .loop = loop};
  weft_future_t *fs[N];
  for (int i = 0; i < N; i++) {
    weft_task_t *t;
    ASSERT_OK(weft_task_spawn(loop, many_client, &cx, NULL, &t));
    fs[i] = weft_task_future(t);
  }
  weft_future_t *g;
  ASSERT_OK(weft_gather(loop, fs, N, 0, &g));
  ASSERT_OK(weft_loop_run_until_complete(loop, g));
  weft_future_release(g);
  for (int i = 0; i < N; i++)
    weft_future_release(fs[i]);
  ASSERT_EQ(cx.ok, N);
  weft_server_close(s);
  weft_future_t *wc;
  ASSERT_OK(weft_server_wait_closed(s, &wc));
  ASSERT_OK(weft_loop_run_until_complete(loop, wc));
  weft_future_release(wc);
  ASSERT_EQ(served, N);
  weft_server_release(s);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- large transfers: reads of every form and size over uneven pieces ---- */

enum { BIG = 300 * 1024 };

static char pattern_at(size_t i) {
  return (char)('a' + (i * 7 + i / 4096) % 26);
}

typedef struct big_ctx_s {
  weft_loop_t *loop;
  size_t echoed;
  int simple; /* only read(64 KiB), each after a pause */
} big_ctx_t;

/* Echoes with a mix of read forms and sizes: read(64 KiB) and read(5000) awaited, read(n)
 * as a future, readexactly: each may take its bytes directly or from the buffer. Before
 * each read(64 KiB) it lets data pile up, so that the read finds it buffered (and may take
 * the whole buffer). */
static int big_echo(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  big_ctx_t *bx = arg;
  for (int i = 0;; i++) {
    weft_value_t v = weft_value_none();
    int rc;
    if ((bx->simple || i % 4 == 0) && (rc = weft_sleep_await(bx->loop, 0.005)))
      return rc;
    if (bx->simple) {
      rc = weft_stream_read_await(r, 64 * 1024, &v);
    } else if (i % 4 == 2) {
      weft_future_t *f;
      if ((rc = weft_stream_read(r, 20000, &f)))
        return rc;
      rc = weft_await(f);
      const weft_value_t *res;
      if (rc == 0 && (rc = weft_future_result(f, &res)) == 0)
        rc = weft_value_bytes(&v, res->ptr, res->len);
      weft_future_release(f);
    } else if (i % 4 == 3) {
      rc = weft_stream_readexactly_await(r, 3000, &v);
      if (rc == WEFT_EINCOMPLETE)
        rc = 0; /* EOF: v holds the tail, shorter than 3000 (maybe empty) */
    } else {
      rc = weft_stream_read_await(r, i % 4 == 0 ? 64 * 1024 : 5000, &v);
    }
    if (rc)
      return rc;
    if (v.len == 0) {
      weft_value_clear(&v);
      break;
    }
    weft_stream_write(w, v.ptr, v.len);
    bx->echoed += v.len;
    weft_value_clear(&v);
    if ((rc = weft_stream_drain_await(w)))
      return rc;
  }
  weft_stream_close(w);
  return weft_stream_wait_closed_await(w);
}

static int big_client(weft_task_t *self, void *arg) {
  client_ctx_t *cx = arg;
  weft_stream_reader_t *r;
  weft_stream_writer_t *w;
  int rc = weft_open_connection_await(cx->loop, "127.0.0.1", cx->port, NULL, &r, &w);
  if (rc)
    return rc;
  char *out = malloc(BIG), *in = malloc(BIG);
  for (size_t i = 0; i < BIG; i++)
    out[i] = pattern_at(i);
  /* Uneven pieces, each echoed back before the next is sent, then the rest in one go. */
  size_t sent = 0, got = 0;
  static const size_t pieces[] = {1, 4095, 4096, 4097, 70000, 100, 65536, 30000};
  static const size_t even[] = {10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000};
  const size_t *sizes = cx->even ? even : pieces;
  for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]) && rc == 0; k++) {
    weft_stream_write(w, out + sent, sizes[k]);
    sent += sizes[k];
    if ((rc = weft_stream_drain_await(w)) == 0)
      rc = weft_stream_readexactly_into_await(r, in + got, sizes[k], NULL);
    got += sizes[k];
  }
  if (rc == 0) {
    weft_stream_write(w, out + sent, BIG - sent);
    weft_stream_write_eof(w);
    rc = weft_stream_readexactly_into_await(r, in + got, BIG - got, NULL);
  }
  if (rc == 0)
    cx->ok = memcmp(in, out, BIG) == 0;
  free(out);
  free(in);
  weft_stream_close(w);
  weft_stream_wait_closed_await(w);
  weft_stream_reader_release(r);
  weft_stream_writer_release(w);
  return rc;
}

static void big_transfer(int simple) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  big_ctx_t bx = {.loop = loop, .simple = simple};
  weft_stream_options_t so = {.size = sizeof(so), .client_in_task = 1};
  weft_future_t *sf;
  ASSERT_OK(weft_start_server(loop, big_echo, &bx, NULL, "127.0.0.1", 0, &so, &sf));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, sf, &rc));
  ASSERT_OK(rc);
  weft_future_release(sf);
  client_ctx_t cx = {.port = weft_server_port(s), .loop = loop, .even = simple};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, big_client, &cx, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  ASSERT_TRUE(cx.ok);
  ASSERT_EQ(bx.echoed, BIG);
  weft_server_close(s);
  weft_future_t *wc;
  ASSERT_OK(weft_server_wait_closed(s, &wc));
  ASSERT_OK(weft_loop_run_until_complete(loop, wc));
  weft_future_release(wc);
  weft_server_release(s);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

WEFT_TEST(large_reads_direct_and_buffered) {
  big_transfer(0);
}

/* Pieces that arrive while the server pauses are buffered for the next read(64 KiB); the
 * client's last readexactly is larger than 2 * limit. */
WEFT_TEST(large_reads_after_pauses) {
  big_transfer(1);
}

static int payload_frees;
static void count_payload_free(void *payload) {
  (void)payload;
  payload_frees++;
}

/* Error payloads are the binding's (a Go cgo.Handle is a small integer): the accessors for
 * an incomplete read's partial data and sendfile's count never read through one. */
WEFT_TEST(error_accessors_never_read_payloads) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  void *payloads[] = {(void *)1, (void *)0x10};
  int codes[] = {WEFT_EINCOMPLETE, WEFT_ELIMITOVERRUN, WEFT_EPIPE};
  payload_frees = 0;
  for (size_t i = 0; i < 2; i++) {
    for (size_t c = 0; c < 3; c++) {
      weft_future_t *f;
      ASSERT_OK(weft_future_new(loop, &f));
      ASSERT_OK(weft_future_set_error(f, codes[c], "binding's", payloads[i], count_payload_free));
      size_t len = 99;
      ASSERT_TRUE(weft_stream_error_partial(f, &len) == NULL);
      ASSERT_EQ(len, 0);
      ASSERT_EQ(weft_stream_error_consumed(f), 0);
      ASSERT_EQ(weft_sendfile_sent(f), 0);
      ASSERT_PTR_EQ(weft_future_error_payload(f), payloads[i]);
      ASSERT_CODE(weft_future_error(f), codes[c]);
      weft_future_release(f);
    }
  }
  ASSERT_EQ(payload_frees, 6);
  /* The core's own detail is still there for its own futures. */
  weft_stream_reader_t *r;
  ASSERT_OK(weft_stream_reader_new(loop, 0, &r));
  weft_future_t *a;
  ASSERT_OK(weft_stream_readexactly(r, 5, &a));
  weft_stream_feed_data(r, "ab", 2);
  weft_stream_feed_eof(r);
  ASSERT_CODE(weft_future_error(a), WEFT_EINCOMPLETE);
  size_t plen = 0;
  const char *p = weft_stream_error_partial(a, &plen);
  ASSERT_EQ(plen, 2);
  ASSERT_TRUE(p != NULL && memcmp(p, "ab", 2) == 0);
  ASSERT_EQ(weft_stream_error_consumed(a), 5);
  ASSERT_EQ(weft_sendfile_sent(a), 0);
  ASSERT_TRUE(weft_future_error_payload(a) == NULL);
  weft_future_release(a);
  weft_stream_reader_release(r);
  weft_test_close_loop(loop);
}
