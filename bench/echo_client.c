/* Load client for the echo benchmarks:
 *   echo_client PORT SIZE SECONDS CONNECTIONS [WARMUP_SECONDS]
 *   echo_client PORT SIZE 0 CONNECTIONS 0 REQUESTS
 * Each connection sends SIZE bytes and waits for them to come back, over and over: one
 * request in flight per connection. All connections share one thread and one epoll set,
 * so with enough of them the server always has work waiting and the figure is how many
 * requests it can serve, not how fast two processes wake each other (a blocking thread per
 * connection, this client's first form, paid a context switch per request on both sides,
 * and that latency hid the servers' differences).
 * The timed form counts only requests completed after the warm-up (connections set up,
 * caches and allocator warm, TCP windows open) and prints "requests/s MiB/s
 * total-requests". The counted form makes exactly REQUESTS requests per connection and
 * prints the total: it is how the instruction counts divide by the requests served.
 * The client keeps its own kernel work small, so that on a machine with few cores the
 * server, not the client, sets the pace: requests go out with sendfile from a memfd (the
 * kernel passes page references, no copy) and echoes are read with MSG_TRUNC (TCP
 * discards them without copying them out). Copying 100 KiB each way cost the client about
 * as much CPU as the server it was measuring. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct connection {
  int fd;
  size_t sent;     /* bytes of the current request written */
  size_t received; /* bytes of its echo read back */
  long done;       /* requests completed */
  unsigned events; /* what epoll watches for: changed only when needed, a syscall each */
} connection_t;

static size_t size;
static int outgoing; /* a memfd holding one request */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
  perror(what);
  exit(1);
}

static int connect_to(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  /* The server may still be starting (under valgrind, for seconds): retry for a while. */
  for (int tries = 0;; tries++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      fail("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      return fd;
    }
    close(fd);
    if (tries == 300)
      fail("connect");
    usleep(50 * 1000);
  }
}

/* Writes what is left of the current request; the connection then waits for readability,
 * or for writability while a large request is still going out. */
static void send_more(int epfd, connection_t *c) {
  while (c->sent < size) {
    off_t offset = (off_t)c->sent;
    ssize_t n = sendfile(c->fd, outgoing, &offset, size - c->sent);
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0)
      fail("sendfile");
    c->sent += (size_t)n;
  }
  unsigned wanted = EPOLLIN | (c->sent < size ? EPOLLOUT : 0u);
  if (wanted != c->events) {
    struct epoll_event ev = {.events = wanted, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
      fail("epoll_ctl");
    c->events = wanted;
  }
}

/* Reads the echo; returns 1 when a request completed. The server may echo part of a
 * request before it has all of it, so reading goes on while sending is unfinished. */
static int receive(connection_t *c) {
  for (;;) {
    char ignored;
    ssize_t n = recv(c->fd, &ignored, size - c->received, MSG_TRUNC);
    if (n < 0 && errno == EAGAIN)
      return 0;
    if (n < 0)
      fail("recv");
    if (n == 0) {
      fprintf(stderr, "echo_client: the server closed a connection\n");
      exit(1);
    }
    c->received += (size_t)n;
    if (c->received == size) {
      c->received = c->sent = 0;
      c->done++;
      return 1;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s PORT SIZE SECONDS CONNECTIONS [WARMUP_SECONDS [REQUESTS]]\n",
            argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  size = (size_t)atol(argv[2]);
  double seconds = atof(argv[3]);
  int count = atoi(argv[4]);
  double warmup = argc > 5 ? atof(argv[5]) : 0.5;
  long per_connection = argc > 6 ? atol(argv[6]) : 0; /* the counted form, else 0 */
  if (size == 0 || count <= 0)
    return 2;
  char *request = malloc(size);
  connection_t *conns = calloc((size_t)count, sizeof(*conns));
  int epfd = epoll_create1(0);
  outgoing = memfd_create("echo_request", 0);
  if (!request || !conns || epfd < 0 || outgoing < 0)
    fail("setup");
  memset(request, 'x', size);
  if (write(outgoing, request, size) != (ssize_t)size)
    fail("memfd write");
  free(request);
  for (int i = 0; i < count; i++) {
    conns[i].fd = connect_to(port);
    conns[i].events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
      fail("epoll_ctl");
  }
  for (int i = 0; i < count; i++)
    send_more(epfd, &conns[i]);

  long total = 0, at_start = 0;
  int active = count;
  double start = now(), measured_from = start + warmup, until = measured_from + seconds;
  int warm = 0;
  struct epoll_event events[256];
  while (active > 0) {
    int n = epoll_wait(epfd, events, 256, 1000);
    if (n < 0 && errno != EINTR)
      fail("epoll_wait");
    if (per_connection == 0) {
      double t = now();
      if (!warm && t >= measured_from) {
        warm = 1;
        at_start = total;
        start = t;
      }
      if (t >= until)
        break;
    }
    for (int i = 0; i < n; i++) {
      connection_t *c = events[i].data.ptr;
      if (c->sent < size && (events[i].events & EPOLLOUT))
        send_more(epfd, c);
      if (!receive(c))
        continue;
      total++;
      if (per_connection && c->done == per_connection) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        active--;
        continue;
      }
      send_more(epfd, c);
    }
  }
  if (per_connection) {
    printf("%ld\n", total);
  } else {
    double elapsed = now() - start;
    long counted = total - at_start;
    printf("%.0f %.1f %ld\n", (double)counted / elapsed,
           (double)counted * (double)size / elapsed / (1024.0 * 1024.0), total);
  }
  for (int i = 0; i < count; i++)
    close(conns[i].fd);
  close(epfd);
  free(conns);
  close(outgoing);
  return 0;
}
