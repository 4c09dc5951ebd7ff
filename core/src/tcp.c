/* TCP connections: resolve, race the addresses (happy_eyeballs.c), wrap the winner. Plain
 * TCP only: connect.c is where TLS is put over it. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct connect_op_s {
  weft_loop_t *loop;
  weft_future_t *future;
  weft_protocol_t proto;
  void *arg;
  weft_connect_options_t opts;
  weft__resolve_t *resolve, *local_resolve;
  struct addrinfo *remote, *local;
  int pending_lookups;
  weft__he_t *he;
  int want_socket; /* weft_connect_socket: the result is the descriptor, not a transport */
  weft__op_watch_t watch;
} connect_op_t;

static void op_fail(connect_op_t *op, int error, const char *message) {
  if (!weft_future_done(op->future))
    weft_future_set_error(op->future, error, message, NULL, NULL);
}

static void op_fail_detail(connect_op_t *op, int error, const char *message,
                           weft__error_detail_t *detail) {
  if (!detail)
    op_fail(op, error, message);
  else if (weft_future_done(op->future))
    free(detail);
  else
    weft__future_fail_detail(op->future, error, message, detail);
}

static void close_socket(void *p) {
  int *fd = p;
  if (*fd >= 0)
    close(*fd);
  free(fd);
}

/* The winner's descriptor as the future's result, owned by the value until taken. */
static void give_socket(connect_op_t *op, weft__stream_t *s) {
  uv_os_fd_t fd = -1;
  int *owned = malloc(sizeof(*owned));
  int rc = owned ? uv_fileno((const uv_handle_t *)&s->h.tcp, &fd) : UV_ENOMEM;
  int dup = rc == 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (rc == 0 && dup < 0)
    rc = -errno;
  weft__stream_discard(s);
  if (rc) {
    free(owned);
    op_fail(op, weft_error_from_uv(rc), NULL);
    return;
  }
  *owned = dup;
  weft_future_set_result(op->future, weft_value_pointer(owned, close_socket));
}

static void op_done(weft_future_t *f, void *arg) {
  connect_op_t *op = arg;
  if (op->resolve)
    weft__resolve_cancel(op->resolve);
  if (op->local_resolve)
    weft__resolve_cancel(op->local_resolve);
  if (op->he)
    weft__he_cancel(op->he);
  if (op->remote)
    uv_freeaddrinfo(op->remote);
  if (op->local)
    uv_freeaddrinfo(op->local);
  /* No transport took the protocol: the connect is over with its argument. */
  weft__let_go(op->loop, op->proto.arg_free, op->arg);
  weft_future_release(op->future);
  free(op);
}

static void on_winner(void *arg, weft__stream_t *s, int error, const char *message,
                      weft__error_detail_t *failures) {
  connect_op_t *op = arg;
  op->he = NULL;
  if (!s) {
    op_fail_detail(op, error, message, failures);
    return;
  }
  if (weft_future_done(op->future)) {
    weft__stream_discard(s); /* cancelled while the winning connect completed */
    return;
  }
  if (op->want_socket) {
    give_socket(op, s);
    return;
  }
  if (op->opts.nodelay)
    weft__tcp_set_nodelay(s);
  int rc = weft__stream_start(s, &op->proto, op->arg);
  op->proto.arg_free = NULL; /* the transport's now, even if it failed to start */
  if (rc) {
    weft__stream_discard(s);
    op_fail(op, rc, NULL);
    return;
  }
  weft__future_set_transport(op->future, &s->base);
  weft_transport_release(&s->base); /* the handle keeps its own until closed */
}

static int start_race(connect_op_t *op, const struct sockaddr *const *addrs, size_t n,
                      const struct sockaddr *const *locals, size_t nlocal) {
  return weft__he_start(op->loop, addrs, n, locals, nlocal, op->opts.happy_eyeballs_delay,
                        op->opts.interleave, on_winner, op, &op->he);
}

static size_t to_array(const struct addrinfo *res, const struct sockaddr **out, size_t cap) {
  size_t n = 0;
  for (const struct addrinfo *a = res; a && n < cap; a = a->ai_next)
    if (a->ai_family == AF_INET || a->ai_family == AF_INET6)
      out[n++] = a->ai_addr;
  return n;
}

static void maybe_race(connect_op_t *op) {
  if (op->pending_lookups > 0 || weft_future_done(op->future))
    return;
  const struct sockaddr *addrs[64], *locals[64];
  size_t n = to_array(op->remote, addrs, 64);
  size_t nl = to_array(op->local, locals, 64);
  if (n == 0) {
    op_fail(op, WEFT_EAI_NONAME, "getaddrinfo() returned empty list");
    return;
  }
  if ((op->opts.local_host || op->opts.local_port) && nl == 0) {
    op_fail(op, WEFT_EAI_NONAME, "getaddrinfo() returned empty list for the local address");
    return;
  }
  int rc = start_race(op, addrs, n, locals, nl);
  if (rc)
    op_fail(op, rc, NULL);
}

static void on_remote(void *arg, struct addrinfo *res, int error) {
  connect_op_t *op = arg;
  op->resolve = NULL;
  op->pending_lookups--;
  op->remote = res;
  if (error)
    op_fail(op, error, weft_strerror(error));
  else
    maybe_race(op);
}

static void on_local(void *arg, struct addrinfo *res, int error) {
  connect_op_t *op = arg;
  op->local_resolve = NULL;
  op->pending_lookups--;
  op->local = res;
  if (error)
    op_fail(op, error, weft_strerror(error));
  else
    maybe_race(op);
}

void weft_connect_options_init(weft_connect_options_t *o) {
  if (o == NULL)
    return;
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
  o->nodelay = 1;
}

static int op_new(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                  const weft_connect_options_t *options, connect_op_t **out) {
  static const weft_protocol_t none = {.size = sizeof(weft_protocol_t)};
  if (!loop || (!protocol && arg))
    return WEFT_EINVAL;
  if (!protocol)
    protocol = &none; /* weft_connect_socket: no transport, so no protocol */
  connect_op_t *op;
  int rc = weft__op_new(loop, sizeof(*op), offsetof(connect_op_t, future), (void **)&op);
  if (rc)
    return rc;
  op->loop = loop;
  weft__copy_sized(&op->proto, sizeof(op->proto), protocol);
  op->arg = arg;
  weft_connect_options_init(&op->opts);
  weft__copy_options(&op->opts, sizeof(op->opts), options);
  *out = op;
  return 0;
}

/* Hands the future to the caller; from now on the op lives until the future is done. */
static void op_publish(connect_op_t *op, weft_future_t **out) {
  weft__future_watch_op(&op->watch, op->future, op_done, op);
  *out = weft_future_retain(op->future);
}

int weft__tcp_connect(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                      const char *host, int port, const weft_connect_options_t *options,
                      weft_future_t **out) {
  if (!out || !host || port < 0 || port > 65535)
    return WEFT_EINVAL;
  connect_op_t *op;
  int rc = op_new(loop, protocol, arg, options, &op);
  if (rc)
    return rc;
  char service[16];
  snprintf(service, sizeof(service), "%d", port);
  op->pending_lookups = 1;
  int want_local = op->opts.local_host || op->opts.local_port;
  if (want_local)
    op->pending_lookups++;
  /* Hand the future out first: the lookups answer from the loop, never inline. */
  op_publish(op, out);
  rc = weft__resolve(loop, host, service, op->opts.family, SOCK_STREAM, op->opts.flags, on_remote,
                     op, &op->resolve);
  if (rc == 0 && want_local) {
    char lservice[16];
    snprintf(lservice, sizeof(lservice), "%d", op->opts.local_port);
    rc = weft__resolve(loop, op->opts.local_host, lservice, op->opts.family, SOCK_STREAM,
                       AI_PASSIVE, on_local, op, &op->local_resolve);
  }
  if (rc) {
    op->proto.arg_free = NULL; /* the call fails: arg stays the caller's */
    op_fail(op, rc, NULL);
    /* The caller's reference is returned with the error: the future stays the op's. */
    weft_future_release(*out);
    *out = NULL;
    return rc;
  }
  return 0;
}

int weft__tcp_connect_addrs(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                            const struct sockaddr *const *addrs, size_t count,
                            const weft_connect_options_t *options, weft_future_t **out) {
  if (!out || !addrs || count == 0)
    return WEFT_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (!addrs[i] || (addrs[i]->sa_family != AF_INET && addrs[i]->sa_family != AF_INET6))
      return WEFT_EINVAL;
  connect_op_t *op;
  int rc = op_new(loop, protocol, arg, options, &op);
  if (rc)
    return rc;
  op_publish(op, out);
  if (op->opts.local_host || op->opts.local_port) {
    /* The remote side is known, so the local one is taken as numeric, without a lookup. */
    char lservice[16];
    snprintf(lservice, sizeof(lservice), "%d", op->opts.local_port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(op->opts.local_host, lservice, &hints, &res) != 0) {
      op_fail(op, WEFT_EAI_NONAME, "local_host must be numeric with explicit addresses");
      return 0;
    }
    const struct sockaddr *locals[64];
    size_t nl = 0;
    for (struct addrinfo *a = res; a && nl < 64; a = a->ai_next)
      locals[nl++] = a->ai_addr;
    rc = start_race(op, addrs, count, locals, nl);
    freeaddrinfo(res);
  } else {
    rc = start_race(op, addrs, count, NULL, 0);
  }
  if (rc)
    op_fail(op, rc, NULL);
  return 0;
}

int weft_connect_socket(weft_loop_t *loop, const struct sockaddr *const *addrs, size_t count,
                        const struct sockaddr *const *locals, size_t local_count,
                        const weft_connect_options_t *options, weft_future_t **out) {
  if (!loop || !out || !addrs || count == 0 || (local_count && !locals))
    return WEFT_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (!addrs[i] || (addrs[i]->sa_family != AF_INET && addrs[i]->sa_family != AF_INET6))
      return WEFT_EINVAL;
  for (size_t i = 0; i < local_count; i++)
    if (!locals[i] || (locals[i]->sa_family != AF_INET && locals[i]->sa_family != AF_INET6))
      return WEFT_EINVAL;
  connect_op_t *op;
  int rc = op_new(loop, NULL, NULL, options, &op);
  if (rc)
    return rc;
  op->want_socket = 1;
  op_publish(op, out);
  rc = start_race(op, addrs, count, locals, local_count);
  if (rc)
    op_fail(op, rc, NULL);
  return 0;
}

int weft_connect_socket_take(weft_future_t *future) {
  const weft_value_t *value;
  if (!future || weft_future_result(future, &value) != 0 || !value ||
      value->type != WEFT_VALUE_POINTER || value->free_fn != close_socket)
    return WEFT_EINVAL;
  int *owned = value->ptr;
  int fd = *owned;
  *owned = -1;
  return fd >= 0 ? fd : WEFT_EINVAL;
}

size_t weft_connect_failure_count(const weft_future_t *future) {
  const weft__error_detail_t *d = weft__future_error_detail(future, WEFT__DETAIL_CONNECT);
  return d ? d->len : 0;
}

int weft_connect_failure(const weft_future_t *future, size_t index, int *step,
                         struct sockaddr *addr, size_t *len) {
  const weft__error_detail_t *d = weft__future_error_detail(future, WEFT__DETAIL_CONNECT);
  if (!d || index >= d->len)
    return WEFT_EINVAL;
  weft__connect_failure_t f;
  memcpy(&f, d->data + index * sizeof(f), sizeof(f));
  if (step)
    *step = f.step;
  if (addr && len) {
    size_t size = f.addr.ss_family ? weft__sockaddr_len((const struct sockaddr *)&f.addr) : 0;
    if (size > *len)
      size = *len;
    memcpy(addr, &f.addr, size);
    *len = size;
  }
  return f.error;
}
