/* Connection churn against an echo server: churn_client PORT COUNT SERVER_PID [PARALLEL]
 *
 * COUNT short connections, PARALLEL (default 32) at a time: each connects, sends a 64-byte
 * request, reads the echo back (checked) and closes. At the start and after every tenth of
 * COUNT it prints "CONNECTIONS rss KIB fds N" for the server process (/proc/PID), and at
 * the end, once the server has let go of the last connection (its descriptor count is
 * polled until it comes back to the starting one, for at most 30 s), "end fds N start M".
 * Any error, or a count that does not come back, ends it with status 1. The server's
 * listening socket is up when the first connection succeeds (retried while it starts). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIZE 64

typedef struct conn {
  int fd;
  size_t sent, received;
} conn_t;

static struct sockaddr_in server;
static char request[SIZE];
static int pid;

static void die(const char *what) {
  fprintf(stderr, "churn_client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long server_rss(void) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

static int server_fds(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR *d = opendir(path);
  int n = 0;
  if (!d)
    die("opendir /proc/PID/fd");
  struct dirent *e;
  while ((e = readdir(d)))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void start(conn_t *c, int epfd) {
  c->sent = c->received = 0;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0)
    die("socket");
  if (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS)
    die("connect");
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
    die("epoll_ctl");
}

/* Advances one connection; returns 1 once its echo is back and it is closed. */
static int step(conn_t *c, unsigned events) {
  if (events & (EPOLLERR | EPOLLHUP)) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err ? err : ECONNRESET;
    die("connection");
  }
  while (c->sent < SIZE) {
    ssize_t n = send(c->fd, request + c->sent, SIZE - c->sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == ENOTCONN))
      return 0;
    if (n < 0)
      die("send");
    c->sent += (size_t)n;
  }
  char buf[SIZE];
  while (c->received < SIZE) {
    ssize_t n = recv(c->fd, buf, SIZE - c->received, 0);
    if (n < 0 && errno == EAGAIN)
      return 0;
    if (n <= 0) {
      errno = n == 0 ? ECONNRESET : errno;
      die("recv");
    }
    if (memcmp(buf, request + c->received, (size_t)n) != 0) {
      fprintf(stderr, "churn_client: the echo differs from the request\n");
      exit(1);
    }
    c->received += (size_t)n;
  }
  close(c->fd); /* also takes it out of the epoll set */
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s PORT COUNT SERVER_PID [PARALLEL]\n", argv[0]);
    return 2;
  }
  long count = atol(argv[2]);
  pid = atoi(argv[3]);
  int parallel = argc > 4 ? atoi(argv[4]) : 32;
  if (count <= 0 || parallel <= 0)
    return 2;
  server.sin_family = AF_INET;
  server.sin_port = htons((uint16_t)atoi(argv[1]));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < SIZE; i++)
    request[i] = (char)('A' + i % 26);
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
  /* The probe's close reaches the server asynchronously: its descriptor count is taken
   * once it is back down to the listening state (stable over 100 ms). */
  int start_fds = server_fds();
  for (int stable = 0, i = 0; stable < 10 && i < 3000; i++) {
    usleep(10 * 1000);
    int n = server_fds();
    stable = n == start_fds ? stable + 1 : 0;
    start_fds = n;
  }
  conn_t *conns = calloc((size_t)parallel, sizeof *conns);
  conn_t **idle = calloc((size_t)parallel, sizeof *idle);
  int epfd = epoll_create1(0);
  if (!conns || !idle || epfd < 0)
    die("setup");
  int nidle = parallel;
  for (int i = 0; i < parallel; i++)
    idle[i] = &conns[i];
  long started = 0, finished = 0, step_every = count >= 10 ? count / 10 : 1;
  printf("%ld rss %ld fds %d\n", 0L, server_rss(), start_fds);
  fflush(stdout);
  double t0 = now();
  struct epoll_event events[256];
  while (finished < count) {
    while (started < count && nidle > 0) {
      start(idle[--nidle], epfd);
      started++;
    }
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (int i = 0; i < n; i++) {
      conn_t *c = events[i].data.ptr;
      if (!step(c, events[i].events))
        continue;
      idle[nidle++] = c;
      if (++finished % step_every == 0) {
        printf("%ld rss %ld fds %d\n", finished, server_rss(), server_fds());
        fflush(stdout);
      }
    }
  }
  double secs = now() - t0;
  int end_fds = server_fds();
  for (int i = 0; i < 3000 && end_fds != start_fds; i++) {
    usleep(10 * 1000);
    end_fds = server_fds();
  }
  printf("end fds %d start %d rss %ld; %ld connections in %.1f s (%.0f/s)\n", end_fds, start_fds,
         server_rss(), count, secs, (double)count / secs);
  close(epfd);
  free(conns);
  free(idle);
  return end_fds == start_fds ? 0 : 1;
}
