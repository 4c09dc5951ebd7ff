/* The listening sockets of a TCP server, made as asyncio's create_server makes them, so that
 * every binding skips, sets and fails the same way. */
#include "net.h"

#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

void weft_listen_options_init(weft_listen_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}

static int set_flag(int fd, int level, int name) {
  int one = 1;
  return setsockopt(fd, level, name, &one, sizeof one) == 0 ? 0 : weft__error_from_errno(errno);
}

/* 0, or the error with *option naming the socket option that failed (0: bind did). */
static int prepare(int fd, const weft_listen_address_t *a, const weft_listen_options_t *o,
                   int *option) {
  int rc = 0;
  if (o->reuse_address && (rc = set_flag(fd, SOL_SOCKET, SO_REUSEADDR)) != 0)
    *option = SO_REUSEADDR;
  else if (o->reuse_port && (rc = set_flag(fd, SOL_SOCKET, SO_REUSEPORT)) != 0)
    *option = SO_REUSEPORT;
  else if (o->keep_alive && (rc = set_flag(fd, SOL_SOCKET, SO_KEEPALIVE)) != 0)
    *option = SO_KEEPALIVE;
  /* Linux listens on both families from one IPv6 socket otherwise; asyncio binds each. */
  else if (a->family == AF_INET6 && (rc = set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY)) != 0)
    *option = IPV6_V6ONLY;
  if (rc)
    return rc;
  socklen_t len = a->addr_len ? (socklen_t)a->addr_len : weft__sockaddr_len(a->addr);
  return bind(fd, a->addr, len) == 0 ? 0 : weft__error_from_errno(errno);
}

int weft_listen_sockets(const weft_listen_address_t *addrs, size_t count,
                        const weft_listen_options_t *options, int *fds,
                        weft_listen_failure_t *failure) {
  if (!addrs || !fds)
    return WEFT_EINVAL;
  weft_listen_options_t o;
  weft_listen_options_init(&o);
  if (options)
    weft__copy_sized(&o, sizeof o, options);
  for (size_t i = 0; i < count; i++)
    if (!addrs[i].addr)
      return WEFT_EINVAL;
  int made = 0;
  for (size_t i = 0; i < count; i++) {
    int fd = socket(addrs[i].family, addrs[i].socktype | SOCK_CLOEXEC, addrs[i].protocol);
    if (fd < 0)
      continue; /* a family, type or protocol this system lacks: asyncio goes on */
    int option = 0;
    int rc = prepare(fd, &addrs[i], &o, &option);
    if (rc == WEFT_EADDRNOTAVAIL && !option && o.skip_unavailable) {
      close(fd);
      continue;
    }
    if (rc) {
      close(fd);
      for (int k = 0; k < made; k++)
        close(fds[k]);
      if (failure)
        *failure = (weft_listen_failure_t){i, option};
      return rc;
    }
    fds[made++] = fd;
  }
  return made;
}
