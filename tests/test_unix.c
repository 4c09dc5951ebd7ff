/* Unix domain sockets: path and abstract names, stale socket files, streams. */
#include "net_util.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct ep_s {
  int made, lost, done;
  char buf[64];
  size_t len;
} ep_t;

static void e_made(weft_transport_t *t, void *arg) {
  ((ep_t *)arg)->made++;
}
static void e_data(weft_transport_t *t, const char *d, size_t n, void *arg) {
  ep_t *e = arg;
  if (e->len + n <= sizeof(e->buf))
    memcpy(e->buf + e->len, d, n);
  e->len += n;
  e->done = 1;
}
static void e_lost(weft_transport_t *t, int err, void *arg) {
  ((ep_t *)arg)->lost++;
}
static const weft_protocol_t cp = {.size = sizeof(weft_protocol_t),
                                   .connection_made = e_made,
                                   .data_received = e_data,
                                   .connection_lost = e_lost};

static void srv_data(weft_transport_t *t, const char *d, size_t n, void *arg) {
  weft_transport_write(t, d, n);
}
static int factory(void *farg, weft_protocol_t *p, void **arg) {
  p->data_received = srv_data;
  *arg = NULL;
  return 0;
}

static void roundtrip(weft_loop_t *loop, const char *path, size_t plen) {
  weft_future_t *f;
  ASSERT_OK(weft_create_unix_server(loop, factory, NULL, NULL, path, plen, NULL, &f));
  int rc;
  weft_server_t *s = await_server(loop, f, &rc);
  ASSERT_OK(rc);
  ASSERT_EQ(weft_server_port(s), 0);
  ep_t e = {0};
  ASSERT_OK(weft_create_unix_connection(loop, &cp, &e, path, plen, NULL, &f));
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  int kind = 0;
  size_t kl = sizeof(kind);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_KIND, &kind, &kl));
  ASSERT_EQ(kind, WEFT_TRANSPORT_UNIX);
  ASSERT_OK(weft_transport_write(t, "unix", 4));
  run_until_flag(loop, &e.done, 5);
  ASSERT_EQ(e.len, 4);
  ASSERT_TRUE(memcmp(e.buf, "unix", 4) == 0);
  weft_transport_close(t);
  run_until_flag(loop, &e.lost, 5);
  weft_transport_release(t);
  weft_server_close(s);
  weft_future_t *w;
  weft_server_wait_closed(s, &w);
  ASSERT_OK(weft_loop_run_until_complete(loop, w));
  weft_future_release(w);
  weft_server_release(s);
}

WEFT_TEST(path_and_stale_file) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char dir[] = "/tmp/weft-unix-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof(path), "%s/sock", dir);
  /* a stale socket file from a dead server */
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  strcpy(sun.sun_path, path);
  ASSERT_OK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
  close(fd);
  roundtrip(loop, path, strlen(path));
  struct stat st;
  ASSERT_TRUE(stat(path, &st) != 0); /* unlinked on close */
  rmdir(dir);
  weft_test_close_loop(loop);
}

static void close_server(weft_loop_t *loop, weft_server_t *s) {
  weft_server_close(s);
  weft_future_t *w;
  ASSERT_OK(weft_server_wait_closed(s, &w));
  ASSERT_OK(weft_loop_run_until_complete(loop, w));
  weft_future_release(w);
  weft_server_release(s);
}

/* A socket bound to a path and handed over: its file goes on close with cleanup_socket (the
 * default), and stays without. */
WEFT_TEST(socket_file_of_a_handed_over_socket) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char dir[] = "/tmp/weft-unix-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof(path), "%s/sock", dir);
  for (int cleanup = 1; cleanup >= 0; cleanup--) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, path);
    ASSERT_OK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
    weft_server_options_t o;
    weft_server_options_init(&o);
    ASSERT_EQ(o.cleanup_socket, 1);
    o.cleanup_socket = cleanup;
    weft_future_t *f;
    ASSERT_OK(weft_create_server_fds(loop, factory, NULL, NULL, &fd, 1, &o, &f));
    int rc;
    weft_server_t *s = await_server(loop, f, &rc);
    ASSERT_OK(rc);
    struct stat st;
    ASSERT_OK(stat(path, &st));
    close_server(loop, s);
    ASSERT_EQ(stat(path, &st) == 0, !cleanup);
  }
  unlink(path);
  rmdir(dir);
  weft_test_close_loop(loop);
}

WEFT_TEST(abstract_name) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char name[64];
  int n = snprintf(name, sizeof(name), "%cweft-test-%d", 0, (int)getpid());
  roundtrip(loop, name, (size_t)n);
  weft_test_close_loop(loop);
}

static int echo_client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  weft_value_t v;
  int rc = weft_stream_readline_await(r, &v);
  if (rc == 0)
    weft_stream_write(w, v.ptr, v.len);
  weft_value_clear(&v);
  return rc;
}

typedef struct cx_s {
  weft_loop_t *loop;
  const char *path;
  int ok;
} cx_t;

static int stream_client(weft_task_t *self, void *arg) {
  cx_t *cx = arg;
  weft_stream_reader_t *r;
  weft_stream_writer_t *w;
  int rc = weft_open_unix_connection_await(cx->loop, cx->path, strlen(cx->path), NULL, &r, &w);
  if (rc)
    return rc;
  weft_stream_write(w, "hey\n", 4);
  weft_value_t v;
  rc = weft_stream_readline_await(r, &v);
  cx->ok = rc == 0 && v.len == 4;
  weft_value_clear(&v);
  weft_stream_close(w);
  weft_stream_wait_closed_await(w);
  weft_stream_reader_release(r);
  weft_stream_writer_release(w);
  return rc;
}

WEFT_TEST(streams) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char dir[] = "/tmp/weft-unix-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof(path), "%s/s", dir);
  weft_stream_options_t so = {.size = sizeof(so), .client_in_task = 1};
  weft_future_t *sf;
  ASSERT_OK(weft_start_unix_server(loop, echo_client, NULL, NULL, path, strlen(path), &so, &sf));
  int rc;
  weft_server_t *s = await_server(loop, sf, &rc);
  ASSERT_OK(rc);
  cx_t cx = {.loop = loop, .path = path};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, stream_client, &cx, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  ASSERT_TRUE(cx.ok);
  weft_server_close(s);
  weft_future_t *w;
  weft_server_wait_closed(s, &w);
  ASSERT_OK(weft_loop_run_until_complete(loop, w));
  weft_future_release(w);
  weft_server_release(s);
  spin(loop, 3);
  rmdir(dir);
  weft_test_close_loop(loop);
}

/* Every way to make a server gives a future; a failed bind fails it, and the stream server's
 * configuration goes with the failed creation (valgrind checks that). */
WEFT_TEST(server_failures_in_future) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *bad = "/nonexistent-weft-dir/sock";
  weft_future_t *f;
  ASSERT_OK(weft_create_unix_server(loop, factory, NULL, NULL, bad, strlen(bad), NULL, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ENOENT);
  weft_future_release(f);
  ASSERT_OK(weft_start_unix_server(loop, echo_client, NULL, NULL, bad, strlen(bad), NULL, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ENOENT);
  weft_future_release(f);
  /* arguments are checked during the call */
  ASSERT_CODE(weft_create_unix_server(loop, factory, NULL, NULL, bad, 0, NULL, &f), WEFT_EINVAL);
  ASSERT_CODE(weft_start_unix_server(loop, echo_client, NULL, NULL, NULL, 1, NULL, &f),
              WEFT_EINVAL);
  /* Unix connects take TCP's options: a local address is refused, the rest ignored */
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.local_port = 8;
  ep_t e = {0};
  ASSERT_CODE(weft_create_unix_connection(loop, &cp, &e, bad, strlen(bad), &co, &f), WEFT_EINVAL);
  weft_connect_options_init(&co);
  co.family = AF_INET6;
  co.happy_eyeballs_delay = 0.25;
  ASSERT_CODE(weft_create_unix_connection(loop, &cp, &e, bad, strlen(bad), &co, &f), WEFT_ENOENT);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* connect_accepted_socket without TLS: a plain transport of the socket's family. */
WEFT_TEST(accepted_fd_plain) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
  ep_t e = {0};
  weft_future_t *f;
  ASSERT_CODE(weft_connect_accepted_fd(loop, &cp, &e, -1, NULL, &f), WEFT_EINVAL);
  ASSERT_OK(weft_connect_accepted_fd(loop, &cp, &e, sv[0], NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(e.made, 1);
  int kind = 0;
  size_t kl = sizeof(kind);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_KIND, &kind, &kl));
  ASSERT_EQ(kind, WEFT_TRANSPORT_UNIX);
  ASSERT_EQ(write(sv[1], "acc", 3), 3);
  run_until_flag(loop, &e.done, 5);
  ASSERT_EQ(e.len, 3);
  close(sv[1]);
  run_until_flag(loop, &e.lost, 5);
  weft_transport_release(t);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* read_into: a protocol that keeps what it reads gets large reads in its own memory, sized
 * by what the socket has waiting; small ones, and the first large one, come from the shared
 * buffer. */
typedef struct ri_s {
  int lost, asked, own_reads;
  char *given; /* the memory read_into last handed out, until data_received takes it */
  size_t given_size, total;
  int bad;
} ri_t;

static void *ri_read_into(weft_transport_t *t, size_t size, void *arg) {
  ri_t *r = arg;
  free(r->given); /* a read that found nothing leaves it behind */
  r->given = malloc(size);
  r->given_size = size;
  r->asked++;
  return r->given;
}
static void ri_data(weft_transport_t *t, const char *d, size_t n, void *arg) {
  ri_t *r = arg;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)d[i] != (unsigned char)((r->total + i) % 251))
      r->bad++;
  if (r->given && d == r->given) {
    r->own_reads++;
    if (n > r->given_size)
      r->bad++;
  }
  free(r->given);
  r->given = NULL;
  r->total += n;
}
static void ri_lost(weft_transport_t *t, int err, void *arg) {
  ((ri_t *)arg)->lost++;
}

/* Writes the pattern from offset *sent on until the socket takes no more. */
static void fill(int fd, size_t *sent) {
  char chunk[32768];
  for (;;) {
    for (size_t i = 0; i < sizeof chunk; i++)
      chunk[i] = (char)((*sent + i) % 251);
    ssize_t n = write(fd, chunk, sizeof chunk);
    if (n <= 0)
      return;
    *sent += (size_t)n;
  }
}

WEFT_TEST(read_into_large_reads) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
  ri_t r = {0};
  const weft_protocol_t p = {.size = sizeof(weft_protocol_t),
                             .data_received = ri_data,
                             .read_into = ri_read_into,
                             .connection_lost = ri_lost};
  weft_future_t *f;
  ASSERT_OK(weft_connect_accepted_fd(loop, &p, &r, sv[0], NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  /* A small read, then a queue the socket cannot take more of: the first read of it is
   * large, into the shared buffer; the rest waits in the socket when the core asks. */
  ASSERT_EQ(write(sv[1], "\0\1\2", 3), 3);
  size_t sent = 3;
  double deadline = weft_loop_time(loop) + 5;
  while (r.total < sent && weft_loop_time(loop) < deadline)
    weft_loop_run_once(loop, 0);
  ASSERT_EQ(r.asked, 0);
  fill(sv[1], &sent);
  ASSERT_TRUE(sent - 3 >= 2 * 64 * 1024);
  for (int round = 0; round < 2; round++) {
    deadline = weft_loop_time(loop) + 5;
    while (r.total < sent && weft_loop_time(loop) < deadline)
      weft_loop_run_once(loop, 0);
    ASSERT_EQ(r.total, sent);
    fill(sv[1], &sent);
  }
  ASSERT_TRUE(r.own_reads >= 1);
  ASSERT_EQ(r.bad, 0);
  close(sv[1]);
  run_until_flag(loop, &r.lost, 5);
  ASSERT_EQ(r.bad, 0);
  free(r.given);
  weft_transport_release(t);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* A layer's plaintext (weft_transport_emit_data, as TLS delivers it) goes into read_into's
 * memory whatever its size: the layer says how much there is. */
static int layer_close(void *impl) {
  (void)impl;
  return 0;
}

WEFT_TEST(read_into_layer_plaintext) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ri_t r = {0};
  const weft_protocol_t p = {.size = sizeof(weft_protocol_t),
                             .data_received = ri_data,
                             .read_into = ri_read_into,
                             .connection_lost = ri_lost};
  const weft_transport_ops_t ops = {.size = sizeof ops, .close = layer_close};
  weft_transport_t *t;
  ASSERT_OK(weft_transport_new(loop, &ops, NULL, &p, &r, &t));
  weft_transport_emit_connection_made(t);
  char plain[300];
  for (size_t i = 0; i < sizeof plain; i++)
    plain[i] = (char)(i % 251);
  weft_transport_emit_data(t, plain, 3);
  weft_transport_emit_data(t, plain + 3, sizeof plain - 3);
  spin(loop, 2);
  ASSERT_EQ(r.asked, 2);
  ASSERT_EQ(r.own_reads, 2);
  ASSERT_EQ(r.total, sizeof plain);
  ASSERT_EQ(r.bad, 0);
  weft_transport_emit_connection_lost(t, 0);
  ASSERT_EQ(r.lost, 1);
  weft_transport_release(t);
  weft_test_close_loop(loop);
}

/* connection_lost comes in the order of the closes, as asyncio's call_soon'd
 * connection_lost does: a transport closed from a ready callback is lost before one whose
 * end of stream that iteration's poll finds (libuv runs close callbacks last in, first
 * out). */
typedef struct order_s {
  char log[8];
  int lost;
} order_t;

typedef struct order_ep_s {
  order_t *order;
  char name;
} order_ep_t;

static void order_lost(weft_transport_t *t, int err, void *arg) {
  order_ep_t *e = arg;
  size_t n = strlen(e->order->log);
  e->order->log[n] = e->name;
  e->order->lost++;
}

static const weft_protocol_t order_proto = {.size = sizeof(weft_protocol_t),
                                            .connection_lost = order_lost};

/* A transport on one end of a new socketpair, whose connection_lost logs e's name;
 * *peer_out is the other end. */
static weft_transport_t *order_connect(weft_loop_t *loop, order_ep_t *e, int *peer_out) {
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
  weft_future_t *f;
  ASSERT_OK(weft_connect_accepted_fd(loop, &order_proto, e, sv[0], NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  *peer_out = sv[1];
  return t;
}

static void close_transport(void *arg) {
  ASSERT_OK(weft_transport_close(arg));
}

WEFT_TEST(connection_lost_in_the_order_of_the_closes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  order_t order = {{0}, 0};
  order_ep_t ea = {&order, 'a'}, eb = {&order, 'b'};
  int pa, pb;
  weft_transport_t *a = order_connect(loop, &ea, &pa);
  weft_transport_t *b = order_connect(loop, &eb, &pb);
  /* b's end of stream is waiting before a's close is even scheduled */
  close(pb);
  ASSERT_OK(weft_call_soon(loop, close_transport, a, NULL));
  run_until_flag(loop, &order.lost, 5);
  spin(loop, 3);
  ASSERT_EQ(order.lost, 2);
  ASSERT_TRUE(strcmp(order.log, "ab") == 0);
  close(pa);
  weft_transport_release(a);
  weft_transport_release(b);
  weft_test_close_loop(loop);
}

/* A loop that closes before a closed transport's connection_lost had its turn on the ready
 * queue still delivers it (its ready queue runs no more), before those the close itself
 * ends, and frees everything. */
static void close_and_stop(void *arg) {
  weft_transport_t *t = arg;
  ASSERT_OK(weft_transport_close(t));
  ASSERT_OK(weft_loop_stop(weft_transport_loop(t)));
}

WEFT_TEST(connection_lost_when_the_loop_closes_first) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  order_t order = {{0}, 0};
  order_ep_t ea = {&order, 'a'}, eb = {&order, 'b'};
  int pa, pb;
  weft_transport_t *b = order_connect(loop, &eb, &pb);
  weft_transport_t *a = order_connect(loop, &ea, &pa);
  ASSERT_OK(weft_call_soon(loop, close_and_stop, a, NULL));
  ASSERT_OK(weft_loop_run_forever(loop));
  ASSERT_EQ(order.lost, 0); /* its turn comes in the next iteration, which never runs */
  weft_transport_release(a);
  weft_transport_release(b);
  weft_test_close_loop(loop);
  ASSERT_EQ(order.lost, 2);
  ASSERT_TRUE(strcmp(order.log, "ab") == 0);
  close(pa);
  close(pb);
}
