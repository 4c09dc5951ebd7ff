/* The TLS layer (tls_transport.c) as connect.c composes it over plain transports and
 * servers, the way asyncio's base_events puts an SSLProtocol under the application's
 * protocol. The layer never makes a byte transport or a server itself, and the plain
 * modules (tcp.c, unix.c, server.c) never see it. Internal: nothing here is exported. */
#ifndef WEFT_TLS_NET_H
#define WEFT_TLS_NET_H

#include "weft.h"

typedef struct weft__tls_layer_s weft__tls_layer_t;

/* The protocol the byte transport under a layer gets; its argument is the layer. */
const weft_protocol_t *weft__tls_layer_protocol(void);

/* A layer for one connection, on the server's side if server_side: `protocol`/`arg` get the
 * TLS transport once the handshake has completed. default_host: a client's SNI and name to
 * check when the options give no server_hostname (may be NULL). */
int weft__tls_layer_new(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                        const weft_tls_options_t *tls, const char *default_host, int server_side,
                        weft__tls_layer_t **out);
/* The byte transport's connect (future `inner`, the layer as its protocol) is under way:
 * takes over the caller's reference to `inner` and gives the future of the TLS transport,
 * which fails if `inner` does and cancels it when cancelled first. */
void weft__tls_layer_connect(weft__tls_layer_t *layer, weft_future_t *inner, weft_future_t **out);
/* The byte transport's connect could not start: frees the layer. */
void weft__tls_layer_discard(weft__tls_layer_t *layer);

/* A TLS server's factory, for the plain server: it makes a layer per accepted connection
 * and calls `factory` once that connection's handshake has completed. On success the
 * outputs go to the plain server, with weft__tls_server_free as the argument's
 * destructor; from then on factory_arg is the TLS server's, freed with factory_free (may be
 * NULL) when it goes. */
int weft__tls_server_new(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                         weft_free_fn factory_free, const weft_tls_options_t *tls,
                         weft_protocol_factory_fn *factory_out, void **arg_out);
void weft__tls_server_free(void *arg);
/* The plain server could not be made: frees the TLS server, factory_arg left to the caller. */
void weft__tls_server_discard(void *arg);

#endif
