/* Unix domain stream sockets, client side. libuv 1.44's uv_pipe_connect knows no abstract
 * names, so the socket is made and connected here and then handed to a pipe handle. Plain
 * sockets only: connect.c is where TLS is put over them. */
#include "net.h"

#include <errno.h>
#include <unistd.h>

int weft__unix_connect(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                       const char *path, size_t path_len, weft_future_t **out) {
  if (!loop || !protocol || !path || path_len == 0 || !out)
    return WEFT_EINVAL;
  struct sockaddr_un sun;
  socklen_t sl;
  int rc = weft__unix_addr(path, path_len, &sun, &sl);
  if (rc)
    return rc;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  /* A local connect completes at once or fails at once (EAGAIN: the backlog is full). */
  if (connect(fd, (struct sockaddr *)&sun, sl) != 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  rc = weft__connect_fd(loop, WEFT_TRANSPORT_UNIX, protocol, arg, fd, 0, out);
  if (rc)
    close(fd);
  return rc;
}
