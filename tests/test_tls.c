/* The TLS engine, driven purely in memory: a client engine and a server engine with the
 * bytes pumped between them by the test, no loop and no sockets. */
#include "weft_test.h"

#include "tls_engine.h"
#include "tls_testcerts.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- an in-memory pair of engines ------------------------------------------------------ */

typedef struct side {
  weft__tls_engine_t *e;
  uint8_t *got; /* plaintext this side has read */
  size_t len, cap;
  int eof, err; /* the last read said WEFT_EEOF, or failed with err */
  int hs_calls, hs_status;
} side_t;

typedef struct pair {
  side_t c, s;
} pair_t;

static void on_handshake(weft__tls_engine_t *e, int status, void *arg) {
  side_t *side = arg;
  ASSERT_PTR_EQ(e, side->e);
  side->hs_calls++;
  side->hs_status = status;
}

static void append(side_t *s, const void *p, size_t n) {
  if (s->len + n > s->cap) {
    s->cap = (s->len + n) * 2;
    s->got = realloc(s->got, s->cap);
    ASSERT_TRUE(s->got != NULL);
  }
  memcpy(s->got + s->len, p, n);
  s->len += n;
}

/* Reads everything the side can decrypt now. */
static void drain(side_t *s) {
  uint8_t buf[16384];
  while (!s->eof && !s->err) {
    size_t n = 0;
    int rc = weft__tls_read(s->e, buf, sizeof buf, &n);
    if (rc == 0) {
      ASSERT_TRUE(n > 0);
      append(s, buf, n);
    } else if (rc == WEFT_EAGAIN) {
      ASSERT_EQ(n, 0);
      break;
    } else if (rc == WEFT_EEOF) {
      s->eof = 1;
    } else {
      s->err = rc;
    }
  }
}

/* Moves from's waiting ciphertext into to, at most chunk bytes per feed (0: any), and lets
 * to decrypt after every feed. Returns how many bytes moved. */
static size_t transfer(side_t *from, side_t *to, size_t chunk) {
  static uint8_t buf[65536];
  size_t moved = 0;
  while (weft__tls_out_pending(from->e) > 0) {
    size_t want = (chunk && chunk < sizeof buf) ? chunk : sizeof buf;
    size_t n = weft__tls_out_read(from->e, buf, want);
    ASSERT_TRUE(n > 0);
    moved += n;
    size_t off = 0;
    while (off < n) {
      size_t used = 0;
      int rc = weft__tls_feed(to->e, buf + off, n - off, &used);
      if (rc != 0) {
        to->err = rc;
        break; /* a failed engine refuses input: the bytes are dropped, as a closing socket's */
      }
      off += used;
      drain(to);
      if (used == 0 && weft__tls_feed_space(to->e) == 0)
        WEFT_FAIL_AT("the receiving engine is full and cannot make room");
    }
  }
  drain(to);
  return moved;
}

static void pump_chunked(pair_t *p, size_t chunk) {
  for (int i = 0; i < 1000000; i++) {
    if (transfer(&p->c, &p->s, chunk) + transfer(&p->s, &p->c, chunk) == 0)
      return;
  }
  WEFT_FAIL_AT("the engines never went quiet");
}

static void pump(pair_t *p) {
  pump_chunked(p, 0);
}

static void pair_start_ex(pair_t *p, weft_tls_context_t *cctx, weft_tls_context_t *sctx,
                          const char *host, size_t max_buffer) {
  memset(p, 0, sizeof *p);
  ASSERT_OK(weft__tls_engine_new(cctx, host, max_buffer, &p->c.e));
  ASSERT_OK(weft__tls_engine_new(sctx, NULL, max_buffer, &p->s.e));
  weft__tls_set_handshake_cb(p->c.e, on_handshake, &p->c);
  weft__tls_set_handshake_cb(p->s.e, on_handshake, &p->s);
  ASSERT_EQ(weft__tls_state(p->c.e), WEFT__TLS_HANDSHAKING);
  /* The client speaks first: this produces its ClientHello. */
  ASSERT_CODE(weft__tls_handshake(p->c.e), WEFT_EAGAIN);
  ASSERT_TRUE(weft__tls_out_pending(p->c.e) > 0);
}

static void pair_start(pair_t *p, weft_tls_context_t *cctx, weft_tls_context_t *sctx,
                       const char *host) {
  pair_start_ex(p, cctx, sctx, host, 0);
}

static void pair_free(pair_t *p) {
  weft__tls_engine_free(p->c.e);
  weft__tls_engine_free(p->s.e);
  free(p->c.got);
  free(p->s.got);
  memset(p, 0, sizeof *p);
}

static void assert_connected(pair_t *p) {
  ASSERT_OK(p->c.err);
  ASSERT_OK(p->s.err);
  ASSERT_EQ(p->c.hs_calls, 1);
  ASSERT_EQ(p->s.hs_calls, 1);
  ASSERT_OK(p->c.hs_status);
  ASSERT_OK(p->s.hs_status);
  ASSERT_EQ(weft__tls_state(p->c.e), WEFT__TLS_WRAPPED);
  ASSERT_EQ(weft__tls_state(p->s.e), WEFT__TLS_WRAPPED);
  ASSERT_EQ(weft_tls_conn_handshake_done(p->c.e), 1);
  ASSERT_EQ(weft_tls_conn_handshake_done(p->s.e), 1);
}

static weft_tls_context_t *server_ctx(const weft_testcert_t *cert) {
  weft_tls_context_t *ctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &ctx));
  ASSERT_OK(weft_tls_context_load_cert_chain_pem(ctx, cert->cert_pem, cert->cert_len, cert->key_pem,
                                                 cert->key_len, NULL));
  return ctx;
}

/* A client trusting the test CA, with the default (strict) verification. */
static weft_tls_context_t *client_ctx(void) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *ctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &ctx));
  ASSERT_OK(weft_tls_context_load_verify_pem(ctx, certs->ca.cert_pem, certs->ca.cert_len));
  return ctx;
}

/* Writes all of data from one side, pumping whenever the engine's buffer fills. */
static void write_all(pair_t *p, side_t *from, const uint8_t *data, size_t len) {
  size_t off = 0;
  while (off < len) {
    size_t used = 0;
    ASSERT_OK(weft__tls_write(from->e, data + off, len - off, &used));
    off += used;
    pump(p);
  }
  pump(p);
}

static uint8_t *pattern(size_t len, unsigned seed) {
  uint8_t *d = malloc(len ? len : 1);
  ASSERT_TRUE(d != NULL);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    d[i] = (uint8_t)(x >> 16);
  }
  return d;
}

/* Connects a fresh pair to the standard server and checks it is up. */
static void connect_standard(pair_t *p, weft_tls_context_t **cctx, weft_tls_context_t **sctx) {
  *cctx = client_ctx();
  *sctx = server_ctx(&weft_testcerts()->server);
  pair_start(p, *cctx, *sctx, "localhost");
  pump(p);
  assert_connected(p);
}

/* Expects the client's handshake to fail with WEFT_ETLS and a message containing want, and
 * the server's to fail too (with a message containing want_server, when given). */
static void expect_failure(weft_tls_context_t *cctx, weft_tls_context_t *sctx, const char *host,
                           const char *want, const char *want_server) {
  pair_t p;
  pair_start(&p, cctx, sctx, host);
  pump(&p);
  ASSERT_CODE(p.c.err, WEFT_ETLS);
  ASSERT_EQ(p.c.hs_calls, 1);
  ASSERT_CODE(p.c.hs_status, WEFT_ETLS);
  ASSERT_EQ(weft__tls_state(p.c.e), WEFT__TLS_FAILED);
  const char *msg = weft_tls_conn_error(p.c.e);
  if (strstr(msg, want) == NULL)
    WEFT_FAIL_AT("client error \"%s\" does not contain \"%s\"", msg, want);
  /* The client's alert reached the server, which fails too, and says so. */
  ASSERT_CODE(p.s.err, WEFT_ETLS);
  ASSERT_TRUE(weft_tls_conn_error(p.s.e)[0] != '\0');
  if (want_server && strstr(weft_tls_conn_error(p.s.e), want_server) == NULL)
    WEFT_FAIL_AT("server error \"%s\" does not contain \"%s\"", weft_tls_conn_error(p.s.e),
                 want_server);
  /* A failed engine stays failed, and quietly. */
  size_t n = 1;
  uint8_t b[4];
  ASSERT_CODE(weft__tls_read(p.c.e, b, sizeof b, &n), WEFT_ETLS);
  ASSERT_EQ(n, 0);
  ASSERT_CODE(weft__tls_write(p.c.e, "x", 1, &n), WEFT_ETLS);
  ASSERT_CODE(weft__tls_shutdown(p.c.e), WEFT_ETLS);
  pair_free(&p);
}

static void expect_client_failure(weft_tls_context_t *cctx, weft_tls_context_t *sctx,
                                  const char *host, const char *want) {
  expect_failure(cctx, sctx, host, want, NULL);
}

/* ---- tests ----------------------------------------------------------------------------- */

WEFT_TEST(handshake_and_echo) {
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  write_all(&p, &p.c, (const uint8_t *)"ping", 4);
  ASSERT_EQ(p.s.len, 4);
  ASSERT_TRUE(memcmp(p.s.got, "ping", 4) == 0);
  write_all(&p, &p.s, (const uint8_t *)"pong!", 5);
  ASSERT_EQ(p.c.len, 5);
  ASSERT_TRUE(memcmp(p.c.got, "pong!", 5) == 0);
  ASSERT_STREQ(weft_tls_conn_version(p.c.e), "TLSv1.3");
  ASSERT_EQ(weft_tls_conn_version_number(p.s.e), WEFT_TLS_VERSION_1_3);
  ASSERT_STREQ(weft_tls_conn_error(p.c.e), "");
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(data_many_sizes_both_ways) {
  static const size_t sizes[] = {1,     2,     3,     100,   1000,  4095,    4096,
                                 16383, 16384, 16385, 65535, 65537, 1000003, (3u << 20) + 5};
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    uint8_t *a = pattern(n, (unsigned)i), *b = pattern(n, (unsigned)i + 1000);
    p.c.len = p.s.len = 0;
    /* Interleaved: both directions are in flight at once. */
    size_t ca = 0, sb = 0;
    while (ca < n || sb < n) {
      size_t used = 0;
      if (ca < n) {
        ASSERT_OK(weft__tls_write(p.c.e, a + ca, n - ca, &used));
        ca += used;
      }
      if (sb < n) {
        ASSERT_OK(weft__tls_write(p.s.e, b + sb, n - sb, &used));
        sb += used;
      }
      pump(&p);
    }
    if (p.s.len != n || memcmp(p.s.got, a, n) != 0)
      WEFT_FAIL_AT("client->server, %zu bytes: got %zu, or different", n, p.s.len);
    if (p.c.len != n || memcmp(p.c.got, b, n) != 0)
      WEFT_FAIL_AT("server->client, %zu bytes: got %zu, or different", n, p.c.len);
    free(a);
    free(b);
  }
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

/* The server gets the ClientHello in two pieces, split at every byte: it must wait for the
 * whole record before answering, and then answer. */
WEFT_TEST(client_hello_split_at_every_byte) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  size_t len = weft__tls_out_pending(p.c.e);
  uint8_t *hello = malloc(len);
  ASSERT_EQ(weft__tls_out_read(p.c.e, hello, len), len);
  ASSERT_TRUE(len > 100);
  for (size_t k = 1; k < len; k++) {
    weft__tls_engine_t *s;
    ASSERT_OK(weft__tls_engine_new(sctx, NULL, 0, &s));
    size_t used, n;
    uint8_t b[16];
    ASSERT_OK(weft__tls_feed(s, hello, k, &used));
    ASSERT_EQ(used, k);
    ASSERT_CODE(weft__tls_read(s, b, sizeof b, &n), WEFT_EAGAIN);
    ASSERT_EQ(weft__tls_out_pending(s), 0);
    ASSERT_OK(weft__tls_feed(s, hello + k, len - k, &used));
    ASSERT_CODE(weft__tls_read(s, b, sizeof b, &n), WEFT_EAGAIN);
    ASSERT_TRUE(weft__tls_out_pending(s) > 0); /* ServerHello and the rest of its flight */
    ASSERT_EQ(weft__tls_state(s), WEFT__TLS_HANDSHAKING);
    weft__tls_engine_free(s);
  }
  free(hello);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

/* The client gets the server's first flight (ServerHello ... Finished) in two pieces: split
 * at every byte of its first records (ServerHello, ChangeCipherSpec and the start of the
 * encrypted ones), then at a stride and at the last bytes, completing the handshake each
 * time. (Each cut costs a full handshake; handshake_byte_by_byte covers every boundary.) */
static int flight_cut_wanted(size_t k, size_t len) {
  return k < 200 || k % 41 == 0 || k + 8 > len;
}

WEFT_TEST(server_flight_split_at_every_byte) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  size_t flight_len = 0, cuts = 0;
  for (size_t k = 1; flight_len == 0 || k < flight_len; k++) {
    if (flight_len != 0 && !flight_cut_wanted(k, flight_len))
      continue;
    pair_t p;
    pair_start(&p, cctx, sctx, "localhost");
    transfer(&p.c, &p.s, 0);
    size_t len = weft__tls_out_pending(p.s.e);
    ASSERT_TRUE(len > 0);
    if (flight_len == 0)
      flight_len = len;
    uint8_t *flight = malloc(len);
    ASSERT_EQ(weft__tls_out_read(p.s.e, flight, len), len);
    size_t cut = k < len ? k : len - 1, used;
    ASSERT_OK(weft__tls_feed(p.c.e, flight, cut, &used));
    drain(&p.c);
    ASSERT_EQ(p.c.hs_calls, 0);
    ASSERT_OK(weft__tls_feed(p.c.e, flight + cut, len - cut, &used));
    drain(&p.c);
    ASSERT_EQ(p.c.hs_calls, 1);
    ASSERT_OK(p.c.hs_status);
    pump(&p);
    assert_connected(&p);
    free(flight);
    pair_free(&p);
    cuts++;
  }
  ASSERT_TRUE(flight_len > 200);
  ASSERT_TRUE(cuts > 200);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

/* Every byte of the handshake, both ways, delivered on its own; then data the same way. */
WEFT_TEST(handshake_byte_by_byte) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump_chunked(&p, 1);
  assert_connected(&p);
  uint8_t *d = pattern(40000, 7);
  size_t used;
  ASSERT_OK(weft__tls_write(p.c.e, d, 40000, &used));
  ASSERT_EQ(used, 40000);
  pump_chunked(&p, 1);
  ASSERT_EQ(p.s.len, 40000);
  ASSERT_TRUE(memcmp(p.s.got, d, 40000) == 0);
  free(d);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(tls12_handshake) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  ASSERT_OK(weft_tls_context_set_max_version(sctx, WEFT_TLS_VERSION_1_2));
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  assert_connected(&p);
  ASSERT_STREQ(weft_tls_conn_version(p.c.e), "TLSv1.2");
  ASSERT_EQ(weft_tls_conn_version_number(p.c.e), WEFT_TLS_VERSION_1_2);
  write_all(&p, &p.s, (const uint8_t *)"twelve", 6);
  ASSERT_EQ(p.c.len, 6);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(min_version_refuses_older_peer) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  ASSERT_OK(weft_tls_context_set_max_version(sctx, WEFT_TLS_VERSION_1_2));
  ASSERT_OK(weft_tls_context_set_min_version(cctx, WEFT_TLS_VERSION_1_3));
  ASSERT_CODE(weft_tls_context_set_min_version(cctx, 0x0300), WEFT_EINVAL);
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  ASSERT_CODE(p.s.err, WEFT_ETLS);
  ASSERT_CODE(p.c.err, WEFT_ETLS);
  ASSERT_TRUE(strstr(weft_tls_conn_error(p.s.e), "protocol") != NULL);
  ASSERT_TRUE(strstr(weft_tls_conn_error(p.c.e), "protocol version") != NULL);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(alpn_negotiation) {
  static const char *const client_protos[] = {"h2", "http/1.1"};
  static const char *const server_protos[] = {"http/1.1", "h2"};
  static const char *const other[] = {"spdy/1"};
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  ASSERT_OK(weft_tls_context_set_alpn_protocols(cctx, client_protos, 2));
  ASSERT_OK(weft_tls_context_set_alpn_protocols(sctx, server_protos, 2));
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  assert_connected(&p);
  /* The server's preference wins among what the client offers. */
  ASSERT_STREQ(weft_tls_conn_alpn_protocol(p.c.e), "http/1.1");
  ASSERT_STREQ(weft_tls_conn_alpn_protocol(p.s.e), "http/1.1");
  pair_free(&p);

  /* No protocol in common: the handshake goes on without ALPN. */
  ASSERT_OK(weft_tls_context_set_alpn_protocols(sctx, other, 1));
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  assert_connected(&p);
  ASSERT_TRUE(weft_tls_conn_alpn_protocol(p.c.e) == NULL);
  ASSERT_TRUE(weft_tls_conn_alpn_protocol(p.s.e) == NULL);
  pair_free(&p);

  /* Cleared on the server: nothing is chosen. */
  ASSERT_OK(weft_tls_context_set_alpn_protocols(sctx, NULL, 0));
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  assert_connected(&p);
  ASSERT_TRUE(weft_tls_conn_alpn_protocol(p.c.e) == NULL);
  pair_free(&p);

  static const char *const bad[] = {""};
  ASSERT_CODE(weft_tls_context_set_alpn_protocols(cctx, bad, 1), WEFT_EINVAL);
  ASSERT_TRUE(strstr(weft_tls_context_error(cctx), "ALPN") != NULL);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

typedef struct sni_state {
  int calls;
  char seen[64];
  weft_tls_context_t *switch_to;
  int refuse;
} sni_state_t;

static int sni_cb(const char *name, weft_tls_context_t **use, void *arg) {
  sni_state_t *st = arg;
  st->calls++;
  snprintf(st->seen, sizeof st->seen, "%s", name ? name : "(none)");
  if (st->refuse)
    return WEFT_ETLS;
  *use = st->switch_to;
  return 0;
}

WEFT_TEST(sni_seen_by_server) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  assert_connected(&p);
  ASSERT_STREQ(weft_tls_conn_server_name(p.s.e), "localhost");
  ASSERT_STREQ(weft_tls_conn_server_name(p.c.e), "localhost");
  pair_free(&p);

  /* An IP address is checked against the certificate but never sent as SNI. */
  pair_start(&p, cctx, sctx, "127.0.0.1");
  pump(&p);
  assert_connected(&p);
  ASSERT_TRUE(weft_tls_conn_server_name(p.s.e) == NULL);
  ASSERT_TRUE(weft_tls_conn_server_name(p.c.e) == NULL);
  pair_free(&p);
  pair_start(&p, cctx, sctx, "::1");
  pump(&p);
  assert_connected(&p);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(sni_callback_switches_certificate) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *cctx = client_ctx();
  /* The default certificate is for another name; the callback picks the right one. */
  weft_tls_context_t *sctx = server_ctx(&certs->wrong_host);
  weft_tls_context_t *localhost = server_ctx(&certs->server);
  sni_state_t st = {0};
  st.switch_to = localhost;
  ASSERT_OK(weft_tls_context_set_sni_callback(sctx, sni_cb, &st, NULL));
  ASSERT_CODE(weft_tls_context_set_sni_callback(cctx, sni_cb, &st, NULL), WEFT_EINVAL);
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  assert_connected(&p);
  ASSERT_EQ(st.calls, 1);
  ASSERT_STREQ(st.seen, "localhost");
  ASSERT_STREQ(weft_tls_conn_peer_subject(p.c.e), "CN=localhost,O=weft");
  pair_free(&p);

  /* Refused by the callback: the client hears why. */
  st.refuse = 1;
  expect_failure(cctx, sctx, "localhost", "unrecognized name",
                 "the SNI callback refused the server name 'localhost'");
  ASSERT_EQ(st.calls, 2);

  /* Removed: the default certificate serves, and the host name check catches it. */
  ASSERT_OK(weft_tls_context_set_sni_callback(sctx, NULL, NULL, NULL));
  expect_client_failure(cctx, sctx, "localhost", "hostname mismatch");
  ASSERT_EQ(st.calls, 2);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
  weft_tls_context_release(localhost);
}

WEFT_TEST(verify_fails_unknown_ca) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->untrusted);
  expect_failure(cctx, sctx, "localhost",
                 "certificate verify failed: unable to get local issuer certificate",
                 "alert unknown ca");
  weft_tls_context_release(sctx);
  /* A client that trusts nothing refuses even the right server. */
  weft_tls_context_t *bare;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &bare));
  sctx = server_ctx(&weft_testcerts()->server);
  expect_client_failure(bare, sctx, "localhost", "certificate verify failed");
  weft_tls_context_release(bare);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(verify_fails_self_signed) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->self_signed);
  expect_client_failure(cctx, sctx, "localhost",
                        "certificate verify failed: self-signed certificate");
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(verify_fails_wrong_host) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->wrong_host);
  expect_client_failure(cctx, sctx, "localhost",
                        "certificate verify failed: hostname mismatch, certificate is not "
                        "valid for 'localhost'");
  weft_tls_context_release(sctx);
  /* The right certificate for another name than the one asked for. */
  sctx = server_ctx(&weft_testcerts()->server);
  expect_client_failure(cctx, sctx, "example.com", "not valid for 'example.com'");
  expect_client_failure(cctx, sctx, "127.0.0.2", "IP address mismatch");
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(verify_off_is_explicit) {
  weft_tls_context_t *cctx = client_ctx();
  ASSERT_EQ(weft_tls_context_get_verify(cctx), WEFT_TLS_VERIFY_REQUIRED);
  ASSERT_EQ(weft_tls_context_get_check_hostname(cctx), 1);
  /* A host name is required while it is checked. */
  weft__tls_engine_t *e = NULL;
  ASSERT_CODE(weft__tls_engine_new(cctx, NULL, 0, &e), WEFT_EINVAL);
  ASSERT_TRUE(e == NULL);
  /* Verification cannot be dropped while host names are checked. */
  ASSERT_CODE(weft_tls_context_set_verify(cctx, WEFT_TLS_VERIFY_NONE), WEFT_EINVAL);
  ASSERT_TRUE(strstr(weft_tls_context_error(cctx), "host-name checking") != NULL);

  /* Host-name checking off, chain still verified: the wrong-host certificate passes, the
   * self-signed one does not. */
  ASSERT_OK(weft_tls_context_set_check_hostname(cctx, 0));
  weft_tls_context_t *wrong = server_ctx(&weft_testcerts()->wrong_host);
  pair_t p;
  pair_start(&p, cctx, wrong, "localhost");
  pump(&p);
  assert_connected(&p);
  pair_free(&p);
  weft_tls_context_t *self = server_ctx(&weft_testcerts()->self_signed);
  expect_client_failure(cctx, self, "localhost", "self-signed certificate");

  /* Both off: anything goes, even with no host name. */
  ASSERT_OK(weft_tls_context_set_verify(cctx, WEFT_TLS_VERIFY_NONE));
  pair_start(&p, cctx, self, NULL);
  pump(&p);
  assert_connected(&p);
  ASSERT_STREQ(weft_tls_conn_peer_subject(p.c.e), "CN=localhost,O=weft");
  pair_free(&p);

  /* Turning host-name checking back on raises verification again. */
  ASSERT_OK(weft_tls_context_set_check_hostname(cctx, 1));
  ASSERT_EQ(weft_tls_context_get_verify(cctx), WEFT_TLS_VERIFY_REQUIRED);
  weft_tls_context_release(cctx);
  weft_tls_context_release(wrong);
  weft_tls_context_release(self);
}

static void expect_garbage_refused(weft__tls_engine_t *e, const uint8_t *junk, size_t len) {
  size_t used, n;
  uint8_t b[64];
  ASSERT_OK(weft__tls_feed(e, junk, len, &used));
  ASSERT_CODE(weft__tls_read(e, b, sizeof b, &n), WEFT_ETLS);
  ASSERT_TRUE(weft_tls_conn_error(e)[0] != '\0');
  ASSERT_EQ(weft__tls_state(e), WEFT__TLS_FAILED);
  /* Still refused, and without touching OpenSSL again. */
  ASSERT_CODE(weft__tls_read(e, b, sizeof b, &n), WEFT_ETLS);
  ASSERT_CODE(weft__tls_feed(e, junk, len, &used), WEFT_ETLS);
  ASSERT_CODE(weft__tls_write(e, "x", 1, &used), WEFT_ETLS);
}

WEFT_TEST(garbage_instead_of_handshake) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  weft__tls_engine_t *s;
  ASSERT_OK(weft__tls_engine_new(sctx, NULL, 0, &s));
  int calls = 0;
  side_t side = {0};
  side.e = s;
  weft__tls_set_handshake_cb(s, on_handshake, &side);
  (void)calls;
  expect_garbage_refused(s, (const uint8_t *)http, sizeof http - 1);
  ASSERT_EQ(side.hs_calls, 1);
  ASSERT_CODE(side.hs_status, WEFT_ETLS);
  ASSERT_TRUE(strstr(weft_tls_conn_error(s), "http request") != NULL);
  weft__tls_engine_free(s);

  /* Random bytes, in many lengths, at a server and at a client awaiting its ServerHello. */
  for (unsigned seed = 0; seed < 64; seed++) {
    size_t len = 1 + seed * 37;
    uint8_t *junk = pattern(len, seed);
    junk[0] = (uint8_t)(0x14 + seed % 6); /* sometimes a plausible record type */
    if (len > 2) {
      junk[1] = 3;
      junk[2] = (uint8_t)(seed % 5);
    }
    ASSERT_OK(weft__tls_engine_new(sctx, NULL, 0, &s));
    size_t used, n;
    uint8_t b[64];
    ASSERT_OK(weft__tls_feed(s, junk, len, &used));
    int rc = weft__tls_read(s, b, sizeof b, &n);
    /* Too short to judge is fine; anything judged must be a TLS error. */
    if (rc != WEFT_EAGAIN) {
      ASSERT_CODE(rc, WEFT_ETLS);
      ASSERT_TRUE(weft_tls_conn_error(s)[0] != '\0');
    }
    weft__tls_engine_free(s);

    weft__tls_engine_t *c;
    ASSERT_OK(weft__tls_engine_new(cctx, "localhost", 0, &c));
    ASSERT_CODE(weft__tls_handshake(c), WEFT_EAGAIN);
    ASSERT_OK(weft__tls_feed(c, junk, len, &used));
    rc = weft__tls_read(c, b, sizeof b, &n);
    if (rc != WEFT_EAGAIN)
      ASSERT_CODE(rc, WEFT_ETLS);
    weft__tls_engine_free(c);
    free(junk);
  }
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

static void shutdown_from(pair_t *p, side_t *a, side_t *b) {
  /* Data written just before the shutdown still arrives. */
  size_t used;
  ASSERT_OK(weft__tls_write(a->e, "last words", 10, &used));
  ASSERT_EQ(used, 10);
  ASSERT_CODE(weft__tls_shutdown(a->e), WEFT_EAGAIN);
  ASSERT_EQ(weft__tls_state(a->e), WEFT__TLS_SHUTTING_DOWN);
  ASSERT_CODE(weft__tls_write(a->e, "late", 4, &used), WEFT_ESHUTDOWN);
  ASSERT_CODE(weft__tls_shutdown(a->e), WEFT_EAGAIN);
  pump(p);
  ASSERT_EQ(b->len, 10);
  ASSERT_TRUE(memcmp(b->got, "last words", 10) == 0);
  ASSERT_EQ(b->eof, 1);
  ASSERT_EQ(weft__tls_peer_closed(b->e), 1);
  ASSERT_EQ(weft__tls_unclean_eof(b->e), 0);
  ASSERT_EQ(a->eof, 0);
  /* The other side may still answer before closing its half (TLS 1.3 half-close). */
  ASSERT_OK(weft__tls_write(b->e, "reply", 5, &used));
  ASSERT_OK(weft__tls_shutdown(b->e));
  ASSERT_EQ(weft__tls_state(b->e), WEFT__TLS_UNWRAPPED);
  pump(p);
  ASSERT_EQ(a->len, 5);
  ASSERT_EQ(a->eof, 1);
  ASSERT_EQ(weft__tls_state(a->e), WEFT__TLS_UNWRAPPED);
  ASSERT_OK(weft__tls_shutdown(a->e));
  ASSERT_EQ(weft__tls_unclean_eof(a->e), 0);
  ASSERT_CODE(weft__tls_write(b->e, "x", 1, &used), WEFT_ESHUTDOWN);
  size_t n;
  uint8_t buf[8];
  ASSERT_CODE(weft__tls_read(a->e, buf, sizeof buf, &n), WEFT_EEOF);
}

WEFT_TEST(close_notify_from_client) {
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  shutdown_from(&p, &p.c, &p.s);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(close_notify_from_server) {
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  shutdown_from(&p, &p.s, &p.c);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(close_notify_simultaneous) {
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  ASSERT_CODE(weft__tls_shutdown(p.c.e), WEFT_EAGAIN);
  ASSERT_CODE(weft__tls_shutdown(p.s.e), WEFT_EAGAIN);
  pump(&p);
  ASSERT_EQ(weft__tls_state(p.c.e), WEFT__TLS_UNWRAPPED);
  ASSERT_EQ(weft__tls_state(p.s.e), WEFT__TLS_UNWRAPPED);
  ASSERT_OK(weft__tls_shutdown(p.c.e));
  ASSERT_OK(weft__tls_shutdown(p.s.e));
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

/* After close_notify both ways, bytes that follow are the unwrapped stream's (STARTTLS). */
WEFT_TEST(unwrap_returns_following_plaintext) {
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  ASSERT_CODE(weft__tls_shutdown(p.c.e), WEFT_EAGAIN);
  size_t len = weft__tls_out_pending(p.c.e), used;
  uint8_t buf[256];
  ASSERT_TRUE(len + 5 <= sizeof buf);
  ASSERT_EQ(weft__tls_out_read(p.c.e, buf, len), len);
  memcpy(buf + len, "PLAIN", 5);
  ASSERT_OK(weft__tls_feed(p.s.e, buf, len + 5, &used));
  drain(&p.s);
  ASSERT_EQ(p.s.eof, 1);
  ASSERT_OK(weft__tls_shutdown(p.s.e));
  char rest[16];
  ASSERT_EQ(weft__tls_take_unwrapped(p.s.e, rest, sizeof rest), 5);
  ASSERT_TRUE(memcmp(rest, "PLAIN", 5) == 0);
  pump(&p);
  ASSERT_EQ(weft__tls_state(p.c.e), WEFT__TLS_UNWRAPPED);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(eof_without_close_notify) {
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  size_t used;
  ASSERT_OK(weft__tls_write(p.s.e, "tail", 4, &used));
  transfer(&p.s, &p.c, 0);
  weft__tls_feed_eof(p.c.e);
  drain(&p.c);
  ASSERT_EQ(p.c.len, 4);
  ASSERT_EQ(p.c.eof, 1);
  ASSERT_EQ(weft__tls_unclean_eof(p.c.e), 1);
  ASSERT_OK(weft__tls_shutdown(p.c.e));
  pair_free(&p);

  /* During the handshake, an end of stream is a reset. */
  pair_start(&p, cctx, sctx, "localhost");
  weft__tls_feed_eof(p.c.e);
  drain(&p.c);
  ASSERT_CODE(p.c.err, WEFT_ECONNRESET);
  ASSERT_EQ(p.c.hs_calls, 1);
  ASSERT_CODE(p.c.hs_status, WEFT_ECONNRESET);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(calls_before_handshake) {
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  size_t used = 1;
  ASSERT_CODE(weft__tls_write(p.c.e, "early", 5, &used), WEFT_EAGAIN);
  ASSERT_EQ(used, 0);
  ASSERT_CODE(weft__tls_shutdown(p.c.e), WEFT_EINVALIDSTATE);
  ASSERT_EQ(weft_tls_conn_handshake_done(p.c.e), 0);
  ASSERT_TRUE(weft_tls_conn_version(p.c.e) == NULL);
  ASSERT_TRUE(weft_tls_conn_cipher(p.c.e, NULL) == NULL);
  const uint8_t *der;
  size_t len;
  ASSERT_CODE(weft_tls_conn_peer_cert_der(p.c.e, &der, &len), WEFT_ENOENT);
  /* Freed mid-handshake: nothing leaks. */
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(peer_certificate_details) {
  const weft_testcerts_t *certs = weft_testcerts();
  pair_t p;
  weft_tls_context_t *cctx, *sctx;
  connect_standard(&p, &cctx, &sctx);
  ASSERT_STREQ(weft_tls_conn_peer_subject(p.c.e), "CN=localhost,O=weft");
  ASSERT_STREQ(weft_tls_conn_peer_issuer(p.c.e), "CN=weft test CA,O=weft");
  const uint8_t *der;
  size_t len;
  ASSERT_OK(weft_tls_conn_peer_cert_der(p.c.e, &der, &len));
  /* The DER is the server's certificate. */
  BIO *b = BIO_new_mem_buf(certs->server.cert_pem, (int)certs->server.cert_len);
  X509 *expected = PEM_read_bio_X509(b, NULL, NULL, NULL);
  ASSERT_TRUE(expected != NULL);
  unsigned char *exp_der = NULL;
  int exp_len = i2d_X509(expected, &exp_der);
  ASSERT_EQ(len, exp_len);
  ASSERT_TRUE(memcmp(der, exp_der, len) == 0);
  OPENSSL_free(exp_der);
  X509_free(expected);
  BIO_free(b);
  int32_t bits = 0;
  const char *cipher = weft_tls_conn_cipher(p.c.e, &bits);
  ASSERT_TRUE(cipher != NULL && strncmp(cipher, "TLS_", 4) == 0);
  ASSERT_TRUE(bits == 128 || bits == 256);
  ASSERT_STREQ(weft_tls_conn_cipher(p.s.e, NULL), cipher);
  /* The server asked for no client certificate. */
  ASSERT_CODE(weft_tls_conn_peer_cert_der(p.s.e, &der, &len), WEFT_ENOENT);
  ASSERT_TRUE(weft_tls_conn_peer_subject(p.s.e) == NULL);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(client_certificates) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  ASSERT_OK(weft_tls_context_set_verify(sctx, WEFT_TLS_VERIFY_REQUIRED));
  ASSERT_OK(weft_tls_context_load_verify_pem(sctx, certs->ca.cert_pem, certs->ca.cert_len));
  /* No client certificate: the server refuses. */
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  ASSERT_CODE(p.s.err, WEFT_ETLS);
  ASSERT_TRUE(strstr(weft_tls_conn_error(p.s.e), "certificate") != NULL);
  pair_free(&p);
  /* With one, the server sees who it is. */
  ASSERT_OK(weft_tls_context_load_cert_chain_pem(cctx, certs->client.cert_pem,
                                                 certs->client.cert_len, certs->client.key_pem,
                                                 certs->client.key_len, NULL));
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  write_all(&p, &p.c, (const uint8_t *)"hi", 2); /* TLS 1.3 checks it after the client is done */
  assert_connected(&p);
  ASSERT_STREQ(weft_tls_conn_peer_subject(p.s.e), "CN=weft client,O=weft");
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(contexts_from_files) {
  const weft_testcerts_t *certs = weft_testcerts();
  char dir[] = "/tmp/weft_tls_XXXXXX";
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  char crt[256], key[256], ca_crt[256], ca_key[256];
  ASSERT_OK(weft_testcert_write(&certs->server, dir, "server", crt, key, sizeof crt));
  ASSERT_OK(weft_testcert_write(&certs->ca, dir, "ca", ca_crt, ca_key, sizeof ca_crt));
  weft_tls_context_t *sctx, *cctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &sctx));
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &cctx));
  ASSERT_EQ(weft_tls_context_role(sctx), WEFT_TLS_SERVER);
  ASSERT_CODE(weft_tls_context_load_cert_chain(sctx, "/nonexistent/x.crt", NULL, NULL),
              WEFT_ENOENT);
  ASSERT_TRUE(strstr(weft_tls_context_error(sctx), "/nonexistent/x.crt") != NULL);
  /* A key that is not the certificate's. */
  ASSERT_CODE(weft_tls_context_load_cert_chain(sctx, crt, ca_key, NULL), WEFT_ETLS);
  ASSERT_TRUE(strstr(weft_tls_context_error(sctx), "does not match") != NULL);
  ASSERT_CODE(weft_tls_context_load_verify_pem(cctx, "junk", 4), WEFT_ETLS);
  ASSERT_CODE(weft_tls_context_load_verify_locations(cctx, "/nonexistent/ca.pem", NULL), WEFT_ETLS);
  ASSERT_CODE(weft_tls_context_set_ciphers(cctx, "NO-SUCH-CIPHER"), WEFT_ETLS);
  ASSERT_OK(weft_tls_context_load_cert_chain(sctx, crt, key, NULL));
  ASSERT_OK(weft_tls_context_load_verify_locations(cctx, ca_crt, NULL));
  ASSERT_OK(weft_tls_context_load_default_verify(cctx));
  pair_t p;
  pair_start(&p, cctx, sctx, "localhost");
  pump(&p);
  assert_connected(&p);
  pair_free(&p);
  /* A chain file (leaf then CA) with the key inside the same file. */
  char all[256];
  snprintf(all, sizeof all, "%s/all.pem", dir);
  FILE *f = fopen(all, "w");
  ASSERT_TRUE(f != NULL);
  fputs(certs->server.cert_pem, f);
  fputs(certs->ca.cert_pem, f);
  fputs(certs->server.key_pem, f);
  fclose(f);
  weft_tls_context_t *sctx2;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &sctx2));
  ASSERT_OK(weft_tls_context_load_cert_chain(sctx2, all, NULL, NULL));
  pair_start(&p, cctx, sctx2, "localhost");
  pump(&p);
  assert_connected(&p);
  pair_free(&p);
  unlink(crt);
  unlink(key);
  unlink(ca_crt);
  unlink(ca_key);
  unlink(all);
  rmdir(dir);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
  weft_tls_context_release(sctx2);
}

WEFT_TEST(encrypted_key_needs_password) {
  const weft_testcerts_t *certs = weft_testcerts();
  BIO *in = BIO_new_mem_buf(certs->server.key_pem, (int)certs->server.key_len);
  EVP_PKEY *pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
  ASSERT_TRUE(pkey != NULL);
  BIO *out = BIO_new(BIO_s_mem());
  ASSERT_TRUE(
      PEM_write_bio_PKCS8PrivateKey(out, pkey, EVP_aes_128_cbc(), "sesame", 6, NULL, NULL) == 1);
  char *enc;
  long enc_len = BIO_get_mem_data(out, &enc);
  weft_tls_context_t *sctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &sctx));
  ASSERT_CODE(weft_tls_context_load_cert_chain_pem(
                  sctx, certs->server.cert_pem, certs->server.cert_len, enc, (size_t)enc_len, NULL),
              WEFT_ETLS);
  ASSERT_CODE(weft_tls_context_load_cert_chain_pem(sctx, certs->server.cert_pem,
                                                   certs->server.cert_len, enc, (size_t)enc_len,
                                                   "wrong"),
              WEFT_ETLS);
  ASSERT_OK(weft_tls_context_load_cert_chain_pem(
      sctx, certs->server.cert_pem, certs->server.cert_len, enc, (size_t)enc_len, "sesame"));
  ASSERT_STREQ(weft_tls_context_error(sctx), "");
  EVP_PKEY_free(pkey);
  BIO_free(in);
  BIO_free(out);
  weft_tls_context_release(sctx);
}

/* Neither direction buffers more than the cap (plus one record of slack). */
WEFT_TEST(buffers_are_bounded) {
  enum { CAP = 8192, SLACK = 16384 + 256 };
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  pair_t p;
  pair_start_ex(&p, cctx, sctx, "localhost", CAP);
  pump(&p);
  assert_connected(&p);
  size_t total = 1u << 20;
  uint8_t *d = pattern(total, 3);
  size_t used;
  ASSERT_OK(weft__tls_write(p.c.e, d, total, &used));
  ASSERT_TRUE(used > 0 && used <= CAP);
  ASSERT_TRUE(weft__tls_out_pending(p.c.e) <= CAP + SLACK);
  size_t more;
  ASSERT_OK(weft__tls_write(p.c.e, d + used, total - used, &more));
  ASSERT_EQ(more, 0); /* full: the caller must send first */
  /* The receiver takes no more ciphertext than its cap while nobody reads it. */
  uint8_t *cipher = malloc(weft__tls_out_pending(p.c.e));
  size_t clen = weft__tls_out_read(p.c.e, cipher, weft__tls_out_pending(p.c.e));
  size_t fed;
  ASSERT_OK(weft__tls_feed(p.s.e, cipher, clen, &fed));
  ASSERT_TRUE(fed <= CAP);
  ASSERT_EQ(weft__tls_feed_space(p.s.e), CAP - fed);
  if (fed == CAP) {
    size_t none;
    ASSERT_OK(weft__tls_feed(p.s.e, cipher + fed, clen - fed, &none));
    ASSERT_EQ(none, 0);
  }
  drain(&p.s);
  ASSERT_EQ(weft__tls_feed_space(p.s.e), CAP);
  ASSERT_OK(weft__tls_feed(p.s.e, cipher + fed, clen - fed, &fed));
  drain(&p.s);
  free(cipher);
  write_all(&p, &p.c, d + used, total - used);
  ASSERT_EQ(p.s.len, total);
  ASSERT_TRUE(memcmp(p.s.got, d, total) == 0);
  free(d);
  pair_free(&p);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(context_refcount) {
  weft_tls_context_t *ctx = client_ctx();
  ASSERT_PTR_EQ(weft_tls_context_retain(ctx), ctx);
  weft_tls_context_release(ctx);
  /* An engine keeps its context alive after the caller lets go. */
  weft__tls_engine_t *e;
  ASSERT_OK(weft__tls_engine_new(ctx, "localhost", 0, &e));
  weft_tls_context_release(ctx);
  ASSERT_CODE(weft__tls_handshake(e), WEFT_EAGAIN);
  weft__tls_engine_free(e);
  weft_tls_context_release(NULL);
  weft__tls_engine_free(NULL);
  ASSERT_CODE(weft_tls_context_new(7, &ctx), WEFT_EINVAL);
}

/* ---- SSL objects made outside the engine (weft__tls_engine_adopt) ------------------------ */

/* What a binding's language does on its side: its own SSL_CTX, its own app data on each SSL,
 * its own callbacks reading that app data. */
typedef struct foreign {
  int released;     /* release(owner) calls */
  int sni_calls;    /* the servername callback ran ... */
  int sni_app_data; /* ... and found its own app data on the SSL */
  char sni_seen[64];
} foreign_t;

static void foreign_release(void *owner) {
  ((foreign_t *)owner)->released++;
}

static int foreign_sni(SSL *ssl, int *alert, void *arg) {
  (void)alert;
  foreign_t *f = arg;
  f->sni_calls++;
  f->sni_app_data = SSL_get_app_data(ssl) == (void *)f;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  snprintf(f->sni_seen, sizeof f->sni_seen, "%s", name ? name : "(none)");
  return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *foreign_server_ctx(const weft_testcert_t *cert, foreign_t *f) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_TRUE(ctx != NULL);
  BIO *b = BIO_new_mem_buf(cert->cert_pem, (int)cert->cert_len);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  b = BIO_new_mem_buf(cert->key_pem, (int)cert->key_len);
  EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  ASSERT_TRUE(x != NULL && k != NULL);
  ASSERT_EQ(SSL_CTX_use_certificate(ctx, x), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx, k), 1);
  X509_free(x);
  EVP_PKEY_free(k);
  SSL_CTX_set_tlsext_servername_callback(ctx, foreign_sni);
  SSL_CTX_set_tlsext_servername_arg(ctx, f);
  return ctx;
}

/* A client SSL_CTX trusting the test CA (or nothing, with trust 0). */
static SSL_CTX *foreign_client_ctx(int trust) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_TRUE(ctx != NULL);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  if (trust) {
    const weft_testcerts_t *certs = weft_testcerts();
    BIO *b = BIO_new_mem_buf(certs->ca.cert_pem, (int)certs->ca.cert_len);
    X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca), 1);
    X509_free(ca);
  }
  return ctx;
}

/* An SSL set up the way its owner would: side, app data, SNI and host-name check. */
static SSL *foreign_ssl(SSL_CTX *ctx, int server, foreign_t *f, const char *host) {
  SSL *ssl = SSL_new(ctx);
  ASSERT_TRUE(ssl != NULL);
  SSL_set_app_data(ssl, f);
  if (server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
    ASSERT_EQ(SSL_set_tlsext_host_name(ssl, host), 1);
    ASSERT_EQ(SSL_set1_host(ssl, host), 1);
  }
  /* The owner's BIOs, which the engine replaces. */
  SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  return ssl;
}

static void pair_adopt(pair_t *p, SSL *c, foreign_t *cf, SSL *s, foreign_t *sf) {
  memset(p, 0, sizeof *p);
  ASSERT_OK(weft__tls_engine_adopt(c, WEFT_TLS_CLIENT, 0, cf, foreign_release, &p->c.e));
  ASSERT_OK(weft__tls_engine_adopt(s, WEFT_TLS_SERVER, 0, sf, foreign_release, &p->s.e));
  weft__tls_set_handshake_cb(p->c.e, on_handshake, &p->c);
  weft__tls_set_handshake_cb(p->s.e, on_handshake, &p->s);
  ASSERT_CODE(weft__tls_handshake(p->c.e), WEFT_EAGAIN);
}

WEFT_TEST(adopted_ssl_both_sides) {
  foreign_t cf = {0}, sf = {0};
  SSL_CTX *cctx = foreign_client_ctx(1);
  SSL_CTX *sctx = foreign_server_ctx(&weft_testcerts()->server, &sf);
  SSL *c = foreign_ssl(cctx, 0, &cf, "localhost");
  SSL *s = foreign_ssl(sctx, 1, &sf, NULL);
  pair_t p;
  pair_adopt(&p, c, &cf, s, &sf);
  ASSERT_PTR_EQ(weft_tls_conn_ssl(p.c.e), c);
  ASSERT_PTR_EQ(weft_tls_conn_owner(p.s.e), &sf);
  pump(&p);
  assert_connected(&p);
  /* The owner's callback ran inside the engine's handshake, and its app data was intact. */
  ASSERT_EQ(sf.sni_calls, 1);
  ASSERT_EQ(sf.sni_app_data, 1);
  ASSERT_STREQ(sf.sni_seen, "localhost");
  ASSERT_STREQ(weft_tls_conn_server_name(p.c.e), "localhost");
  ASSERT_STREQ(weft_tls_conn_server_name(p.s.e), "localhost");
  ASSERT_STREQ(weft_tls_conn_peer_subject(p.c.e), "CN=localhost,O=weft");
  ASSERT_EQ(weft_tls_conn_verify_result(p.c.e, NULL), X509_V_OK);
  write_all(&p, &p.c, (const uint8_t *)"ping", 4);
  write_all(&p, &p.s, (const uint8_t *)"pong!", 5);
  ASSERT_EQ(p.s.len, 4);
  ASSERT_EQ(p.c.len, 5);
  ASSERT_TRUE(memcmp(p.c.got, "pong!", 5) == 0);
  /* A clean close_notify exchange, as for the engine's own SSLs. */
  ASSERT_CODE(weft__tls_shutdown(p.c.e), WEFT_EAGAIN);
  pump(&p);
  ASSERT_EQ(p.s.eof, 1);
  ASSERT_OK(weft__tls_shutdown(p.s.e));
  pump(&p);
  ASSERT_EQ(weft__tls_state(p.c.e), WEFT__TLS_UNWRAPPED);
  ASSERT_EQ(cf.released + sf.released, 0);
  pair_free(&p);
  ASSERT_EQ(cf.released, 1);
  ASSERT_EQ(sf.released, 1);
  /* The owners' SSLs live on, with their app data and the finished session. */
  ASSERT_PTR_EQ(SSL_get_app_data(c), &cf);
  ASSERT_EQ(SSL_is_init_finished(c), 1);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

/* An adopted client and a server made by weft from its own context talk to each other. */
WEFT_TEST(adopted_client_weft_server) {
  foreign_t cf = {0};
  SSL_CTX *cctx = foreign_client_ctx(1);
  SSL *c = foreign_ssl(cctx, 0, &cf, "localhost");
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  pair_t p;
  memset(&p, 0, sizeof p);
  ASSERT_OK(weft__tls_engine_adopt(c, WEFT_TLS_CLIENT, 0, &cf, foreign_release, &p.c.e));
  ASSERT_OK(weft__tls_engine_new(sctx, NULL, 0, &p.s.e));
  weft__tls_set_handshake_cb(p.c.e, on_handshake, &p.c);
  weft__tls_set_handshake_cb(p.s.e, on_handshake, &p.s);
  ASSERT_CODE(weft__tls_handshake(p.c.e), WEFT_EAGAIN);
  pump(&p);
  assert_connected(&p);
  ASSERT_TRUE(weft_tls_conn_owner(p.s.e) == NULL);
  pair_free(&p);
  ASSERT_EQ(cf.released, 1);
  SSL_free(c);
  SSL_CTX_free(cctx);
  weft_tls_context_release(sctx);
}

WEFT_TEST(adopted_ssl_verify_failures) {
  foreign_t cf = {0}, sf = {0};
  SSL_CTX *bare = foreign_client_ctx(0);
  SSL_CTX *sctx = foreign_server_ctx(&weft_testcerts()->server, &sf);
  pair_t p;
  SSL *c = foreign_ssl(bare, 0, &cf, "localhost");
  SSL *s = foreign_ssl(sctx, 1, &sf, NULL);
  pair_adopt(&p, c, &cf, s, &sf);
  pump(&p);
  ASSERT_CODE(p.c.hs_status, WEFT_ETLS);
  ASSERT_TRUE(strstr(weft_tls_conn_error(p.c.e), "certificate verify failed") != NULL);
  const char *why = NULL;
  ASSERT_EQ(weft_tls_conn_verify_result(p.c.e, &why), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  ASSERT_TRUE(why != NULL && strstr(weft_tls_conn_error(p.c.e), why) != NULL);
  pair_free(&p);
  SSL_free(c);
  SSL_free(s);

  /* The host name the owner set is the one the mismatch message names. */
  SSL_CTX *cctx = foreign_client_ctx(1);
  c = foreign_ssl(cctx, 0, &cf, "example.com");
  s = foreign_ssl(sctx, 1, &sf, NULL);
  pair_adopt(&p, c, &cf, s, &sf);
  pump(&p);
  ASSERT_CODE(p.c.hs_status, WEFT_ETLS);
  ASSERT_TRUE(strstr(weft_tls_conn_error(p.c.e), "not valid for 'example.com'") != NULL);
  ASSERT_EQ(weft_tls_conn_verify_result(p.c.e, NULL), X509_V_ERR_HOSTNAME_MISMATCH);
  pair_free(&p);
  ASSERT_EQ(cf.released, 2);
  ASSERT_EQ(sf.released, 2);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  SSL_CTX_free(bare);
  SSL_CTX_free(sctx);
}

WEFT_TEST(adopt_refuses_unusable_ssl) {
  foreign_t f = {0};
  SSL_CTX *cctx = foreign_client_ctx(1);
  SSL *c = foreign_ssl(cctx, 0, &f, "localhost");
  weft__tls_engine_t *e = (weft__tls_engine_t *)1;
  /* The wrong side: refused, and the owner is released all the same. */
  ASSERT_CODE(weft__tls_engine_adopt(c, WEFT_TLS_SERVER, 0, &f, foreign_release, &e), WEFT_EINVAL);
  ASSERT_TRUE(e == NULL);
  ASSERT_EQ(f.released, 1);
  ASSERT_CODE(weft__tls_engine_adopt(NULL, WEFT_TLS_CLIENT, 0, &f, foreign_release, &e),
              WEFT_EINVAL);
  ASSERT_EQ(f.released, 2);
  ASSERT_CODE(weft__tls_engine_adopt(c, 5, 0, NULL, NULL, &e), WEFT_EINVAL);
  /* An SSL another engine already drives. */
  ASSERT_OK(weft__tls_engine_adopt(c, WEFT_TLS_CLIENT, 0, &f, foreign_release, &e));
  weft__tls_engine_t *e2;
  ASSERT_CODE(weft__tls_engine_adopt(c, WEFT_TLS_CLIENT, 0, NULL, NULL, &e2), WEFT_EINVAL);
  /* A handshake under way. */
  ASSERT_CODE(weft__tls_handshake(e), WEFT_EAGAIN);
  weft__tls_engine_free(e);
  ASSERT_EQ(f.released, 3);
  ASSERT_CODE(weft__tls_engine_adopt(c, WEFT_TLS_CLIENT, 0, &f, foreign_release, &e2), WEFT_EINVAL);
  ASSERT_EQ(f.released, 4);
  SSL_free(c);
  SSL_CTX_free(cctx);
  ASSERT_EQ(weft_tls_openssl_version(), OpenSSL_version_num());
}
