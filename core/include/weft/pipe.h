/* Pipe transports over descriptors the caller hands over: asyncio's connect_read_pipe and
 * connect_write_pipe. The descriptor is made non-blocking and closed with the transport. */
#ifndef WEFT_PIPE_H
#define WEFT_PIPE_H

#include "common.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A read-only transport: data_received, then eof_received and connection_lost at EOF (a
 * read pipe closes at EOF whatever eof_received returns). The future's result
 * (WEFT_VALUE_TRANSPORT) is the transport, completed after connection_made. */
WEFT_API int weft_connect_read_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                    int fd, weft_future_t **out);
/* A write-only transport: write, writelines, close, abort, flow control. */
WEFT_API int weft_connect_write_pipe(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                     int fd, weft_future_t **out);

#ifdef __cplusplus
}
#endif
#endif
