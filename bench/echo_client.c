/* Load client for the echo benchmarks: echo_client PORT SIZE SECONDS CONNECTIONS.
 * Each connection (a thread with a blocking socket) sends SIZE bytes and waits for them to
 * come back, over and over; prints "requests/s MiB/s". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static size_t size;
static double seconds;
static atomic_long requests;
static atomic_int stop;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    perror("connect");
    exit(1);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char *out = malloc(size), *in = malloc(size);
  memset(out, 'x', size);
  while (!atomic_load(&stop)) {
    size_t sent = 0;
    while (sent < size) {
      ssize_t n = write(fd, out + sent, size - sent);
      if (n <= 0)
        goto done;
      sent += (size_t)n;
    }
    size_t got = 0;
    while (got < size) {
      ssize_t n = read(fd, in + got, size - got);
      if (n <= 0)
        goto done;
      got += (size_t)n;
    }
    atomic_fetch_add(&requests, 1);
  }
done:
  close(fd);
  free(out);
  free(in);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s PORT SIZE SECONDS CONNECTIONS\n", argv[0]);
    return 2;
  }
  port = atoi(argv[1]);
  size = (size_t)atol(argv[2]);
  seconds = atof(argv[3]);
  int conns = atoi(argv[4]);
  pthread_t *th = calloc((size_t)conns, sizeof(*th));
  double t0 = now();
  for (int i = 0; i < conns; i++)
    pthread_create(&th[i], NULL, run, NULL);
  usleep((useconds_t)(seconds * 1e6));
  atomic_store(&stop, 1);
  long reqs = atomic_load(&requests);
  double el = now() - t0;
  for (int i = 0; i < conns; i++)
    pthread_join(th[i], NULL);
  printf("%.0f %.1f\n", (double)reqs / el, (double)reqs * (double)size / el / (1024.0 * 1024.0));
  free(th);
  return 0;
}
