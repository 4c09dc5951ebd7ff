/* Connection churn against an echo server: churn_client PORT COUNT SERVER_PID [PARALLEL]
 *
 * COUNT short connections, PARALLEL (default 32) at a time: each connects, sends a 64-byte
 * request, reads the echo back (checked) and closes. At the start and after every tenth of
 * COUNT it prints "CONNECTIONS rss KIB fds N" for the server process (/proc/PID), and at
 * the end, once the server has let go of the last connection (its descriptor count is
 * polled until it comes back to the starting one, for at most 30 s), "end fds N start M".
 * Any error, or a count that does not come back, ends it with status 1. The server's
 * listening socket is up when the first connection succeeds (retried while it starts). */
#include "echo_roundtrip.h"

#include <dirent.h>

#define SIZE 64

static char request[SIZE];
static int pid;

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
    rt_die("opendir /proc/PID/fd");
  struct dirent *e;
  while ((e = readdir(d)))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
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
  rt_program = "churn_client";
  rt_set_server(argv[1]);
  rt_request = request;
  rt_size = SIZE;
  for (int i = 0; i < SIZE; i++)
    request[i] = (char)('A' + i % 26);
  rt_wait_for_server();
  /* The probe's close reaches the server asynchronously: its descriptor count is taken
   * once it is back down to the listening state (stable over 100 ms). */
  int start_fds = server_fds();
  for (int stable = 0, i = 0; stable < 10 && i < 3000; i++) {
    usleep(10 * 1000);
    int n = server_fds();
    stable = n == start_fds ? stable + 1 : 0;
    start_fds = n;
  }
  rt_conn_t *conns = calloc((size_t)parallel, sizeof *conns);
  rt_conn_t **idle = calloc((size_t)parallel, sizeof *idle);
  int epfd = epoll_create1(0);
  if (!conns || !idle || epfd < 0)
    rt_die("setup");
  int nidle = parallel;
  for (int i = 0; i < parallel; i++)
    idle[i] = &conns[i];
  long started = 0, finished = 0, step_every = count >= 10 ? count / 10 : 1;
  printf("%ld rss %ld fds %d\n", 0L, server_rss(), start_fds);
  fflush(stdout);
  double t0 = rt_now();
  struct epoll_event events[256];
  while (finished < count) {
    while (started < count && nidle > 0) {
      rt_start(idle[--nidle], epfd);
      started++;
    }
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno != EINTR)
      rt_die("epoll_wait");
    for (int i = 0; i < n; i++) {
      rt_conn_t *c = events[i].data.ptr;
      if (!rt_step(c, epfd, events[i].events))
        continue;
      close(c->fd); /* also takes it out of the epoll set */
      idle[nidle++] = c;
      if (++finished % step_every == 0) {
        printf("%ld rss %ld fds %d\n", finished, server_rss(), server_fds());
        fflush(stdout);
      }
    }
  }
  double secs = rt_now() - t0;
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
