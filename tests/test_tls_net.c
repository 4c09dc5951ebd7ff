/* TLS over transports on loopback: create_connection/create_server with a TLS context,
 * streams, start_tls, verification failures, timeouts, flow control and shutdown. The
 * certificates are made at test time (tls_testcerts.c). */
#include "net_util.h"

#include "tls_testcerts.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- contexts ------------------------------------------------------------------------- */

static weft_tls_context_t *server_ctx(const weft_testcert_t *cert) {
  weft_tls_context_t *ctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &ctx));
  ASSERT_OK(weft_tls_context_load_cert_chain_pem(ctx, cert->cert_pem, cert->cert_len, cert->key_pem,
                                                 cert->key_len, NULL));
  return ctx;
}

/* A client context that trusts the test CA (verification on, as by default). */
static weft_tls_context_t *client_ctx(void) {
  weft_tls_context_t *ctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &ctx));
  const weft_testcerts_t *c = weft_testcerts();
  ASSERT_OK(weft_tls_context_load_verify_pem(ctx, c->ca.cert_pem, c->ca.cert_len));
  return ctx;
}

/* ---- what the loop's exception handler heard ------------------------------------------ */

typedef struct reports_s {
  int count;
  int error;
  char message[128];
  char reason[256];
} reports_t;

static void on_report(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  reports_t *r = arg;
  r->count++;
  r->error = ctx->error;
  snprintf(r->message, sizeof(r->message), "%s", ctx->message);
  snprintf(r->reason, sizeof(r->reason), "%s", ctx->error_message ? ctx->error_message : "");
}

/* ---- a server protocol: echoes, records ----------------------------------------------- */

typedef struct srv_s {
  int factory_calls, made, eofs, lost, lost_error;
  int echo;          /* echo what arrives */
  int pause_at_made; /* pause reading as soon as the connection is made */
  size_t received;
  weft_transport_t *t; /* retained while connected */
  char alpn[32], sni[64], version[32];
  char peer[128]; /* the client certificate's subject, if it sent one */
  size_t peer_der_len;
} srv_t;

static void srv_made(weft_transport_t *t, void *arg) {
  srv_t *s = arg;
  s->made++;
  s->t = weft_transport_retain(t);
  size_t len = sizeof(s->alpn);
  weft_transport_get_extra_info(t, WEFT_INFO_TLS_ALPN, s->alpn, &len);
  len = sizeof(s->sni);
  weft_transport_get_extra_info(t, WEFT_INFO_TLS_SERVER_NAME, s->sni, &len);
  len = sizeof(s->version);
  weft_transport_get_extra_info(t, WEFT_INFO_TLS_VERSION, s->version, &len);
  weft_tls_conn_t *conn = NULL;
  len = sizeof(conn);
  if (weft_transport_get_extra_info(t, WEFT_INFO_TLS_CONN, &conn, &len) == 0 &&
      weft_tls_conn_peer_subject(conn))
    snprintf(s->peer, sizeof(s->peer), "%s", weft_tls_conn_peer_subject(conn));
  uint8_t der[4096];
  len = sizeof(der);
  if (weft_transport_get_extra_info(t, WEFT_INFO_TLS_PEERCERT, der, &len) == 0)
    s->peer_der_len = len;
  if (s->pause_at_made)
    ASSERT_OK(weft_transport_pause_reading(t));
}
static void srv_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  srv_t *s = arg;
  s->received += len;
  if (s->echo)
    weft_transport_write(t, data, len);
}
static int srv_eof(weft_transport_t *t, void *arg) {
  ((srv_t *)arg)->eofs++;
  return 0;
}
static void srv_lost(weft_transport_t *t, int error, void *arg) {
  srv_t *s = arg;
  s->lost++;
  s->lost_error = error;
  weft_transport_release(s->t);
  s->t = NULL;
}

static int srv_factory(void *farg, weft_protocol_t *p, void **arg) {
  srv_t *s = farg;
  s->factory_calls++;
  p->connection_made = srv_made;
  p->data_received = srv_data;
  p->eof_received = srv_eof;
  p->connection_lost = srv_lost;
  *arg = s;
  return 0;
}

static weft_server_t *start_tls_server(weft_loop_t *loop, weft_tls_context_t *ctx, srv_t *s,
                                       double handshake_timeout) {
  weft_tls_options_t tls = {
      .size = sizeof(tls), .context = ctx, .handshake_timeout = handshake_timeout};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, srv_factory, s, NULL, "127.0.0.1", 0, &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  return server;
}

static void stop_server(weft_loop_t *loop, weft_server_t *s) {
  ASSERT_OK(weft_server_close(s));
  weft_future_t *w;
  ASSERT_OK(weft_server_wait_closed(s, &w));
  ASSERT_OK(weft_loop_run_until_complete(loop, w));
  weft_future_release(w);
  weft_server_release(s);
}

/* ---- a client protocol: records ------------------------------------------------------- */

typedef struct cli_s {
  int made, eofs, lost, lost_error;
  char buf[4096];
  size_t len;
} cli_t;

static void cli_made(weft_transport_t *t, void *arg) {
  ((cli_t *)arg)->made++;
}
static void cli_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  cli_t *c = arg;
  if (c->len + len <= sizeof(c->buf))
    memcpy(c->buf + c->len, data, len);
  c->len += len;
}
static int cli_eof(weft_transport_t *t, void *arg) {
  ((cli_t *)arg)->eofs++;
  return 1; /* asks to stay open: over TLS that changes nothing */
}
static void cli_lost(weft_transport_t *t, int error, void *arg) {
  cli_t *c = arg;
  c->lost++;
  c->lost_error = error;
}

static const weft_protocol_t cli_proto = {
    .size = sizeof(weft_protocol_t),
    .connection_made = cli_made,
    .data_received = cli_data,
    .eof_received = cli_eof,
    .connection_lost = cli_lost,
};

/* The same for plain TCP clients: EOF closes. */
static const weft_protocol_t plain_proto = {
    .size = sizeof(weft_protocol_t),
    .connection_made = cli_made,
    .data_received = cli_data,
    .connection_lost = cli_lost,
};

/* Connects over TLS; returns the future (done) after running it. */
static weft_future_t *tls_connect(weft_loop_t *loop, cli_t *c, int port, weft_tls_context_t *ctx,
                                  const char *server_hostname, double handshake_timeout) {
  weft_tls_options_t tls = {.size = sizeof(tls),
                            .context = ctx,
                            .server_hostname = server_hostname,
                            .handshake_timeout = handshake_timeout};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &cli_proto, c, "127.0.0.1", port, &co, &f));
  weft_loop_run_until_complete(loop, f);
  return f;
}

static weft_transport_t *future_transport(weft_future_t *f) {
  const weft_value_t *v = NULL;
  ASSERT_OK(weft_future_result(f, &v));
  return weft_transport_retain(v->ptr);
}

static int wait_len(weft_loop_t *loop, cli_t *c, size_t n) {
  double deadline = weft_loop_time(loop) + 10;
  while (c->len < n && !c->lost && weft_loop_time(loop) < deadline)
    run_until_flag(loop, &c->lost, 0.05);
  return c->len >= n;
}

/* ---- echo ----------------------------------------------------------------------------- */

WEFT_TEST(echo_client_server) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  int port = weft_server_port(server);

  cli_t c = {0};
  weft_future_t *f = tls_connect(loop, &c, port, cctx, NULL, 0); /* name: "127.0.0.1" */
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  ASSERT_EQ(c.made, 1);
  ASSERT_EQ(weft_transport_can_write_eof(t), 0);
  ASSERT_CODE(weft_transport_write_eof(t), WEFT_ENOTSUP);

  ASSERT_OK(weft_transport_write(t, "hello ", 6));
  const void *bufs[2] = {"over ", "tls"};
  size_t lens[2] = {5, 3};
  ASSERT_OK(weft_transport_writelines(t, bufs, lens, 2));
  ASSERT_TRUE(wait_len(loop, &c, 14));
  ASSERT_TRUE(memcmp(c.buf, "hello over tls", 14) == 0);
  ASSERT_EQ(s.factory_calls, 1);
  ASSERT_EQ(s.made, 1);

  /* Extra info: TLS keys, the byte transport, and its keys passed through. */
  char text[64];
  size_t len = sizeof(text);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_VERSION, text, &len));
  ASSERT_STREQ(text, "TLSv1.3");
  ASSERT_EQ(len, strlen("TLSv1.3") + 1);
  ASSERT_STREQ(s.version, "TLSv1.3");
  len = sizeof(text);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CIPHER, text, &len));
  ASSERT_TRUE(strncmp(text, "TLS_", 4) == 0);
  int32_t bits = 0;
  len = sizeof(bits);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CIPHER_BITS, &bits, &len));
  ASSERT_TRUE(bits >= 128);
  len = 2;
  ASSERT_CODE(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CIPHER, text, &len), WEFT_ENOBUFS);
  ASSERT_TRUE(len > 2);
  len = sizeof(text);
  ASSERT_CODE(weft_transport_get_extra_info(t, WEFT_INFO_TLS_ALPN, text, &len), WEFT_ENOENT);
  len = sizeof(text);
  ASSERT_CODE(weft_transport_get_extra_info(t, WEFT_INFO_TLS_SERVER_NAME, text, &len),
              WEFT_ENOENT); /* no SNI for an IP address */

  /* The peer certificate is the server's, in DER. */
  uint8_t der[4096];
  len = sizeof(der);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_PEERCERT, der, &len));
  BIO *b = BIO_new_mem_buf(certs->server.cert_pem, (int)certs->server.cert_len);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  unsigned char *expect = NULL;
  int elen = i2d_X509(x, &expect);
  ASSERT_EQ(len, elen);
  ASSERT_TRUE(memcmp(der, expect, len) == 0);
  OPENSSL_free(expect);
  X509_free(x);
  BIO_free(b);

  weft_tls_conn_t *conn = NULL;
  len = sizeof(conn);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CONN, &conn, &len));
  ASSERT_STREQ(weft_tls_conn_peer_subject(conn), "CN=localhost,O=weft");
  weft_tls_context_t *got_ctx = NULL;
  len = sizeof(got_ctx);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CONTEXT, &got_ctx, &len));
  ASSERT_PTR_EQ(got_ctx, cctx);

  weft_transport_t *raw = NULL;
  len = sizeof(raw);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TRANSPORT, &raw, &len));
  ASSERT_TRUE(raw != NULL && raw != t);
  int kind = 0;
  len = sizeof(kind);
  ASSERT_OK(weft_transport_get_extra_info(raw, WEFT_INFO_KIND, &kind, &len));
  ASSERT_EQ(kind, WEFT_TRANSPORT_TCP);
  len = sizeof(kind);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_KIND, &kind, &len));
  ASSERT_EQ(kind, WEFT_TRANSPORT_LAYERED);
  struct sockaddr_storage ss;
  len = sizeof(ss);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_PEERNAME, &ss, &len));
  ASSERT_EQ(addr_port((struct sockaddr *)&ss), port);
  len = sizeof(text);
  ASSERT_CODE(weft_transport_get_extra_info(t, 199, text, &len), WEFT_ENOENT);

  /* Clean close: close_notify both ways; the server hears EOF, both lose the connection
   * without an error. As asyncio's SSL transport, the client too hears eof_received when
   * the server's close_notify completes the exchange, before connection_lost. */
  ASSERT_OK(weft_transport_close(t));
  ASSERT_TRUE(weft_transport_is_closing(t));
  ASSERT_CODE(weft_transport_write(t, "x", 1), WEFT_ECLOSED);
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  ASSERT_EQ(c.lost, 1);
  ASSERT_EQ(c.lost_error, 0);
  ASSERT_EQ(s.eofs, 1);
  ASSERT_EQ(s.lost, 1);
  ASSERT_EQ(s.lost_error, 0);
  ASSERT_EQ(c.eofs, 1);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* The server closes first: the client hears eof_received (its "keep open" is ignored)
 * and both ends lose the connection cleanly. */
WEFT_TEST(server_closes_first) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t c = {0};
  weft_future_t *f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  run_until_flag(loop, &s.made, 5);
  ASSERT_OK(weft_transport_write(s.t, "bye", 3));
  ASSERT_OK(weft_transport_close(s.t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  ASSERT_EQ(c.len, 3);
  ASSERT_EQ(c.eofs, 1);
  ASSERT_EQ(c.lost_error, 0);
  ASSERT_EQ(s.lost_error, 0);
  ASSERT_EQ(s.eofs, 1);
  ASSERT_TRUE(weft_transport_is_closing(t));
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

WEFT_TEST(abort_drops_at_once) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {0};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t c = {0};
  weft_future_t *f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  run_until_flag(loop, &s.made, 5);
  static char big[256 * 1024];
  ASSERT_OK(weft_transport_write(t, big, sizeof(big)));
  ASSERT_OK(weft_transport_abort(t));
  ASSERT_TRUE(weft_transport_is_closing(t));
  ASSERT_OK(weft_transport_abort(t)); /* twice is harmless */
  ASSERT_EQ(weft_transport_get_write_buffer_size(t), 0);
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost, 1);
  ASSERT_EQ(c.lost_error, 0);
  run_until_flag(loop, &s.lost, 5);
  ASSERT_EQ(s.lost, 1);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* The peer never answers our close_notify (its application paused reading, so its layer
 * does not read): after shutdown_timeout the connection is lost with WEFT_ETIMEDOUT. */
WEFT_TEST(shutdown_timeout) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.pause_at_made = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t c = {0};
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx, .shutdown_timeout = 0.2};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(
      weft_create_connection(loop, &cli_proto, &c, "127.0.0.1", weft_server_port(server), &co, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  run_until_flag(loop, &s.made, 5);
  double start = weft_loop_time(loop);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(c.lost, 1);
  ASSERT_CODE(c.lost_error, WEFT_ETIMEDOUT);
  ASSERT_TRUE(weft_loop_time(loop) - start >= 0.15);
  ASSERT_OK(weft_transport_close(s.t));
  run_until_flag(loop, &s.lost, 5);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- ALPN and SNI --------------------------------------------------------------------- */

WEFT_TEST(alpn_and_sni_in_extra_info) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  const char *server_protos[] = {"h2", "http/1.1"};
  ASSERT_OK(weft_tls_context_set_alpn_protocols(sctx, server_protos, 2));
  weft_tls_context_t *cctx = client_ctx();
  const char *client_protos[] = {"spdy/1", "http/1.1"};
  ASSERT_OK(weft_tls_context_set_alpn_protocols(cctx, client_protos, 2));
  srv_t s = {0};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t c = {0};
  weft_future_t *f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  run_until_flag(loop, &s.made, 5);
  char text[64];
  size_t len = sizeof(text);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_ALPN, text, &len));
  ASSERT_STREQ(text, "http/1.1");
  len = sizeof(text);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_SERVER_NAME, text, &len));
  ASSERT_STREQ(text, "localhost");
  ASSERT_STREQ(s.alpn, "http/1.1");
  ASSERT_STREQ(s.sni, "localhost");
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- verification --------------------------------------------------------------------- */

static void expect_verify_failure(const weft_testcert_t *server_cert, const char *hostname,
                                  const char *needle) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports_t rep = {0};
  weft_loop_set_exception_handler(loop, on_report, &rep, NULL);
  weft_tls_context_t *sctx = server_ctx(server_cert);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {0};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t c = {0};
  weft_future_t *f = tls_connect(loop, &c, weft_server_port(server), cctx, hostname, 0);
  ASSERT_CODE(weft_future_error(f), WEFT_ETLS);
  const char *msg = weft_future_error_message(f);
  ASSERT_TRUE(msg != NULL);
  if (!strstr(msg, needle))
    WEFT_FAIL_AT("message \"%s\" does not mention \"%s\"", msg, needle);
  weft_future_release(f);
  ASSERT_EQ(c.made, 0); /* no protocol callback for a failed connect */
  ASSERT_EQ(c.lost, 0);
  /* The server heard the client's alert: reported, closed, no protocol made. */
  run_until_flag(loop, &rep.count, 5);
  ASSERT_EQ(rep.count, 1);
  ASSERT_STREQ(rep.message, "SSL handshake failed");
  ASSERT_CODE(rep.error, WEFT_ETLS);
  ASSERT_TRUE(rep.reason[0] != '\0');
  ASSERT_EQ(s.factory_calls, 0);
  for (int i = 0; i < 100 && weft_server_connection_count(server) > 0; i++)
    spin(loop, 1);
  ASSERT_EQ(weft_server_connection_count(server), 0);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

WEFT_TEST(verify_unknown_ca_fails) {
  expect_verify_failure(&weft_testcerts()->untrusted, "localhost", "certificate verify failed");
}

WEFT_TEST(verify_wrong_host_fails) {
  expect_verify_failure(&weft_testcerts()->wrong_host, "localhost",
                        "certificate is not valid for 'localhost'");
}

/* The server's certificate is fine but the name asked for is not on it. */
WEFT_TEST(verify_hostname_mismatch_fails) {
  expect_verify_failure(&weft_testcerts()->server, "other.example",
                        "certificate is not valid for 'other.example'");
}

WEFT_TEST(verification_off_succeeds) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->untrusted);
  weft_tls_context_t *cctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &cctx)); /* trusts nothing */
  ASSERT_OK(weft_tls_context_set_check_hostname(cctx, 0));
  ASSERT_OK(weft_tls_context_set_verify(cctx, WEFT_TLS_VERIFY_NONE));
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t c = {0};
  weft_future_t *f = tls_connect(loop, &c, weft_server_port(server), cctx, "nobody.example", 0);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  ASSERT_OK(weft_transport_write(t, "ping", 4));
  ASSERT_TRUE(wait_len(loop, &c, 4));
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  ASSERT_EQ(c.lost_error, 0);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* A client context checks host names: with no host name to check there is no connection
 * (asyncio's ValueError), decided before any I/O. */
WEFT_TEST(host_name_required) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *cctx = client_ctx();
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  const struct sockaddr *addrs[1] = {(struct sockaddr *)&a};
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  cli_t c = {0};
  weft_future_t *f = NULL;
  ASSERT_CODE(weft_create_connection_addrs(loop, &cli_proto, &c, addrs, 1, &co, &f), WEFT_EINVAL);
  ASSERT_TRUE(strstr(weft_tls_context_error(cctx), "host name") != NULL);
  /* A server context on the client side is refused too. */
  weft_tls_context_t *sctx = server_ctx(&weft_testcerts()->server);
  tls.context = sctx;
  tls.server_hostname = "localhost";
  ASSERT_CODE(weft_create_connection(loop, &cli_proto, &c, "127.0.0.1", 9, &co, &f), WEFT_EINVAL);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  weft_test_close_loop(loop);
}

/* ---- misbehaving peers ---------------------------------------------------------------- */

/* A plain TCP client sends an HTTP request to the TLS server: the server reports the failed
 * handshake, closes the connection, never makes a protocol, and goes on serving. */
WEFT_TEST(garbage_to_tls_server) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports_t rep = {0};
  weft_loop_set_exception_handler(loop, on_report, &rep, NULL);
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  int port = weft_server_port(server);

  cli_t plain = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &plain_proto, &plain, "127.0.0.1", port, NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  const char junk[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
  ASSERT_OK(weft_transport_write(t, junk, sizeof(junk) - 1));
  run_until_flag(loop, &plain.lost, 5);
  ASSERT_EQ(plain.lost, 1); /* the server closed it */
  run_until_flag(loop, &rep.count, 5);
  ASSERT_EQ(rep.count, 1);
  ASSERT_STREQ(rep.message, "SSL handshake failed");
  ASSERT_CODE(rep.error, WEFT_ETLS);
  ASSERT_EQ(s.factory_calls, 0);
  weft_transport_release(t);

  /* Still serving. */
  cli_t c = {0};
  f = tls_connect(loop, &c, port, cctx, "localhost", 0);
  t = future_transport(f);
  weft_future_release(f);
  ASSERT_OK(weft_transport_write(t, "ok", 2));
  ASSERT_TRUE(wait_len(loop, &c, 2));
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* A plain server that accepts and never speaks. */
static int silent_factory(void *farg, weft_protocol_t *p, void **arg) {
  *arg = NULL;
  return 0;
}

static weft_server_t *start_silent_server(weft_loop_t *loop) {
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, silent_factory, NULL, NULL, "127.0.0.1", 0, NULL, &f));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  return s;
}

/* asyncio: ConnectionAbortedError("SSL handshake is taking longer than N seconds: aborting
 * the connection"), so WEFT_ECONNABORTED with that message. */
WEFT_TEST(handshake_timeout_client) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_server_t *server = start_silent_server(loop);
  weft_tls_context_t *cctx = client_ctx();
  cli_t c = {0};
  double start = weft_loop_time(loop);
  weft_future_t *f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0.2);
  double took = weft_loop_time(loop) - start;
  ASSERT_CODE(weft_future_error(f), WEFT_ECONNABORTED);
  ASSERT_STREQ(weft_future_error_message(f),
               "SSL handshake is taking longer than 0.2 seconds: aborting the connection");
  ASSERT_TRUE(took >= 0.15);
  weft_future_release(f);
  ASSERT_EQ(c.made, 0);
  weft_server_close_clients(server);
  stop_server(loop, server);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* On the server: a client that connects and says nothing is reported and dropped. */
WEFT_TEST(handshake_timeout_server) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports_t rep = {0};
  weft_loop_set_exception_handler(loop, on_report, &rep, NULL);
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  srv_t s = {0};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0.2);
  cli_t plain = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &plain_proto, &plain, "127.0.0.1",
                                   weft_server_port(server), NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  run_until_flag(loop, &plain.lost, 5);
  ASSERT_EQ(plain.lost, 1);
  ASSERT_EQ(rep.count, 1);
  ASSERT_CODE(rep.error, WEFT_ECONNABORTED);
  ASSERT_TRUE(strstr(rep.reason, "taking longer than 0.2 seconds") != NULL);
  ASSERT_EQ(s.factory_calls, 0);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* Cancelling the connect during the handshake: cancelled, no callback, nothing leaks. */
WEFT_TEST(cancel_during_handshake) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_server_t *server = start_silent_server(loop);
  weft_tls_context_t *cctx = client_ctx();
  cli_t c = {0};
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(
      weft_create_connection(loop, &cli_proto, &c, "localhost", weft_server_port(server), &co, &f));
  for (int i = 0; i < 200 && weft_server_connection_count(server) == 0; i++)
    run_until_flag(loop, &c.made, 0.01);
  ASSERT_EQ(weft_server_connection_count(server), 1);
  ASSERT_EQ(weft_future_cancel(f, NULL), 1);
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ECANCELLED);
  weft_future_release(f);
  for (int i = 0; i < 200 && weft_server_connection_count(server) > 0; i++)
    run_until_flag(loop, &c.made, 0.01);
  ASSERT_EQ(weft_server_connection_count(server), 0);
  ASSERT_EQ(c.made, 0);
  ASSERT_EQ(c.lost, 0);
  stop_server(loop, server);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- large transfers and flow control -------------------------------------------------- */

#define BULK_TOTAL (4u * 1024u * 1024u)
#define BULK_CHUNK (64u * 1024u)

static uint8_t pattern(size_t i) {
  return (uint8_t)(i * 131u + (i >> 13));
}

typedef struct bulk_s {
  weft_loop_t *loop;
  weft_transport_t *t;
  size_t to_send, sent, received;
  int bad, paused, pauses, resumes, made, lost, lost_error, done;
  size_t max_buffer;
  int read_pauses;        /* times this side paused reading */
  size_t next_read_pause; /* received offset of the next pause */
  weft_handle_t *resume_h;
} bulk_t;

static void bulk_pump(bulk_t *b) {
  static uint8_t chunk[BULK_CHUNK];
  while (!b->paused && b->sent < b->to_send && b->t && !weft_transport_is_closing(b->t)) {
    size_t n = b->to_send - b->sent < BULK_CHUNK ? b->to_send - b->sent : BULK_CHUNK;
    for (size_t i = 0; i < n; i++)
      chunk[i] = pattern(b->sent + i);
    ASSERT_OK(weft_transport_write(b->t, chunk, n));
    b->sent += n;
    size_t sz = weft_transport_get_write_buffer_size(b->t);
    if (sz > b->max_buffer)
      b->max_buffer = sz;
  }
}

static void bulk_resume_reading(void *arg) {
  bulk_t *b = arg;
  weft_handle_release(b->resume_h);
  b->resume_h = NULL;
  if (b->t)
    weft_transport_resume_reading(b->t);
}

static void bulk_made(weft_transport_t *t, void *arg) {
  bulk_t *b = arg;
  b->made = 1;
  b->t = weft_transport_retain(t);
  b->next_read_pause = 256 * 1024;
  /* Small socket buffers, so the kernel cannot swallow the whole transfer. */
  int fd = -1;
  size_t len = sizeof(fd);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_FD, &fd, &len));
  int sz = 32 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  bulk_pump(b);
}

static void bulk_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  bulk_t *b = arg;
  ASSERT_TRUE(b->resume_h == NULL); /* nothing arrives while reading is paused */
  for (size_t i = 0; i < len; i++)
    if ((uint8_t)data[i] != pattern(b->received + i))
      b->bad = 1;
  b->received += len;
  if (b->received >= b->next_read_pause && b->received < BULK_TOTAL) {
    /* A slow reader: stop for a while every 256 KiB. */
    b->next_read_pause += 256 * 1024;
    b->read_pauses++;
    ASSERT_OK(weft_transport_pause_reading(t));
    ASSERT_TRUE(!weft_transport_is_reading(t));
    weft_transport_t *raw = NULL;
    size_t rlen = sizeof(raw);
    ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TRANSPORT, &raw, &rlen));
    ASSERT_TRUE(!weft_transport_is_reading(raw)); /* the network is not read meanwhile */
    weft_call_later(b->loop, 0.03, bulk_resume_reading, b, &b->resume_h);
  }
  if (b->received >= BULK_TOTAL && b->sent >= b->to_send)
    b->done = 1;
}

static void bulk_pause(weft_transport_t *t, void *arg) {
  bulk_t *b = arg;
  ASSERT_TRUE(!b->paused);
  b->paused = 1;
  b->pauses++;
}

static void bulk_resume(weft_transport_t *t, void *arg) {
  bulk_t *b = arg;
  ASSERT_TRUE(b->paused);
  b->paused = 0;
  b->resumes++;
  bulk_pump(b);
  if (b->received >= BULK_TOTAL && b->sent >= b->to_send)
    b->done = 1;
}

static void bulk_lost(weft_transport_t *t, int error, void *arg) {
  bulk_t *b = arg;
  b->lost = 1;
  b->lost_error = error;
  if (b->resume_h) {
    weft_handle_cancel(b->resume_h);
    weft_handle_release(b->resume_h);
    b->resume_h = NULL;
  }
  weft_transport_release(b->t);
  b->t = NULL;
}

static const weft_protocol_t bulk_proto = {
    .size = sizeof(weft_protocol_t),
    .connection_made = bulk_made,
    .data_received = bulk_data,
    .connection_lost = bulk_lost,
    .pause_writing = bulk_pause,
    .resume_writing = bulk_resume,
};

static int bulk_factory(void *farg, weft_protocol_t *p, void **arg) {
  *p = bulk_proto;
  *arg = farg;
  return 0;
}

WEFT_TEST(large_transfer_both_ways_with_slow_readers) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  bulk_t sb = {.loop = loop, .to_send = BULK_TOTAL};
  bulk_t cb = {.loop = loop, .to_send = BULK_TOTAL};
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &stls;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, bulk_factory, &sb, NULL, "127.0.0.1", 0, &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  weft_tls_options_t ctls = {.size = sizeof(ctls), .context = cctx};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &ctls;
  ASSERT_OK(weft_create_connection(loop, &bulk_proto, &cb, "127.0.0.1", weft_server_port(server),
                                   &co, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  double deadline = weft_loop_time(loop) + 300;
  while (!(sb.done && cb.done) && !sb.lost && !cb.lost && weft_loop_time(loop) < deadline)
    run_until_flag(loop, &cb.lost, 0.1);
  ASSERT_TRUE(sb.done && cb.done);
  ASSERT_EQ(sb.received, BULK_TOTAL);
  ASSERT_EQ(cb.received, BULK_TOTAL);
  ASSERT_EQ(sb.bad, 0);
  ASSERT_EQ(cb.bad, 0);
  /* Both writers were paused by their slow readers and resumed... */
  ASSERT_TRUE(cb.pauses > 0 && sb.pauses > 0);
  ASSERT_EQ(cb.pauses, cb.resumes);
  ASSERT_EQ(sb.pauses, sb.resumes);
  ASSERT_TRUE(cb.read_pauses > 0 && sb.read_pauses > 0);
  /* ...and what they had buffered stayed within the high-water mark plus one write and
   * its records' overhead. */
  size_t bound = WEFT_WRITE_BUFFER_HIGH_DEFAULT + BULK_CHUNK + 4096;
  if (cb.max_buffer > bound || sb.max_buffer > bound)
    WEFT_FAIL_AT("write buffers grew to %zu / %zu (bound %zu)", cb.max_buffer, sb.max_buffer,
                 bound);
  ASSERT_OK(weft_transport_close(cb.t));
  run_until_flag(loop, &cb.lost, 10);
  run_until_flag(loop, &sb.lost, 10);
  ASSERT_EQ(cb.lost_error, 0);
  ASSERT_EQ(sb.lost_error, 0);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* The watermarks of a TLS transport are its byte transport's. */
WEFT_TEST(write_buffer_limits_follow) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.pause_at_made = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  bulk_t cb = {.loop = loop};
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &bulk_proto, &cb, "127.0.0.1", weft_server_port(server),
                                   &co, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  weft_transport_t *raw = NULL;
  size_t len = sizeof(raw);
  ASSERT_OK(weft_transport_get_extra_info(cb.t, WEFT_INFO_TRANSPORT, &raw, &len));
  ASSERT_OK(weft_transport_set_write_buffer_limits(cb.t, 1000, 100));
  size_t lo = 0, hi = 0;
  ASSERT_OK(weft_transport_get_write_buffer_limits(raw, &lo, &hi));
  ASSERT_EQ(hi, 1000);
  ASSERT_EQ(lo, 100);
  /* With the peer not reading, writing until paused keeps the buffer near the mark. */
  cb.to_send = BULK_TOTAL;
  bulk_pump(&cb);
  for (int i = 0; i < 200 && !cb.paused; i++) {
    run_until_flag(loop, &cb.paused, 0.02);
    bulk_pump(&cb);
  }
  ASSERT_TRUE(cb.paused);
  ASSERT_TRUE(weft_transport_get_write_buffer_size(cb.t) > 1000);
  ASSERT_TRUE(weft_transport_get_write_buffer_size(cb.t) <= BULK_CHUNK + 4096 + 1000);
  weft_transport_abort(cb.t);
  run_until_flag(loop, &cb.lost, 5);
  ASSERT_EQ(cb.lost, 1);
  weft_transport_abort(s.t); /* it paused reading, so it cannot notice on its own */
  run_until_flag(loop, &s.lost, 5);
  ASSERT_EQ(s.lost, 1);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- streams -------------------------------------------------------------------------- */

static int stream_echo_client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  int *served = arg;
  for (;;) {
    weft_value_t v;
    int rc = weft_stream_readline_await(r, &v);
    if (rc)
      return rc;
    if (v.len == 0) {
      weft_value_clear(&v);
      break;
    }
    weft_stream_write(w, v.ptr, v.len);
    weft_value_clear(&v);
    if ((rc = weft_stream_drain_await(w)))
      return rc;
  }
  (*served)++;
  weft_stream_close(w);
  return weft_stream_wait_closed_await(w);
}

typedef struct stream_cx_s {
  weft_loop_t *loop;
  int port;
  weft_tls_context_t *ctx;
  const char *path;
  int ok;
} stream_cx_t;

static int stream_client_main(weft_task_t *self, void *arg) {
  stream_cx_t *cx = arg;
  weft_tls_options_t tls = {
      .size = sizeof(tls), .context = cx->ctx, .server_hostname = "localhost"};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  weft_stream_options_t so = {.size = sizeof(so), .connect = &co};
  weft_stream_reader_t *r;
  weft_stream_writer_t *w;
  int rc = cx->path
               ? weft_open_unix_connection_await(cx->loop, cx->path, strlen(cx->path), &so, &r, &w)
               : weft_open_connection_await(cx->loop, "127.0.0.1", cx->port, &so, &r, &w);
  if (rc)
    return rc;
  ASSERT_EQ(weft_stream_can_write_eof(w), 0);
  int good = 0;
  for (int i = 0; i < 20; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "line %d\n", i);
    weft_stream_write(w, msg, (size_t)n);
    if ((rc = weft_stream_drain_await(w)))
      break;
    weft_value_t v;
    if ((rc = weft_stream_readline_await(r, &v)))
      break;
    good += v.len == (size_t)n && memcmp(v.ptr, msg, (size_t)n) == 0;
    weft_value_clear(&v);
  }
  char version[16];
  size_t len = sizeof(version);
  if (rc == 0)
    rc = weft_stream_get_extra_info(w, WEFT_INFO_TLS_VERSION, version, &len);
  weft_stream_close(w);
  int rc2 = weft_stream_wait_closed_await(w);
  weft_stream_reader_release(r);
  weft_stream_writer_release(w);
  cx->ok = rc == 0 && rc2 == 0 && good == 20 && strcmp(version, "TLSv1.3") == 0;
  return rc ? rc : rc2;
}

WEFT_TEST(streams_over_tls) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  int served = 0;
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t sopts;
  weft_server_options_init(&sopts);
  sopts.tls = &stls;
  weft_stream_options_t so = {.size = sizeof(so), .server = &sopts, .client_in_task = 1};
  weft_future_t *sf;
  ASSERT_OK(weft_start_server(loop, stream_echo_client, &served, NULL, "127.0.0.1", 0, &so, &sf));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, sf, &rc));
  ASSERT_OK(rc);
  weft_future_release(sf);
  stream_cx_t cx = {.loop = loop, .port = weft_server_port(s), .ctx = cctx};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, stream_client_main, &cx, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  ASSERT_TRUE(cx.ok);
  for (int i = 0; i < 100 && served == 0; i++)
    spin(loop, 1);
  ASSERT_EQ(served, 1);
  stop_server(loop, s);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* Many clients at once, each in its own task. */
WEFT_TEST(many_tls_clients) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  int served = 0;
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t sopts;
  weft_server_options_init(&sopts);
  sopts.tls = &stls;
  weft_stream_options_t so = {.size = sizeof(so), .server = &sopts, .client_in_task = 1};
  weft_future_t *sf;
  ASSERT_OK(weft_start_server(loop, stream_echo_client, &served, NULL, "127.0.0.1", 0, &so, &sf));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, sf, &rc));
  ASSERT_OK(rc);
  weft_future_release(sf);
  enum { N = 16 };
  stream_cx_t cx[N];
  weft_future_t *fs[N];
  for (int i = 0; i < N; i++) {
    cx[i] = (stream_cx_t){.loop = loop, .port = weft_server_port(s), .ctx = cctx};
    weft_task_t *t;
    ASSERT_OK(weft_task_spawn(loop, stream_client_main, &cx[i], NULL, &t));
    fs[i] = weft_task_future(t);
  }
  weft_future_t *g;
  ASSERT_OK(weft_gather(loop, fs, N, 0, &g));
  ASSERT_OK(weft_loop_run_until_complete(loop, g));
  weft_future_release(g);
  for (int i = 0; i < N; i++) {
    weft_future_release(fs[i]);
    ASSERT_TRUE(cx[i].ok);
  }
  for (int i = 0; i < 100 && served < N; i++)
    spin(loop, 1);
  ASSERT_EQ(served, N);
  stop_server(loop, s);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

WEFT_TEST(streams_over_tls_unix) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  char path[64];
  snprintf(path, sizeof(path), "/tmp/weft-tlsnet-%d.sock", (int)getpid());
  int served = 0;
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t sopts;
  weft_server_options_init(&sopts);
  sopts.tls = &stls;
  weft_stream_options_t so = {.size = sizeof(so), .server = &sopts, .client_in_task = 1};
  weft_future_t *sf;
  ASSERT_OK(weft_start_unix_server(loop, stream_echo_client, &served, NULL, path, strlen(path), &so,
                                   &sf));
  int rc;
  weft_server_t *s = await_server(loop, sf, &rc);
  ASSERT_OK(rc);
  stream_cx_t cx = {.loop = loop, .ctx = cctx, .path = path};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, stream_client_main, &cx, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  ASSERT_TRUE(cx.ok);
  for (int i = 0; i < 100 && served == 0; i++)
    spin(loop, 1);
  ASSERT_EQ(served, 1);
  stop_server(loop, s);
  ASSERT_TRUE(access(path, F_OK) != 0);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* create_connection(sock=..., ssl=...): a socket connected by hand. */
WEFT_TEST(connect_fd_tls) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(weft_server_port(server)),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_OK(connect(fd, (struct sockaddr *)&a, sizeof(a)));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx, .server_hostname = "localhost"};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  cli_t c = {0};
  weft_future_t *f;
  co.local_port = 1; /* the socket is connected already: nothing to bind */
  ASSERT_CODE(weft_create_connection_fd(loop, &cli_proto, &c, fd, &co, &f), WEFT_EINVAL);
  co.local_port = 0;
  ASSERT_OK(weft_create_connection_fd(loop, &cli_proto, &c, fd, &co, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  ASSERT_OK(weft_transport_write(t, "fd!", 3));
  ASSERT_TRUE(wait_len(loop, &c, 3));
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  ASSERT_EQ(c.lost_error, 0);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- TLS on both ends of a Unix socketpair ---------------------------------------------- */

/* The server's end comes from weft_connect_accepted_fd with srv_factory's protocol, the
 * client's from weft_create_connection_fd (or its Unix form): both handshakes are done when
 * tls_pair_open returns. */
typedef struct tls_pair_s {
  weft_loop_t *loop;
  weft_tls_context_t *sctx, *cctx;
  srv_t s;
  cli_t c;
  weft_future_t *sf, *cf; /* each result holds a reference to its transport */
} tls_pair_t;

static void tls_pair_open(tls_pair_t *p, int echo, int unix_client) {
  memset(p, 0, sizeof(*p));
  p->s.echo = echo;
  ASSERT_OK(weft_loop_new(&p->loop));
  p->sctx = server_ctx(&weft_testcerts()->server);
  p->cctx = client_ctx();
  int fds[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds));
  weft_protocol_t sp = {.size = sizeof(sp)};
  void *sarg;
  ASSERT_OK(srv_factory(&p->s, &sp, &sarg));
  weft_tls_options_t st = {.size = sizeof(st), .context = p->sctx};
  weft_tls_options_t ct = {.size = sizeof(ct), .context = p->cctx, .server_hostname = "localhost"};
  weft_connect_options_t so, co;
  weft_connect_options_init(&so);
  so.tls = &st;
  weft_connect_options_init(&co);
  co.tls = &ct;
  ASSERT_OK(weft_connect_accepted_fd(p->loop, &sp, sarg, fds[0], &so, &p->sf));
  if (unix_client)
    ASSERT_OK(weft_create_unix_connection_fd(p->loop, &cli_proto, &p->c, fds[1], &co, &p->cf));
  else
    ASSERT_OK(weft_create_connection_fd(p->loop, &cli_proto, &p->c, fds[1], &co, &p->cf));
  ASSERT_OK(weft_loop_run_until_complete(p->loop, p->cf));
  ASSERT_OK(weft_loop_run_until_complete(p->loop, p->sf));
}

/* Releases what tls_pair_open made that the test has not released (a NULL future is gone). */
static void tls_pair_close(tls_pair_t *p) {
  if (p->sf)
    weft_future_release(p->sf);
  if (p->cf)
    weft_future_release(p->cf);
  weft_tls_context_release(p->sctx);
  weft_tls_context_release(p->cctx);
  weft_test_close_loop(p->loop);
}

/* connect_accepted_socket(sock, ssl=...) and create_unix_connection(sock=..., ssl=...): both
 * ends of a socket pair, the server side by weft_connect_accepted_fd with the caller's
 * protocol, the client side by weft_create_unix_connection_fd. */
WEFT_TEST(accepted_fd_tls_socketpair) {
  tls_pair_t p;
  tls_pair_open(&p, 1, 1);
  weft_loop_t *loop = p.loop;
  weft_transport_t *st = future_transport(p.sf);
  weft_transport_t *ct = future_transport(p.cf);
  ASSERT_EQ(p.s.made, 1);
  ASSERT_EQ(p.c.made, 1);
  weft_transport_t *raw = NULL;
  size_t rl = sizeof(raw);
  ASSERT_OK(weft_transport_get_extra_info(st, WEFT_INFO_TRANSPORT, &raw, &rl));
  int kind = 0;
  size_t kl = sizeof(kind);
  ASSERT_OK(weft_transport_get_extra_info(raw, WEFT_INFO_KIND, &kind, &kl));
  ASSERT_EQ(kind, WEFT_TRANSPORT_UNIX); /* over a Unix socket, chosen by its family */
  ASSERT_EQ(strcmp(p.s.sni, "localhost"), 0);
  ASSERT_OK(weft_transport_write(ct, "pair", 4));
  ASSERT_TRUE(wait_len(loop, &p.c, 4));
  ASSERT_TRUE(memcmp(p.c.buf, "pair", 4) == 0);
  ASSERT_OK(weft_transport_close(ct));
  run_until_flag(loop, &p.c.lost, 5);
  run_until_flag(loop, &p.s.lost, 5);
  ASSERT_EQ(p.c.lost_error, 0);
  weft_transport_release(st);
  weft_transport_release(ct);
  spin(loop, 3);
  tls_pair_close(&p);
}

/* A loop that closes while a TLS connection's loss is on its way (the byte transport's
 * turn, then the application's) still delivers it, and frees everything. */
static void abort_and_stop(void *arg) {
  weft_transport_t *t = arg;
  ASSERT_OK(weft_transport_abort(t));
  ASSERT_OK(weft_loop_stop(weft_transport_loop(t)));
}

WEFT_TEST(connection_lost_when_the_loop_closes_first) {
  tls_pair_t p;
  tls_pair_open(&p, 0, 1);
  weft_transport_t *st = future_transport(p.sf);
  weft_transport_t *ct = future_transport(p.cf);
  ASSERT_OK(weft_call_soon(p.loop, abort_and_stop, ct, NULL));
  ASSERT_OK(weft_loop_run_forever(p.loop));
  ASSERT_EQ(p.c.lost, 0); /* it comes in the next iterations, which never run */
  weft_transport_release(st);
  weft_transport_release(ct);
  tls_pair_close(&p);
  ASSERT_EQ(p.c.lost, 1);
  ASSERT_EQ(p.s.lost, 1);
}

/* create_unix_server(ssl=...) and create_unix_connection(ssl=...) with protocols: TLS is the
 * same option of both transports. */
WEFT_TEST(unix_protocols_over_tls) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  char path[64];
  snprintf(path, sizeof(path), "/tmp/weft-tlsnet-p-%d.sock", (int)getpid());
  srv_t s = {.echo = 1};
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t sopts;
  weft_server_options_init(&sopts);
  sopts.tls = &stls;
  weft_future_t *f;
  ASSERT_OK(weft_create_unix_server(loop, srv_factory, &s, NULL, path, strlen(path), &sopts, &f));
  int rc;
  weft_server_t *server = await_server(loop, f, &rc);
  ASSERT_OK(rc);
  weft_tls_options_t ctls = {.size = sizeof(ctls), .context = cctx, .server_hostname = "localhost"};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &ctls;
  cli_t c = {0};
  co.local_host = "127.0.0.1"; /* a Unix client is not bound */
  ASSERT_CODE(weft_create_unix_connection(loop, &cli_proto, &c, path, strlen(path), &co, &f),
              WEFT_EINVAL);
  co.local_host = NULL;
  ASSERT_OK(weft_create_unix_connection(loop, &cli_proto, &c, path, strlen(path), &co, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  weft_tls_conn_t *conn = NULL;
  size_t len = sizeof(conn);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CONN, &conn, &len));
  ASSERT_OK(weft_transport_write(t, "unix tls", 8));
  ASSERT_TRUE(wait_len(loop, &c, 8));
  ASSERT_EQ(s.factory_calls, 1);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- SSL objects made outside weft (weft_tls_options_t.ssl_fn) --------------------------- */

/* Stands for a binding that makes each connection's SSL from its own SSL_CTX. */
typedef struct ssl_source_s {
  SSL_CTX *ctx;
  const char *host; /* clients: SNI and the host-name check */
  int calls, released;
  int refuse;
} ssl_source_t;

typedef struct ssl_owner_s {
  ssl_source_t *src;
  SSL *ssl; /* the owner's own reference */
} ssl_owner_t;

static void ssl_owner_release(void *p) {
  ssl_owner_t *o = p;
  o->src->released++;
  SSL_free(o->ssl);
  free(o);
}

static int make_ssl(void *arg, int32_t server_side, weft_tls_ssl_t *out) {
  ssl_source_t *src = arg;
  src->calls++;
  if (src->refuse)
    return WEFT_ECONNREFUSED;
  ASSERT_EQ(out->size, sizeof(*out));
  ssl_owner_t *o = malloc(sizeof(*o));
  ASSERT_TRUE(o != NULL);
  o->src = src;
  o->ssl = SSL_new(src->ctx);
  ASSERT_TRUE(o->ssl != NULL);
  if (server_side) {
    SSL_set_accept_state(o->ssl);
  } else {
    SSL_set_connect_state(o->ssl);
    ASSERT_EQ(SSL_set_tlsext_host_name(o->ssl, src->host), 1);
    ASSERT_EQ(SSL_set1_host(o->ssl, src->host), 1);
  }
  out->ssl = o->ssl;
  out->owner = o;
  out->release = ssl_owner_release;
  return 0;
}

static SSL_CTX *raw_ctx(int server) {
  const weft_testcerts_t *certs = weft_testcerts();
  SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  ASSERT_TRUE(ctx != NULL);
  const weft_testcert_t *pem = server ? &certs->server : &certs->ca;
  BIO *b = BIO_new_mem_buf(pem->cert_pem, (int)pem->cert_len);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  ASSERT_TRUE(x != NULL);
  if (server) {
    b = BIO_new_mem_buf(pem->key_pem, (int)pem->key_len);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    ASSERT_EQ(SSL_CTX_use_certificate(ctx, x), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx, k), 1);
    EVP_PKEY_free(k);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x), 1);
  }
  X509_free(x);
  return ctx;
}

WEFT_TEST(ssl_fn_client_and_server) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  ssl_source_t ssrc = {.ctx = raw_ctx(1)}, csrc = {.ctx = raw_ctx(0), .host = "localhost"};
  weft_tls_options_t stls = {.size = sizeof(stls), .ssl_fn = make_ssl, .ssl_arg = &ssrc};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &stls;
  srv_t s = {.echo = 1};
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, srv_factory, &s, NULL, "127.0.0.1", 0, &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  int port = weft_server_port(server);

  /* A context and an ssl_fn together, or neither, are refused. */
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_options_t ctls = {
      .size = sizeof(ctls), .context = cctx, .ssl_fn = make_ssl, .ssl_arg = &csrc};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &ctls;
  cli_t c = {0};
  ASSERT_CODE(weft_create_connection(loop, &cli_proto, &c, "127.0.0.1", port, &co, &f),
              WEFT_EINVAL);
  ctls.context = NULL;
  ctls.ssl_fn = NULL;
  ASSERT_CODE(weft_create_connection(loop, &cli_proto, &c, "127.0.0.1", port, &co, &f),
              WEFT_EINVAL);
  ASSERT_EQ(csrc.calls, 0);

  ctls.ssl_fn = make_ssl;
  ASSERT_OK(weft_create_connection(loop, &cli_proto, &c, "127.0.0.1", port, &co, &f));
  ASSERT_EQ(csrc.calls, 1);
  weft_loop_run_until_complete(loop, f);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  ASSERT_OK(weft_transport_write(t, "adopted", 7));
  ASSERT_TRUE(wait_len(loop, &c, 7));
  ASSERT_TRUE(memcmp(c.buf, "adopted", 7) == 0);
  ASSERT_EQ(ssrc.calls, 1);
  ASSERT_STREQ(s.sni, "localhost");
  weft_tls_conn_t *conn = NULL;
  size_t len = sizeof(conn);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CONN, &conn, &len));
  ssl_owner_t *owner = weft_tls_conn_owner(conn);
  ASSERT_PTR_EQ(owner->src, &csrc);
  ASSERT_PTR_EQ(weft_tls_conn_ssl(conn), owner->ssl);
  weft_tls_context_t *got = NULL;
  len = sizeof(got);
  ASSERT_CODE(weft_transport_get_extra_info(t, WEFT_INFO_TLS_CONTEXT, &got, &len), WEFT_ENOENT);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  ASSERT_EQ(c.lost_error, 0);
  ASSERT_EQ(s.lost_error, 0);
  weft_transport_release(t);
  spin(loop, 3);
  ASSERT_EQ(csrc.released, 1);
  ASSERT_EQ(ssrc.released, 1);

  /* The server's ssl_fn refuses: no protocol, the client's connect fails. */
  ssrc.refuse = 1;
  cli_t c2 = {0};
  ASSERT_OK(weft_create_connection(loop, &cli_proto, &c2, "127.0.0.1", port, &co, &f));
  weft_loop_run_until_complete(loop, f);
  ASSERT_TRUE(weft_future_error(f) != 0);
  weft_future_release(f);
  spin(loop, 3);
  ASSERT_EQ(ssrc.calls, 2);
  ASSERT_EQ(s.factory_calls, 1);
  ASSERT_EQ(c2.made, 0);
  ASSERT_EQ(csrc.released, 2);
  ASSERT_EQ(ssrc.released, 1);

  stop_server(loop, server);
  weft_tls_context_release(cctx);
  SSL_CTX_free(ssrc.ctx);
  SSL_CTX_free(csrc.ctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- start_tls ------------------------------------------------------------------------ */

typedef struct starttls_cx_s {
  weft_loop_t *loop;
  int port;
  weft_tls_context_t *ctx;
  int outer_tls; /* the conversation itself runs over TLS already (TLS in TLS) */
  int ok;
} starttls_cx_t;

/* The server side of a STARTTLS conversation: plaintext greeting, upgrade on request,
 * then an encrypted echo of one line. */
static int starttls_server_client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  weft_tls_context_t *sctx = arg;
  weft_stream_write(w, "220 hello\n", 10);
  weft_value_t v;
  int rc = weft_stream_readline_await(r, &v);
  if (rc)
    return rc;
  int is_starttls = v.len == 9 && memcmp(v.ptr, "STARTTLS\n", 9) == 0;
  weft_value_clear(&v);
  if (!is_starttls)
    return WEFT_EPROTO;
  weft_stream_write(w, "220 go ahead\n", 13);
  weft_tls_options_t tls = {.size = sizeof(tls), .context = sctx};
  if ((rc = weft_stream_start_tls_await(w, &tls)))
    return rc;
  if ((rc = weft_stream_readline_await(r, &v)))
    return rc;
  weft_stream_write(w, "secret: ", 8);
  weft_stream_write(w, v.ptr, v.len);
  weft_value_clear(&v);
  weft_stream_close(w);
  return weft_stream_wait_closed_await(w);
}

static int starttls_client_main(weft_task_t *self, void *arg) {
  starttls_cx_t *cx = arg;
  weft_stream_reader_t *r;
  weft_stream_writer_t *w;
  weft_tls_options_t outer = {
      .size = sizeof(outer), .context = cx->ctx, .server_hostname = "localhost"};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &outer;
  weft_stream_options_t so = {.size = sizeof(so), .connect = &co};
  int rc = weft_open_connection_await(cx->loop, "127.0.0.1", cx->port, cx->outer_tls ? &so : NULL,
                                      &r, &w);
  if (rc)
    return rc;
  weft_value_t v;
  int step = 0;
  char version[16] = "";
  if ((rc = weft_stream_readline_await(r, &v)) == 0) {
    step += v.len == 10;
    weft_value_clear(&v);
    weft_stream_write(w, "STARTTLS\n", 9);
    rc = weft_stream_readline_await(r, &v);
  }
  if (rc == 0) {
    step += v.len == 13 && memcmp(v.ptr, "220 go ahead\n", 13) == 0;
    weft_value_clear(&v);
    ASSERT_EQ(weft_stream_can_write_eof(w), !cx->outer_tls); /* still plain TCP? */
    weft_tls_options_t tls = {
        .size = sizeof(tls), .context = cx->ctx, .server_hostname = "localhost"};
    rc = weft_stream_start_tls_await(w, &tls);
  }
  if (rc == 0) {
    ASSERT_EQ(weft_stream_can_write_eof(w), 0); /* TLS now */
    size_t len = sizeof(version);
    weft_stream_get_extra_info(w, WEFT_INFO_TLS_VERSION, version, &len);
    weft_stream_write(w, "swordfish\n", 10);
    rc = weft_stream_read_await(r, -1, &v); /* to the server's close_notify */
  }
  if (rc == 0) {
    step += v.len == 18 && memcmp(v.ptr, "secret: swordfish\n", 18) == 0;
    weft_value_clear(&v);
  }
  weft_stream_close(w);
  int rc2 = weft_stream_wait_closed_await(w);
  weft_stream_reader_release(r);
  weft_stream_writer_release(w);
  cx->ok = rc == 0 && rc2 == 0 && step == 3 && strcmp(version, "TLSv1.3") == 0;
  return rc ? rc : rc2;
}

static void starttls_run(int outer_tls) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t sopts;
  weft_server_options_init(&sopts);
  sopts.tls = &stls;
  weft_stream_options_t so = {
      .size = sizeof(so), .client_in_task = 1, .server = outer_tls ? &sopts : NULL};
  weft_future_t *sf;
  ASSERT_OK(weft_start_server(loop, starttls_server_client, sctx, NULL, "127.0.0.1", 0, &so, &sf));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, sf, &rc));
  ASSERT_OK(rc);
  weft_future_release(sf);
  starttls_cx_t cx = {
      .loop = loop, .port = weft_server_port(s), .ctx = cctx, .outer_tls = outer_tls};
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, starttls_client_main, &cx, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  ASSERT_TRUE(cx.ok);
  for (int i = 0; i < 100 && weft_server_connection_count(s) > 0; i++)
    spin(loop, 1);
  stop_server(loop, s);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

WEFT_TEST(starttls_upgrade_mid_conversation) {
  starttls_run(0);
}

/* The same over a connection that is TLS already: TLS inside TLS, as through a proxy. */
WEFT_TEST(starttls_inside_tls) {
  starttls_run(1);
}

/* start_tls at the protocol level, against a plain server that answers the ClientHello
 * with junk: the future fails with WEFT_ETLS, and the protocol (which had connection_made
 * from the plain transport) gets connection_lost with the error through the old transport. */
static void junk_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  weft_transport_write(t, "nope, no TLS here\n", 18);
}
static int junk_factory(void *farg, weft_protocol_t *p, void **arg) {
  p->data_received = junk_data;
  *arg = NULL;
  return 0;
}

typedef struct up_s {
  weft_transport_t *plain;
  int made, lost, lost_error;
  weft_transport_t *lost_on;
} up_t;

static void up_made(weft_transport_t *t, void *arg) {
  ((up_t *)arg)->made++;
}
static void up_lost(weft_transport_t *t, int error, void *arg) {
  up_t *u = arg;
  u->lost++;
  u->lost_error = error;
  u->lost_on = t;
}

WEFT_TEST(start_tls_failure_reaches_protocol) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, junk_factory, NULL, NULL, "127.0.0.1", 0, NULL, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  weft_future_release(f);
  weft_tls_context_t *cctx = client_ctx();
  up_t u = {0};
  weft_protocol_t p = {.size = sizeof(p), .connection_made = up_made, .connection_lost = up_lost};
  ASSERT_OK(weft_create_connection(loop, &p, &u, "127.0.0.1", weft_server_port(server), NULL, &f));
  u.plain = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(u.made, 1);
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx, .server_hostname = "localhost"};
  ASSERT_CODE(weft_start_tls(u.plain, &p, &u, &tls, 1, &f), WEFT_EINVAL); /* wrong side */
  ASSERT_OK(weft_start_tls(u.plain, &p, &u, &tls, 0, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ETLS);
  ASSERT_TRUE(weft_future_error_message(f) != NULL);
  weft_future_release(f);
  run_until_flag(loop, &u.lost, 5);
  ASSERT_EQ(u.made, 1);
  ASSERT_EQ(u.lost, 1);
  ASSERT_CODE(u.lost_error, WEFT_ETLS);
  ASSERT_PTR_EQ(u.lost_on, u.plain);
  weft_transport_release(u.plain);
  weft_server_close_clients(server);
  stop_server(loop, server);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- servers: refusal, closing during handshakes, buffered protocols ------------------ */

static int refusing_factory(void *farg, weft_protocol_t *p, void **arg) {
  (*(int *)farg)++;
  return WEFT_ECONNREFUSED;
}

/* The factory runs after the handshake; when it refuses, the TLS session is closed
 * politely (the client sees EOF) and nothing is reported. */
WEFT_TEST(server_factory_refuses) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports_t rep = {0};
  weft_loop_set_exception_handler(loop, on_report, &rep, NULL);
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  int calls = 0;
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &stls;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, refusing_factory, &calls, NULL, "127.0.0.1", 0, &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  cli_t c = {0};
  f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(c.eofs, 1);
  ASSERT_EQ(c.lost, 1);
  ASSERT_EQ(c.lost_error, 0);
  ASSERT_EQ(rep.count, 0);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* Closing a server's clients while one is mid-handshake is not a failure to report. */
WEFT_TEST(abort_clients_during_handshake_is_quiet) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports_t rep = {0};
  weft_loop_set_exception_handler(loop, on_report, &rep, NULL);
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  srv_t s = {0};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t plain = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &plain_proto, &plain, "127.0.0.1",
                                   weft_server_port(server), NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  for (int i = 0; i < 200 && weft_server_connection_count(server) == 0; i++)
    run_until_flag(loop, &plain.lost, 0.01);
  ASSERT_EQ(weft_server_connection_count(server), 1);
  ASSERT_OK(weft_server_abort_clients(server));
  run_until_flag(loop, &plain.lost, 5);
  ASSERT_EQ(plain.lost, 1);
  ASSERT_EQ(rep.count, 0);
  ASSERT_EQ(s.factory_calls, 0);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

typedef struct buffered_s {
  char area[7]; /* small on purpose: data arrives in several pieces */
  char got[64];
  size_t len;
  int lost;
} buffered_t;

static void *buf_get(weft_transport_t *t, size_t hint, size_t *len, void *arg) {
  buffered_t *b = arg;
  *len = sizeof(b->area);
  return b->area;
}
static void buf_updated(weft_transport_t *t, size_t n, void *arg) {
  buffered_t *b = arg;
  if (b->len + n <= sizeof(b->got))
    memcpy(b->got + b->len, b->area, n);
  b->len += n;
}
static void buf_lost(weft_transport_t *t, int error, void *arg) {
  ((buffered_t *)arg)->lost = 1;
}

/* asyncio's BufferedProtocol over TLS: the plaintext goes through get_buffer. */
WEFT_TEST(buffered_protocol_over_tls) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  buffered_t b = {0};
  weft_protocol_t p = {.size = sizeof(p),
                       .get_buffer = buf_get,
                       .buffer_updated = buf_updated,
                       .connection_lost = buf_lost};
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx, .server_hostname = "localhost"};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &p, &b, "127.0.0.1", weft_server_port(server), &co, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  const char *msg = "a message longer than the buffer";
  ASSERT_OK(weft_transport_write(t, msg, strlen(msg)));
  for (int i = 0; i < 500 && b.len < strlen(msg); i++)
    run_until_flag(loop, &b.lost, 0.01);
  ASSERT_EQ(b.len, strlen(msg));
  ASSERT_TRUE(memcmp(b.got, msg, b.len) == 0);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &b.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* A plain server that hangs up at once: the client's handshake fails with
 * WEFT_ECONNRESET (asyncio's ConnectionResetError), no protocol callback. */
static void hangup_made(weft_transport_t *t, void *arg) {
  weft_transport_close(t);
}
static int hangup_factory(void *farg, weft_protocol_t *p, void **arg) {
  p->connection_made = hangup_made;
  *arg = NULL;
  return 0;
}

WEFT_TEST(peer_closes_during_handshake) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, hangup_factory, NULL, NULL, "127.0.0.1", 0, NULL, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  weft_tls_context_t *cctx = client_ctx();
  cli_t c = {0};
  f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0);
  ASSERT_CODE(weft_future_error(f), WEFT_ECONNRESET);
  ASSERT_TRUE(strstr(weft_future_error_message(f), "TLS handshake") != NULL);
  weft_future_release(f);
  ASSERT_EQ(c.made, 0);
  ASSERT_EQ(c.lost, 0);
  stop_server(loop, server);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* Client certificates: the server requires one and sees it in its extra info. */
WEFT_TEST(client_certificate_seen_by_server) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  ASSERT_OK(weft_tls_context_set_verify(sctx, WEFT_TLS_VERIFY_REQUIRED));
  ASSERT_OK(weft_tls_context_load_verify_pem(sctx, certs->ca.cert_pem, certs->ca.cert_len));
  weft_tls_context_t *cctx = client_ctx();
  ASSERT_OK(weft_tls_context_load_cert_chain_pem(cctx, certs->client.cert_pem,
                                                 certs->client.cert_len, certs->client.key_pem,
                                                 certs->client.key_len, NULL));
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  cli_t c = {0};
  weft_future_t *f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  ASSERT_OK(weft_transport_write(t, "me", 2));
  ASSERT_TRUE(wait_len(loop, &c, 2));
  ASSERT_EQ(s.made, 1);
  ASSERT_TRUE(strstr(s.peer, "CN=weft client") != NULL);
  ASSERT_TRUE(s.peer_der_len > 0);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &c.lost, 5);
  run_until_flag(loop, &s.lost, 5);
  weft_transport_release(t);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* ---- a write that fails at once during the shutdown ----------------------------------- */

/* TLS on both ends of a Unix socketpair. Where the peer is gone, a Unix socket's write
 * fails with EPIPE inside the call (TCP's fails later): the byte transport then closes
 * under the layer in the middle of whatever sent the record. The server's end is made to
 * fail so (shutdown(SHUT_WR) on its own descriptor: every write from then on is EPIPE),
 * then its close_notify is sent from each place the layer sends one. */
enum {
  SYNC_FAIL_APP_CLOSE,        /* the application closes */
  SYNC_FAIL_PAUSED_CLOSE,     /* it resumed reading (a resume pending), then closes */
  SYNC_FAIL_PEER_CLOSE,       /* the peer's close_notify arrives: the answer fails */
  SYNC_FAIL_WRITE_THEN_CLOSE, /* the application writes (that fails), then closes */
  SYNC_FAIL_ABORT_AFTER,      /* the application closes, then aborts at once */
  SYNC_FAIL_RESUMED_LAST_REF, /* in a loop callback: resumes, closes, drops its reference */
};

/* The connection_lost of the failed close_notify comes in this iteration's close phase,
 * before the resume's delivery; the layer then holds the last reference to the transport. */
static void resume_close_release(void *arg) {
  weft_transport_t **t = arg;
  ASSERT_OK(weft_transport_pause_reading(*t));
  ASSERT_OK(weft_transport_resume_reading(*t));
  ASSERT_OK(weft_transport_close(*t));
  weft_transport_release(*t);
  *t = NULL;
}

static void sync_fail_run(int how) {
  tls_pair_t p;
  tls_pair_open(&p, 0, 0);
  weft_loop_t *loop = p.loop;
  weft_transport_t *ct_ = future_transport(p.cf);
  ASSERT_EQ(p.s.made, 1);
  ASSERT_OK(weft_transport_write(ct_, "ping", 4));
  run_until_flag(loop, &p.s.lost, 0.2);
  ASSERT_EQ(p.s.received, 4);
  int fd = -1;
  size_t len = sizeof(fd);
  ASSERT_OK(weft_transport_get_extra_info(p.s.t, WEFT_INFO_FD, &fd, &len));
  ASSERT_OK(shutdown(fd, SHUT_WR));
  weft_transport_t *t = weft_transport_retain(p.s.t);
  switch (how) {
  case SYNC_FAIL_APP_CLOSE:
    ASSERT_OK(weft_transport_close(t));
    break;
  case SYNC_FAIL_PAUSED_CLOSE:
    ASSERT_OK(weft_transport_pause_reading(t));
    ASSERT_OK(weft_transport_resume_reading(t));
    ASSERT_OK(weft_transport_close(t));
    break;
  case SYNC_FAIL_PEER_CLOSE:
    ASSERT_OK(weft_transport_close(ct_));
    break;
  case SYNC_FAIL_WRITE_THEN_CLOSE:
    ASSERT_OK(weft_transport_write(t, "pong", 4));
    ASSERT_OK(weft_transport_close(t));
    break;
  case SYNC_FAIL_ABORT_AFTER:
    ASSERT_OK(weft_transport_close(t));
    ASSERT_OK(weft_transport_abort(t));
    break;
  case SYNC_FAIL_RESUMED_LAST_REF:
    weft_future_release(p.sf); /* its result is a reference too */
    p.sf = NULL;
    ASSERT_OK(weft_call_soon(loop, resume_close_release, &t, NULL));
    break;
  }
  run_until_flag(loop, &p.s.lost, 5);
  ASSERT_EQ(p.s.lost, 1);
  weft_transport_close(ct_);
  run_until_flag(loop, &p.c.lost, 5);
  ASSERT_EQ(p.c.lost, 1);
  for (int i = 0; i < 3; i++)
    weft_loop_run_once(loop, 1);
  weft_transport_release(t);
  weft_transport_release(ct_);
  tls_pair_close(&p);
}

WEFT_TEST(sync_write_failure_app_close) {
  sync_fail_run(SYNC_FAIL_APP_CLOSE);
}
WEFT_TEST(sync_write_failure_resumed_then_close) {
  sync_fail_run(SYNC_FAIL_PAUSED_CLOSE);
}
WEFT_TEST(sync_write_failure_peer_close_notify) {
  sync_fail_run(SYNC_FAIL_PEER_CLOSE);
}
WEFT_TEST(sync_write_failure_write_then_close) {
  sync_fail_run(SYNC_FAIL_WRITE_THEN_CLOSE);
}
WEFT_TEST(sync_write_failure_close_then_abort) {
  sync_fail_run(SYNC_FAIL_ABORT_AFTER);
}
WEFT_TEST(sync_write_failure_resumed_last_reference) {
  sync_fail_run(SYNC_FAIL_RESUMED_LAST_REF);
}

/* ---- a resume pending when the byte transport goes ------------------------------------ */

/* resume_reading defers its delivery to the loop's next iteration; a byte transport closed
 * in the same callback is lost in this iteration's close phase, so its connection_lost comes
 * first. With no one else holding the TLS transport, the layer's reference was the last:
 * the deferred delivery must not touch the transport that is gone. */
typedef struct resume_abort_s {
  weft_transport_t *t; /* the caller's reference to the TLS transport */
  weft_future_t *f;    /* its result holds another */
  int ran;
} resume_abort_t;

static void resume_then_abort(void *arg) {
  resume_abort_t *r = arg;
  ASSERT_OK(weft_transport_pause_reading(r->t));
  ASSERT_OK(weft_transport_resume_reading(r->t));
  ASSERT_OK(weft_transport_abort(r->t));
  weft_future_release(r->f);
  weft_transport_release(r->t);
  r->ran = 1;
}

WEFT_TEST(resume_pending_when_last_reference_goes) {
  tls_pair_t p;
  tls_pair_open(&p, 0, 0);
  weft_loop_t *loop = p.loop;
  resume_abort_t r = {.t = future_transport(p.cf), .f = p.cf};
  p.cf = NULL; /* resume_then_abort releases it */
  ASSERT_OK(weft_call_soon(loop, resume_then_abort, &r, NULL));
  run_until_flag(loop, &p.c.lost, 5);
  ASSERT_EQ(r.ran, 1);
  ASSERT_EQ(p.c.lost, 1);
  run_until_flag(loop, &p.s.lost, 5);
  ASSERT_EQ(p.s.lost, 1);
  for (int i = 0; i < 3; i++) /* the deferred resume runs after connection_lost */
    weft_loop_run_once(loop, 1);
  tls_pair_close(&p);
}

/* ---- the server's factory argument after weft_server_close ---------------------------- */

typedef struct factory_owner_s {
  srv_t srv;
  int frees;             /* calls of the destructor */
  int calls_at_free;     /* factory calls seen when it ran */
  weft_server_t *server; /* for a factory that closes its own server */
} factory_owner_t;

static void free_factory_owner(void *arg) {
  factory_owner_t *o = arg;
  o->frees++;
  o->calls_at_free = o->srv.factory_calls;
}

static int owner_factory(void *farg, weft_protocol_t *p, void **arg) {
  factory_owner_t *o = farg;
  return srv_factory(&o->srv, p, arg);
}

/* A handshake that completes after weft_server_close never reaches the factory: the server
 * let go of the factory argument at close (its destructor ran once, then), and the late
 * connection is shut down without a protocol. */
WEFT_TEST(handshake_after_close_never_calls_factory) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports_t rep = {0};
  weft_loop_set_exception_handler(loop, on_report, &rep, NULL);
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  factory_owner_t owner = {0};
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &stls;
  weft_future_t *f;
  ASSERT_OK(
      weft_create_server(loop, owner_factory, &owner, free_factory_owner, "127.0.0.1", 0, &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  int port = weft_server_port(server);

  /* A plain connection the server has accepted; its handshake has not started. */
  cli_t plain = {0};
  ASSERT_OK(weft_create_connection(loop, &plain_proto, &plain, "127.0.0.1", port, NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *raw = future_transport(f);
  weft_future_release(f);
  for (int i = 0; i < 200 && weft_server_connection_count(server) == 0; i++)
    run_until_flag(loop, &plain.lost, 0.01);
  ASSERT_EQ(weft_server_connection_count(server), 1);

  ASSERT_OK(weft_server_close(server));
  ASSERT_EQ(owner.frees, 1); /* no factory call was in progress: let go at once */
  ASSERT_EQ(owner.calls_at_free, 0);

  /* Now the client speaks TLS: the server completes the handshake and has no factory. */
  cli_t c = {0};
  weft_tls_options_t ctls = {.size = sizeof(ctls), .context = cctx, .server_hostname = "localhost"};
  ASSERT_OK(weft_start_tls(raw, &cli_proto, &c, &ctls, 0, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f)); /* the handshake completed */
  weft_transport_t *tls_t = future_transport(f);
  weft_future_release(f);
  run_until_flag(loop, &c.lost, 5);
  ASSERT_EQ(owner.srv.factory_calls, 0);
  ASSERT_EQ(owner.srv.made, 0);
  ASSERT_EQ(owner.frees, 1);
  ASSERT_EQ(c.eofs, 1); /* the server shut the connection down (close_notify) */
  ASSERT_EQ(c.lost, 1);
  weft_transport_release(tls_t);
  weft_transport_release(raw);
  weft_future_t *w;
  ASSERT_OK(weft_server_wait_closed(server, &w));
  ASSERT_OK(weft_loop_run_until_complete(loop, w));
  weft_future_release(w);
  weft_server_release(server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
  ASSERT_EQ(owner.frees, 1);
}

/* A factory that closes its own server: the argument outlives the call that closed it. */
static int closing_factory(void *farg, weft_protocol_t *p, void **arg) {
  factory_owner_t *o = farg;
  weft_server_close(o->server);
  int rc = srv_factory(&o->srv, p, arg);
  ASSERT_EQ(o->frees, 0); /* still in use: this call is not over */
  return rc;
}

WEFT_TEST(factory_closing_its_server_keeps_its_argument_till_it_returns) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_tls_context_t *sctx = server_ctx(&certs->server);
  weft_tls_context_t *cctx = client_ctx();
  factory_owner_t owner = {0};
  weft_tls_options_t stls = {.size = sizeof(stls), .context = sctx};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &stls;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, closing_factory, &owner, free_factory_owner, "127.0.0.1", 0,
                               &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  owner.server = server;
  cli_t c = {0};
  f = tls_connect(loop, &c, weft_server_port(server), cctx, "localhost", 0);
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  run_until_flag(loop, &owner.srv.made, 5);
  ASSERT_EQ(owner.srv.factory_calls, 1);
  ASSERT_EQ(owner.frees, 1);
  ASSERT_EQ(owner.calls_at_free, 1); /* after the factory call returned */
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &owner.srv.lost, 5);
  weft_transport_release(t);
  weft_server_release(server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  spin(loop, 3);
  weft_test_close_loop(loop);
  ASSERT_EQ(owner.frees, 1);
}

/* ---- the application protocol's argument over TLS ------------------------------------- */

typedef struct owned_cli_s {
  cli_t c;
  int frees, lost_at_free;
} owned_cli_t;

static void owned_cli_free(void *arg) {
  owned_cli_t *o = arg;
  o->frees++;
  o->lost_at_free = o->c.lost;
}

static const weft_protocol_t owned_cli_proto = {
    .size = sizeof(weft_protocol_t),
    .connection_made = cli_made,
    .data_received = cli_data,
    .eof_received = cli_eof,
    .connection_lost = cli_lost,
    .arg_free = owned_cli_free,
};

/* A failed handshake frees the protocol's argument (no callback was made); start_tls with
 * the argument the plain transport already had moves it to the TLS transport, which frees
 * it once, after connection_lost. */
WEFT_TEST(protocol_arg_over_tls_freed_once) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  reports_t rep = {0};
  weft_loop_set_exception_handler(loop, on_report, &rep, NULL);
  weft_tls_context_t *sctx = server_ctx(&certs->untrusted);
  weft_tls_context_t *cctx = client_ctx();
  srv_t s = {.echo = 1};
  weft_server_t *server = start_tls_server(loop, sctx, &s, 0);
  int port = weft_server_port(server);

  owned_cli_t failed = {0};
  weft_tls_options_t tls = {.size = sizeof(tls), .context = cctx, .server_hostname = "localhost"};
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &owned_cli_proto, &failed, "127.0.0.1", port, &co, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ETLS);
  weft_future_release(f);
  spin(loop, 3);
  ASSERT_EQ(failed.c.made + failed.c.lost, 0);
  ASSERT_EQ(failed.frees, 1);

  /* start_tls keeping the argument: no verification, so the handshake succeeds. */
  weft_tls_context_t *lax;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &lax));
  ASSERT_OK(weft_tls_context_set_check_hostname(lax, 0));
  ASSERT_OK(weft_tls_context_set_verify(lax, WEFT_TLS_VERIFY_NONE));
  owned_cli_t kept = {0};
  ASSERT_OK(weft_create_connection(loop, &owned_cli_proto, &kept, "127.0.0.1", port, NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *raw = future_transport(f);
  weft_future_release(f);
  weft_tls_options_t ltls = {.size = sizeof(ltls), .context = lax};
  ASSERT_OK(weft_start_tls(raw, &owned_cli_proto, &kept, &ltls, 0, &f));
  ASSERT_EQ(kept.frees, 0);
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_transport_t *t = future_transport(f);
  weft_future_release(f);
  ASSERT_OK(weft_transport_write(t, "hi", 2));
  ASSERT_TRUE(wait_len(loop, &kept.c, 2));
  ASSERT_EQ(kept.frees, 0);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &kept.frees, 5);
  ASSERT_EQ(kept.c.lost, 1);
  ASSERT_EQ(kept.frees, 1);
  ASSERT_EQ(kept.lost_at_free, 1); /* after connection_lost */
  weft_transport_release(t);
  weft_transport_release(raw);
  run_until_flag(loop, &s.lost, 5);
  stop_server(loop, server);
  weft_tls_context_release(sctx);
  weft_tls_context_release(cctx);
  weft_tls_context_release(lax);
  spin(loop, 3);
  weft_test_close_loop(loop);
  ASSERT_EQ(failed.frees + kept.frees, 2);
}
