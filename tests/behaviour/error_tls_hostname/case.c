/* A TLS server whose certificate (signed by a trusted CA) names another host: the client
 * checking the host name "localhost" fails the handshake (ETLS); a certificate for
 * localhost works. */
#include <casetrace.h>
#include <tls_testcerts.h>

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)reader, (void)arg;
  weft_stream_write(writer, "hello\n", 6);
  int rc = weft_stream_drain_await(writer);
  weft_stream_close(writer);
  return rc;
}

/* Serves `cert` over TLS and connects to it once, trusting the test CA. */
static int try_cert(weft_loop_t *loop, const char *name, const weft_testcert_t *cert,
                    weft_tls_context_t *cctx) {
  weft_tls_context_t *sctx;
  int rc = weft_tls_context_new(WEFT_TLS_SERVER, &sctx);
  if (rc < 0 || (rc = weft_tls_context_load_cert_chain_pem(sctx, cert->cert_pem, cert->cert_len,
                                                           cert->key_pem, cert->key_len, NULL)) < 0)
    return rc;
  weft_tls_options_t server_tls;
  weft_tls_options_init(&server_tls);
  server_tls.context = sctx;
  weft_server_options_t server_options;
  weft_server_options_init(&server_options);
  server_options.tls = &server_tls;
  weft_stream_options_t options;
  weft_stream_options_init(&options);
  options.server = &server_options;
  weft_server_t *server;
  rc = casetrace_start_server(loop, serve, NULL, &options, &server);
  weft_tls_context_release(sctx);
  if (rc < 0)
    return rc;
  weft_tls_options_t tls;
  weft_tls_options_init(&tls);
  tls.context = cctx;
  tls.server_hostname = "localhost";
  weft_connect_options_t connect;
  weft_connect_options_init(&connect);
  connect.tls = &tls;
  weft_stream_options_t client_options;
  weft_stream_options_init(&client_options);
  client_options.connect = &connect;
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  rc = weft_open_connection_await(loop, "127.0.0.1", weft_server_port(server), &client_options,
                                  &reader, &writer);
  if (rc == 0) {
    weft_value_t line;
    char q[64];
    if ((rc = weft_stream_readline_await(reader, &line)) < 0)
      return rc;
    casetrace_emit("cert %s read %s", name, casetrace_q(q, sizeof q, line.ptr, line.len));
    weft_value_clear(&line);
    casetrace_close_writer(reader, writer);
  } else {
    casetrace_emit("cert %s error %s", name, casetrace_err(rc));
  }
  return casetrace_close_server(server);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *cctx;
  int rc = weft_tls_context_new(WEFT_TLS_CLIENT, &cctx);
  if (rc < 0 ||
      (rc = weft_tls_context_load_verify_pem(cctx, certs->ca.cert_pem, certs->ca.cert_len)) < 0)
    return rc;
  rc = try_cert(loop, "wrong_host", &certs->wrong_host, cctx);
  if (rc == 0)
    rc = try_cert(loop, "server", &certs->server, cctx);
  weft_tls_context_release(cctx);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
