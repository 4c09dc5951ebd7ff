/* The slow consumer of bench/load/slow.py: slow_client PORT MIB
 *
 * Connects, reads the first MiB, prints "stopped" and stops reading until a line comes on
 * stdin; then reads everything else to the end of the stream. Every byte is checked against
 * the pattern slow_server writes (byte i is i mod 251), so a lost, repeated or reordered
 * byte fails it; the stream must end exactly after MIB MiB. Prints "done BYTES" and exits
 * 0 only then. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "slow_client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static size_t received;

/* Reads up to `until` bytes in all (or to EOF when until is 0); returns 0 at EOF. */
static int read_to(int fd, size_t until) {
  static char buf[256 * 1024];
  while (until == 0 || received < until) {
    size_t want = sizeof buf;
    if (until && until - received < want)
      want = until - received;
    ssize_t n = recv(fd, buf, want, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      die("recv");
    if (n == 0)
      return 0;
    for (ssize_t i = 0; i < n; i++)
      if ((unsigned char)buf[i] != (received + (size_t)i) % 251) {
        fprintf(stderr, "slow_client: byte %zu differs\n", received + (size_t)i);
        exit(1);
      }
    received += (size_t)n;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PORT MIB\n", argv[0]);
    return 2;
  }
  size_t total = (size_t)atol(argv[2]) * 1024 * 1024;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)atoi(argv[1])),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd;
  for (int tries = 0;; tries++) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
      break;
    close(fd);
    if (tries == 600)
      die("connect");
    usleep(50 * 1000);
  }
  if (read_to(fd, total < 1024 * 1024 ? total : 1024 * 1024) == 0) {
    fprintf(stderr, "slow_client: the stream ended after %zu bytes\n", received);
    return 1;
  }
  printf("stopped\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin))
    return 1;
  read_to(fd, 0);
  close(fd);
  printf("done %zu\n", received);
  fflush(stdout);
  if (received != total) {
    fprintf(stderr, "slow_client: %zu bytes, expected %zu\n", received, total);
    return 1;
  }
  return 0;
}
