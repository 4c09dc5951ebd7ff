/* Fuzz target: the TLS transport (asyncio's SSLProtocol / _SSLProtocolTransport), the layer
 * between a byte transport and the application's protocol.
 *
 * The byte transport is a fake one made with weft_transport_new, so the input decides
 * every event a socket could produce: the peer's ciphertext in any chunking (optionally
 * damaged), raw bytes, end of stream, the connection lost with or without an error, and the
 * application's writes, close, abort and read pausing, all on a real weft loop. The other
 * end is a TLS engine (tls_engine.h) driven in memory. weft_start_tls puts the layer on the
 * fake transport as server or client.
 *
 * Checked besides the sanitizers: the protocol's events come in asyncio's order (no
 * connection_made from start_tls; data only before eof_received and connection_lost; at
 * most one eof_received; exactly one connection_lost in the end, once the transport is
 * aborted and the loop closed); the plaintext the application receives is a prefix of what
 * the peer wrote, and the peer's a prefix of what the application wrote; the layer never
 * writes to a byte transport it closed. The application may also drop its references to the
 * TLS transport right after closing, aborting or pausing it, leaving the layer the last
 * holder, as a binding does once its protocol object goes, and the byte transport may be lost
 * while a resume_reading's delivery is pending: the sanitizers then catch any use of the
 * transport after its release. */
#include <weft.h>

#include "tls_engine.h"
#include "tls_testcerts.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct cursor {
  const uint8_t *p;
  size_t n;
} cursor_t;

static uint8_t next_u8(cursor_t *c) {
  if (c->n == 0)
    return 0;
  c->n--;
  return *c->p++;
}

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz_tls_transport: %s: ", #cond);                                          \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static weft_tls_context_t *server_ctx, *client_ctx;

static void must(int rc, const char *what) {
  CHECK(rc == 0, "%s: %s", what, weft_err_name(rc));
}

static void free_contexts(void) {
  weft_tls_context_release(server_ctx);
  weft_tls_context_release(client_ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const weft_testcerts_t *certs = weft_testcerts();
  must(weft_tls_context_new(WEFT_TLS_SERVER, &server_ctx), "server context");
  must(weft_tls_context_load_cert_chain_pem(server_ctx, certs->server.cert_pem,
                                            certs->server.cert_len, certs->server.key_pem,
                                            certs->server.key_len, NULL),
       "server certificate");
  must(weft_tls_context_new(WEFT_TLS_CLIENT, &client_ctx), "client context");
  must(weft_tls_context_load_verify_pem(client_ctx, certs->ca.cert_pem, certs->ca.cert_len),
       "client CA");
  atexit(free_contexts);
  return 0;
}

/* ---- growable bytes ------------------------------------------------------------------------ */

typedef struct bytes {
  uint8_t *p;
  size_t len, cap;
} bytes_t;

static void bytes_append(bytes_t *b, const void *d, size_t n) {
  if (n == 0)
    return;
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    CHECK(b->p != NULL, "memory");
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
}

/* ---- the state of one run ------------------------------------------------------------------ */

typedef struct run {
  weft_loop_t *loop;
  /* the fake byte transport */
  weft_transport_t *wire;
  bytes_t wire_out; /* what the layer wrote to it, not yet moved to the peer */
  int wire_closed;  /* close or abort was called on it */
  int wire_lost;    /* its connection_lost was delivered */
  int wire_paused;
  /* the application's side */
  weft_future_t *started; /* weft_start_tls's future */
  weft_transport_t *tls;  /* its result, once there */
  int had_tls;            /* tls was set once (it is NULL again after drop_refs) */
  int made, eofs, losts, lost_error;
  int buffered;          /* the protocol is a buffered one */
  uint8_t app_buf[4096]; /* its buffer */
  bytes_t app_written;   /* plaintext the application wrote (accepted by the transport) */
  size_t app_got;        /* of the peer's plaintext, what the application received */
  /* the peer */
  weft__tls_engine_t *peer;
  bytes_t peer_written; /* plaintext the peer's engine accepted */
  size_t peer_got;      /* of the application's plaintext, what the peer read */
  int peer_done;        /* the peer's engine failed or saw the end */
} run_t;

/* ---- the fake byte transport -------------------------------------------------------------- */

static void wire_lost_cb(void *arg) {
  run_t *r = arg;
  r->wire_lost = 1;
  weft_transport_emit_connection_lost(r->wire, 0);
}

static int wire_write(void *impl, const void *const *bufs, const size_t *lens, size_t count) {
  run_t *r = impl;
  CHECK(!r->wire_closed, "the layer writes to the byte transport it closed");
  for (size_t i = 0; i < count; i++)
    bytes_append(&r->wire_out, bufs[i], lens[i]);
  return 0;
}

static int wire_close(void *impl) {
  run_t *r = impl;
  if (!r->wire_closed) {
    r->wire_closed = 1;
    /* connection_lost follows from the loop, as from a socket's close */
    must(weft_call_soon(r->loop, wire_lost_cb, r, NULL), "call_soon");
  }
  return 0;
}

static int wire_pause(void *impl) {
  ((run_t *)impl)->wire_paused = 1;
  return 0;
}

static int wire_resume(void *impl) {
  ((run_t *)impl)->wire_paused = 0;
  return 0;
}

static const weft_transport_ops_t wire_ops = {
    .size = sizeof(weft_transport_ops_t),
    .write = wire_write,
    .close = wire_close,
    .abort = wire_close,
    .pause_reading = wire_pause,
    .resume_reading = wire_resume,
};

/* ---- the application's protocol ------------------------------------------------------------ */

static void app_made(weft_transport_t *t, void *arg) {
  (void)t;
  run_t *r = arg;
  r->made++;
}

static void app_bytes(run_t *r, const void *data, size_t len) {
  CHECK(r->eofs == 0 && r->losts == 0, "data after eof_received or connection_lost");
  CHECK(len > 0, "empty data_received");
  CHECK(r->app_got + len <= r->peer_written.len &&
            memcmp(data, r->peer_written.p + r->app_got, len) == 0,
        "the application received %zu bytes at %zu that the peer did not write (%zu)", len,
        r->app_got, r->peer_written.len);
  r->app_got += len;
}

static void app_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t;
  app_bytes(arg, data, len);
}

static void *app_get_buffer(weft_transport_t *t, size_t hint, size_t *len_out, void *arg) {
  (void)t;
  (void)hint;
  run_t *r = arg;
  *len_out = 1 + (r->app_got % sizeof r->app_buf); /* odd sizes, changing */
  return r->app_buf;
}

static void app_buffer_updated(weft_transport_t *t, size_t n, void *arg) {
  (void)t;
  run_t *r = arg;
  app_bytes(r, r->app_buf, n);
}

static int app_eof(weft_transport_t *t, void *arg) {
  (void)t;
  run_t *r = arg;
  CHECK(r->losts == 0, "eof_received after connection_lost");
  r->eofs++;
  CHECK(r->eofs == 1, "eof_received twice");
  return 0;
}

static void app_lost(weft_transport_t *t, int error, void *arg) {
  (void)t;
  run_t *r = arg;
  r->losts++;
  r->lost_error = error;
  CHECK(r->losts == 1, "connection_lost twice");
}

static void quiet_handler(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop;
  (void)ctx;
  (void)arg;
}

/* ---- moving bytes ---------------------------------------------------------------------------- */

static void run_loop(run_t *r) {
  for (int i = 0; i < 4; i++)
    weft_loop_run_once(r->loop, 1);
  if (!r->tls && r->started && weft_future_done(r->started)) {
    const weft_value_t *v = NULL;
    if (weft_future_result(r->started, &v) == 0) {
      r->tls = weft_transport_retain(v->ptr);
      r->had_tls = 1;
    }
  }
}

/* The application lets go of the TLS transport: its reference and start_tls's future (the
 * future's result is another). From here only the layer keeps the transport alive. */
static void drop_refs(run_t *r) {
  if (!r->tls)
    return;
  weft_transport_release(r->tls);
  r->tls = NULL;
  weft_future_release(r->started);
  r->started = NULL;
}

/* The peer reads what the layer sent. */
static void to_peer(run_t *r) {
  if (r->peer_done) {
    r->wire_out.len = 0;
    return;
  }
  size_t off = 0;
  static uint8_t buf[20000];
  while (off < r->wire_out.len && !r->peer_done) {
    size_t used = 0;
    if (weft__tls_feed(r->peer, r->wire_out.p + off, r->wire_out.len - off, &used) != 0) {
      r->peer_done = 1;
      break;
    }
    off += used;
    for (int i = 0; i < 64; i++) {
      size_t n = 0;
      int rc = weft__tls_read(r->peer, buf, sizeof buf, &n);
      if (rc == WEFT_EAGAIN)
        break;
      if (rc != 0) {
        r->peer_done = 1;
        break;
      }
      CHECK(r->peer_got + n <= r->app_written.len &&
                memcmp(buf, r->app_written.p + r->peer_got, n) == 0,
            "the peer read bytes the application did not write");
      r->peer_got += n;
    }
    if (used == 0)
      break;
  }
  r->wire_out.len = 0;
}

/* Delivers bytes to the layer as a socket read would: not while paused or closed. */
static void deliver(run_t *r, const uint8_t *p, size_t n, size_t chunk) {
  if (chunk == 0)
    chunk = n;
  size_t off = 0;
  while (off < n && !r->wire_paused && !r->wire_closed && !r->wire_lost) {
    size_t k = n - off < chunk ? n - off : chunk;
    weft_transport_emit_data(r->wire, (const char *)p + off, k);
    off += k;
  }
}

/* The peer's ciphertext to the layer, up to max bytes, maybe with one byte changed. */
static void from_peer(run_t *r, size_t max, size_t chunk, size_t flip_at, uint8_t flip) {
  static uint8_t buf[65536];
  if (r->wire_paused || r->wire_closed || r->wire_lost)
    return;
  size_t n = weft__tls_out_read(r->peer, buf, max < sizeof buf ? max : sizeof buf);
  if (flip && flip_at < n)
    buf[flip_at] ^= flip;
  deliver(r, buf, n, chunk);
}

static void pump(run_t *r) {
  for (int i = 0; i < 20; i++) {
    run_loop(r);
    size_t before = r->wire_out.len + weft__tls_out_pending(r->peer);
    if (before == 0)
      break;
    to_peer(r);
    from_peer(r, SIZE_MAX, 0, 0, 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cursor_t c = {data, size};
  run_t *r = calloc(1, sizeof *r);
  CHECK(r != NULL, "memory");
  uint8_t mode = next_u8(&c);
  int server_side = mode & 1;
  r->buffered = (mode >> 1) & 1;

  must(weft_loop_new(&r->loop), "loop");
  weft_loop_set_exception_handler(r->loop, quiet_handler, NULL, NULL);
  weft_protocol_t app = {.size = sizeof app,
                         .connection_made = app_made,
                         .eof_received = app_eof,
                         .connection_lost = app_lost};
  if (r->buffered) {
    app.get_buffer = app_get_buffer;
    app.buffer_updated = app_buffer_updated;
  } else {
    app.data_received = app_data;
  }
  /* The byte transport starts with the application's protocol, as before STARTTLS. */
  must(weft_transport_new(r->loop, &wire_ops, r, &app, r, &r->wire), "transport");
  weft_transport_emit_connection_made(r->wire);
  CHECK(r->made == 1, "connection_made of the byte transport");

  must(weft__tls_engine_new(server_side ? client_ctx : server_ctx, "localhost", 0, &r->peer),
       "peer engine");
  weft__tls_handshake(r->peer);
  weft_tls_options_t opts = {.size = sizeof opts,
                             .context = server_side ? server_ctx : client_ctx,
                             .server_hostname = "localhost"};
  must(weft_start_tls(r->wire, &app, r, &opts, server_side, &r->started), "start_tls");

  static uint8_t plain[4096];
  for (size_t i = 0; i < sizeof plain; i++)
    plain[i] = (uint8_t)(i * 13 + 1);

  while (c.n > 0) {
    uint8_t op = next_u8(&c);
    switch (op % 14) {
    case 0:
    case 1: {
      size_t max = (size_t)next_u8(&c) * 32 + 1;
      size_t chunk = next_u8(&c);
      size_t flip_at = next_u8(&c);
      uint8_t flip = op & 0x80 ? next_u8(&c) : 0;
      from_peer(r, max, chunk, flip_at, flip);
      break;
    }
    case 2:
      to_peer(r);
      break;
    case 3: { /* raw bytes from the network */
      size_t n = next_u8(&c), chunk = next_u8(&c);
      n = n < c.n ? n : c.n;
      deliver(r, c.p, n, chunk);
      c.p += n;
      c.n -= n;
      break;
    }
    case 4: /* the application writes */
      if (r->tls) {
        size_t n = (size_t)next_u8(&c) * 16;
        int rc = weft_transport_write(r->tls, plain, n);
        if (rc == 0)
          bytes_append(&r->app_written, plain, n);
      }
      break;
    case 5: { /* the peer writes */
      size_t n = (size_t)next_u8(&c) * 16, used = 0;
      if (weft__tls_write(r->peer, plain, n, &used) == 0 || used)
        bytes_append(&r->peer_written, plain, used);
      break;
    }
    case 6: /* the peer closes the TLS session */
      weft__tls_shutdown(r->peer);
      break;
    case 7: /* the network's end of stream */
      if (!r->wire_closed && !r->wire_lost && weft_transport_emit_eof(r->wire) == 0)
        weft_transport_close(r->wire);
      break;
    case 8: /* the connection is lost, cleanly or not */
      if (!r->wire_lost) {
        static const int errors[3] = {0, WEFT_ECONNRESET, WEFT_ETIMEDOUT};
        r->wire_lost = 1;
        weft_transport_emit_connection_lost(r->wire, errors[next_u8(&c) % 3]);
      }
      break;
    case 9: /* the application closes or aborts */
      if (r->tls) {
        if (op & 0x40)
          weft_transport_abort(r->tls);
        else
          weft_transport_close(r->tls);
        if (op & 0x20)
          drop_refs(r);
      }
      break;
    case 10: /* the application pauses or resumes reading */
      if (r->tls) {
        if (op & 0x40)
          weft_transport_pause_reading(r->tls);
        else
          weft_transport_resume_reading(r->tls);
        if (op & 0x20)
          drop_refs(r);
        /* A socket's connection_lost comes in the loop's close phase, which can fall
         * between a resume_reading and its deferred delivery. */
        if ((op & 0x10) && !r->wire_lost) {
          r->wire_lost = 1;
          weft_transport_emit_connection_lost(r->wire, 0);
        }
      }
      break;
    case 11:
      run_loop(r);
      break;
    case 12:
    case 13:
      pump(r);
      break;
    }
    run_loop(r);
  }

  if (getenv("FUZZ_TLS_VERBOSE"))
    fprintf(stderr, "%s: tls %d, app got %zu/%zu, peer got %zu/%zu, eofs %d, losts %d (%s)\n",
            server_side ? "server" : "client", r->tls != NULL, r->app_got, r->peer_written.len,
            r->peer_got, r->app_written.len, r->eofs, r->losts, weft_err_name(r->lost_error));
  /* The end: abort whatever is open and close the loop; connection_lost comes exactly once
   * to a protocol that got the TLS transport. */
  if (r->tls)
    weft_transport_abort(r->tls);
  else if (!r->wire_closed && !r->wire_lost)
    weft_transport_abort(r->wire);
  for (int i = 0; i < 8; i++)
    run_loop(r);
  if (r->had_tls)
    CHECK(r->losts == 1, "connection_lost %d times", r->losts);
  CHECK(r->losts <= 1, "connection_lost %d times", r->losts);
  if (r->started && !weft_future_done(r->started))
    weft_future_cancel(r->started, NULL);
  if (r->started)
    weft_future_release(r->started);
  weft_loop_close(r->loop);
  if (r->tls)
    weft_transport_release(r->tls);
  weft_transport_release(r->wire);
  weft_loop_release(r->loop);
  weft__tls_engine_free(r->peer);
  free(r->wire_out.p);
  free(r->app_written.p);
  free(r->peer_written.p);
  free(r);
  return 0;
}
