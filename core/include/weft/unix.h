/* Unix domain stream sockets, client side: asyncio's loop.create_unix_connection. (The
 * server side is weft_create_unix_server in server.h.) */
#ifndef WEFT_UNIX_H
#define WEFT_UNIX_H

#include "common.h"
#include "protocol.h"
#include "tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Connects to the socket at `path` (path_len bytes; a leading NUL makes it an abstract
 * name), then binds the protocol. The future's result (WEFT_VALUE_TRANSPORT) is the transport (a
 * reference owned by the future). The options are TCP's (weft_connect_options_t, NULL for
 * the defaults): tls applies (TLS over the socket: give tls->server_hostname when the
 * context checks host names, there is no host to default to); local_host or local_port is
 * WEFT_EINVAL; the other fields do not apply to Unix sockets and are ignored. */
WEFT_API int weft_create_unix_connection(weft_loop_t *loop, const weft_protocol_t *protocol,
                                         void *arg, const char *path, size_t path_len,
                                         const weft_connect_options_t *options,
                                         weft_future_t **out);
/* Wraps a connected Unix stream socket the caller hands over (the descriptor is the
 * transport's once this returns 0); the options as for weft_create_unix_connection. */
WEFT_API int weft_create_unix_connection_fd(weft_loop_t *loop, const weft_protocol_t *protocol,
                                            void *arg, int fd,
                                            const weft_connect_options_t *options,
                                            weft_future_t **out);

#ifdef __cplusplus
}
#endif
#endif
