/* Fuzz target: the TLS engine (tls_engine.h) as server or as client, fed arbitrary bytes
 * during and after the handshake.
 *
 * The engine under test (the target) talks to a real peer engine in memory. The input
 * picks the target's side, the TLS version, client certificates or not, the engines' buffer
 * cap, and then a script: move the peer's ciphertext to the target (in chunks, optionally
 * with a byte changed), move the target's to the peer, inject raw bytes, write plaintext on
 * either side, shut down, end the stream, take the bytes after close_notify. With no peer
 * traffic at all the target sees nothing but the fuzzer's bytes.
 *
 * Besides sanitizer findings, the harness checks what TLS promises whatever arrives: the
 * plaintext the target reads is always a prefix of what the peer wrote (forged or damaged
 * records must fail, never deliver); reads stay within their buffer; the handshake callback
 * runs at most once, with success exactly when the engine is connected; a failed engine
 * stays failed, reports one code and yields no more plaintext. The certificates are made at
 * start-up (tests/tls_testcerts.c). */
#include <weft.h>

#include "tls_engine.h"
#include "tls_testcerts.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static size_t take(cursor_t *c, size_t want, const uint8_t **out) {
  size_t n = want < c->n ? want : c->n;
  *out = c->p;
  c->p += n;
  c->n -= n;
  return n;
}

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz_tls: %s: ", #cond);                                                    \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* ---- contexts, made once ------------------------------------------------------------------ */

enum { V_ANY, V_12, NVERSIONS };

typedef struct contexts {
  weft_tls_context_t *server[NVERSIONS][2]; /* [version][client certificates required] */
  weft_tls_context_t *client[NVERSIONS][2]; /* [version][presents a client certificate] */
} contexts_t;

static contexts_t ctxs;

static int sni_cb(const char *name, weft_tls_context_t **use, void *arg) {
  (void)use;
  (void)arg;
  return name && strcmp(name, "refused.example") == 0 ? -1 : 0;
}

static void must(int rc, const char *what) {
  CHECK(rc == 0, "%s: %s", what, weft_err_name(rc));
}

static void make_contexts(void) {
  const weft_testcerts_t *certs = weft_testcerts();
  static const char *const server_alpn[] = {"http/1.1", "h2"};
  static const char *const client_alpn[] = {"h2", "weft"};
  for (int v = 0; v < NVERSIONS; v++) {
    for (int mtls = 0; mtls < 2; mtls++) {
      weft_tls_context_t *s, *c;
      must(weft_tls_context_new(WEFT_TLS_SERVER, &s), "server context");
      must(weft_tls_context_load_cert_chain_pem(s, certs->server.cert_pem, certs->server.cert_len,
                                                certs->server.key_pem, certs->server.key_len, NULL),
           "server certificate");
      must(weft_tls_context_set_alpn_protocols(s, server_alpn, 2), "server ALPN");
      must(weft_tls_context_set_sni_callback(s, sni_cb, NULL, NULL), "SNI callback");
      must(weft_tls_context_new(WEFT_TLS_CLIENT, &c), "client context");
      must(weft_tls_context_load_verify_pem(c, certs->ca.cert_pem, certs->ca.cert_len),
           "client CA");
      must(weft_tls_context_set_alpn_protocols(c, client_alpn, 2), "client ALPN");
      if (mtls) {
        must(weft_tls_context_set_verify(s, WEFT_TLS_VERIFY_REQUIRED), "server verify");
        must(weft_tls_context_load_verify_pem(s, certs->ca.cert_pem, certs->ca.cert_len),
             "server CA");
        must(weft_tls_context_load_cert_chain_pem(c, certs->client.cert_pem, certs->client.cert_len,
                                                  certs->client.key_pem, certs->client.key_len,
                                                  NULL),
             "client certificate");
      }
      if (v == V_12) {
        must(weft_tls_context_set_max_version(s, WEFT_TLS_VERSION_1_2), "server max version");
        must(weft_tls_context_set_max_version(c, WEFT_TLS_VERSION_1_2), "client max version");
      }
      ctxs.server[v][mtls] = s;
      ctxs.client[v][mtls] = c;
    }
  }
}

static void free_contexts(void) {
  for (int v = 0; v < NVERSIONS; v++)
    for (int m = 0; m < 2; m++) {
      weft_tls_context_release(ctxs.server[v][m]);
      weft_tls_context_release(ctxs.client[v][m]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  make_contexts();
  atexit(free_contexts);
  return 0;
}

/* ---- one side ------------------------------------------------------------------------------- */

typedef struct side {
  weft__tls_engine_t *e;
  int hs_calls, hs_status;
  int eof;           /* a read said WEFT_EEOF */
  int err;           /* a call failed with this */
  size_t read_cap;   /* the buffer size this side reads with */
  uint8_t *written;  /* plaintext this side's engine accepted */
  size_t wlen, wcap; /* ... and its length */
  size_t got;        /* plaintext the other side has read of it */
} side_t;

static void on_handshake(weft__tls_engine_t *e, int status, void *arg) {
  side_t *s = arg;
  CHECK(e == s->e, "the callback's engine");
  s->hs_calls++;
  s->hs_status = status;
  CHECK(s->hs_calls == 1, "the handshake callback runs once");
}

static void check_side(const side_t *s) {
  int state = weft__tls_state(s->e);
  CHECK(state >= WEFT__TLS_HANDSHAKING && state <= WEFT__TLS_FAILED, "state %d", state);
  if (state != WEFT__TLS_HANDSHAKING && state != WEFT__TLS_FAILED)
    CHECK(s->hs_calls == 1 && s->hs_status == 0, "connected after a successful handshake");
  if (state == WEFT__TLS_FAILED)
    CHECK(weft__tls_error_code(s->e) < 0, "a failed engine has a code");
  if (s->hs_calls && s->hs_status != 0)
    CHECK(state == WEFT__TLS_FAILED, "a failed handshake leaves the engine failed");
  if (s->err && s->err != WEFT_EINVALIDSTATE && s->err != WEFT_ESHUTDOWN) {
    CHECK(state == WEFT__TLS_FAILED, "an error fails the engine (%s)", weft_err_name(s->err));
    CHECK(weft__tls_error_code(s->e) == s->err, "the engine keeps its code");
  }
}

/* Reads what `to` can decrypt now; `from` is the side whose plaintext it must be. */
static void drain(side_t *to, side_t *from) {
  static uint8_t buf[20000];
  for (int i = 0; i < 64; i++) {
    size_t n = 12345;
    int rc = weft__tls_read(to->e, buf, to->read_cap, &n);
    if (rc == 0) {
      CHECK(n > 0 && n <= to->read_cap, "read %zu into %zu", n, to->read_cap);
      CHECK(!to->eof && !to->err, "plaintext after the end (%s)", weft_err_name(to->err));
      CHECK(from->got + n <= from->wlen && memcmp(buf, from->written + from->got, n) == 0,
            "the plaintext read (%zu at %zu) is not what the peer wrote (%zu)", n, from->got,
            from->wlen);
      from->got += n;
      continue;
    }
    CHECK(n == 0, "no bytes with %s", weft_err_name(rc));
    if (rc == WEFT_EAGAIN)
      break;
    if (rc == WEFT_EEOF) {
      to->eof = 1;
      break;
    }
    CHECK(rc < 0, "read: %d", rc);
    if (to->err)
      CHECK(rc == to->err, "a failed engine keeps failing with its code");
    to->err = rc;
    break;
  }
  check_side(to);
}

/* Feeds bytes into `to`, reading whenever its buffer is full. */
static void feed(side_t *to, side_t *from, const uint8_t *p, size_t len) {
  size_t off = 0;
  for (int i = 0; i < 1000 && off < len; i++) {
    size_t used = 99999;
    int rc = weft__tls_feed(to->e, p + off, len - off, &used);
    if (rc != 0) {
      CHECK(used == 0, "a refused feed takes nothing");
      CHECK(weft__tls_state(to->e) == WEFT__TLS_FAILED, "only a failed engine refuses bytes");
      to->err = rc;
      break;
    }
    CHECK(used <= len - off, "fed %zu of %zu", used, len - off);
    off += used;
    drain(to, from);
    if (to->err || to->eof)
      break;
  }
  drain(to, from);
}

/* Moves up to `max` bytes of from's ciphertext to `to`, in chunks of `chunk`; with flip,
 * byte `flip_at` of what moves is xor-ed with flip. */
static void transfer(side_t *from, side_t *to, size_t max, size_t chunk, size_t flip_at,
                     uint8_t flip) {
  static uint8_t buf[65536];
  size_t moved = 0;
  if (chunk == 0 || chunk > sizeof buf)
    chunk = sizeof buf;
  while (moved < max) {
    size_t want = max - moved < chunk ? max - moved : chunk;
    size_t n = weft__tls_out_read(from->e, buf, want);
    CHECK(n <= want, "out_read %zu of %zu", n, want);
    if (n == 0)
      break;
    if (flip && flip_at >= moved && flip_at < moved + n)
      buf[flip_at - moved] ^= flip;
    moved += n;
    feed(to, from, buf, n);
  }
}

/* Both ways until quiet, untouched. */
static void pump(side_t *a, side_t *b) {
  for (int i = 0; i < 50; i++) {
    size_t before = weft__tls_out_pending(a->e) + weft__tls_out_pending(b->e);
    if (before == 0)
      break;
    transfer(a, b, SIZE_MAX, 0, 0, 0);
    transfer(b, a, SIZE_MAX, 0, 0, 0);
  }
}

static void write_plain(side_t *s, const uint8_t *p, size_t len) {
  size_t used = 99999;
  int rc = weft__tls_write(s->e, p, len, &used);
  CHECK(used <= len, "wrote %zu of %zu", used, len);
  if (used > 0) {
    if (s->wlen + used > s->wcap) {
      s->wcap = (s->wlen + used) * 2 + 64;
      s->written = realloc(s->written, s->wcap);
      CHECK(s->written != NULL, "memory");
    }
    memcpy(s->written + s->wlen, p, used);
    s->wlen += used;
  }
  if (rc != 0 && rc != WEFT_EAGAIN) {
    if (rc != WEFT_ESHUTDOWN)
      s->err = rc;
  }
  check_side(s);
}

static int side_new(side_t *s, weft_tls_context_t *ctx, const char *host, size_t max_buffer,
                    size_t read_cap) {
  memset(s, 0, sizeof *s);
  s->read_cap = read_cap;
  int rc = weft__tls_engine_new(ctx, host, max_buffer, &s->e);
  if (rc != 0)
    return rc;
  weft__tls_set_handshake_cb(s->e, on_handshake, s);
  rc = weft__tls_handshake(s->e);
  CHECK(rc == WEFT_EAGAIN || rc < 0, "a handshake that has only begun: %d", rc);
  if (rc != WEFT_EAGAIN)
    s->err = rc;
  return 0;
}

static void side_free(side_t *s) {
  weft__tls_engine_free(s->e);
  free(s->written);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cursor_t c = {data, size};
  uint8_t mode = next_u8(&c);
  int target_is_server = mode & 1;
  int version = (mode >> 1) & 1;
  int mtls = (mode >> 2) & 1;
  static const size_t caps[4] = {0, 512, 4096, 17000};
  size_t max_buffer = caps[(mode >> 3) & 3];
  static const size_t read_caps[4] = {1, 7, 1024, 20000};
  size_t target_read_cap = read_caps[(mode >> 5) & 3];
  /* Client host names: the right one, one the SNI callback refuses, one the certificate
   * does not cover, an IP address (no SNI). */
  static const char *const hosts[4] = {"localhost", "refused.example", "wrong.example",
                                       "127.0.0.1"};
  const char *host = hosts[next_u8(&c) & 3];

  side_t srv, cli;
  if (side_new(&srv, ctxs.server[version][mtls], NULL, max_buffer, 20000) != 0)
    abort();
  if (side_new(&cli, ctxs.client[version][mtls], host, max_buffer, 20000) != 0)
    abort();
  side_t *target = target_is_server ? &srv : &cli;
  side_t *peer = target_is_server ? &cli : &srv;
  target->read_cap = target_read_cap;

  static uint8_t plain[4096];
  for (size_t i = 0; i < sizeof plain; i++)
    plain[i] = (uint8_t)(i * 7 + 3);
  size_t plain_off = 0;

  while (c.n > 0) {
    uint8_t op = next_u8(&c);
    switch (op % 12) {
    case 0:
    case 1: { /* the peer's ciphertext, maybe with one byte changed */
      size_t max = (size_t)next_u8(&c) * 16 + 1;
      size_t chunk = next_u8(&c);
      size_t flip_at = next_u8(&c);
      uint8_t flip = op & 0x80 ? next_u8(&c) : 0;
      transfer(peer, target, max, chunk, flip_at, flip);
      break;
    }
    case 2: /* the target's ciphertext to the peer */
      transfer(target, peer, SIZE_MAX, 0, 0, 0);
      break;
    case 3:
    case 4: { /* raw bytes straight into the target */
      const uint8_t *p;
      size_t n = take(&c, next_u8(&c), &p);
      feed(target, peer, p, n);
      break;
    }
    case 5:
    case 6: { /* plaintext from either side */
      side_t *s = op % 12 == 5 ? target : peer;
      size_t n = (size_t)next_u8(&c) * 8;
      if (plain_off + n > sizeof plain)
        plain_off = 0;
      write_plain(s, plain + plain_off, n);
      plain_off += n;
      break;
    }
    case 7: { /* shutdown on either side */
      side_t *s = op & 0x40 ? peer : target;
      int rc = weft__tls_shutdown(s->e);
      CHECK(rc == 0 || rc == WEFT_EAGAIN || rc < 0, "shutdown: %d", rc);
      if (rc < 0 && rc != WEFT_EAGAIN && rc != WEFT_EINVALIDSTATE)
        s->err = rc;
      check_side(s);
      break;
    }
    case 8: /* the transport's end of stream */
      weft__tls_feed_eof(target->e);
      drain(target, peer);
      break;
    case 9: { /* bytes after close_notify (STARTTLS-style) */
      uint8_t buf[256];
      size_t n = weft__tls_take_unwrapped(target->e, buf, next_u8(&c));
      CHECK(n <= sizeof buf, "took %zu", n);
      break;
    }
    case 10:
    case 11: /* the honest exchange, to reach the states after the handshake */
      pump(peer, target);
      drain(target, peer);
      drain(peer, target);
      break;
    }
    check_side(target);
    CHECK(target->got <= target->wlen && peer->got <= peer->wlen, "accounting");
  }

  if (getenv("FUZZ_TLS_VERBOSE"))
    fprintf(stderr,
            "target %s: state %d err %s hs %d/%d read %zu/%zu; peer state %d read %zu/%zu\n",
            target_is_server ? "server" : "client", weft__tls_state(target->e),
            weft_err_name(target->err), target->hs_calls, target->hs_status, peer->got, peer->wlen,
            weft__tls_state(peer->e), target->got, target->wlen);
  /* The connection information of a connected engine is all there. */
  if (weft__tls_state(target->e) == WEFT__TLS_WRAPPED) {
    CHECK(weft_tls_conn_handshake_done(target->e) == 1, "handshake_done");
    CHECK(weft_tls_conn_version(target->e) != NULL, "version");
    CHECK(weft_tls_conn_cipher(target->e, NULL) != NULL, "cipher");
  }
  side_free(&srv);
  side_free(&cli);
  return 0;
}
