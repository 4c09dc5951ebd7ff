/* Unix domain stream sockets, client side: asyncio's loop.create_unix_connection. (The
 * server side is weft_create_unix_server in server.h.) */
#ifndef WEFT_UNIX_H
#define WEFT_UNIX_H

#include "common.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Connects to the socket at `path` (path_len bytes; a leading NUL makes it an abstract
 * name), then binds the protocol. The future's result is a pointer to the transport (a
 * reference owned by the future). */
WEFT_API int weft_create_unix_connection(weft_loop_t *loop, const weft_protocol_t *protocol,
                                         void *arg, const char *path, size_t path_len,
                                         weft_future_t **out);
/* Wraps a connected Unix stream socket the caller hands over. */
WEFT_API int weft_create_unix_connection_fd(weft_loop_t *loop, const weft_protocol_t *protocol,
                                            void *arg, int fd, weft_future_t **out);

#ifdef __cplusplus
}
#endif
#endif
