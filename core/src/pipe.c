/* Pipe transports: the stream transport in read-only or write-only form. */
#include "net.h"

int weft_connect_read_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                           weft_future_t **out) {
  if (!loop || !protocol)
    return WEFT_EINVAL;
  return weft__connect_fd(loop, WEFT_TRANSPORT_PIPE_READ, protocol, arg, fd, out);
}

int weft_connect_write_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                            weft_future_t **out) {
  if (!loop || !protocol)
    return WEFT_EINVAL;
  return weft__connect_fd(loop, WEFT_TRANSPORT_PIPE_WRITE, protocol, arg, fd, out);
}
