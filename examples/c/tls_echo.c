/* A TLS echo server and a TLS client in one program, in streams style.
 *
 * A throwaway CA and a certificate for "localhost" signed by it are made in a temporary
 * directory (with OpenSSL, through the test helpers in tests/tls_testcerts.c). The server
 * loads the certificate and key from those files and listens on 127.0.0.1; the client
 * trusts only the CA, connects, checks the server's name (verification is on by default),
 * exchanges a few lines and prints what was negotiated.
 *
 * Run: build/examples/c/tls_echo */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls_testcerts.h"
#include "weft.h"

typedef struct {
  weft_tls_context_t *server_ctx;
  weft_tls_context_t *client_ctx;
  int port;
} example_t;

/* One connection on the server, in its own task: echo each line back. */
static int serve_client(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)arg;
  for (;;) {
    weft_value_t line;
    int rc = weft_stream_readline_await(reader, &line);
    if (rc != 0)
      return rc;
    if (line.len == 0) { /* the client's close_notify */
      weft_value_clear(&line);
      break;
    }
    weft_stream_write(writer, "echo: ", 6);
    weft_stream_write(writer, line.ptr, line.len);
    weft_value_clear(&line);
    if ((rc = weft_stream_drain_await(writer)) != 0)
      return rc;
  }
  weft_stream_close(writer);
  return weft_stream_wait_closed_await(writer);
}

static void print_info(weft_stream_writer_t *writer) {
  char version[32] = "?", cipher[128] = "?", alpn[32] = "(none)";
  size_t len = sizeof version;
  weft_stream_get_extra_info(writer, WEFT_INFO_TLS_VERSION, version, &len);
  len = sizeof cipher;
  weft_stream_get_extra_info(writer, WEFT_INFO_TLS_CIPHER, cipher, &len);
  len = sizeof alpn;
  weft_stream_get_extra_info(writer, WEFT_INFO_TLS_ALPN, alpn, &len);
  weft_tls_conn_t *conn = NULL;
  len = sizeof conn;
  weft_stream_get_extra_info(writer, WEFT_INFO_TLS_CONN, &conn, &len);
  printf("client: %s, cipher %s, ALPN %s\n", version, cipher, alpn);
  if (conn)
    printf("client: server certificate %s, issued by %s\n", weft_tls_conn_peer_subject(conn),
           weft_tls_conn_peer_issuer(conn));
}

static int client(weft_loop_t *loop, example_t *ex) {
  weft_tls_options_t tls = {.size = sizeof tls,
                            .context = ex->client_ctx,
                            .server_hostname = "localhost", /* the name on the certificate */
                            .handshake_timeout = 10};
  weft_connect_options_t connect;
  weft_connect_options_init(&connect);
  connect.tls = &tls;
  weft_stream_options_t options = {.size = sizeof options, .connect = &connect};
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  int rc = weft_open_connection_await(loop, "127.0.0.1", ex->port, &options, &reader, &writer);
  if (rc != 0) {
    fprintf(stderr, "client: %s\n", weft_strerror(rc));
    return rc;
  }
  print_info(writer);
  const char *lines[] = {"hello\n", "over TLS\n", "goodbye\n"};
  for (size_t i = 0; i < 3 && rc == 0; i++) {
    weft_stream_write(writer, lines[i], strlen(lines[i]));
    weft_value_t answer;
    rc = weft_stream_readline_await(reader, &answer);
    if (rc == 0) {
      printf("client got: %.*s", (int)answer.len, (const char *)answer.ptr);
      weft_value_clear(&answer);
    }
  }
  weft_stream_close(writer); /* close_notify, then the socket */
  int closed = weft_stream_wait_closed_await(writer);
  weft_stream_writer_release(writer);
  weft_stream_reader_release(reader);
  return rc ? rc : closed;
}

static int main_task(weft_task_t *self, void *arg) {
  example_t *ex = arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  weft_tls_options_t tls = {.size = sizeof tls, .context = ex->server_ctx};
  weft_server_options_t server_options;
  weft_server_options_init(&server_options);
  server_options.tls = &tls;
  weft_stream_options_t options = {
      .size = sizeof options, .server = &server_options, .client_in_task = 1};
  weft_future_t *started;
  int rc = weft_start_server(loop, serve_client, NULL, NULL, "127.0.0.1", 0, &options, &started);
  if (rc == 0)
    rc = weft_await(started);
  if (rc != 0) {
    fprintf(stderr, "server: %s\n", weft_strerror(rc));
    if (started)
      weft_future_release(started);
    return rc;
  }
  const weft_value_t *value;
  weft_future_result(started, &value);
  weft_server_t *server = weft_server_retain(value->ptr);
  weft_future_release(started);
  ex->port = weft_server_port(server);
  printf("TLS echo server listening on 127.0.0.1:%d\n", ex->port);

  rc = client(loop, ex);

  weft_server_close(server);
  weft_future_t *closed;
  if (weft_server_wait_closed(server, &closed) == 0) {
    weft_await(closed);
    weft_future_release(closed);
  }
  weft_server_release(server);
  return rc;
}

int main(void) {
  char dir[] = "/tmp/weft-tls-example-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  weft_testcerts_t certs;
  char ca_crt[256], ca_key[256], crt[256], key[256];
  int ok = weft_testcerts_make(&certs) == 0;
  if (ok) {
    ok = weft_testcert_write(&certs.ca, dir, "ca", ca_crt, ca_key, sizeof ca_crt) == 0 &&
         weft_testcert_write(&certs.server, dir, "server", crt, key, sizeof crt) == 0;
    weft_testcerts_free(&certs);
  }
  int rc = 1;
  example_t ex = {0};
  const char *alpn[] = {"echo/1"};
  if (ok && weft_tls_context_new(WEFT_TLS_SERVER, &ex.server_ctx) == 0 &&
      weft_tls_context_new(WEFT_TLS_CLIENT, &ex.client_ctx) == 0) {
    if (weft_tls_context_load_cert_chain(ex.server_ctx, crt, key, NULL) != 0)
      fprintf(stderr, "server certificate: %s\n", weft_tls_context_error(ex.server_ctx));
    else if (weft_tls_context_load_verify_locations(ex.client_ctx, ca_crt, NULL) != 0)
      fprintf(stderr, "CA: %s\n", weft_tls_context_error(ex.client_ctx));
    else if (weft_tls_context_set_alpn_protocols(ex.server_ctx, alpn, 1) == 0 &&
             weft_tls_context_set_alpn_protocols(ex.client_ctx, alpn, 1) == 0)
      rc = weft_run(main_task, &ex, NULL) == 0 ? 0 : 1;
  }
  weft_tls_context_release(ex.server_ctx);
  weft_tls_context_release(ex.client_ctx);
  if (ok) {
    unlink(ca_crt);
    unlink(ca_key);
    unlink(crt);
    unlink(key);
  }
  rmdir(dir);
  return rc;
}
