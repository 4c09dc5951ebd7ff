/* Holds many connections open to an echo server: hold_client PORT COUNT [SIZE]
 *
 * First one connection makes a round trip (the server is then up and has served once) and
 * the client prints "ready" and waits for a line on stdin, so that the caller can take the
 * server's baseline RSS. Then it opens COUNT more connections, each making one round trip
 * of SIZE bytes (default 64) that is checked, at most 64 of them unanswered at a time so
 * the server's accept backlog (100 by default) never overflows; prints "held COUNT
 * SECONDS" and waits for another line (or EOF) before closing them all and printing
 * "closed". Any error, a short or wrong echo included, ends it with status 1. It raises
 * its RLIMIT_NOFILE to the hard limit and says so when that is too low for COUNT. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_FLIGHT 64

typedef struct conn {
  int fd;
  size_t sent, received;
  int done;
} conn_t;

static size_t size = 64;
static char *request;
static struct sockaddr_in server;

static void die(const char *what) {
  fprintf(stderr, "hold_client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void start(conn_t *c, int epfd) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0)
    die("socket");
  if (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS)
    die("connect");
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
    die("epoll_ctl");
}

/* Advances one connection; returns 1 when its round trip has completed. */
static int step(conn_t *c, int epfd, unsigned events) {
  if (events & (EPOLLERR | EPOLLHUP)) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err ? err : ECONNRESET;
    die("connection");
  }
  while (c->sent < size) {
    ssize_t n = send(c->fd, request + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == ENOTCONN))
      return 0;
    if (n < 0)
      die("send");
    c->sent += (size_t)n;
    if (c->sent == size) {
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
      epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
  }
  char buf[4096];
  while (c->received < size) {
    size_t want = size - c->received < sizeof buf ? size - c->received : sizeof buf;
    ssize_t n = recv(c->fd, buf, want, 0);
    if (n < 0 && errno == EAGAIN)
      return 0;
    if (n <= 0) {
      errno = n == 0 ? ECONNRESET : errno;
      die("recv");
    }
    if (memcmp(buf, request + c->received, (size_t)n) != 0) {
      fprintf(stderr, "hold_client: the echo differs from the request\n");
      exit(1);
    }
    c->received += (size_t)n;
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  c->done = 1;
  return 1;
}

/* Opens conns[0..count) with at most IN_FLIGHT round trips pending. */
static void open_all(conn_t *conns, int count, int epfd) {
  int started = 0, finished = 0;
  struct epoll_event events[256];
  while (finished < count) {
    while (started < count && started - finished < IN_FLIGHT)
      start(&conns[started++], epfd);
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (int i = 0; i < n; i++)
      finished += step(events[i].data.ptr, epfd, events[i].events);
  }
}

static void wait_line(void) {
  char line[64];
  if (!fgets(line, sizeof line, stdin))
    return;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PORT COUNT [SIZE]\n", argv[0]);
    return 2;
  }
  int count = atoi(argv[2]);
  if (argc > 3)
    size = (size_t)atol(argv[3]);
  if (count <= 0 || size == 0)
    return 2;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)count + 16)
    fprintf(stderr, "hold_client: RLIMIT_NOFILE's hard limit %lu is below %d connections\n",
            (unsigned long)rl.rlim_cur, count);
  server.sin_family = AF_INET;
  server.sin_port = htons((uint16_t)atoi(argv[1]));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  request = malloc(size);
  conn_t *conns = calloc((size_t)count + 1, sizeof *conns);
  int epfd = epoll_create1(0);
  if (!request || !conns || epfd < 0)
    die("setup");
  for (size_t i = 0; i < size; i++)
    request[i] = (char)('a' + i % 26);

  /* The probe: the server may still be starting, so it is retried until it connects. */
  for (int tries = 0;; tries++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&server, sizeof server) == 0) {
      close(fd);
      break;
    }
    if (fd >= 0)
      close(fd);
    if (tries == 600)
      die("connect (the server did not start)");
    usleep(50 * 1000);
  }
  open_all(conns, 1, epfd);
  printf("ready\n");
  fflush(stdout);
  wait_line();

  double t0 = now();
  open_all(conns + 1, count, epfd);
  printf("held %d %.2f\n", count, now() - t0);
  fflush(stdout);
  wait_line();
  for (int i = 0; i <= count; i++)
    close(conns[i].fd);
  printf("closed\n");
  fflush(stdout);
  close(epfd);
  free(conns);
  free(request);
  return 0;
}
