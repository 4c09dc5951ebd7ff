/* The socket of a datagram endpoint, set up as asyncio's create_datagram_endpoint does it:
 * every binding gets the same order of steps and the same first error. */
#include "net.h"

#include <errno.h>
#include <unistd.h>

static socklen_t pair_len(const struct sockaddr *addr, size_t len) {
  return len ? (socklen_t)len : weft__sockaddr_len(addr);
}

/* 0 and the descriptor in *fd_out, or the candidate's error (the descriptor closed); *fatal
 * set when the error stops the tries, as asyncio's ValueError for SO_REUSEPORT does. */
static int try_candidate(const weft_datagram_candidate_t *c, int reuse_port, int allow_broadcast,
                         int *fd_out, int *fatal) {
  int fd = socket(c->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, c->protocol);
  if (fd < 0)
    return weft__error_from_errno(errno);
  int one = 1, rc = 0;
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    rc = WEFT_ENOTSUP;
    *fatal = 1;
  } else if (allow_broadcast && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0)
    rc = weft__error_from_errno(errno);
  else if (c->local && bind(fd, c->local, pair_len(c->local, c->local_len)) != 0)
    rc = weft__error_from_errno(errno);
  else if (c->remote && !allow_broadcast &&
           connect(fd, c->remote, pair_len(c->remote, c->remote_len)) != 0)
    rc = weft__error_from_errno(errno);
  if (rc) {
    close(fd);
    return rc;
  }
  *fd_out = fd;
  return 0;
}

int weft_datagram_socket(const weft_datagram_candidate_t *candidates, size_t count, int reuse_port,
                         int allow_broadcast, int *fd_out) {
  if (!candidates || !fd_out || count == 0)
    return WEFT_EINVAL;
  *fd_out = -1;
  int first = 0;
  for (size_t i = 0; i < count; i++) {
    int fatal = 0;
    int rc = try_candidate(&candidates[i], reuse_port, allow_broadcast, fd_out, &fatal);
    if (rc == 0)
      return (int)i;
    if (fatal)
      return rc;
    if (!first)
      first = rc;
  }
  return first;
}
