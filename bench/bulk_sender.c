/* Native sender for the Python bulk stream benchmark (bench/python/run.py, stream_bulk):
 *   bulk_sender PORT MIB
 * Connects to 127.0.0.1:PORT, writes MIB MiB of zeroes as fast as the receiver takes them,
 * then closes the connection. The receiver times the transfer, so this side only has to
 * never be the bottleneck: large blocking writes from one buffer, nothing else. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PORT MIB\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  long mib = atol(argv[2]);
  if (port <= 0 || port > 65535 || mib <= 0) {
    fprintf(stderr, "bulk_sender: bad PORT or MIB\n");
    return 2;
  }
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    perror("bulk_sender: connect");
    return 1;
  }
  static char block[CHUNK];
  for (long i = 0; i < mib; i++) {
    size_t sent = 0;
    while (sent < CHUNK) {
      ssize_t n = write(fd, block + sent, CHUNK - sent);
      if (n <= 0) {
        perror("bulk_sender: write");
        return 1;
      }
      sent += (size_t)n;
    }
  }
  close(fd);
  return 0;
}
