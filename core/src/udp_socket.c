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

size_t weft_datagram_pair(weft_datagram_candidate_t *rows, size_t count) {
  if (!rows)
    return 0;
  int want_local = 0, want_remote = 0;
  size_t n = 0;
  for (size_t r = 0; r < count; r++) {
    weft_datagram_candidate_t row = rows[r]; /* rows[n] may be it, or one still to read */
    want_local |= row.local != NULL;
    want_remote |= row.remote != NULL;
    size_t i = 0;
    while (i < n && !(rows[i].family == row.family && rows[i].protocol == row.protocol))
      i++;
    if (i == n)
      rows[n++] = (weft_datagram_candidate_t){.family = row.family, .protocol = row.protocol};
    if (row.local) {
      rows[i].local = row.local;
      rows[i].local_len = row.local_len;
    }
    if (row.remote) {
      rows[i].remote = row.remote;
      rows[i].remote_len = row.remote_len;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    if ((!want_local || rows[i].local) && (!want_remote || rows[i].remote))
      rows[kept++] = rows[i];
  return kept;
}
