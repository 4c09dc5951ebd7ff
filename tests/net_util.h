/* Helpers shared by the networking tests. */
#ifndef WEFT_NET_UTIL_H
#define WEFT_NET_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "weft_test.h"

/* Runs the loop until *flag is nonzero or `seconds` pass. */
static inline void net_util_noop(void *arg) {
  (void)arg;
}
static inline void run_until_flag(weft_loop_t *loop, const int *flag, double seconds) {
  double deadline = weft_loop_time(loop) + seconds;
  weft_handle_t *h = NULL;
  weft_call_later(loop, seconds, net_util_noop, NULL, &h); /* so the wait cannot block */
  while (!*flag && weft_loop_time(loop) < deadline)
    weft_loop_run_once(loop, 0);
  weft_handle_cancel(h);
  weft_handle_release(h);
}

/* Runs `n` iterations without blocking (close callbacks, scheduled callbacks). */
static inline void spin(weft_loop_t *loop, int n) {
  for (int i = 0; i < n; i++)
    weft_loop_run_once(loop, 1);
}

/* Waits for a future, then returns its pointer result (borrowed) or NULL. */
static inline void *await_ptr(weft_loop_t *loop, weft_future_t *f, int *rc_out) {
  int rc = weft_loop_run_until_complete(loop, f);
  if (rc_out)
    *rc_out = rc;
  if (rc)
    return NULL;
  const weft_value_t *v = NULL;
  weft_future_result(f, &v);
  return v ? v->ptr : NULL;
}

/* Waits for a server creation's future and returns the server (a new reference) or NULL;
 * the future is released. */
static inline weft_server_t *await_server(weft_loop_t *loop, weft_future_t *f, int *rc_out) {
  weft_server_t *s = weft_server_retain(await_ptr(loop, f, rc_out));
  weft_future_release(f);
  return s;
}

/* A listening TCP socket of the test's own on 127.0.0.1 and a port the kernel chose. */
static inline int loopback_listener(int backlog, int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_TRUE(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  ASSERT_OK(bind(fd, (struct sockaddr *)&a, sizeof a));
  ASSERT_OK(listen(fd, backlog));
  ASSERT_OK(getsockname(fd, (struct sockaddr *)&a, &al));
  *port = ntohs(a.sin_port);
  return fd;
}

/* Connects the loop, with proto and arg, to a listener of the test's own on 127.0.0.1 and
 * returns the transport (a new reference); *peer_out is the accepted, blocking end. */
static inline weft_transport_t *tcp_pair_with(weft_loop_t *loop, const weft_protocol_t *proto,
                                              void *arg, int *peer_out) {
  int port;
  int ls = loopback_listener(1, &port);
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, proto, arg, "127.0.0.1", port, NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  *peer_out = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
  ASSERT_TRUE(*peer_out >= 0);
  close(ls);
  return t;
}

static inline int addr_port(const struct sockaddr *a) {
  int port = 0;
  weft_sockaddr_format(a, NULL, 0, &port);
  return port;
}

#endif
