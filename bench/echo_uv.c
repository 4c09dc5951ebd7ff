/* Raw libuv TCP echo server, the baseline for the weft echo servers: echo_uv PORT.
 * It does what weft's stream transport does, so the comparison measures weft's own cost:
 * TCP_NODELAY on accepted sockets, kernel-default buffer sizes, one shared 64 KiB read
 * buffer, uv_try_write when nothing is queued and a copy of only the unwritten rest,
 * listen backlog 100 (asyncio's default). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static char rbuf[64 * 1024];

typedef struct wreq_s {
  uv_write_t req;
  char data[];
} wreq_t;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  *b = uv_buf_init(rbuf, sizeof(rbuf));
}
static void on_closed(uv_handle_t *h) {
  free(h);
}
static void after_write(uv_write_t *req, int status) {
  free(req);
}
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    uv_close((uv_handle_t *)s, on_closed);
    return;
  }
  if (n == 0)
    return;
  uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
  int w = uv_stream_get_write_queue_size(s) == 0 ? uv_try_write(s, &out, 1) : UV_EAGAIN;
  if (w == n)
    return;
  size_t done = w > 0 ? (size_t)w : 0;
  wreq_t *r = malloc(sizeof(*r) + (size_t)n - done);
  memcpy(r->data, b->base + done, (size_t)n - done);
  uv_buf_t rest = uv_buf_init(r->data, (unsigned)((size_t)n - done));
  uv_write(&r->req, s, &rest, 1, after_write);
}
static void on_conn(uv_stream_t *server, int status) {
  uv_tcp_t *c = malloc(sizeof(*c));
  uv_tcp_init(server->loop, c);
  if (uv_accept(server, (uv_stream_t *)c) == 0) {
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
  } else {
    uv_close((uv_handle_t *)c, on_closed);
  }
}
int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 25000;
  /* A client that leaves with a reply in flight must not kill the server (as Node, Go and
   * weft ignore SIGPIPE): at 100 KiB the end of every timed run did. */
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  if (uv_tcp_bind(&server, (struct sockaddr *)&a, 0) ||
      uv_listen((uv_stream_t *)&server, 100, on_conn)) {
    fprintf(stderr, "cannot listen on %d\n", port);
    return 1;
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}
