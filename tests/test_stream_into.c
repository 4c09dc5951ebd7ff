/* The stream reader read into by its transport: once a read was large, the transport asks
 * the descriptor how much is waiting and reads it straight into the reader's buffer
 * (read_into), and a read takes those very bytes as its value. asyncio's rules must not
 * change with it (limits, pausing, EOF, errors, a cancelled read's bytes kept).
 *
 * read() is interposed (the executable's definition comes before libc's for libuv too) to
 * see where the kernel put the bytes. The peer is a plain Unix socket the test writes to
 * before the loop runs, so what waits at each of the server's reads is known; a send that
 * cannot go through at once fails the test instead of blocking it. */
#include "net_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- interposed read ---- */

static const char *last_read_at; /* where the last large read() put its bytes */
static size_t last_read_len;

ssize_t read(int fd, void *buf, size_t n) {
  static ssize_t (*real)(int, void *, size_t);
  if (real == NULL) {
    void *sym = dlsym(RTLD_NEXT, "read");
    if (sym == NULL)
      abort();
    memcpy(&real, &sym, sizeof real);
  }
  ssize_t got = real(fd, buf, n);
  if (got >= 4096) {
    last_read_at = buf;
    last_read_len = (size_t)got;
  }
  return got;
}

/* ---- a server connection and its raw peer ---- */

typedef struct conn_s {
  weft_loop_t *loop;
  weft_server_t *server;
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  int peer;
  int ready;
  size_t sent; /* bytes the peer sent: the pattern continues across sends */
} conn_t;

static char pattern_at(size_t i) {
  return (char)('a' + (i * 7 + i / 4093) % 26);
}

static int on_client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  conn_t *c = arg;
  c->reader = weft_stream_reader_retain(r);
  c->writer = weft_stream_writer_retain(w);
  c->ready = 1;
  return 0;
}

static void peer_send(conn_t *c, size_t len) {
  char *data = malloc(len);
  ASSERT_TRUE(data != NULL);
  for (size_t i = 0; i < len; i++)
    data[i] = pattern_at(c->sent + i);
  size_t done = 0;
  while (done < len) {
    ssize_t n = send(c->peer, data + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    ASSERT_TRUE(n > 0); /* the socket's buffer takes it all: the loop has not read yet */
    done += (size_t)n;
  }
  c->sent += len;
  free(data);
}

/* The bytes from offset `from` of what the peer sent. */
static void assert_pattern(const char *data, size_t len, size_t from) {
  for (size_t i = 0; i < len; i++)
    if (data[i] != pattern_at(from + i))
      WEFT_FAIL_AT("byte %zu of %zu differs", i, len);
}

static const weft_value_t *bytes_of(weft_future_t *f) {
  const weft_value_t *v = NULL;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_TRUE(v != NULL && v->type == WEFT_VALUE_BYTES);
  return v;
}

/* Waits for a read future and checks it holds the next `len` bytes from `*at`. */
static const weft_value_t *expect_read(conn_t *c, weft_future_t *f, size_t len, size_t *at) {
  ASSERT_OK(weft_loop_run_until_complete(c->loop, f));
  const weft_value_t *v = bytes_of(f);
  ASSERT_EQ(v->len, len);
  assert_pattern(v->ptr, v->len, *at);
  ASSERT_TRUE(((const char *)v->ptr)[v->len] == '\0');
  *at += len;
  return v;
}

/* A connection whose transport has just made a large read (the prime), so that its next
 * read asks how much is waiting. */
static void open_conn(conn_t *c, size_t limit, size_t *at) {
  memset(c, 0, sizeof *c);
  ASSERT_OK(weft_loop_new(&c->loop));
  char name[64];
  int n = snprintf(name, sizeof name, "%cweft-stream-into-%d", 0, (int)getpid());
  weft_stream_options_t so;
  weft_stream_options_init(&so);
  so.limit = limit;
  weft_future_t *sf;
  ASSERT_OK(weft_start_unix_server(c->loop, on_client, c, NULL, name, (size_t)n, &so, &sf));
  int rc;
  c->server = await_server(c->loop, sf, &rc);
  ASSERT_OK(rc);
  c->peer = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_TRUE(c->peer >= 0);
  int big = 1 << 20; /* the kernel caps it; enough for every send below */
  setsockopt(c->peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  memcpy(sun.sun_path, name, (size_t)n); /* an abstract name: no terminating NUL */
  socklen_t slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n);
  ASSERT_OK(connect(c->peer, (struct sockaddr *)&sun, slen));
  run_until_flag(c->loop, &c->ready, 30);
  ASSERT_TRUE(c->ready);
  weft_future_t *f;
  ASSERT_OK(weft_stream_read(c->reader, 1 << 20, &f));
  peer_send(c, 70000);
  expect_read(c, f, 70000, at);
  weft_future_release(f);
}

static void close_conn(conn_t *c) {
  close(c->peer);
  weft_stream_close(c->writer);
  weft_future_t *f;
  ASSERT_OK(weft_stream_wait_closed(c->writer, &f));
  weft_loop_run_until_complete(c->loop, f);
  weft_future_release(f);
  weft_stream_writer_release(c->writer);
  weft_stream_reader_release(c->reader);
  weft_server_close(c->server);
  ASSERT_OK(weft_server_wait_closed(c->server, &f));
  ASSERT_OK(weft_loop_run_until_complete(c->loop, f));
  weft_future_release(f);
  weft_server_release(c->server);
  spin(c->loop, 3);
  weft_test_close_loop(c->loop);
}

/* Runs the loop until the reader holds `len` bytes (bounded). */
static void run_until_buffered(conn_t *c, size_t len) {
  for (int i = 0; i < 100000 && weft_stream_reader_buffered(c->reader) < len; i++)
    weft_loop_run_once(c->loop, 0);
  ASSERT_EQ(weft_stream_reader_buffered(c->reader), len);
}

/* ---- tests ---- */

/* A read parked on an empty reader gets the bytes the transport read for it, where the
 * kernel put them: all of them when it asked for as many, else the first n (the rest is
 * buffered, and is the next read's). */
WEFT_TEST(parked_read_is_filled_directly) {
  conn_t c;
  size_t at = 0;
  open_conn(&c, 0, &at);
  weft_future_t *f;
  ASSERT_OK(weft_stream_read(c.reader, 200000, &f));
  peer_send(&c, 100000);
  const weft_value_t *v = expect_read(&c, f, 100000, &at);
  ASSERT_PTR_EQ(v->ptr, last_read_at);
  ASSERT_EQ(last_read_len, 100000);
  weft_future_release(f);

  /* Data larger than n: the value is the start of what the kernel wrote. */
  ASSERT_OK(weft_stream_read(c.reader, 65536, &f));
  peer_send(&c, 100000);
  v = expect_read(&c, f, 65536, &at);
  ASSERT_PTR_EQ(v->ptr, last_read_at);
  ASSERT_EQ(weft_stream_reader_buffered(c.reader), 100000 - 65536);
  weft_future_release(f);
  ASSERT_OK(weft_stream_read(c.reader, 65536, &f));
  expect_read(&c, f, 100000 - 65536, &at);
  weft_future_release(f);
  ASSERT_EQ(weft_stream_reader_buffered(c.reader), 0);

  /* A smaller n than half of what came: copied out, the rest stays where it was read. */
  ASSERT_OK(weft_stream_read(c.reader, 1000, &f));
  peer_send(&c, 90000);
  v = expect_read(&c, f, 1000, &at);
  ASSERT_TRUE(v->ptr != last_read_at);
  weft_future_release(f);
  ASSERT_OK(weft_stream_read(c.reader, 200000, &f));
  expect_read(&c, f, 89000, &at);
  weft_future_release(f);
  close_conn(&c);
}

/* readexactly and readuntil take the bytes read into the reader too; readexactly waiting
 * for more than one read gathers them in the same buffer. */
WEFT_TEST(readexactly_and_readuntil_take_the_bytes_read_into_them) {
  conn_t c;
  size_t at = 0;
  open_conn(&c, 256 * 1024, &at);
  weft_future_t *f;
  ASSERT_OK(weft_stream_readexactly(c.reader, 100000, &f));
  peer_send(&c, 100000);
  const weft_value_t *v = expect_read(&c, f, 100000, &at);
  ASSERT_PTR_EQ(v->ptr, last_read_at);
  weft_future_release(f);

  ASSERT_OK(weft_stream_readexactly(c.reader, 180000, &f));
  peer_send(&c, 90000);
  run_until_buffered(&c, 90000);
  peer_send(&c, 90000);
  v = expect_read(&c, f, 180000, &at);
  ASSERT_PTR_EQ(v->ptr, last_read_at - 90000); /* the second read went after the first */
  weft_future_release(f);

  /* readuntil: the separator ends what the transport read. */
  const void *sep[] = {"xyz"};
  size_t seplen[] = {3};
  ASSERT_OK(weft_stream_readuntil(c.reader, sep, seplen, 1, &f));
  peer_send(&c, 80000);
  ASSERT_EQ(send(c.peer, "xyz", 3, MSG_DONTWAIT), 3);
  ASSERT_OK(weft_loop_run_until_complete(c.loop, f));
  v = bytes_of(f);
  ASSERT_PTR_EQ(v->ptr, last_read_at);
  ASSERT_EQ(v->len, 80003);
  assert_pattern(v->ptr, 80000, at);
  ASSERT_TRUE(memcmp((const char *)v->ptr + 80000, "xyz", 3) == 0);
  weft_future_release(f);
  close_conn(&c);
}

/* A read cancelled while it waits: the transport still reads into the reader, and the
 * bytes are the next read's, in order. The same for a read awaited in a task that is
 * cancelled. */
typedef struct reader_task_s {
  conn_t *c;
  int rc;
} reader_task_t;

static int read_in_task(weft_task_t *self, void *arg) {
  (void)self;
  reader_task_t *rt = arg;
  weft_value_t v = weft_value_none();
  rt->rc = weft_stream_read_await(rt->c->reader, 65536, &v);
  weft_value_clear(&v);
  return rt->rc;
}

WEFT_TEST(cancelled_read_leaves_its_bytes_to_the_next) {
  conn_t c;
  size_t at = 0;
  open_conn(&c, 0, &at);
  weft_future_t *f;
  ASSERT_OK(weft_stream_read(c.reader, 65536, &f));
  ASSERT_TRUE(weft_future_cancel(f, NULL));
  weft_future_release(f);
  peer_send(&c, 100000);
  run_until_buffered(&c, 100000);
  const char *into = last_read_at;
  ASSERT_OK(weft_stream_read(c.reader, 200000, &f));
  ASSERT_TRUE(weft_future_done(f));
  const weft_value_t *v = expect_read(&c, f, 100000, &at);
  ASSERT_PTR_EQ(v->ptr, into);
  weft_future_release(f);

  reader_task_t rt = {.c = &c, .rc = 1};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(c.loop, read_in_task, &rt, NULL, &t));
  spin(c.loop, 2); /* the task is parked on the reader */
  ASSERT_EQ(rt.rc, 1);
  ASSERT_TRUE(weft_task_cancel(t, NULL));
  peer_send(&c, 100000);
  weft_loop_run_until_complete(c.loop, weft_task_future(t));
  ASSERT_CODE(rt.rc, WEFT_ECANCELLED);
  weft_task_release(t);
  run_until_buffered(&c, 100000);
  ASSERT_OK(weft_stream_read(c.reader, 200000, &f));
  expect_read(&c, f, 100000, &at);
  weft_future_release(f);
  close_conn(&c);
}

/* EOF after bytes read into the reader: the reads return them, then b""; readexactly for
 * more fails with the partial data; an error set later fails the next read. */
WEFT_TEST(eof_and_error_after_bytes_read_into_the_reader) {
  conn_t c;
  size_t at = 0;
  open_conn(&c, 0, &at);
  weft_future_t *f;
  ASSERT_OK(weft_stream_read(c.reader, 65536, &f));
  peer_send(&c, 100000);
  ASSERT_OK(shutdown(c.peer, SHUT_WR));
  const weft_value_t *v = expect_read(&c, f, 65536, &at);
  ASSERT_PTR_EQ(v->ptr, last_read_at);
  weft_future_release(f);
  ASSERT_OK(weft_stream_readexactly(c.reader, 50000, &f));
  ASSERT_CODE(weft_loop_run_until_complete(c.loop, f), WEFT_EINCOMPLETE);
  size_t plen = 0;
  const char *partial = weft_stream_error_partial(f, &plen);
  ASSERT_EQ(plen, 100000 - 65536);
  assert_pattern(partial, plen, at);
  ASSERT_EQ(weft_stream_error_consumed(f), 50000);
  weft_future_release(f);
  ASSERT_OK(weft_stream_read(c.reader, 65536, &f));
  ASSERT_OK(weft_loop_run_until_complete(c.loop, f));
  ASSERT_EQ(bytes_of(f)->len, 0);
  ASSERT_TRUE(weft_stream_at_eof(c.reader));
  weft_future_release(f);
  ASSERT_OK(weft_stream_set_error(c.reader, WEFT_ECONNRESET));
  ASSERT_OK(weft_stream_read(c.reader, 65536, &f));
  ASSERT_CODE(weft_loop_run_until_complete(c.loop, f), WEFT_ECONNRESET);
  weft_future_release(f);
  close_conn(&c);
}

/* With bytes read into the reader and nobody reading, the reader pauses its transport past
 * twice its limit and resumes it once reads bring it down to the limit, as asyncio's. */
WEFT_TEST(limit_pauses_and_resumes_with_reads_into_the_reader) {
  conn_t c;
  size_t at = 0;
  open_conn(&c, 16 * 1024, &at);
  weft_transport_t *t = weft_stream_writer_transport(c.writer);
  peer_send(&c, 100000);
  run_until_buffered(&c, 100000);
  const char *into = last_read_at;
  ASSERT_TRUE(!weft_transport_is_reading(t));
  peer_send(&c, 100000); /* waits in the kernel while the reader is paused */
  spin(c.loop, 5);
  ASSERT_EQ(weft_stream_reader_buffered(c.reader), 100000);
  weft_future_t *f;
  ASSERT_OK(weft_stream_read(c.reader, 65536, &f));
  const weft_value_t *v = expect_read(&c, f, 65536, &at);
  ASSERT_PTR_EQ(v->ptr, into);
  weft_future_release(f);
  ASSERT_TRUE(!weft_transport_is_reading(t)); /* 34,464 left: above the limit */
  ASSERT_OK(weft_stream_readexactly(c.reader, 100000 - 65536 - 10000, &f));
  expect_read(&c, f, 100000 - 65536 - 10000, &at);
  weft_future_release(f);
  ASSERT_TRUE(weft_transport_is_reading(t)); /* 10,000 left: at most the limit */
  ASSERT_OK(weft_stream_readexactly(c.reader, 110000, &f));
  expect_read(&c, f, 110000, &at);
  weft_future_release(f);
  ASSERT_EQ(weft_stream_reader_buffered(c.reader), 0);
  close_conn(&c);
}
