/* Datagram transports over uv_udp_t. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct udp_s {
  weft_transport_t base;
  uv_udp_t h;
  int handle_closing;
  int close_after_flush;
  size_t pending;
  int lost_error;
  int started;
  weft__closable_t closable; /* on the loop's list while the handle is open */
  int has_remote;            /* broadcast endpoints: sendto's default destination */
  struct sockaddr_storage remote;
  char rbuf[64 * 1024];
} udp_t;

typedef struct send_req_s {
  uv_udp_send_t req;
  udp_t *u;
  char data[];
} send_req_t;

static void udp_lost(weft_transport_t *t) {
  udp_t *u = (udp_t *)t;
  weft__loop_untrack(&u->closable);
  if (u->started)
    weft_transport_emit_connection_lost(&u->base, u->lost_error);
  u->base.lost = 1;
  weft_transport_release(&u->base);
}

static void udp_closed(uv_handle_t *h) {
  udp_t *u = h->data;
  weft__transport_handle_closed(&u->base);
}

static void udp_force_close(udp_t *u, int error) {
  u->base.closing = 1;
  if (u->handle_closing)
    return;
  u->handle_closing = 1;
  u->lost_error = error;
  uv_udp_recv_stop(&u->h);
  weft__transport_closing(&u->base, udp_lost);
  uv_close((uv_handle_t *)&u->h, udp_closed);
}

/* The loop is closing: its ready queue runs no more. */
static void udp_close_now(weft__closable_t *c) {
  udp_t *u = (udp_t *)((char *)c - offsetof(udp_t, closable));
  udp_force_close(u, WEFT_ECLOSED);
  weft__transport_lost_due(&u->base); /* may free u */
}

static int udp_close(void *impl) {
  udp_t *u = impl;
  uv_udp_recv_stop(&u->h);
  if (u->pending == 0)
    udp_force_close(u, 0);
  else
    u->close_after_flush = 1;
  return 0;
}

static int udp_abort(void *impl) {
  udp_force_close(impl, 0);
  return 0;
}

static size_t udp_buffer_size(void *impl) {
  udp_t *u = impl;
  return u->handle_closing ? 0 : uv_udp_get_send_queue_size(&u->h);
}

static int udp_extra(void *impl, int key, void *buf, size_t *len) {
  udp_t *u = impl;
  if (u->handle_closing)
    return WEFT_ENOENT;
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&u->h, &fd) < 0)
    return WEFT_ENOENT;
  if (key == WEFT_INFO_FD) {
    if (*len < sizeof(int)) {
      *len = sizeof(int);
      return WEFT_ENOBUFS;
    }
    memcpy(buf, &fd, sizeof(int));
    *len = sizeof(int);
    return 0;
  }
  if (key != WEFT_INFO_PEERNAME && key != WEFT_INFO_SOCKNAME)
    return WEFT_ENOENT;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  int sl = sizeof(ss);
  int rc = key == WEFT_INFO_PEERNAME ? uv_udp_getpeername(&u->h, (struct sockaddr *)&ss, &sl)
                                     : uv_udp_getsockname(&u->h, (struct sockaddr *)&ss, &sl);
  if (rc < 0)
    return key == WEFT_INFO_PEERNAME ? WEFT_ENOENT : weft_error_from_uv(rc);
  if (*len < sizeof(ss)) {
    *len = sizeof(ss);
    return WEFT_ENOBUFS;
  }
  memcpy(buf, &ss, sizeof(ss));
  *len = sizeof(ss);
  return 0;
}

static void udp_free(void *impl) {
  free(impl);
}

static const weft_transport_ops_t udp_ops = {
    .size = sizeof(weft_transport_ops_t),
    .close = udp_close,
    .abort = udp_abort,
    .get_write_buffer_size = udp_buffer_size,
    .get_extra_info = udp_extra,
    .free = udp_free,
};

/* error_received from the loop, never from inside the sendto that failed. */
typedef struct err_ev_s {
  udp_t *u;
  int error;
} err_ev_t;

static void deliver_error(void *arg) {
  err_ev_t *e = arg;
  weft_transport_t *t = &e->u->base;
  weft__assert_loop_stack("error_received");
  if (!t->lost && t->proto.error_received)
    t->proto.error_received(t, e->error, t->proto_arg);
  weft_transport_release(t);
  free(e);
}

static void drop_error(void *arg) {
  err_ev_t *e = arg;
  weft_transport_release(&e->u->base);
  free(e);
}

static void report_error_soon(udp_t *u, int error) {
  err_ev_t *e = malloc(sizeof(*e));
  if (!e)
    return;
  e->u = u;
  e->error = error;
  weft_transport_retain(&u->base);
  if (weft__call_soon_owned(u->base.loop, deliver_error, drop_error, e) != 0) {
    weft_transport_release(&u->base);
    free(e);
  }
}

static void after_send(uv_udp_send_t *req, int status) {
  send_req_t *s = (send_req_t *)req;
  udp_t *u = s->u;
  free(s);
  u->pending--;
  if (status < 0 && status != UV_ECANCELED && !u->handle_closing) {
    weft_transport_t *t = &u->base;
    weft__assert_loop_stack("error_received");
    if (t->proto.error_received)
      t->proto.error_received(t, weft_error_from_uv(status), t->proto_arg);
  }
  if (u->handle_closing)
    return;
  if (u->pending == 0 && u->close_after_flush) {
    udp_force_close(u, 0);
    return;
  }
  weft_transport_update_write_flow(&u->base);
}

int weft_transport_sendto(weft_transport_t *t, const void *data, size_t len,
                          const struct sockaddr *addr) {
  if (!t || (len && !data))
    return WEFT_EINVAL;
  if (t->kind != WEFT_TRANSPORT_UDP)
    return WEFT_ENOTSUP;
  if (t->closing)
    return WEFT_ECLOSED;
  udp_t *u = t->impl;
  if (!addr && u->has_remote)
    addr = (const struct sockaddr *)&u->remote;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  if (u->pending == 0) {
    int n = uv_udp_try_send(&u->h, &b, 1, addr);
    if (n >= 0)
      return 0;
    if (n != UV_EAGAIN) {
      if (n == UV_EINVAL || n == UV_EDESTADDRREQ || n == UV_EISCONN)
        return weft_error_from_uv(n); /* a caller mistake, not a network event */
      report_error_soon(u, weft_error_from_uv(n));
      return 0;
    }
  }
  send_req_t *s = malloc(sizeof(*s) + len);
  if (!s)
    return WEFT_ENOMEM;
  s->u = u;
  memcpy(s->data, data, len);
  b = uv_buf_init(s->data, (unsigned)len);
  int rc = uv_udp_send(&s->req, &u->h, &b, 1, addr, after_send);
  if (rc < 0) {
    free(s);
    return weft_error_from_uv(rc);
  }
  u->pending++;
  weft_transport_update_write_flow(t);
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  udp_t *u = h->data;
  *buf = uv_buf_init(u->rbuf, sizeof(u->rbuf));
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags) {
  udp_t *u = h->data;
  weft_transport_t *t = &u->base;
  weft__assert_loop_stack("datagram_received");
  if (nread == 0 && addr == NULL)
    return; /* nothing more to read this time */
  weft_loop_t *loop = t->loop;
  weft__callback_enter(loop);
  if (nread < 0) {
    if (t->proto.error_received)
      t->proto.error_received(t, weft_error_from_uv((int)nread), t->proto_arg);
  } else if (t->proto.datagram_received) {
    t->proto.datagram_received(t, buf->base, (size_t)nread, addr, t->proto_arg);
  }
  weft__callback_leave(loop);
}

static int udp_pause(void *impl) {
  uv_udp_recv_stop(&((udp_t *)impl)->h);
  return 0;
}

static int udp_resume(void *impl) {
  udp_t *u = impl;
  int rc = uv_udp_recv_start(&u->h, on_alloc, on_recv);
  return rc < 0 ? weft_error_from_uv(rc) : 0;
}

static int udp_new(weft_loop_t *loop, int family, udp_t **out) {
  uv_loop_t *uv = weft_loop_uv(loop);
  if (!uv)
    return WEFT_ECLOSED;
  udp_t *u = calloc(1, sizeof(*u));
  if (!u)
    return WEFT_ENOMEM;
  weft_transport_ops_t ops = udp_ops;
  ops.pause_reading = udp_pause;
  ops.resume_reading = udp_resume;
  weft__transport_init(&u->base, loop, WEFT_TRANSPORT_UDP, &ops, u);
  int rc = uv_udp_init_ex(uv, &u->h, family ? (unsigned)family : AF_UNSPEC);
  if (rc < 0) {
    free(u);
    return weft_error_from_uv(rc);
  }
  u->h.data = u;
  u->closable.close_now = udp_close_now;
  weft__loop_track(loop, &u->closable);
  *out = u;
  return 0;
}

static void udp_start(udp_t *u, const weft_protocol_t *p, void *arg) {
  weft__transport_set_protocol(&u->base, p, arg);
  u->started = 1;
  weft_transport_emit_connection_made(&u->base);
  if (!u->base.closing && u->base.reading) {
    int rc = uv_udp_recv_start(&u->h, on_alloc, on_recv);
    if (rc < 0)
      udp_force_close(u, weft_error_from_uv(rc));
  }
}

typedef struct dg_op_s {
  weft_loop_t *loop;
  weft_future_t *future;
  weft_protocol_t proto;
  void *arg;
  weft_datagram_options_t o;
  char *local_host, *remote_host;
  weft__resolve_t *resolve;
  struct addrinfo *local_res, *remote_res; /* each address list, once resolved */
  int stage;                               /* 0: resolving the local address, 1: the remote one */
  weft__op_watch_t watch;
} dg_op_t;

static void dg_fail(dg_op_t *op, int rc, const char *msg) {
  if (!weft_future_done(op->future))
    weft_future_set_error(op->future, rc, msg, NULL, NULL);
}

/* The candidates for the resolved lists (weft_datagram_pair); `out` has room for every
 * address of both lists. */
static size_t dg_pairs(const dg_op_t *op, weft_datagram_candidate_t *out) {
  size_t n = 0;
  const struct addrinfo *lists[2] = {op->local_res, op->remote_res};
  for (int side = 0; side < 2; side++)
    for (const struct addrinfo *ai = lists[side]; ai; ai = ai->ai_next, n++) {
      out[n] = (weft_datagram_candidate_t){.family = ai->ai_family, .protocol = ai->ai_protocol};
      if (side == 0) {
        out[n].local = ai->ai_addr;
        out[n].local_len = ai->ai_addrlen;
      } else {
        out[n].remote = ai->ai_addr;
        out[n].remote_len = ai->ai_addrlen;
      }
    }
  return weft_datagram_pair(out, n);
}

static size_t dg_count(const struct addrinfo *ai) {
  size_t n = 0;
  for (; ai; ai = ai->ai_next)
    n++;
  return n;
}

static void dg_finish(dg_op_t *op) {
  if (weft_future_done(op->future))
    return;
  int local = op->local_res != NULL, remote = op->remote_res != NULL;
  if (!local && !remote && !op->o.family) {
    dg_fail(op, WEFT_EINVAL, "unexpected address family");
    return;
  }
  size_t room = dg_count(op->local_res) + dg_count(op->remote_res);
  weft_datagram_candidate_t *pairs = calloc(room ? room : 1, sizeof *pairs);
  if (!pairs) {
    dg_fail(op, WEFT_ENOMEM, NULL);
    return;
  }
  size_t count = 1;
  if (local || remote)
    count = dg_pairs(op, pairs);
  else
    pairs[0].family = op->o.family;
  if (count == 0) {
    free(pairs);
    dg_fail(op, WEFT_EINVAL, "can not get address information");
    return;
  }
  int fd = -1;
  int rc = weft_datagram_socket(pairs, count, op->o.reuse_port, op->o.allow_broadcast, &fd);
  if (rc < 0) {
    free(pairs);
    dg_fail(op, rc,
            rc == WEFT_ENOTSUP && op->o.reuse_port
                ? "reuse_port not supported by socket module, SO_REUSEPORT defined but not "
                  "implemented."
                : NULL);
    return;
  }
  const weft_datagram_candidate_t *used = &pairs[rc];
  udp_t *u;
  rc = udp_new(op->loop, 0, &u);
  if (rc == 0) {
    int u2 = uv_udp_open(&u->h, fd);
    rc = u2 < 0 ? weft_error_from_uv(u2) : 0;
    if (rc == 0) {
      fd = -1; /* the handle's now */
      if (used->remote && op->o.allow_broadcast) {
        /* Not connected (broadcast): sendto with no address goes to the remote, as
         * asyncio's transport sends to its remote_addr. */
        memcpy(&u->remote, used->remote, used->remote_len);
        u->has_remote = 1;
      }
    } else {
      udp_force_close(u, 0);
    }
  }
  free(pairs);
  if (fd >= 0)
    close(fd);
  if (rc) {
    dg_fail(op, rc, NULL);
    return;
  }
  udp_start(u, &op->proto, op->arg);
  op->proto.arg_free = NULL; /* the transport's now */
  weft__future_set_transport(op->future, &u->base);
}

static void dg_step(dg_op_t *op);

static void on_dg_resolved(void *arg, struct addrinfo *res, int error) {
  dg_op_t *op = arg;
  op->resolve = NULL;
  if (error || !res) {
    if (res)
      uv_freeaddrinfo(res);
    dg_fail(op, error ? error : WEFT_EAI_NONAME,
            error ? weft_strerror(error) : "getaddrinfo() returned empty list");
    return;
  }
  if (op->stage == 0)
    op->local_res = res;
  else
    op->remote_res = res;
  op->stage++;
  dg_step(op);
}

/* Both addresses are resolved with the caller's family and flags, as asyncio does; a local
 * address with no host means every interface (AI_PASSIVE). */
static void dg_step(dg_op_t *op) {
  if (weft_future_done(op->future))
    return;
  char service[16];
  int rc = 0;
  if (op->stage == 0 && (op->local_host || op->o.local_port)) {
    snprintf(service, sizeof(service), "%d", op->o.local_port);
    rc = weft__resolve(op->loop, op->local_host, service, op->o.family, SOCK_DGRAM,
                       op->o.flags | (op->local_host ? 0 : AI_PASSIVE), on_dg_resolved, op,
                       &op->resolve);
  } else if (op->stage <= 1 && op->remote_host) {
    op->stage = 1;
    snprintf(service, sizeof(service), "%d", op->o.remote_port);
    rc = weft__resolve(op->loop, op->remote_host, service, op->o.family, SOCK_DGRAM, op->o.flags,
                       on_dg_resolved, op, &op->resolve);
  } else {
    dg_finish(op);
    return;
  }
  if (rc)
    dg_fail(op, rc, NULL);
}

static void dg_done(weft_future_t *f, void *arg) {
  dg_op_t *op = arg;
  if (op->resolve)
    weft__resolve_cancel(op->resolve);
  if (op->local_res)
    uv_freeaddrinfo(op->local_res);
  if (op->remote_res)
    uv_freeaddrinfo(op->remote_res);
  free(op->local_host);
  free(op->remote_host);
  weft__let_go(op->loop, op->proto.arg_free, op->arg); /* no endpoint took the protocol */
  weft_future_release(op->future);
  free(op);
}

int weft_create_datagram_endpoint(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                  const weft_datagram_options_t *options, weft_future_t **out) {
  if (!loop || !protocol || !out)
    return WEFT_EINVAL;
  dg_op_t *op;
  int rc = weft__op_new(loop, sizeof(*op), offsetof(dg_op_t, future), (void **)&op);
  if (rc)
    return rc;
  op->loop = loop;
  weft__copy_sized(&op->proto, sizeof(op->proto), protocol);
  op->arg = arg;
  weft__copy_sized(&op->o, sizeof(op->o), options);
  op->local_host = op->o.local_host ? strdup(op->o.local_host) : NULL;
  op->remote_host = op->o.remote_host ? strdup(op->o.remote_host) : NULL;
  op->o.local_host = op->o.remote_host = NULL;
  weft__future_watch_op(&op->watch, op->future, dg_done, op);
  *out = weft_future_retain(op->future);
  dg_step(op);
  return 0;
}

static int udp_adopt(weft_transport_t *t, int fd) {
  int rc = uv_udp_open(&((udp_t *)t)->h, fd);
  return rc < 0 ? weft_error_from_uv(rc) : 0;
}

static int udp_start_fd(weft_transport_t *t, const weft_protocol_t *p, void *arg) {
  udp_start((udp_t *)t, p, arg); /* a failure to receive closes it, with connection_lost */
  return 0;
}

static void udp_discard(weft_transport_t *t) {
  udp_force_close((udp_t *)t, 0);
  weft_transport_release(t);
}

static const weft__fd_kind_t udp_fd_kind = {udp_adopt, udp_start_fd, udp_discard};

int weft_create_datagram_endpoint_fd(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                                     int fd, weft_future_t **out) {
  if (!loop || !protocol || !out || fd < 0)
    return WEFT_EINVAL;
  udp_t *u;
  int rc = udp_new(loop, 0, &u);
  if (rc)
    return rc;
  /* The start's reference, beside the endpoint's own (dropped once it is closed). */
  weft_transport_retain(&u->base);
  return weft__transport_from_fd(&u->base, &udp_fd_kind, fd, protocol, arg, out);
}

void weft_datagram_options_init(weft_datagram_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}
