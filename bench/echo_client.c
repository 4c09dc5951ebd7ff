/* Load client for the echo benchmarks:
 *   echo_client PORT SIZE SECONDS CONNECTIONS [WARMUP_SECONDS]
 *   echo_client PORT SIZE 0 CONNECTIONS 0 REQUESTS
 * Each connection (a thread with a blocking socket) sends SIZE bytes and waits for them to
 * come back, over and over. The timed form counts only requests completed after the
 * warm-up (connections set up, caches and allocator warm, TCP windows open) and prints
 * "requests/s MiB/s total-requests". The counted form makes exactly REQUESTS requests per
 * connection and exits: bench/echo.sh uses it to count the server's instructions per request. */
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
static long count; /* requests per connection in the counted form, else 0 */
static atomic_long requests;
static atomic_int stop;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg) {
  (void)arg;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = -1;
  /* The server may still be starting (under valgrind, for seconds): retry for a while. */
  for (int tries = 0;; tries++) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
      break;
    close(fd);
    if (tries == 300) {
      perror("connect");
      exit(1);
    }
    usleep(50 * 1000);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char *out = malloc(size), *in = malloc(size);
  memset(out, 'x', size);
  for (long done = 0; !atomic_load(&stop) && (count == 0 || done < count); done++) {
    size_t sent = 0;
    while (sent < size) {
      ssize_t n = write(fd, out + sent, size - sent);
      if (n <= 0)
        goto out;
      sent += (size_t)n;
    }
    size_t got = 0;
    while (got < size) {
      ssize_t n = read(fd, in + got, size - got);
      if (n <= 0)
        goto out;
      got += (size_t)n;
    }
    atomic_fetch_add(&requests, 1);
  }
out:
  close(fd);
  free(out);
  free(in);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s PORT SIZE SECONDS CONNECTIONS [WARMUP_SECONDS [REQUESTS]]\n",
            argv[0]);
    return 2;
  }
  port = atoi(argv[1]);
  size = (size_t)atol(argv[2]);
  double seconds = atof(argv[3]);
  int conns = atoi(argv[4]);
  double warmup = argc > 5 ? atof(argv[5]) : 0.5;
  count = argc > 6 ? atol(argv[6]) : 0;
  pthread_t *th = calloc((size_t)conns, sizeof(*th));
  for (int i = 0; i < conns; i++)
    pthread_create(&th[i], NULL, run, NULL);
  if (count == 0) {
    usleep((useconds_t)(warmup * 1e6));
    long r0 = atomic_load(&requests);
    double t0 = now();
    usleep((useconds_t)(seconds * 1e6));
    long reqs = atomic_load(&requests) - r0;
    double el = now() - t0;
    atomic_store(&stop, 1);
    /* The third figure, every request including the warm-up's, lets bench/echo.sh divide
     * the server's CPU time by the requests it served. */
    for (int i = 0; i < conns; i++)
      pthread_join(th[i], NULL);
    printf("%.0f %.1f %ld\n", (double)reqs / el,
           (double)reqs * (double)size / el / (1024.0 * 1024.0), atomic_load(&requests));
    free(th);
    return 0;
  }
  for (int i = 0; i < conns; i++)
    pthread_join(th[i], NULL);
  if (count)
    printf("%ld\n", atomic_load(&requests));
  free(th);
  return 0;
}
