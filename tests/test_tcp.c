/* TCP transports, protocols and servers on loopback. */
#include "net_util.h"

#include <errno.h>
#include <fcntl.h>
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
  ASSERT_OK(weft_create_server(loop, echo_factory, farg, host, 0, NULL, &f));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
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
  ASSERT_OK(weft_create_connection(loop, &client_proto, &c, "127.0.0.1", ntohs(a.sin_port), NULL,
                                   &f));
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

int main_placeholder_unused;
