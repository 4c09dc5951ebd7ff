/* Servers: listening sockets watched for readiness, accepting with accept4(2) so that
 * running out of descriptors can pause accepting instead of spinning (libuv's own listen
 * path offers no way to pause). Plain servers only: connect.c is where TLS is put over
 * them, through the factory. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct listener_s {
  uv_poll_t poll;
  weft_server_t *server;
  int fd;
  int polling;
} listener_t;

struct weft_server_s {
  int refs;
  weft_loop_t *loop;
  int kind; /* WEFT_TRANSPORT_TCP or WEFT_TRANSPORT_UNIX */
  weft_protocol_factory_fn factory;
  void *factory_arg;
  listener_t *listeners;
  size_t count;
  int backlog;
  double retry_delay;
  int listening, serving, closed, fully_closed;
  uv_timer_t retry_timer;
  size_t open_handles;
  weft__stream_t *conns;
  size_t nconns;
  weft_future_t **waiters;
  size_t nwaiters;
  weft__closable_t closable; /* on the loop's list until closed */
  char *unix_path;
  size_t unix_path_len;
  ino_t unix_ino;
  int unix_cleanup;
  weft_free_fn factory_free; /* set once the creating call succeeded */
  int factory_calls;         /* factory calls in progress */
};

/* The server lets go of its factory argument once it is closed (no factory call can come
 * after) and no factory call is in progress (the factory may close the server). */
static void let_go_factory(weft_server_t *s) {
  if (s->factory_calls > 0 || !s->factory_free)
    return;
  weft_free_fn fn = s->factory_free;
  s->factory_free = NULL;
  weft__let_go(s->loop, fn, s->factory_arg);
}

weft_server_t *weft_server_retain(weft_server_t *s) {
  if (s)
    s->refs++;
  return s;
}

static void server_free(weft_server_t *s) {
  let_go_factory(s);
  free(s->listeners);
  free(s->waiters);
  free(s->unix_path);
  free(s);
}

void weft_server_release(weft_server_t *s) {
  if (s && --s->refs == 0)
    server_free(s);
}

weft_loop_t *weft_server_loop(const weft_server_t *s) {
  return s ? s->loop : NULL;
}

static void report(weft_server_t *s, const char *message, int error) {
  weft_error_context_t ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.size = sizeof(ctx);
  ctx.message = message;
  ctx.error = error;
  weft_loop_call_exception_handler(s->loop, &ctx);
}

/* Wakes wait_closed once the listeners are closed and every connection is gone. */
static void maybe_fully_closed(weft_server_t *s) {
  if (!s->closed || s->open_handles > 0 || s->nconns > 0 || s->fully_closed)
    return;
  s->fully_closed = 1;
  for (size_t i = 0; i < s->nwaiters; i++) {
    if (!weft_future_done(s->waiters[i]))
      weft_future_set_result(s->waiters[i], weft_value_none());
    weft_future_release(s->waiters[i]);
  }
  s->nwaiters = 0;
}

static void conn_gone(weft__stream_t *c) {
  weft_server_t *s = c->owner;
  if (c->prev_conn)
    c->prev_conn->next_conn = c->next_conn;
  else
    s->conns = c->next_conn;
  if (c->next_conn)
    c->next_conn->prev_conn = c->prev_conn;
  s->nconns--;
  maybe_fully_closed(s);
  weft_server_release(s);
}

static void pause_accepting(weft_server_t *s) {
  for (size_t i = 0; i < s->count; i++)
    if (s->listeners[i].polling) {
      uv_poll_stop(&s->listeners[i].poll);
      s->listeners[i].polling = 0;
    }
}

static void on_acceptable(uv_poll_t *p, int status, int events);

static int resume_accepting(weft_server_t *s) {
  for (size_t i = 0; i < s->count; i++) {
    listener_t *l = &s->listeners[i];
    if (!l->polling) {
      int rc = uv_poll_start(&l->poll, UV_READABLE, on_acceptable);
      if (rc < 0)
        return weft_error_from_uv(rc);
      l->polling = 1;
    }
  }
  return 0;
}

static void on_retry(uv_timer_t *t) {
  weft_server_t *s = t->data;
  if (s->serving && !s->closed)
    resume_accepting(s);
}

static void accept_one(weft_server_t *s, int fd) {
  weft__stream_t *c;
  int rc = weft__stream_new(s->loop, s->kind, 0, &c);
  if (rc) {
    close(fd);
    report(s, "could not create a transport for an accepted connection", rc);
    return;
  }
  rc = weft__stream_open_fd(c, fd);
  if (rc) {
    close(fd);
    weft__stream_discard(c);
    report(s, "could not open an accepted connection", rc);
    return;
  }
  weft_protocol_t proto;
  memset(&proto, 0, sizeof(proto));
  proto.size = sizeof(proto);
  void *arg = NULL;
  weft__assert_loop_stack("a server's protocol factory");
  s->factory_calls++;
  rc = s->factory(s->factory_arg, &proto, &arg);
  s->factory_calls--;
  if (s->closed)
    let_go_factory(s);
  if (rc) {
    weft__stream_discard(c); /* the factory refused: close the connection */
    return;
  }
  c->owner = s;
  c->on_gone = conn_gone;
  c->next_conn = s->conns;
  if (s->conns)
    s->conns->prev_conn = c;
  s->conns = c;
  s->nconns++;
  weft_server_retain(s);
  if (s->kind == WEFT_TRANSPORT_TCP)
    weft__tcp_set_nodelay(c);
  if (weft__stream_start(c, &proto, arg) != 0) {
    /* No protocol event was delivered: the protocol's own cleanup is its connection_lost,
     * which it will never get; the connection is closed as a refused one. */
    weft__stream_discard(c);
    report(s, "could not start reading an accepted connection", WEFT_EIO);
    return;
  }
  weft_transport_release(&c->base); /* the handle keeps its own until closed */
}

static void on_acceptable(uv_poll_t *p, int status, int events) {
  listener_t *l = p->data;
  weft_server_t *s = l->server;
  if (status < 0) {
    report(s, "error while waiting for connections", weft_error_from_uv(status));
    return;
  }
  weft_server_retain(s); /* a factory or protocol may close and release the server */
  weft_loop_t *loop = s->loop;
  weft__callback_enter(loop);
  /* Up to backlog connections per wake-up, as asyncio: fair to the rest of the loop. */
  for (int i = 0; i < s->backlog && s->serving && !s->closed; i++) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_one(s, fd);
      continue;
    }
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK)
      break;
    if (e == EINTR || e == ECONNABORTED || e == EPROTO)
      continue;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
      /* The pending connection stays queued and the socket stays readable: stop watching
       * for a while rather than spin. */
      report(s, "accept() out of system resource; pausing accepting", -e);
      pause_accepting(s);
      uv_timer_start(&s->retry_timer, on_retry, (uint64_t)(s->retry_delay * 1000.0 + 0.5), 0);
      break;
    }
    report(s, "error accepting a connection", -e);
    break;
  }
  weft__callback_leave(loop);
  weft_server_release(s);
}

int weft_server_start_serving(weft_server_t *s) {
  if (!s)
    return WEFT_EINVAL;
  if (s->closed)
    return WEFT_ECLOSED;
  if (s->serving)
    return 0;
  if (!s->listening) {
    for (size_t i = 0; i < s->count; i++)
      if (listen(s->listeners[i].fd, s->backlog) != 0)
        return -errno;
    s->listening = 1;
  }
  s->serving = 1;
  int rc = resume_accepting(s);
  if (rc)
    s->serving = 0;
  return rc;
}

int weft_server_is_serving(const weft_server_t *s) {
  return s && s->serving && !s->closed;
}

static void on_handle_closed(uv_handle_t *h) {
  weft_server_t *s = h->type == UV_POLL ? ((listener_t *)h->data)->server : h->data;
  s->open_handles--;
  maybe_fully_closed(s);
  if (s->open_handles == 0)
    weft_server_release(s); /* the reference held while handles were open */
}

int weft_server_close(weft_server_t *s) {
  if (!s)
    return WEFT_EINVAL;
  if (s->closed)
    return 0;
  s->closed = 1;
  s->serving = 0;
  weft__loop_untrack(&s->closable);
  for (size_t i = 0; i < s->count; i++) {
    listener_t *l = &s->listeners[i];
    uv_poll_stop(&l->poll);
    l->polling = 0;
    uv_close((uv_handle_t *)&l->poll, on_handle_closed);
    close(l->fd); /* a stopped poll handle no longer watches it */
    l->fd = -1;
  }
  uv_timer_stop(&s->retry_timer);
  uv_close((uv_handle_t *)&s->retry_timer, on_handle_closed);
  if (s->unix_cleanup && s->unix_path && s->unix_path[0] != '\0') {
    struct stat st;
    if (stat(s->unix_path, &st) == 0 && st.st_ino == s->unix_ino)
      unlink(s->unix_path);
  }
  let_go_factory(s); /* last: the destructor may drop the caller's reference */
  return 0;
}

static int close_clients(weft_server_t *s, int abort) {
  if (!s)
    return WEFT_EINVAL;
  weft_server_retain(s);
  for (weft__stream_t *c = s->conns; c; c = c->next_conn)
    if (abort)
      weft_transport_abort(&c->base);
    else
      weft_transport_close(&c->base);
  weft_server_release(s);
  return 0;
}

int weft_server_close_clients(weft_server_t *s) {
  return close_clients(s, 0);
}

int weft_server_abort_clients(weft_server_t *s) {
  return close_clients(s, 1);
}

int weft_server_wait_closed(weft_server_t *s, weft_future_t **out) {
  if (!s || !out)
    return WEFT_EINVAL;
  weft_future_t *f;
  int rc = weft_future_new(s->loop, &f);
  if (rc)
    return rc;
  if (s->fully_closed) {
    weft_future_set_result(f, weft_value_none());
    *out = f;
    return 0;
  }
  weft_future_t **w = realloc(s->waiters, (s->nwaiters + 1) * sizeof(*w));
  if (!w) {
    weft_future_release(f);
    return WEFT_ENOMEM;
  }
  s->waiters = w;
  s->waiters[s->nwaiters++] = weft_future_retain(f);
  *out = f;
  return 0;
}

typedef struct forever_s {
  weft_server_t *server;
  weft_future_t *future;
  weft__op_watch_t watch;
} forever_t;

static void forever_done(weft_future_t *f, void *arg) {
  forever_t *op = arg;
  if (weft_future_cancelled(f))
    weft_server_close(op->server);
  weft_server_release(op->server);
  weft_future_release(op->future);
  free(op);
}

int weft_server_serve_forever(weft_server_t *s, weft_future_t **out) {
  if (!s || !out)
    return WEFT_EINVAL;
  int rc = weft_server_start_serving(s);
  if (rc)
    return rc;
  forever_t *op;
  rc = weft__op_new(s->loop, sizeof(*op), offsetof(forever_t, future), (void **)&op);
  if (rc)
    return rc;
  op->server = weft_server_retain(s);
  weft__future_watch_op(&op->watch, op->future, forever_done, op);
  *out = weft_future_retain(op->future);
  return 0;
}

size_t weft_server_socket_count(const weft_server_t *s) {
  return s && !s->closed ? s->count : 0;
}

int weft_server_socket_fd(const weft_server_t *s, size_t i) {
  if (!s || s->closed || i >= s->count)
    return WEFT_EINVAL;
  return s->listeners[i].fd;
}

int weft_server_socket_address(const weft_server_t *s, size_t i, struct sockaddr *addr,
                               size_t *len) {
  if (!s || !addr || !len || s->closed || i >= s->count)
    return WEFT_EINVAL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getsockname(s->listeners[i].fd, (struct sockaddr *)&ss, &sl) != 0)
    return -errno;
  if (*len < sl) {
    *len = sl;
    return WEFT_ENOBUFS;
  }
  memcpy(addr, &ss, sl);
  *len = sl;
  return 0;
}

int weft_server_port(const weft_server_t *s) {
  struct sockaddr_storage ss;
  size_t len = sizeof(ss);
  if (!s)
    return WEFT_EINVAL;
  if (s->kind != WEFT_TRANSPORT_TCP ||
      weft_server_socket_address(s, 0, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

size_t weft_server_connection_count(const weft_server_t *s) {
  return s ? s->nconns : 0;
}

/* ---------------------------------------------------------------- creation */

void weft_server_options_init(weft_server_options_t *o) {
  if (o == NULL)
    return;
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
  o->backlog = 100;
  o->reuse_address = 1;
  o->start_serving = 1;
  o->accept_retry_delay = 1.0;
  o->cleanup_socket = 1;
}

static void copy_options(const weft_server_options_t *in, weft_server_options_t *o) {
  weft_server_options_init(o);
  weft__copy_options(o, sizeof(*o), in);
  if (o->backlog <= 0)
    o->backlog = 100;
  if (o->accept_retry_delay <= 0)
    o->accept_retry_delay = 1.0;
}

static void server_close_now(weft__closable_t *c) {
  weft_server_close((weft_server_t *)((char *)c - offsetof(weft_server_t, closable)));
}

/* Makes the server around listening descriptors it now owns (closed on failure too). */
static int server_new(weft_loop_t *loop, int kind, weft_protocol_factory_fn factory,
                      void *factory_arg, const int *fds, size_t count,
                      const weft_server_options_t *o, weft_server_t **out) {
  uv_loop_t *uv = weft_loop_uv(loop);
  weft_server_t *s = calloc(1, sizeof(*s));
  listener_t *ls = calloc(count ? count : 1, sizeof(*ls));
  if (!uv || !s || !ls) {
    for (size_t i = 0; i < count; i++)
      close(fds[i]);
    free(s);
    free(ls);
    return uv ? WEFT_ENOMEM : WEFT_ECLOSED;
  }
  s->refs = 2; /* the creator's, and the one held while handles are open */
  s->loop = loop;
  s->kind = kind;
  s->factory = factory;
  s->factory_arg = factory_arg;
  s->listeners = ls;
  s->backlog = o->backlog;
  s->retry_delay = o->accept_retry_delay;
  s->open_handles = 1;
  s->closable.close_now = server_close_now;
  weft__loop_track(loop, &s->closable);
  uv_timer_init(uv, &s->retry_timer);
  s->retry_timer.data = s;
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    if (rc == 0) {
      ls[i].fd = fds[i];
      ls[i].server = s;
      ls[i].poll.data = &ls[i];
      int u = uv_poll_init_socket(uv, &ls[i].poll, fds[i]);
      if (u == 0) {
        s->count++;
        s->open_handles++;
        continue;
      }
      rc = weft_error_from_uv(u);
    }
    close(fds[i]);
  }
  if (rc) {
    weft_server_close(s); /* frees through the loop once the handles are closed */
    weft_server_release(s);
    return rc;
  }
  *out = s;
  return 0;
}

static int set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -errno;
  return 0;
}

/* One listening socket for an address, with asyncio's options. */
static int bind_socket(const struct sockaddr *addr, socklen_t len, const weft_server_options_t *o,
                       int *fd_out) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  if (o->reuse_address && addr->sa_family != AF_UNIX)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (o->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  /* Without V6ONLY an IPv6 wildcard socket would also take the IPv4 port and the IPv4
   * socket created for the same host would fail to bind. */
  if (addr->sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, addr, len) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  *fd_out = fd;
  return 0;
}

/* One creation, whatever the kind: its future's result is the server. The factory argument
 * is the creation's until a server takes it; a creation that fails or is cancelled frees
 * it from its done callback, so from the loop. */
typedef struct create_op_s {
  weft_loop_t *loop;
  weft_future_t *future;
  weft_protocol_factory_fn factory;
  void *factory_arg;
  weft_free_fn factory_free; /* NULL once a server owns the argument */
  weft_server_options_t opts;
  weft__resolve_t *resolve;
  weft__op_watch_t watch;
} create_op_t;

static void release_server_value(void *p) {
  weft_server_release(p);
}

static void create_done(weft_future_t *f, void *arg) {
  create_op_t *op = arg;
  if (op->resolve)
    weft__resolve_cancel(op->resolve);
  /* No server was made: the call is over with the argument. */
  weft__let_go(op->loop, op->factory_free, op->factory_arg);
  weft_future_release(op->future);
  free(op);
}

static int create_op_new(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                         weft_free_fn factory_free, const weft_server_options_t *options,
                         create_op_t **out) {
  create_op_t *op;
  int rc = weft__op_new(loop, sizeof(*op), offsetof(create_op_t, future), (void **)&op);
  if (rc)
    return rc;
  op->loop = loop;
  op->factory = factory;
  op->factory_arg = factory_arg;
  op->factory_free = factory_free;
  copy_options(options, &op->opts);
  *out = op;
  return 0;
}

/* Hands the future to the caller; from now on the op lives until the future is done. */
static void create_publish(create_op_t *op, weft_future_t **out) {
  weft__future_watch_op(&op->watch, op->future, create_done, op);
  *out = weft_future_retain(op->future);
}

/* Serves if asked, then completes the creation with the server `s` (made, unless rc says
 * why not). */
static void create_complete(create_op_t *op, weft_server_t *s, int rc, const char *message) {
  if (rc == 0 && op->opts.start_serving) {
    rc = weft_server_start_serving(s);
    if (rc) {
      weft_server_close(s);
      weft_server_release(s);
    }
  }
  if (rc) {
    weft_future_set_error(op->future, rc, message, NULL, NULL);
    return;
  }
  s->factory_free = op->factory_free;
  op->factory_free = NULL;
  weft_future_set_result(op->future,
                         weft__value_object(WEFT_VALUE_SERVER, s, release_server_value));
}

/* The server around listening descriptors it now owns (closed on failure too). */
/* The file a Unix server's socket is bound to, unlinked on close (with cleanup_socket) if it
 * is still the one bound: its inode tells a file put at the path since from it. */
static void remember_socket_file(weft_server_t *s, const char *path, size_t path_len,
                                 const weft_server_options_t *o) {
  s->unix_path = strndup(path, path_len);
  struct stat st;
  if (s->unix_path && stat(s->unix_path, &st) == 0) {
    s->unix_ino = st.st_ino;
    s->unix_cleanup = o->cleanup_socket;
  }
}

static int create_server_on(create_op_t *op, int kind, const int *fds, size_t count,
                            weft_server_t **out) {
  return server_new(op->loop, kind, op->factory, op->factory_arg, fds, count, &op->opts, out);
}

int weft__server_create_fds(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                            weft_free_fn factory_free, const int *fds, size_t count,
                            const weft_server_options_t *options, weft_future_t **out) {
  if (!loop || !factory || !fds || count == 0 || !out)
    return WEFT_EINVAL;
  int kind = WEFT_TRANSPORT_TCP;
  for (size_t i = 0; i < count; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (fds[i] < 0 || getsockname(fds[i], (struct sockaddr *)&ss, &sl) != 0)
      return WEFT_ENOTSOCK;
    if (ss.ss_family == AF_UNIX)
      kind = WEFT_TRANSPORT_UNIX;
    int rc = set_nonblocking(fds[i]);
    if (rc)
      return rc;
  }
  create_op_t *op;
  int rc = create_op_new(loop, factory, factory_arg, factory_free, options, &op);
  if (rc)
    return rc;
  create_publish(op, out);
  weft_server_t *s = NULL;
  rc = create_server_on(op, kind, fds, count, &s);
  if (rc == 0 && kind == WEFT_TRANSPORT_UNIX && count == 1) {
    /* a socket bound to a path is cleaned up as one bound here (asyncio 3.13's sock=) */
    struct sockaddr_un sun;
    socklen_t sl = sizeof(sun);
    if (getsockname(fds[0], (struct sockaddr *)&sun, &sl) == 0 &&
        sl > offsetof(struct sockaddr_un, sun_path) && sun.sun_path[0] != '\0')
      remember_socket_file(s, sun.sun_path,
                           strnlen(sun.sun_path, sl - offsetof(struct sockaddr_un, sun_path)),
                           &op->opts);
  }
  create_complete(op, s, rc, NULL);
  return 0;
}

static void on_server_resolved(void *arg, struct addrinfo *res, int error) {
  create_op_t *op = arg;
  op->resolve = NULL;
  if (weft_future_done(op->future)) {
    if (res)
      uv_freeaddrinfo(res);
    return;
  }
  if (error) {
    weft_future_set_error(op->future, error, weft_strerror(error), NULL, NULL);
    return;
  }
  int fds[64];
  size_t n = 0;
  int rc = 0;
  char message[256] = "";
  for (struct addrinfo *a = res; a && n < 64; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
      continue;
    rc = bind_socket(a->ai_addr, a->ai_addrlen, &op->opts, &fds[n]);
    if (rc) {
      char host[96];
      int port = 0;
      weft_sockaddr_format(a->ai_addr, host, sizeof(host), &port);
      snprintf(message, sizeof(message), "error while attempting to bind on address ('%s', %d): %s",
               host, port, weft_strerror(rc));
      break;
    }
    n++;
  }
  uv_freeaddrinfo(res);
  if (rc == 0 && n == 0)
    rc = WEFT_EAI_NONAME;
  weft_server_t *s = NULL;
  if (rc) {
    for (size_t i = 0; i < n; i++)
      close(fds[i]);
  } else {
    rc = create_server_on(op, WEFT_TRANSPORT_TCP, fds, n, &s);
  }
  create_complete(op, s, rc, message[0] ? message : NULL);
}

int weft__server_create(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                        weft_free_fn factory_free, const char *host, int port,
                        const weft_server_options_t *options, weft_future_t **out) {
  if (!loop || !factory || !out || port < 0 || port > 65535)
    return WEFT_EINVAL;
  create_op_t *op;
  int rc = create_op_new(loop, factory, factory_arg, factory_free, options, &op);
  if (rc)
    return rc;
  char service[16];
  snprintf(service, sizeof(service), "%d", port);
  rc = weft__resolve(loop, host && host[0] ? host : NULL, service, op->opts.family, SOCK_STREAM,
                     op->opts.flags | AI_PASSIVE, on_server_resolved, op, &op->resolve);
  if (rc) {
    weft_future_release(op->future);
    free(op);
    return rc;
  }
  create_publish(op, out);
  return 0;
}

int weft__server_create_unix(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                             weft_free_fn factory_free, const char *path, size_t path_len,
                             const weft_server_options_t *options, weft_future_t **out) {
  if (!loop || !factory || !path || path_len == 0 || !out)
    return WEFT_EINVAL;
  struct sockaddr_un sun;
  socklen_t sl;
  int rc = weft__unix_addr(path, path_len, &sun, &sl);
  if (rc)
    return rc;
  create_op_t *op;
  rc = create_op_new(loop, factory, factory_arg, factory_free, options, &op);
  if (rc)
    return rc;
  create_publish(op, out);
  int abstract = path[0] == '\0';
  if (!abstract) {
    /* A socket file left by a previous server would make bind fail: remove it, as asyncio
     * does; anything else at the path is left alone (and bind reports it). */
    struct stat st;
    if (stat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
      unlink(sun.sun_path);
  }
  int fd;
  weft_server_t *s = NULL;
  rc = bind_socket((struct sockaddr *)&sun, sl, &op->opts, &fd);
  if (rc == 0)
    rc = create_server_on(op, WEFT_TRANSPORT_UNIX, &fd, 1, &s);
  if (rc == 0 && !abstract)
    remember_socket_file(s, path, path_len, &op->opts);
  create_complete(op, s, rc, NULL);
  return 0;
}
