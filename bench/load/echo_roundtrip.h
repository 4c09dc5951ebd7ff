/* One echo round trip per connection, for the load clients (churn_client, hold_client):
 * non-blocking sockets on one epoll set, each sending the same request and checking that
 * its echo comes back byte for byte. Any error ends the program with status 1, since a load
 * run with a failed connection measures nothing. */
#ifndef WEFT_BENCH_ECHO_ROUNDTRIP_H
#define WEFT_BENCH_ECHO_ROUNDTRIP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct rt_conn {
  int fd;
  size_t sent, received;
} rt_conn_t;

/* Set by the program before its first call: its name for messages, the server (127.0.0.1
 * and a port), and the request every connection sends. */
static const char *rt_program;
static struct sockaddr_in rt_server;
static const char *rt_request;
static size_t rt_size;

static void rt_die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", rt_program, what, strerror(errno));
  exit(1);
}

static double rt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rt_set_server(const char *port) {
  rt_server.sin_family = AF_INET;
  rt_server.sin_port = htons((uint16_t)atoi(port));
  rt_server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Blocks until a connection succeeds: the server may still be starting (up to 30 s). */
static void rt_wait_for_server(void) {
  for (int tries = 0;; tries++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&rt_server, sizeof rt_server) == 0) {
      close(fd);
      return;
    }
    if (fd >= 0)
      close(fd);
    if (tries == 600)
      rt_die("connect (the server did not start)");
    usleep(50 * 1000);
  }
}

/* Starts a connection's round trip: connects without waiting and joins the epoll set. */
static void rt_start(rt_conn_t *c, int epfd) {
  c->sent = c->received = 0;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0)
    rt_die("socket");
  if (connect(c->fd, (struct sockaddr *)&rt_server, sizeof rt_server) < 0 && errno != EINPROGRESS)
    rt_die("connect");
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
    rt_die("epoll_ctl");
}

/* Advances a connection on its epoll events; returns 1 once the whole echo is back (the
 * descriptor is still open and in the epoll set: the caller closes or keeps it). */
static int rt_step(rt_conn_t *c, int epfd, unsigned events) {
  if (events & (EPOLLERR | EPOLLHUP)) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err ? err : ECONNRESET;
    rt_die("connection");
  }
  while (c->sent < rt_size) {
    ssize_t n = send(c->fd, rt_request + c->sent, rt_size - c->sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == ENOTCONN))
      return 0;
    if (n < 0)
      rt_die("send");
    c->sent += (size_t)n;
    if (c->sent == rt_size) { /* stop waking for a writable socket */
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
      epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
  }
  char buf[4096];
  while (c->received < rt_size) {
    size_t want = rt_size - c->received < sizeof buf ? rt_size - c->received : sizeof buf;
    ssize_t n = recv(c->fd, buf, want, 0);
    if (n < 0 && errno == EAGAIN)
      return 0;
    if (n <= 0) {
      errno = n == 0 ? ECONNRESET : errno;
      rt_die("recv");
    }
    if (memcmp(buf, rt_request + c->received, (size_t)n) != 0) {
      fprintf(stderr, "%s: the echo differs from the request\n", rt_program);
      exit(1);
    }
    c->received += (size_t)n;
  }
  return 1;
}

#endif
