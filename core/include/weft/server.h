/* Servers: asyncio's loop.create_server and asyncio.Server, for TCP and Unix sockets.
 *
 * A server owns its listening sockets and accepts on them while serving, calling the
 * protocol factory for each connection. Accepting never spins when the process runs out
 * of descriptors (EMFILE/ENFILE): the server stops accepting for accept_retry_delay and
 * then tries again, as asyncio does. */
#ifndef WEFT_SERVER_H
#define WEFT_SERVER_H

#include "common.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;
struct weft_tls_options_s; /* tls_transport.h */
typedef struct weft_server_s weft_server_t;

/* Start from weft_server_options_init, which gives asyncio's defaults. */
typedef struct weft_server_options_s {
  size_t size;               /* sizeof(weft_server_options_t) */
  int family;                /* AF_INET, AF_INET6 or 0 for every family the host resolves to */
  int flags;                 /* getaddrinfo flags, AI_PASSIVE added */
  int backlog;               /* listen() backlog (default 100) */
  int reuse_address;         /* set SO_REUSEADDR (default 1, as asyncio on POSIX) */
  int reuse_port;            /* set SO_REUSEPORT */
  int start_serving;         /* accept at once (default 1; else weft_server_start_serving) */
  double accept_retry_delay; /* seconds to pause accepting after EMFILE/ENFILE (default 1) */
  int cleanup_socket;        /* Unix servers: unlink the socket file on close (default 1) */
  /* TLS (asyncio's ssl=): a server context and its settings, or NULL. The factory is then
   * called for a connection once its handshake has completed (tls_transport.h). */
  const struct weft_tls_options_s *tls;
} weft_server_options_t;

/* Fills *options with the defaults (asyncio's), as commented on each field. */
WEFT_API void weft_server_options_init(weft_server_options_t *options);

/* The three ways to make a server take the same parameters in the same order and give
 * the same result: a future whose result (WEFT_VALUE_SERVER) is the server (a reference
 * owned by the future: retain it to keep it). Invalid arguments are returned at once (and *out is
 * not set); a failure to bind or listen fails the future. The factory is called on the
 * loop for each accepted connection. With options->tls, for a connection whose TLS
 * handshake has completed (tls_transport.h). The factory is never called after
 * weft_server_close. factory_arg_free (may be NULL) is called with factory_arg exactly
 * once when the server lets go of it: when it closes (after a factory call in progress
 * returns), or when the creating future fails. When the call itself fails, neither is
 * called and the argument stays the caller's. */

/* Binds and listens on every address of host:port (NULL host: all interfaces, both
 * families). IPv6 sockets get IPV6_V6ONLY so both families can share the port. */
WEFT_API int weft_create_server(weft_loop_t *loop, weft_protocol_factory_fn factory,
                                void *factory_arg, weft_free_fn factory_arg_free, const char *host,
                                int port, const weft_server_options_t *options,
                                weft_future_t **out);
/* The same on listening sockets the caller hands over (create_server(sock=...)), TCP or
 * Unix; listen() is called on them with the backlog. A descriptor that is not a socket is
 * WEFT_ENOTSOCK, returned; once this returns 0 the descriptors are the server's (closed
 * if the future fails). The future is done when this returns. A Unix socket bound to a path
 * has its file unlinked on close with cleanup_socket, as weft_create_unix_server's. */
WEFT_API int weft_create_server_fds(weft_loop_t *loop, weft_protocol_factory_fn factory,
                                    void *factory_arg, weft_free_fn factory_arg_free,
                                    const int *fds, size_t count,
                                    const weft_server_options_t *options, weft_future_t **out);
/* A Unix server on `path` (path_len bytes; a leading NUL makes it an abstract name). A
 * stale socket file at the path is removed first; the file is unlinked on close with
 * cleanup_socket. The future is done when this returns. */
WEFT_API int weft_create_unix_server(weft_loop_t *loop, weft_protocol_factory_fn factory,
                                     void *factory_arg, weft_free_fn factory_arg_free,
                                     const char *path, size_t path_len,
                                     const weft_server_options_t *options, weft_future_t **out);

WEFT_API weft_server_t *weft_server_retain(weft_server_t *server);
WEFT_API void weft_server_release(weft_server_t *server);
WEFT_API weft_loop_t *weft_server_loop(const weft_server_t *server);

/* Starts accepting (idempotent). WEFT_ECLOSED once closed. */
WEFT_API int weft_server_start_serving(weft_server_t *server);
/* A future that starts serving and never finishes on its own; cancelling it closes the
 * server (asyncio's serve_forever). */
WEFT_API int weft_server_serve_forever(weft_server_t *server, weft_future_t **out);
WEFT_API int weft_server_is_serving(const weft_server_t *server);
/* Stops listening and closes the listening sockets; connections already accepted stay
 * open (a TLS connection still in its handshake gets no protocol: it is shut down). The
 * server lets go of its factory argument. Closing twice is harmless. */
WEFT_API int weft_server_close(weft_server_t *server);
/* Closes the accepted connections too (asyncio 3.13's close_clients / abort_clients). */
WEFT_API int weft_server_close_clients(weft_server_t *server);
WEFT_API int weft_server_abort_clients(weft_server_t *server);
/* A future done once the server is closed and every connection it accepted is gone. */
WEFT_API int weft_server_wait_closed(weft_server_t *server, weft_future_t **out);

/* The listening sockets: their number, descriptors and bound addresses. */
WEFT_API size_t weft_server_socket_count(const weft_server_t *server);
WEFT_API int weft_server_socket_fd(const weft_server_t *server, size_t index);
/* Copies socket `index`'s address into *addr (a struct sockaddr_storage, say) of *len
 * bytes; *len gets the address size. */
WEFT_API int weft_server_socket_address(const weft_server_t *server, size_t index,
                                        struct sockaddr *addr, size_t *len);
/* The port of the first listening socket (0 for Unix servers): handy after binding 0. */
WEFT_API int weft_server_port(const weft_server_t *server);
/* The number of accepted connections still open. */
WEFT_API size_t weft_server_connection_count(const weft_server_t *server);

/* One address create_server listens on: a socket of family, socktype and protocol bound to
 * addr (addr_len 0: the family's whole address). */
typedef struct weft_listen_address_s {
  int family;
  int socktype;
  int protocol;
  const struct sockaddr *addr;
  size_t addr_len;
} weft_listen_address_t;

typedef struct weft_listen_options_s {
  size_t size;          /* sizeof(weft_listen_options_t) */
  int reuse_address;    /* SO_REUSEADDR */
  int reuse_port;       /* SO_REUSEPORT */
  int skip_unavailable; /* skip an address bind refuses with EADDRNOTAVAIL (asyncio 3.13+) */
  int keep_alive;       /* SO_KEEPALIVE, which Linux passes on to the accepted sockets */
} weft_listen_options_t;

/* Fills *options with the defaults: every field zero (off), size set. */
WEFT_API void weft_listen_options_init(weft_listen_options_t *options);

/* Where weft_listen_sockets failed: the address's index, and the socket option whose
 * setting failed (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, IPV6_V6ONLY), 0 when bind did. */
typedef struct weft_listen_failure_s {
  size_t index;
  int option;
} weft_listen_failure_t;

/* asyncio's listening sockets for create_server, made before weft_create_server_fds: for each
 * address a socket (skipped when the system refuses its family, type or protocol), with the
 * options, IPV6_V6ONLY for IPv6, then bound. Returns how many were made, their descriptors
 * in fds (count entries; the caller's, not listening yet); or an error, every socket closed
 * and *failure (may be NULL) saying where. */
WEFT_API int weft_listen_sockets(const weft_listen_address_t *addrs, size_t count,
                                 const weft_listen_options_t *options, int *fds,
                                 weft_listen_failure_t *failure);

#ifdef __cplusplus
}
#endif
#endif
