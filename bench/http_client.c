/* A keep-alive HTTP/1.1 client that makes a fixed number of requests:
 *   http_client PORT CONNECTIONS REQUESTS [PATH]
 * Each connection (a thread with a blocking socket to 127.0.0.1:PORT) sends GET PATH, reads
 * the whole response (status 200 and a Content-Length body), and does it again on the same
 * connection until it has made REQUESTS requests. It prints the number of good responses
 * and exits with status 0 only when every connection made all of them.
 * bench/python/http_instructions.sh counts the server's instructions per request with it:
 * wrk runs for a time, not a count, and a count is what lets two runs be subtracted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { BUFFER = 64 * 1024 };

static int port;
static long count; /* requests per connection */
static char request[512];
static size_t request_len;
static atomic_long good;
static atomic_int failed;

/* The value of header `name` in the header block head[0..len), or -1. */
static long content_length(const char *head, size_t len) {
  static const char name[] = "content-length:";
  const char *end = head + len;
  for (const char *line = head; line < end;) {
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL)
      eol = end;
    if ((size_t)(eol - line) > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0) {
      char *stop;
      long value = strtol(line + sizeof name - 1, &stop, 10);
      return stop == line + sizeof name - 1 || value < 0 ? -1 : value;
    }
    line = eol + 1;
  }
  return -1;
}

/* Reads one response into buf (which may hold bytes of it already: *have). Returns 0 for
 * a complete 200 response, -1 otherwise; bytes after it (none with one request in flight)
 * would be an error too. */
static int read_response(int fd, char *buf, size_t *have) {
  size_t head_len = 0;
  for (;;) {
    char *end = *have >= 4 ? memmem(buf, *have, "\r\n\r\n", 4) : NULL;
    if (end != NULL) {
      head_len = (size_t)(end - buf) + 4;
      break;
    }
    if (*have == BUFFER) {
      fprintf(stderr, "http_client: response header larger than %d bytes\n", BUFFER);
      return -1;
    }
    ssize_t n = read(fd, buf + *have, BUFFER - *have);
    if (n <= 0) {
      fprintf(stderr, "http_client: %s while reading a response\n",
              n == 0 ? "end of stream" : strerror(errno));
      return -1;
    }
    *have += (size_t)n;
  }
  if (head_len < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0) {
    fprintf(stderr, "http_client: not a 200 response: %.*s\n", (int)(head_len < 40 ? head_len : 40),
            buf);
    return -1;
  }
  long body = content_length(buf, head_len);
  if (body < 0 || head_len + (size_t)body > BUFFER) {
    fprintf(stderr, "http_client: the response has no usable Content-Length\n");
    return -1;
  }
  size_t total = head_len + (size_t)body;
  while (*have < total) {
    ssize_t n = read(fd, buf + *have, BUFFER - *have);
    if (n <= 0) {
      fprintf(stderr, "http_client: %s while reading a body\n",
              n == 0 ? "end of stream" : strerror(errno));
      return -1;
    }
    *have += (size_t)n;
  }
  if (*have != total) {
    fprintf(stderr, "http_client: %zu bytes more than the response\n", *have - total);
    return -1;
  }
  *have = 0;
  return 0;
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
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
      break;
    if (fd >= 0)
      close(fd);
    if (tries == 600) {
      perror("http_client: connect");
      atomic_store(&failed, 1);
      return NULL;
    }
    usleep(100 * 1000);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  /* Bounded: a server that stops answering fails the run instead of hanging it (generous,
   * for a server under valgrind). */
  struct timeval timeout = {.tv_sec = 60};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  char *buf = malloc(BUFFER);
  size_t have = 0;
  for (long done = 0; buf != NULL && done < count; done++) {
    size_t sent = 0;
    while (sent < request_len) {
      ssize_t n = write(fd, request + sent, request_len - sent);
      if (n <= 0) {
        perror("http_client: write");
        goto fail;
      }
      sent += (size_t)n;
    }
    if (read_response(fd, buf, &have) < 0)
      goto fail;
    atomic_fetch_add(&good, 1);
  }
  if (buf != NULL)
    goto out;
fail:
  atomic_store(&failed, 1);
out:
  close(fd);
  free(buf);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: %s PORT CONNECTIONS REQUESTS [PATH]\n", argv[0]);
    return 2;
  }
  port = atoi(argv[1]);
  int conns = atoi(argv[2]);
  count = atol(argv[3]);
  const char *path = argc > 4 ? argv[4] : "/";
  if (port <= 0 || port > 65535 || conns <= 0 || conns > 1000 || count <= 0 || strlen(path) > 256 ||
      path[0] != '/') {
    fprintf(stderr, "%s: bad arguments (port 1-65535, 1-1000 connections, a path from /)\n",
            argv[0]);
    return 2;
  }
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
  pthread_t *th = calloc((size_t)conns, sizeof(*th));
  if (th == NULL)
    return 1;
  int started = 0;
  for (; started < conns; started++)
    if (pthread_create(&th[started], NULL, run, NULL) != 0) {
      atomic_store(&failed, 1);
      break;
    }
  for (int i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  free(th);
  printf("%ld\n", atomic_load(&good));
  return atomic_load(&failed) ? 1 : 0;
}
