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
#include "echo_roundtrip.h"

#include <sys/resource.h>

#define IN_FLIGHT 64

/* Opens conns[0..count) with at most IN_FLIGHT round trips pending. */
static void open_all(rt_conn_t *conns, int count, int epfd) {
  int started = 0, finished = 0;
  struct epoll_event events[256];
  while (finished < count) {
    while (started < count && started - finished < IN_FLIGHT)
      rt_start(&conns[started++], epfd);
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno != EINTR)
      rt_die("epoll_wait");
    for (int i = 0; i < n; i++) {
      rt_conn_t *c = events[i].data.ptr;
      if (rt_step(c, epfd, events[i].events)) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL); /* held open, quiet */
        finished++;
      }
    }
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
  size_t size = argc > 3 ? (size_t)atol(argv[3]) : 64;
  if (count <= 0 || size == 0)
    return 2;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)count + 16)
    fprintf(stderr, "hold_client: RLIMIT_NOFILE's hard limit %lu is below %d connections\n",
            (unsigned long)rl.rlim_cur, count);
  rt_program = "hold_client";
  rt_set_server(argv[1]);
  char *request = malloc(size);
  rt_conn_t *conns = calloc((size_t)count + 1, sizeof *conns);
  int epfd = epoll_create1(0);
  if (!request || !conns || epfd < 0)
    rt_die("setup");
  for (size_t i = 0; i < size; i++)
    request[i] = (char)('a' + i % 26);

  rt_request = request;
  rt_size = size;
  rt_wait_for_server();
  open_all(conns, 1, epfd);
  printf("ready\n");
  fflush(stdout);
  wait_line();

  double t0 = rt_now();
  open_all(conns + 1, count, epfd);
  printf("held %d %.2f\n", count, rt_now() - t0);
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
