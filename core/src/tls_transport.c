/* TLS over transports, as asyncio's sslproto: a layer that is the protocol of a byte
 * transport and, from the end of the handshake on, the implementation of the transport the
 * application's protocol talks to. The engine (tls.c) does TLS in memory; this file moves
 * the bytes and keeps the states, timers and flow control (see tls_engine.h for the seam).
 *
 * This file never makes a byte transport or a server: connect.c composes (asyncio's
 * base_events making an SSLProtocol), giving the plain connect the layer as its protocol
 * and the plain server a factory of the layer's; start_tls puts a layer on a transport that
 * exists already.
 *
 * Life of a layer: made by a connect, a server's factory or start_tls; attached to the byte
 * transport ("raw"); handshake; then the application transport ("app") exists and owns the
 * layer as its impl. The layer holds a reference to the app transport until raw's
 * connection_lost, which is when the application's connection_lost is delivered. */
#include "net.h"
#include "tls_engine.h"
#include "tls_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Scratch space per thread: plaintext read for the application, ciphertext on its way to the
 * byte transport. Two buffers, because the application may write (and so send) from inside
 * data_received. They live while any layer on the thread does. */
#define CHUNK (64 * 1024)
static _Thread_local char *scratch;
static _Thread_local size_t layer_count;

static char *read_buf(void) {
  return scratch;
}
static char *send_buf(void) {
  return scratch + CHUNK;
}

typedef struct weft__tls_layer_s layer_t;

/* A TLS server's factory argument: the caller's factory, called after each handshake. */
typedef struct tls_server_s {
  int refs; /* the plain server's (until it lets go of it), and one per layer it made */
  weft_loop_t *loop;
  weft_protocol_factory_fn factory;
  void *factory_arg;
  weft_free_fn factory_free; /* frees factory_arg when the TLS server lets go of it */
  int factory_calls;         /* calls of the caller's factory in progress */
  int closed;                /* the server closed: its factory is never called again */
  weft_tls_options_t tls;    /* its context retained; ssl_arg freed with ssl_arg_free */
} tls_server_t;

static void server_let_go_factory(tls_server_t *W);

struct weft__tls_layer_s {
  int refs;
  weft_loop_t *loop;
  weft__tls_engine_t *engine;
  weft_tls_context_t *ctx; /* NULL when the SSL came from the options' ssl_fn */
  double handshake_timeout, shutdown_timeout;
  weft_transport_t *raw; /* retained once attached */
  weft_transport_t *app; /* the TLS transport, made when the handshake completes */
  weft_protocol_t proto; /* clients and start_tls: the application's protocol */
  void *proto_arg;
  tls_server_t *server;  /* servers: makes the protocol after the handshake */
  weft_future_t *waiter; /* connect / start_tls: completes with the app transport */
  weft_future_t *inner;  /* connect: the byte transport's connect future */
  weft__op_watch_t inner_watch, waiter_watch; /* each holds a reference */
  int upgrade;        /* start_tls: no connection_made; failures reach proto via raw */
  int inherit_wpause; /* start_tls: raw had paused the protocol's writing */
  weft_handle_t *hs_timer, *sd_timer;
  int attached, raw_lost;
  int handshook;  /* the handshake completed */
  int hs_failed;  /* the handshake's failure was reported */
  int shutting;   /* close_notify exchange started (close, EOF, refusal) */
  int dead;       /* no more TLS work: failed, aborted, or the raw close is under way */
  int app_paused; /* the application paused reading */
  int eof_seen;
  int raw_eof; /* the byte transport reached end of stream: never read from it again */
  int processing;
  int resume_pending;
  int error; /* what connection_lost reports, when the layer decided it */
  char *in;  /* ciphertext the engine had no room for (raw reading is paused meanwhile) */
  size_t in_off, in_len;
};

static const weft_protocol_t raw_protocol;
static const weft_transport_ops_t layer_ops;

/* ---------------------------------------------------------------- helpers */

static void copy_tls_options(const weft_tls_options_t *in, weft_tls_options_t *o) {
  weft__copy_sized(o, sizeof(*o), in);
}

static void copy_protocol(weft_protocol_t *dst, const weft_protocol_t *src) {
  weft__copy_sized(dst, sizeof(*dst), src);
}

/* Completes the options (default timeouts) and checks them for `role`: a context of that
 * role, or an ssl_fn, not both. */
static int check_options(weft_tls_options_t *o, int32_t role) {
  if (o->handshake_timeout < 0 || o->shutdown_timeout < 0)
    return WEFT_EINVAL;
  if (o->ssl_fn ? o->context != NULL : (!o->context || weft_tls_context_role(o->context) != role))
    return WEFT_EINVAL;
  if (o->handshake_timeout == 0)
    o->handshake_timeout = WEFT_TLS_HANDSHAKE_TIMEOUT;
  if (o->shutdown_timeout == 0)
    o->shutdown_timeout = WEFT_TLS_SHUTDOWN_TIMEOUT;
  return 0;
}

static void cancel_timer(weft_handle_t **h) {
  if (*h) {
    weft_handle_cancel(*h);
    weft_handle_release(*h);
    *h = NULL;
  }
}

/* The connection's engine: from the context, or around the SSL the options' ssl_fn gives. */
static int make_engine(const weft_tls_options_t *o, int32_t role, const char *hostname,
                       weft__tls_engine_t **out) {
  if (!o->ssl_fn)
    return weft__tls_engine_new(o->context, hostname, 0, out);
  weft_tls_ssl_t s;
  memset(&s, 0, sizeof(s));
  s.size = sizeof(s);
  int rc = o->ssl_fn(o->ssl_arg, role == WEFT_TLS_SERVER, &s);
  if (rc)
    return rc < 0 ? rc : WEFT_EINVAL;
  return weft__tls_engine_adopt(s.ssl, role, 0, s.owner, s.release, out);
}

/* A layer for `role` with the checked options `o`; hostname: a client's (may be NULL). */
static int layer_new(weft_loop_t *loop, const weft_tls_options_t *o, int32_t role,
                     const char *hostname, layer_t **out) {
  if (!scratch) {
    scratch = malloc(2 * CHUNK);
    if (!scratch)
      return WEFT_ENOMEM;
  }
  layer_t *L = calloc(1, sizeof(*L));
  if (!L)
    return WEFT_ENOMEM;
  int rc = make_engine(o, role, hostname, &L->engine);
  if (rc) {
    free(L);
    if (layer_count == 0) {
      free(scratch);
      scratch = NULL;
    }
    return rc;
  }
  layer_count++;
  L->refs = 1;
  L->loop = loop;
  L->ctx = o->context ? weft_tls_context_retain(o->context) : NULL;
  L->handshake_timeout = o->handshake_timeout;
  L->shutdown_timeout = o->shutdown_timeout;
  *out = L;
  return 0;
}

static void server_release(tls_server_t *W);

static void layer_release(layer_t *L) {
  if (--L->refs > 0)
    return;
  cancel_timer(&L->hs_timer);
  cancel_timer(&L->sd_timer);
  if (L->waiter)
    weft_future_release(L->waiter);
  if (L->inner)
    weft_future_release(L->inner);
  weft__tls_engine_free(L->engine);
  weft_tls_context_release(L->ctx);
  /* No TLS transport took the application's protocol: its argument is let go. */
  weft__let_go(L->loop, L->proto.arg_free, L->proto_arg);
  if (L->raw)
    weft_transport_release(L->raw);
  if (L->server)
    server_release(L->server);
  free(L->in);
  free(L);
  if (--layer_count == 0) {
    free(scratch);
    scratch = NULL;
  }
}

static int raw_usable(const layer_t *L) {
  return L->raw && !L->raw_lost && !weft_transport_is_closing(L->raw);
}

/* Sends whatever ciphertext the engine has for the network (records, alerts, close_notify).
 * With the byte transport closing or gone, it is dropped. */
static void flush_out(layer_t *L) {
  char *buf = send_buf();
  size_t n;
  while ((n = weft__tls_out_read(L->engine, buf, CHUNK)) > 0)
    if (raw_usable(L))
      weft_transport_write(L->raw, buf, n);
}

static void app_flow(layer_t *L) {
  if (L->app && L->app->made && !L->app->lost)
    weft_transport_update_write_flow(L->app);
}

/* Reads from the byte transport when someone needs the bytes: the handshake, the shutdown,
 * or an application that is not paused; never while ciphertext is waiting for room. */
static void sync_raw_reading(layer_t *L) {
  if (!raw_usable(L) || L->dead || L->raw_eof)
    return;
  int want = L->in_len == 0 && (!L->app_paused || L->shutting || !L->handshook);
  if (want)
    weft_transport_resume_reading(L->raw);
  else
    weft_transport_pause_reading(L->raw);
}

static void report(layer_t *L, const char *message, int code, const char *reason) {
  weft_error_context_t ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.size = sizeof(ctx);
  ctx.message = message;
  ctx.error = code;
  ctx.error_message = reason;
  weft_loop_call_exception_handler(L->loop, &ctx);
}

/* ---------------------------------------------------------------- failures, shutdown */

/* The handshake did not complete: the waiter fails (clients, start_tls) or the loop's
 * exception handler hears of it (servers), and the connection closes. */
static void handshake_failed_ex(layer_t *L, int code, const char *reason, int quiet) {
  if (L->hs_failed || L->handshook)
    return;
  L->hs_failed = 1;
  L->dead = 1;
  L->error = code;
  cancel_timer(&L->hs_timer);
  if (!reason || !reason[0])
    reason = weft_strerror(code);
  if (L->waiter) {
    if (!weft_future_done(L->waiter))
      weft_future_set_error(L->waiter, code, reason, NULL, NULL);
  } else if (L->server && !quiet) {
    report(L, "SSL handshake failed", code, reason);
  }
  if (!raw_usable(L))
    return;
  if (code == WEFT_ECONNABORTED) {
    weft_transport_abort(L->raw);
  } else {
    flush_out(L); /* the alert tells the peer why */
    weft_transport_close(L->raw);
  }
}

static void handshake_failed(layer_t *L, int code, const char *reason) {
  handshake_failed_ex(L, code, reason, 0);
}

/* A failure after the handshake: connection_lost(code) once the byte transport is gone. */
static void fatal(layer_t *L, int code) {
  if (L->dead)
    return;
  L->dead = 1;
  if (!L->error)
    L->error = code;
  flush_out(L);
  if (raw_usable(L))
    weft_transport_abort(L->raw);
}

/* Both close_notify alerts have passed (or there is no one left to answer): close the byte
 * transport once what is queued has gone out. */
static void finish_shutdown(layer_t *L) {
  cancel_timer(&L->sd_timer);
  L->dead = 1;
  if (raw_usable(L))
    weft_transport_close(L->raw);
}

static void on_shutdown_timeout(void *arg) {
  layer_t *L = arg;
  weft_handle_release(L->sd_timer);
  L->sd_timer = NULL;
  if (L->raw_lost)
    return;
  /* asyncio: TimeoutError("SSL shutdown timed out") for connection_lost. */
  L->error = WEFT_ETIMEDOUT;
  L->dead = 1;
  weft_transport_abort(L->raw);
}

/* Starts the close_notify exchange: asyncio's _start_shutdown. */
static void start_shutdown(layer_t *L) {
  if (L->shutting || L->dead || L->raw_lost)
    return;
  /* What other threads wrote before goes out ahead of close_notify (the flush may call the
   * application, which may close). */
  if (L->app && !L->app->closing) {
    weft__transport_end_threadsafe(L->app, WEFT_ECLOSED, 1);
    if (L->shutting || L->dead || L->raw_lost)
      return;
  }
  L->shutting = 1;
  if (L->app)
    L->app->closing = 1;
  if (!L->handshook) {
    L->dead = 1;
    if (raw_usable(L))
      weft_transport_abort(L->raw);
    return;
  }
  int rc = weft__tls_shutdown(L->engine);
  flush_out(L);
  if (rc == 0) {
    finish_shutdown(L);
  } else if (rc == WEFT_EAGAIN) {
    if (weft_call_later(L->loop, L->shutdown_timeout, on_shutdown_timeout, L, &L->sd_timer))
      L->sd_timer = NULL;
    sync_raw_reading(L);
  } else {
    fatal(L, rc);
  }
}

/* ---------------------------------------------------------------- the handshake */

static void on_handshake_timeout(void *arg) {
  layer_t *L = arg;
  weft_handle_release(L->hs_timer);
  L->hs_timer = NULL;
  if (L->handshook || L->hs_failed || L->raw_lost)
    return;
  /* asyncio's ConnectionAbortedError, word for word. */
  char msg[128];
  snprintf(msg, sizeof(msg),
           "SSL handshake is taking longer than %g seconds: aborting the connection",
           L->handshake_timeout);
  handshake_failed(L, WEFT_ECONNABORTED, msg);
}

static void start_handshake(layer_t *L) {
  if (weft_call_later(L->loop, L->handshake_timeout, on_handshake_timeout, L, &L->hs_timer))
    L->hs_timer = NULL;
  int rc = weft__tls_handshake(L->engine); /* a client's ClientHello */
  flush_out(L);
  if (rc != 0 && rc != WEFT_EAGAIN)
    handshake_failed(L, rc, weft_tls_conn_error(L->engine));
}

/* The handshake completed: make the application's transport, give it its protocol and
 * complete the waiter (asyncio: connection_made first, then the waiter). */
static void handshake_done(layer_t *L) {
  L->handshook = 1;
  cancel_timer(&L->hs_timer);
  if (L->waiter && weft_future_done(L->waiter)) {
    /* Cancelled meanwhile: the caller keeps its protocol, nothing is delivered. */
    L->dead = 1;
    L->error = WEFT_ECANCELLED;
    weft_transport_abort(L->raw);
    return;
  }
  weft_transport_t *t;
  if (weft_transport_new(L->loop, &layer_ops, L, NULL, NULL, &t)) {
    L->handshook = 0; /* so that the failure reaches the waiter */
    handshake_failed(L, WEFT_ENOMEM, NULL);
    return;
  }
  L->refs++; /* the app transport's impl */
  L->app = t;
  if (L->server) {
    weft_protocol_t p;
    memset(&p, 0, sizeof(p));
    p.size = sizeof(p);
    void *arg = NULL;
    tls_server_t *W = L->server;
    /* A handshake that completes after the server closed gets no protocol: the factory
     * belongs to the server, and the server has let go of it. */
    int refused = W->closed;
    if (!refused) {
      weft__assert_loop_stack("a TLS server's protocol factory");
      W->factory_calls++;
      refused = W->factory(W->factory_arg, &p, &arg) != 0;
      W->factory_calls--;
      if (W->closed)
        server_let_go_factory(W);
    }
    if (refused) {
      start_shutdown(L); /* refused: end the TLS session politely, no protocol */
      return;
    }
    weft__transport_set_protocol(t, &p, arg);
  } else {
    weft__transport_set_protocol(t, &L->proto, L->proto_arg);
    L->proto.arg_free = NULL; /* the TLS transport's now */
  }
  /* One set of watermarks: the byte transport's follow the TLS transport's. */
  weft_transport_set_write_buffer_limits(L->raw, (int64_t)t->high, (int64_t)t->low);
  if (L->upgrade) {
    t->made = 1; /* the protocol already had connection_made from the old transport */
    t->writing_paused = L->inherit_wpause;
  } else {
    weft_transport_emit_connection_made(t);
  }
  app_flow(L);
  if (L->waiter) {
    weft__future_set_transport(L->waiter, t);
    weft_future_release(L->waiter);
    L->waiter = NULL;
  }
}

/* ---------------------------------------------------------------- reading */

/* eof_received, once. TLS cannot half-close, so what it returns changes nothing (asyncio
 * warns and goes on). */
static void deliver_eof(layer_t *L) {
  if (L->eof_seen)
    return;
  L->eof_seen = 1;
  if (L->app && L->app->made && !L->app->lost)
    weft_transport_emit_eof(L->app);
}

static void on_tls_eof(layer_t *L) {
  if (L->shutting) {
    /* The peer's close_notify answered ours (or the stream ended): as asyncio, the
     * application hears eof_received once the exchange is complete, after its close(). */
    deliver_eof(L);
    finish_shutdown(L);
    return;
  }
  deliver_eof(L); /* the peer closed first (close_notify, or the end of the stream) */
  start_shutdown(L);
}

/* Feeds waiting ciphertext, then reads until the engine needs more: drives the handshake,
 * delivers plaintext (unless the application paused), notices EOF and failures. */
static void process(layer_t *L) {
  if (L->processing)
    return;
  L->processing = 1;
  L->refs++;
  weft_transport_t *app = L->app ? weft_transport_retain(L->app) : NULL;
  char *buf = read_buf();
  while (!L->dead && !L->raw_lost) {
    if (L->in_len > 0) {
      size_t used = 0;
      int rc = weft__tls_feed(L->engine, L->in + L->in_off, L->in_len, &used);
      if (rc) {
        if (L->handshook)
          fatal(L, rc);
        else
          handshake_failed(L, rc, weft_tls_conn_error(L->engine));
        break;
      }
      L->in_off += used;
      L->in_len -= used;
      if (L->in_len == 0) { /* an idle connection keeps no buffer */
        free(L->in);
        L->in = NULL;
        L->in_off = 0;
      }
    }
    size_t n = 0;
    if (!L->handshook) {
      int rc = weft__tls_read(L->engine, buf, 0, &n); /* handshake only */
      flush_out(L);
      if (rc == WEFT_EAGAIN) {
        if (L->in_len > 0 && weft__tls_feed_space(L->engine) > 0)
          continue;
        break;
      }
      if (rc != 0) {
        handshake_failed(L, rc, weft_tls_conn_error(L->engine));
        break;
      }
      handshake_done(L);
      if (!app && L->app)
        app = weft_transport_retain(L->app);
      continue;
    }
    int discard = L->shutting || !L->app || L->app->closing;
    if (!discard && L->app_paused)
      break;
    int rc = weft__tls_read(L->engine, buf, CHUNK, &n);
    flush_out(L);
    if (rc == 0) {
      if (!discard)
        weft_transport_emit_data(L->app, buf, n);
      continue;
    }
    if (rc == WEFT_EAGAIN) {
      if (L->in_len > 0 && weft__tls_feed_space(L->engine) > 0)
        continue;
      break;
    }
    if (rc == WEFT_EEOF) {
      on_tls_eof(L);
      break;
    }
    fatal(L, rc);
  }
  sync_raw_reading(L);
  L->processing = 0;
  if (app)
    weft_transport_release(app);
  layer_release(L);
}

static void layer_release_cb(void *L) {
  layer_release(L);
}

static void on_resume(void *arg) {
  layer_t *L = arg;
  L->resume_pending = 0;
  process(L);
  layer_release(L);
}

/* ---------------------------------------------------------------- the raw side (protocol) */

static void attach(layer_t *L, weft_transport_t *raw) {
  L->raw = weft_transport_retain(raw);
  L->attached = 1;
}

static void raw_made(weft_transport_t *raw, void *arg) {
  layer_t *L = arg;
  if (!L->server)
    L->refs++; /* a server's layer was made with this reference */
  attach(L, raw);
  if (L->waiter && weft_future_done(L->waiter)) {
    L->dead = 1; /* the connect was cancelled as it completed */
    weft_transport_abort(raw);
    return;
  }
  start_handshake(L);
}

static void raw_data(weft_transport_t *raw, const char *data, size_t len, void *arg) {
  layer_t *L = arg;
  if (L->dead)
    return;
  if (L->in_len == 0) {
    size_t used = 0;
    int rc = weft__tls_feed(L->engine, data, len, &used);
    if (rc) {
      if (L->handshook)
        fatal(L, rc);
      else
        handshake_failed(L, rc, weft_tls_conn_error(L->engine));
      return;
    }
    data += used;
    len -= used;
  }
  if (len > 0) {
    /* No room in the engine (the application is not reading): keep the rest and stop
     * reading from the network until it fits. */
    char *n = realloc(L->in, L->in_off + L->in_len + len);
    if (!n) {
      fatal(L, WEFT_ENOMEM);
      return;
    }
    L->in = n;
    memcpy(L->in + L->in_off + L->in_len, data, len);
    L->in_len += len;
  }
  process(L);
}

static int raw_eof(weft_transport_t *raw, void *arg) {
  layer_t *L = arg;
  L->raw_eof = 1;
  weft__tls_feed_eof(L->engine);
  process(L);
  return 1; /* the layer closes the byte transport itself */
}

/* The application's connection_lost, one turn of the ready queue after the byte
 * transport's, as asyncio's SSLProtocol call_soon's it from its own. A closing loop, whose
 * ready queue runs no more, delivers it at once. */
typedef struct {
  weft__closable_t closable; /* first: close_now gets this record */
  weft_transport_t *app;     /* the connection's reference, handed over */
  int error;
} app_lost_t;

static void app_lost_run(void *arg) {
  app_lost_t *a = arg;
  weft__loop_untrack(&a->closable);
  weft_transport_emit_connection_lost(a->app, a->error);
  weft_transport_release(a->app);
  free(a);
}

static void app_lost_close_now(weft__closable_t *c) {
  app_lost_run(c);
}

static void app_lost_soon(weft_transport_t *app, int error) {
  app->closing = 1;
  app_lost_t *a = malloc(sizeof *a);
  if (a != NULL) {
    *a = (app_lost_t){.closable = {.close_now = app_lost_close_now}, .app = app, .error = error};
    weft__ready_t entry = {.fn.plain = app_lost_run, .arg = a};
    if (weft__loop_push_ready(app->loop, &entry) == 0) {
      weft__loop_track(app->loop, &a->closable);
      return;
    }
    free(a);
  }
  weft_transport_emit_connection_lost(app, error);
  weft_transport_release(app);
}

static void raw_lost(weft_transport_t *raw, int error, void *arg) {
  layer_t *L = arg;
  L->raw_lost = 1;
  L->dead = 1;
  cancel_timer(&L->hs_timer);
  cancel_timer(&L->sd_timer);
  weft_transport_t *app = L->app;
  if (L->handshook && app) {
    app_lost_soon(app, L->error ? L->error : error);
    app = NULL; /* the connection's reference went with it */
  } else {
    int code = error ? error : WEFT_ECONNRESET;
    /* Closed here without an error (server.close_clients, the loop closing): a server has
     * nothing to report. */
    if (!L->hs_failed && !L->handshook)
      handshake_failed_ex(L, code, "the connection was lost during the TLS handshake", !error);
    if (L->upgrade && L->proto.connection_lost) {
      weft__assert_loop_stack("connection_lost");
      L->proto.connection_lost(raw, L->error ? L->error : code, L->proto_arg);
    }
  }
  if (L->waiter) {
    weft_future_release(L->waiter);
    L->waiter = NULL;
  }
  /* The reference below may be the transport's last, while the layer lives on in whatever
   * holds it still (a resume_reading's deferred delivery): it must not reach the transport
   * through L->app from now on. */
  L->app = NULL;
  layer_release(L); /* the attachment's */
  if (app)
    weft_transport_release(app); /* the connection's reference to its transport */
}

static void raw_pause_writing(weft_transport_t *raw, void *arg) {
  app_flow(arg);
}

static void raw_resume_writing(weft_transport_t *raw, void *arg) {
  app_flow(arg);
}

static const weft_protocol_t raw_protocol = {
    .size = sizeof(weft_protocol_t),
    .connection_made = raw_made,
    .data_received = raw_data,
    .eof_received = raw_eof,
    .connection_lost = raw_lost,
    .pause_writing = raw_pause_writing,
    .resume_writing = raw_resume_writing,
    .datagram_received = weft__core_protocol, /* runs inline on a task's stack */
};

/* ---------------------------------------------------------------- the app side (transport) */

static int op_write(void *impl, const void *const *bufs, const size_t *lens, size_t count) {
  layer_t *L = impl;
  if (L->dead || L->raw_lost)
    return WEFT_ECLOSED;
  for (size_t i = 0; i < count; i++) {
    const char *p = bufs[i];
    size_t len = lens[i];
    while (len > 0 && !L->dead) {
      size_t used = 0;
      int rc = weft__tls_write(L->engine, p, len, &used);
      p += used;
      len -= used;
      flush_out(L);
      if (rc) {
        fatal(L, rc); /* as a socket error: the application hears of it in connection_lost */
        return 0;
      }
      if (used == 0 && weft__tls_out_pending(L->engine) == 0) {
        fatal(L, WEFT_EIO);
        return 0;
      }
    }
  }
  return 0;
}

static int op_close(void *impl) {
  start_shutdown(impl);
  return 0;
}

static int op_abort(void *impl) {
  layer_t *L = impl;
  L->dead = 1;
  if (L->raw && !L->raw_lost)
    weft_transport_abort(L->raw);
  return 0;
}

static int op_pause_reading(void *impl) {
  layer_t *L = impl;
  L->app_paused = 1;
  sync_raw_reading(L);
  return 0;
}

static int op_resume_reading(void *impl) {
  layer_t *L = impl;
  L->app_paused = 0;
  /* Decrypted data may be waiting in the engine: deliver it from the loop, never from
   * inside the caller's call. */
  if (!L->resume_pending && !L->dead) {
    L->refs++;
    if (weft__call_soon_owned(L->loop, on_resume, layer_release_cb, L) == 0)
      L->resume_pending = 1;
    else
      L->refs--;
  }
  return 0;
}

static int op_set_limits(void *impl, size_t high, size_t low) {
  layer_t *L = impl;
  return L->raw ? weft_transport_set_write_buffer_limits(L->raw, (int64_t)high, (int64_t)low) : 0;
}

static size_t op_buffer_size(void *impl) {
  layer_t *L = impl;
  size_t n = weft__tls_out_pending(L->engine);
  if (L->raw && !L->raw_lost)
    n += weft_transport_get_write_buffer_size(L->raw);
  return n;
}

static int copy_out(const void *src, size_t n, void *buf, size_t *len) {
  if (*len < n) {
    *len = n;
    return WEFT_ENOBUFS;
  }
  memcpy(buf, src, n);
  *len = n;
  return 0;
}

static int copy_str(const char *s, void *buf, size_t *len) {
  return s ? copy_out(s, strlen(s) + 1, buf, len) : WEFT_ENOENT;
}

static int op_extra_info(void *impl, int key, void *buf, size_t *len) {
  layer_t *L = impl;
  const weft_tls_conn_t *c = L->engine;
  int done = weft_tls_conn_handshake_done(c);
  switch (key) {
  case WEFT_INFO_TRANSPORT:
    return L->raw ? copy_out(&L->raw, sizeof(L->raw), buf, len) : WEFT_ENOENT;
  case WEFT_INFO_TLS_CONN:
    return copy_out(&c, sizeof(c), buf, len);
  case WEFT_INFO_TLS_CONTEXT:
    return L->ctx ? copy_out(&L->ctx, sizeof(L->ctx), buf, len) : WEFT_ENOENT;
  case WEFT_INFO_TLS_PEERCERT: {
    const uint8_t *der;
    size_t n;
    if (!done || weft_tls_conn_peer_cert_der(c, &der, &n) != 0)
      return WEFT_ENOENT;
    return copy_out(der, n, buf, len);
  }
  case WEFT_INFO_TLS_CIPHER:
    return done ? copy_str(weft_tls_conn_cipher(c, NULL), buf, len) : WEFT_ENOENT;
  case WEFT_INFO_TLS_CIPHER_BITS: {
    int32_t bits = 0;
    if (!done || !weft_tls_conn_cipher(c, &bits))
      return WEFT_ENOENT;
    return copy_out(&bits, sizeof(bits), buf, len);
  }
  case WEFT_INFO_TLS_VERSION:
    return done ? copy_str(weft_tls_conn_version(c), buf, len) : WEFT_ENOENT;
  case WEFT_INFO_TLS_ALPN:
    return done ? copy_str(weft_tls_conn_alpn_protocol(c), buf, len) : WEFT_ENOENT;
  case WEFT_INFO_TLS_SERVER_NAME:
    return copy_str(weft_tls_conn_server_name(c), buf, len);
  default:
    if (key >= WEFT_INFO_LAYER_BASE || !L->raw || L->raw_lost)
      return WEFT_ENOENT;
    return weft_transport_get_extra_info(L->raw, key, buf, len);
  }
}

static void op_free(void *impl) {
  layer_release(impl);
}

/* No write_eof: TLS cannot half-close, so can_write_eof answers 0 (asyncio: False). */
static const weft_transport_ops_t layer_ops = {
    .size = sizeof(weft_transport_ops_t),
    .write = op_write,
    .close = op_close,
    .abort = op_abort,
    .pause_reading = op_pause_reading,
    .resume_reading = op_resume_reading,
    .set_write_buffer_limits = op_set_limits,
    .get_write_buffer_size = op_buffer_size,
    .get_extra_info = op_extra_info,
    .free = op_free,
};

/* ---------------------------------------------------------------- clients */

/* A cancelled handshake aborts the connection at once, as asyncio closes its transport in
 * the cancelled coroutine: connection_lost then comes the next iteration, not one later
 * (the waiter's done callbacks run from the ready queue). */
typedef struct {
  weft_future_t future;
  layer_t *L; /* alive while the future is pending: on_waiter_done holds a reference */
} waiter_t;

static void waiter_cancelled(layer_t *L) {
  if (L->inner && !weft_future_done(L->inner)) {
    weft_future_cancel(L->inner, NULL);
  } else if (L->attached && !L->raw_lost && !L->handshook) {
    L->error = WEFT_ECANCELLED;
    L->dead = 1;
    weft_transport_abort(L->raw);
  }
}

static int waiter_cancel(weft_future_t *f, const char *message) {
  int rc = weft__future_cancel_plain(f, message);
  if (rc)
    waiter_cancelled(((waiter_t *)f)->L);
  return rc;
}

static void waiter_destroy(weft_future_t *f) {
  free(f);
}

static const weft__future_class_t waiter_class = {.cancel = waiter_cancel,
                                                  .destroy = waiter_destroy};

static int waiter_new(layer_t *L) {
  weft_future_t *f;
  int rc = weft__future_alloc(L->loop, sizeof(waiter_t), &waiter_class, &f);
  if (rc == 0) {
    ((waiter_t *)f)->L = L;
    L->waiter = f;
  }
  return rc;
}

static void on_waiter_done(weft_future_t *f, void *arg) {
  (void)f;
  layer_release(arg);
}

static void on_inner_done(weft_future_t *f, void *arg) {
  layer_t *L = arg;
  /* Still pending, the connect is being dropped by the loop's close, which completes nothing. */
  int rc = weft_future_done(f) ? weft_future_error(f) : 0;
  if (rc && L->waiter && !weft_future_done(L->waiter)) {
    if (rc == WEFT_ECANCELLED)
      weft_future_cancel(L->waiter, NULL);
    else
      weft_future_set_error(L->waiter, rc, weft_future_error_message(f), NULL, NULL);
  }
  weft_future_release(L->inner);
  L->inner = NULL;
  layer_release(L); /* the connect's */
}

const weft_protocol_t *weft__tls_layer_protocol(void) {
  return &raw_protocol;
}

int weft__tls_layer_new(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                        const weft_tls_options_t *tls, const char *default_host, int server_side,
                        layer_t **out) {
  if (!loop || !protocol || !tls || !out)
    return WEFT_EINVAL;
  int32_t role = server_side ? WEFT_TLS_SERVER : WEFT_TLS_CLIENT;
  weft_tls_options_t o;
  copy_tls_options(tls, &o);
  if (check_options(&o, role))
    return WEFT_EINVAL;
  const char *host = NULL;
  if (role == WEFT_TLS_CLIENT)
    host = o.server_hostname ? o.server_hostname : default_host;
  layer_t *L;
  int rc = layer_new(loop, &o, role, host, &L);
  if (rc)
    return rc;
  copy_protocol(&L->proto, protocol);
  L->proto_arg = arg;
  rc = waiter_new(L);
  if (rc) {
    L->proto.arg_free = NULL; /* the call fails: arg stays the caller's */
    layer_release(L);
    return rc;
  }
  *out = L;
  return 0;
}

void weft__tls_layer_connect(layer_t *L, weft_future_t *inner, weft_future_t **out) {
  L->inner = inner;
  weft__future_watch_op(&L->inner_watch, inner, on_inner_done, L); /* the first reference */
  L->refs++;
  weft__future_watch_op(&L->waiter_watch, L->waiter, on_waiter_done, L);
  *out = weft_future_retain(L->waiter);
}

void weft__tls_layer_discard(layer_t *L) {
  L->proto.arg_free = NULL; /* the call fails: arg stays the caller's */
  layer_release(L);
}

/* ---------------------------------------------------------------- start_tls */

int weft_start_tls(weft_transport_t *raw, const weft_protocol_t *protocol, void *arg,
                   const weft_tls_options_t *tls, int32_t server_side, weft_future_t **out) {
  if (!raw || !protocol || !tls || !out)
    return WEFT_EINVAL;
  if (raw->kind == WEFT_TRANSPORT_UDP || raw->kind == WEFT_TRANSPORT_PIPE_READ ||
      raw->kind == WEFT_TRANSPORT_PIPE_WRITE)
    return WEFT_ENOTSUP;
  if (weft_transport_is_closing(raw))
    return WEFT_ECLOSED;
  weft_tls_options_t o;
  copy_tls_options(tls, &o);
  int role = server_side ? WEFT_TLS_SERVER : WEFT_TLS_CLIENT;
  if (check_options(&o, role))
    return WEFT_EINVAL;
  layer_t *L;
  int rc = layer_new(raw->loop, &o, role, server_side ? NULL : o.server_hostname, &L);
  if (rc)
    return rc;
  rc = waiter_new(L);
  if (rc) {
    layer_release(L);
    return rc;
  }
  copy_protocol(&L->proto, protocol);
  L->proto_arg = arg;
  L->upgrade = 1;
  L->inherit_wpause = raw->writing_paused;
  attach(L, raw); /* with the first reference */
  /* The byte transport lets go of its protocol's argument, unless it is the one the TLS
   * transport takes over (the usual case): the layer owns that from now on. */
  if (raw->proto_arg == arg)
    raw->proto.arg_free = NULL;
  weft__transport_let_go_arg(raw);
  weft__transport_set_protocol(raw, &raw_protocol, L);
  L->refs++;
  weft__future_watch_op(&L->waiter_watch, L->waiter, on_waiter_done, L);
  *out = weft_future_retain(L->waiter);
  start_handshake(L);
  sync_raw_reading(L);
  return 0;
}

/* ---------------------------------------------------------------- servers */

/* Lets go of the caller's pointers (the factory's and ssl_fn's arguments). */
static void server_let_go_factory(tls_server_t *W) {
  if (W->factory_calls > 0)
    return;
  weft__replace_arg(W->loop, &W->tls.ssl_arg, &W->tls.ssl_arg_free, NULL, NULL);
  weft__replace_arg(W->loop, &W->factory_arg, &W->factory_free, NULL, NULL);
}

static void server_release(tls_server_t *W) {
  if (--W->refs > 0)
    return;
  server_let_go_factory(W);
  weft_tls_context_release(W->tls.context);
  free(W);
}

static int tls_factory(void *farg, weft_protocol_t *p, void **arg) {
  tls_server_t *W = farg;
  layer_t *L;
  int rc = layer_new(W->loop, &W->tls, WEFT_TLS_SERVER, NULL, &L);
  if (rc)
    return rc;
  L->server = W;
  W->refs++;
  *p = raw_protocol;
  *arg = L; /* the layer's first reference is the connection's */
  return 0;
}

/* The plain server let go of its factory argument (it closed, or was never made): no
 * handshake completing from now on calls the caller's factory. */
void weft__tls_server_free(void *arg) {
  tls_server_t *W = arg;
  W->closed = 1;
  server_let_go_factory(W);
  server_release(W);
}

void weft__tls_server_discard(void *arg) {
  tls_server_t *W = arg;
  W->factory_free = NULL; /* the arguments stay the caller's */
  W->tls.ssl_arg_free = NULL;
  server_release(W);
}

int weft__tls_server_new(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                         weft_free_fn factory_free, const weft_tls_options_t *tls,
                         weft_protocol_factory_fn *factory_out, void **arg_out) {
  if (!loop || !factory || !tls || !factory_out || !arg_out)
    return WEFT_EINVAL;
  weft_tls_options_t o;
  copy_tls_options(tls, &o);
  if (check_options(&o, WEFT_TLS_SERVER))
    return WEFT_EINVAL;
  tls_server_t *W = calloc(1, sizeof(*W));
  if (!W)
    return WEFT_ENOMEM;
  W->refs = 1;
  W->loop = loop;
  W->factory = factory;
  W->factory_arg = factory_arg;
  W->factory_free = factory_free;
  W->tls = o;
  W->tls.server_hostname = NULL; /* not kept: servers ignore it */
  weft_tls_context_retain(o.context);
  *factory_out = tls_factory;
  *arg_out = W;
  return 0;
}

void weft_tls_options_init(weft_tls_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}
