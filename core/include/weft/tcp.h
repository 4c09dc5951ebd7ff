/* TCP connections: asyncio's loop.create_connection, with non-blocking name resolution
 * and happy eyeballs (RFC 8305). The options are shared with Unix connections (unix.h);
 * their tls field puts TLS over either (tls_transport.h). */
#ifndef WEFT_TCP_H
#define WEFT_TCP_H

#include "common.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;
struct weft_tls_options_s; /* tls_transport.h */

/* Start from weft_connect_options_init, which gives asyncio's defaults. */
typedef struct weft_connect_options_s {
  size_t size;            /* sizeof(weft_connect_options_t) */
  int family;             /* AF_INET, AF_INET6, or 0 for any */
  int flags;              /* getaddrinfo AI_* flags */
  const char *local_host; /* bind the socket to this address first (NULL: no bind) */
  int local_port;         /* with local_host, or alone for a port on any address */
  /* Happy eyeballs: seconds to wait before starting the next address while an attempt is
   * under way (RFC 8305 suggests 0.25). 0 tries the addresses one after another, as
   * asyncio without happy_eyeballs_delay. */
  double happy_eyeballs_delay;
  /* Reorders the addresses, alternating families with this many of the first family
   * first (RFC 8305's "First Address Family Count"). 0: 1 with a delay, else none. */
  int interleave;
  int nodelay; /* set TCP_NODELAY, as asyncio does (default 1) */
  /* TLS (asyncio's ssl=): a client context and its settings, or NULL for plain TCP. The
   * future then completes after the handshake, with the TLS transport (tls_transport.h). */
  const struct weft_tls_options_s *tls;
} weft_connect_options_t;

/* Fills *options with the defaults (asyncio's): nodelay on, everything else off or none. */
WEFT_API void weft_connect_options_init(weft_connect_options_t *options);

/* Connects to host:port, then binds `protocol`/`arg` to the new transport and delivers
 * connection_made. The future's result (WEFT_VALUE_TRANSPORT) is the transport (a reference owned
 * by the future: retain it to keep it). Cancelling the future stops the attempt. On failure (the
 * first error, or a combined message when the addresses failed differently) no protocol callback is
 * called. */
WEFT_API int weft_create_connection(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                    const char *host, int port,
                                    const weft_connect_options_t *options, weft_future_t **out);
/* The same over addresses already resolved (tried in the given order, interleaved as the
 * options say). The addresses are copied. */
WEFT_API int weft_create_connection_addrs(weft_loop_t *loop, const weft_protocol_t *protocol,
                                          void *arg, const struct sockaddr *const *addrs,
                                          size_t count, const weft_connect_options_t *options,
                                          weft_future_t **out);
/* Wraps a connected TCP socket the caller hands over (create_connection(sock=...)); the
 * descriptor is the transport's once this returns 0. The future completes after
 * connection_made, as asyncio's (after the handshake with options->tls). Of the options,
 * nodelay and tls apply; local_host or local_port is WEFT_EINVAL (the socket is connected
 * already); the rest is ignored. */
WEFT_API int weft_create_connection_fd(weft_loop_t *loop, const weft_protocol_t *protocol,
                                       void *arg, int fd, const weft_connect_options_t *options,
                                       weft_future_t **out);
/* connect_accepted_socket: a connected TCP or Unix stream socket accepted outside weft
 * (the descriptor is the transport's once this returns 0). Plain, it is
 * weft_create_connection_fd or weft_create_unix_connection_fd by the socket's family. With
 * options->tls (a server context, or an ssl_fn) it is the server side of TLS, with the
 * caller's protocol as for a client: connection_made once the handshake has completed, the
 * future's result the TLS transport, and a failed handshake fails the future. The options
 * apply as for weft_create_connection_fd. */
WEFT_API int weft_connect_accepted_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                      int fd, const weft_connect_options_t *options,
                                      weft_future_t **out);

/* A connected TCP socket instead of a transport, for a binding that wraps sockets itself: races
 * `addrs` as weft_create_connection_addrs does (happy_eyeballs_delay and interleave apply),
 * binding each attempt to the first of `locals` (may be NULL) of its family that binds. Result:
 * see weft_connect_socket_take. The addresses are copied. */
WEFT_API int weft_connect_socket(weft_loop_t *loop, const struct sockaddr *const *addrs,
                                 size_t count, const struct sockaddr *const *locals,
                                 size_t local_count, const weft_connect_options_t *options,
                                 weft_future_t **out);
/* The connected descriptor (non-blocking, close-on-exec) of a weft_connect_socket future that
 * succeeded, once: the caller owns it. WEFT_EINVAL otherwise (taken already, or no such future).
 * One never taken closes with the future. */
WEFT_API int weft_connect_socket_take(weft_future_t *future);
/* Why a connection race failed, step by step, so a binding can raise its language's own
 * errors (asyncio's "Multiple exceptions: ..."): of a future of weft_connect_socket or
 * weft_create_connection*, the failures in the order they happened (0 if it did not fail so),
 * and failure `index`'s error code (returned; WEFT_EINVAL out of range), step, and address:
 * the local one for a BIND, the remote one otherwise, copied into *addr of *len bytes. */
enum {
  WEFT_CONNECT_STEP_CONNECT = 0,  /* connect() to the remote address failed */
  WEFT_CONNECT_STEP_BIND = 1,     /* bind() to this local address failed */
  WEFT_CONNECT_STEP_NO_LOCAL = 2, /* no local address has the remote address's family */
  WEFT_CONNECT_STEP_SOCKET = 3    /* no socket could be made for the remote address */
};
WEFT_API size_t weft_connect_failure_count(const weft_future_t *future);
WEFT_API int weft_connect_failure(const weft_future_t *future, size_t index, int *step,
                                  struct sockaddr *addr, size_t *len);
#ifdef __cplusplus
}
#endif
#endif
