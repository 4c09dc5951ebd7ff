/* The entry points of connections and servers, TCP and Unix alike: each makes the plain
 * transport or server (tcp.c, unix.c, transport.c, server.c) and, when the options carry
 * TLS settings, composes the TLS layer (tls_transport.c) over it, as asyncio's base_events
 * does with sslproto: the plain connect gets the layer as its protocol, the plain server a
 * factory of the layer's. This is the one place that knows both: the plain modules never
 * see TLS, and the layer never makes a transport or a server. */
#include "net.h"
#include "tls_net.h"

#include <stddef.h>
#include <sys/socket.h>

/* ---------------------------------------------------------------- connections */

/* Where a connection goes. */
enum { TO_HOST, TO_ADDRS, TO_PATH, TO_TCP_FD, TO_UNIX_FD };

typedef struct target_s {
  int kind;
  const char *host; /* TO_HOST */
  int port;
  const struct sockaddr *const *addrs; /* TO_ADDRS */
  size_t count;
  const char *path; /* TO_PATH */
  size_t path_len;
  int fd; /* TO_TCP_FD, TO_UNIX_FD */
} target_t;

/* Whether the caller's options struct (NULL: the defaults) reaches a field: an older,
 * shorter one has its default. Read in place, so the plain path copies nothing. */
#define HAS_FIELD(o, type, field) ((o) && (o)->size >= offsetof(type, field) + sizeof((o)->field))

static int plain_connect(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                         const target_t *t, const weft_connect_options_t *o, weft_future_t **out) {
  switch (t->kind) {
  case TO_HOST:
    return weft__tcp_connect(loop, protocol, arg, t->host, t->port, o, out);
  case TO_ADDRS:
    return weft__tcp_connect_addrs(loop, protocol, arg, t->addrs, t->count, o, out);
  case TO_PATH:
    return weft__unix_connect(loop, protocol, arg, t->path, t->path_len, out);
  case TO_TCP_FD: {
    int nodelay = HAS_FIELD(o, weft_connect_options_t, nodelay) ? o->nodelay : 1;
    return weft__connect_fd(loop, WEFT_TRANSPORT_TCP, protocol, arg, t->fd, nodelay, out);
  }
  default:
    return weft__connect_fd(loop, WEFT_TRANSPORT_UNIX, protocol, arg, t->fd, 0, out);
  }
}

/* The arguments a plain connect would refuse, checked before a TLS layer is made (making
 * one may call the options' ssl_fn). */
static int target_valid(const target_t *t) {
  switch (t->kind) {
  case TO_HOST:
    return t->host && t->port >= 0 && t->port <= 65535;
  case TO_ADDRS:
    return t->addrs && t->count > 0;
  case TO_PATH:
    return t->path && t->path_len > 0;
  default:
    return t->fd >= 0;
  }
}

/* server_side: the TLS side of a connection accepted elsewhere (connect_accepted_socket). */
static int connect_to(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                      const target_t *t, int server_side, const weft_connect_options_t *o,
                      weft_future_t **out) {
  if (!loop || !protocol || !out || !target_valid(t))
    return WEFT_EINVAL;
  /* Only a TCP connect made here binds its socket first; asking it of a Unix socket or of
   * one connected already is a mistake, not a setting to ignore. */
  if (t->kind != TO_HOST && t->kind != TO_ADDRS &&
      ((HAS_FIELD(o, weft_connect_options_t, local_host) && o->local_host) ||
       (HAS_FIELD(o, weft_connect_options_t, local_port) && o->local_port)))
    return WEFT_EINVAL;
  const weft_tls_options_t *tls = HAS_FIELD(o, weft_connect_options_t, tls) ? o->tls : NULL;
  if (!tls)
    return plain_connect(loop, protocol, arg, t, o, out);
  weft__tls_layer_t *layer;
  int rc = weft__tls_layer_new(loop, protocol, arg, tls, t->kind == TO_HOST ? t->host : NULL,
                               server_side, &layer);
  if (rc)
    return rc;
  weft_future_t *inner;
  rc = plain_connect(loop, weft__tls_layer_protocol(), layer, t, o, &inner);
  if (rc) {
    weft__tls_layer_discard(layer);
    return rc;
  }
  weft__tls_layer_connect(layer, inner, out);
  return 0;
}

int weft_create_connection(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                           const char *host, int port, const weft_connect_options_t *options,
                           weft_future_t **out) {
  target_t t = {.kind = TO_HOST, .host = host, .port = port};
  return connect_to(loop, protocol, arg, &t, 0, options, out);
}

int weft_create_connection_addrs(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                 const struct sockaddr *const *addrs, size_t count,
                                 const weft_connect_options_t *options, weft_future_t **out) {
  target_t t = {.kind = TO_ADDRS, .addrs = addrs, .count = count};
  return connect_to(loop, protocol, arg, &t, 0, options, out);
}

int weft_create_connection_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                              const weft_connect_options_t *options, weft_future_t **out) {
  target_t t = {.kind = TO_TCP_FD, .fd = fd};
  return connect_to(loop, protocol, arg, &t, 0, options, out);
}

int weft_create_unix_connection(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                const char *path, size_t path_len,
                                const weft_connect_options_t *options, weft_future_t **out) {
  target_t t = {.kind = TO_PATH, .path = path, .path_len = path_len};
  return connect_to(loop, protocol, arg, &t, 0, options, out);
}

int weft_create_unix_connection_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                   int fd, const weft_connect_options_t *options,
                                   weft_future_t **out) {
  target_t t = {.kind = TO_UNIX_FD, .fd = fd};
  return connect_to(loop, protocol, arg, &t, 0, options, out);
}

int weft_connect_accepted_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg, int fd,
                             const weft_connect_options_t *options, weft_future_t **out) {
  if (!loop || !protocol || !out || fd < 0)
    return WEFT_EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
    return WEFT_ENOTSOCK;
  target_t t = {.kind = ss.ss_family == AF_UNIX ? TO_UNIX_FD : TO_TCP_FD, .fd = fd};
  return connect_to(loop, protocol, arg, &t, 1, options, out);
}

/* ---------------------------------------------------------------- servers */

/* Where a server listens. */
enum { AT_HOST, AT_FDS, AT_PATH };

typedef struct place_s {
  int kind;
  const char *host; /* AT_HOST */
  int port;
  const int *fds; /* AT_FDS */
  size_t count;
  const char *path; /* AT_PATH */
  size_t path_len;
} place_t;

static int plain_server(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                        weft_free_fn factory_free, const place_t *p, const weft_server_options_t *o,
                        weft_future_t **out) {
  switch (p->kind) {
  case AT_HOST:
    return weft__server_create(loop, factory, factory_arg, factory_free, p->host, p->port, o, out);
  case AT_FDS:
    return weft__server_create_fds(loop, factory, factory_arg, factory_free, p->fds, p->count, o,
                                   out);
  default:
    return weft__server_create_unix(loop, factory, factory_arg, factory_free, p->path, p->path_len,
                                    o, out);
  }
}

static int serve_at(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                    weft_free_fn factory_free, const place_t *p, const weft_server_options_t *o,
                    weft_future_t **out) {
  if (!loop || !factory || !out)
    return WEFT_EINVAL;
  const weft_tls_options_t *tls = HAS_FIELD(o, weft_server_options_t, tls) ? o->tls : NULL;
  if (!tls)
    return plain_server(loop, factory, factory_arg, factory_free, p, o, out);
  weft_protocol_factory_fn tls_factory;
  void *tls_arg;
  int rc =
      weft__tls_server_new(loop, factory, factory_arg, factory_free, tls, &tls_factory, &tls_arg);
  if (rc)
    return rc;
  rc = plain_server(loop, tls_factory, tls_arg, weft__tls_server_free, p, o, out);
  if (rc)
    weft__tls_server_discard(tls_arg);
  return rc;
}

int weft_create_server(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                       weft_free_fn factory_arg_free, const char *host, int port,
                       const weft_server_options_t *options, weft_future_t **out) {
  place_t p = {.kind = AT_HOST, .host = host, .port = port};
  return serve_at(loop, factory, factory_arg, factory_arg_free, &p, options, out);
}

int weft_create_server_fds(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                           weft_free_fn factory_arg_free, const int *fds, size_t count,
                           const weft_server_options_t *options, weft_future_t **out) {
  place_t p = {.kind = AT_FDS, .fds = fds, .count = count};
  return serve_at(loop, factory, factory_arg, factory_arg_free, &p, options, out);
}

int weft_create_unix_server(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                            weft_free_fn factory_arg_free, const char *path, size_t path_len,
                            const weft_server_options_t *options, weft_future_t **out) {
  place_t p = {.kind = AT_PATH, .path = path, .path_len = path_len};
  return serve_at(loop, factory, factory_arg, factory_arg_free, &p, options, out);
}
