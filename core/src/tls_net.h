/* TLS over transports (tls_transport.c): what tcp.c, server.c and stream.c call when their
 * options carry TLS settings. Internal: nothing here is exported. */
#ifndef WEFT_TLS_NET_H
#define WEFT_TLS_NET_H

#include "weft.h"

/* The TLS settings in the options, or NULL for plain connections (older, shorter option
 * structs have none). */
const weft_tls_options_t *weft__tls_connect_options(const weft_connect_options_t *options);
const weft_tls_options_t *weft__tls_server_options(const weft_server_options_t *options);

/* weft_create_connection (addrs NULL) and weft_create_connection_addrs over TLS. */
int weft__tls_create_connection(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                const char *host, int port, const struct sockaddr *const *addrs,
                                size_t count, const weft_connect_options_t *options,
                                weft_future_t **out);

/* weft_create_server, weft_create_server_fds and weft_create_unix_server over TLS: the
 * server is made with a factory of the TLS layer's, which calls `factory` once a
 * connection's handshake has completed. */
int weft__tls_create_server(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                            weft_free_fn factory_arg_free, const char *host, int port,
                            const weft_server_options_t *options, weft_future_t **out);
int weft__tls_create_server_fds(weft_loop_t *loop, weft_protocol_factory_fn factory,
                                void *factory_arg, weft_free_fn factory_arg_free, const int *fds,
                                size_t count, const weft_server_options_t *options,
                                weft_server_t **out);
int weft__tls_create_unix_server(weft_loop_t *loop, weft_protocol_factory_fn factory,
                                 void *factory_arg, weft_free_fn factory_arg_free, const char *path,
                                 size_t path_len, const weft_server_options_t *options,
                                 weft_server_t **out);

#endif
