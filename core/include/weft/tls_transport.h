/* TLS over transports: asyncio's create_connection(ssl=...), create_server(ssl=...),
 * loop.start_tls and the SSL transport, as a layer (asyncio's sslproto) that is the
 * protocol of a byte transport (TCP, Unix socket) and a transport of its own to the
 * application's protocol.
 *
 * Turning TLS on: TLS is an option of both stream transports, never a function of its own.
 * Put a weft_tls_options_t in the `tls` field of weft_connect_options_t (every connect:
 * weft_create_connection, _addrs, _fd, weft_create_unix_connection, _fd,
 * weft_connect_accepted_fd for the server side of an accepted socket, and
 * open_[unix_]connection through weft_stream_options_t) or of weft_server_options_t
 * (weft_create_server, _fds, weft_create_unix_server, and start_[unix_]server); or upgrade
 * an open connection with weft_start_tls. The options are read during the call; the
 * context is retained by every connection that uses it.
 *
 * Behaviour, as asyncio's SSL transport:
 *   - A client's connect future completes once the handshake has; a failed handshake fails
 *     it with WEFT_ETLS and a message naming the reason ("certificate verify failed: ...").
 *     No protocol callback is called then, as for any failed connect.
 *   - A server makes the connection's protocol (calls the factory) once the handshake has
 *     completed, so a failed handshake never creates one (asyncio makes it at accept time
 *     and drops it unused); the failure goes to the loop's exception handler ("SSL
 *     handshake failed", the code and the reason) and the connection is closed. After
 *     weft_server_close the factory is never called: a handshake that completes then is
 *     shut down (close_notify) with no protocol.
 *   - A handshake that outlasts handshake_timeout fails with WEFT_ECONNABORTED, asyncio's
 *     ConnectionAbortedError("SSL handshake is taking longer than N seconds").
 *   - close() flushes what was written, sends close_notify, waits for the peer's (at most
 *     shutdown_timeout: then connection_lost(WEFT_ETIMEDOUT), asyncio's TimeoutError) and
 *     closes the byte transport; abort() drops everything at once.
 *   - The peer's close_notify (or a plain end of stream) is eof_received, once; TLS cannot
 *     half-close, so the connection then shuts down whatever eof_received returns, and
 *     write_eof is WEFT_ENOTSUP (can_write_eof is 0). As in asyncio, a protocol that
 *     closed first also gets eof_received when the peer's close_notify completes the
 *     exchange, just before connection_lost(0).
 *   - Flow control: writes are encrypted at once and go to the byte transport, whose
 *     watermarks follow the TLS transport's; the write buffer size counts both. pause_reading
 *     stops reading from the byte transport.
 *   - get_extra_info: the keys below, WEFT_INFO_TRANSPORT (the byte transport), and the
 *     byte transport's own keys (addresses, descriptor). */
#ifndef WEFT_TLS_TRANSPORT_H
#define WEFT_TLS_TRANSPORT_H

#include "common.h"
#include "protocol.h"
#include "tls.h"

#ifdef __cplusplus
extern "C" {
#endif

/* asyncio's ssl=, server_hostname=, ssl_handshake_timeout=, ssl_shutdown_timeout=. */
typedef struct weft_tls_options_s {
  size_t size; /* sizeof(weft_tls_options_t) */
  /* A client context for clients, a server one else; or NULL with ssl_fn set. */
  weft_tls_context_t *context;
  /* Clients: the name sent as SNI and checked against the certificate. NULL: the host
   * given to create_connection (other calls have none: give one when the context checks
   * host names). Servers ignore it. */
  const char *server_hostname;
  double handshake_timeout; /* seconds; 0: WEFT_TLS_HANDSHAKE_TIMEOUT (60) */
  double shutdown_timeout;  /* seconds; 0: WEFT_TLS_SHUTDOWN_TIMEOUT (30) */
  /* Instead of a context: called for each connection (once for a client or start_tls, at
   * each accept for a server) for an SSL made outside weft (tls.h, weft_tls_ssl_t), which
   * carries all the configuration, server_hostname included (the field above is then
   * ignored). A call for one connection (a client, start_tls, connect_accepted) calls it
   * during the call and keeps nothing. A server keeps ssl_arg: ssl_arg_free (may be NULL)
   * is called with it exactly once, when the server lets go of it (as its factory
   * argument, server.h). */
  weft_tls_ssl_fn ssl_fn;
  void *ssl_arg;
  weft_free_fn ssl_arg_free;
} weft_tls_options_t;

/* Fills *options with the defaults: every field zero (none, off), size set. */
WEFT_API void weft_tls_options_init(weft_tls_options_t *options);

/* weft_transport_get_extra_info keys of a TLS transport (asyncio's names in quotes).
 * Strings are copied with their terminating NUL, which *len counts. Before the handshake
 * has completed, and for what was not negotiated, the answer is WEFT_ENOENT. */
typedef enum weft_tls_extra_info {
  WEFT_INFO_TLS_CONN = 100,        /* weft_tls_conn_t *: "ssl_object", for weft_tls_conn_* */
  WEFT_INFO_TLS_CONTEXT = 101,     /* weft_tls_context_t *: "sslcontext" (borrowed; none
                                    * when the SSL came from ssl_fn) */
  WEFT_INFO_TLS_PEERCERT = 102,    /* bytes: the peer certificate, DER ("peercert" binary) */
  WEFT_INFO_TLS_CIPHER = 103,      /* string: the cipher suite ("cipher"[0]) */
  WEFT_INFO_TLS_CIPHER_BITS = 104, /* int32_t: its secret bits ("cipher"[2]) */
  WEFT_INFO_TLS_VERSION = 105,     /* string: "TLSv1.3" ("cipher"[1], ssl_object.version()) */
  WEFT_INFO_TLS_ALPN = 106,        /* string: the ALPN protocol agreed on */
  WEFT_INFO_TLS_SERVER_NAME = 107, /* string: SNI sent (client) or received (server) */
} weft_tls_extra_info_t;

/* asyncio's loop.start_tls: upgrades an open connection to TLS (STARTTLS). `transport`
 * gets a TLS layer as its protocol and must no longer be used; `protocol`/`arg` (usually
 * the one already in use) receives the TLS transport's events but no connection_made. The
 * side is `server_side` (1: server), which must match the context's role. The future's
 * result (WEFT_VALUE_TRANSPORT) is the new transport (a reference owned by the future). If the
 * upgrade fails, the future fails (WEFT_ETLS, WEFT_ECONNABORTED...), the connection is
 * closed and the protocol then gets connection_lost(error) with the old transport. */
WEFT_API int weft_start_tls(weft_transport_t *transport, const weft_protocol_t *protocol, void *arg,
                            const weft_tls_options_t *tls, int32_t server_side,
                            weft_future_t **out);

#ifdef __cplusplus
}
#endif
#endif
