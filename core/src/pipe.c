/* Pipe transports: the stream transport in read-only or write-only form. */
#include "net.h"

#include <unistd.h>

int weft_connect_read_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                           weft_future_t **out) {
  if (!loop || !protocol)
    return WEFT_EINVAL;
  return weft__connect_fd(loop, WEFT_TRANSPORT_PIPE_READ, protocol, arg, fd, 0, out);
}

int weft_connect_write_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                            weft_future_t **out) {
  if (!loop || !protocol)
    return WEFT_EINVAL;
  return weft__connect_fd(loop, WEFT_TRANSPORT_PIPE_WRITE, protocol, arg, fd, 0, out);
}

int weft__pipe_transport(weft_loop_t *loop, int kind, int fd, const weft_protocol_t *protocol,
                         void *arg, weft_transport_t **out) {
  weft__stream_t *s;
  int rc = weft__stream_new(loop, kind, 0, &s);
  if (rc) {
    close(fd);
    return rc;
  }
  rc = weft__stream_open_fd(s, fd);
  if (rc) {
    close(fd);
    weft__stream_discard(s);
    return rc;
  }
  rc = weft__stream_start(s, protocol, arg);
  if (rc) {
    weft__stream_discard(s); /* closes the descriptor */
    return rc;
  }
  *out = &s->base;
  return 0;
}
