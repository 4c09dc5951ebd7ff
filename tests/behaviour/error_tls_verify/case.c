/* A TLS client that does not trust the CA that signed the server's certificate fails the
 * handshake (ETLS); trusting the right CA, the same server works. */
#include <casetrace.h>
#include <tls_testcerts.h>

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)reader, (void)arg;
  weft_stream_write(writer, "hello\n", 6);
  int rc = weft_stream_drain_await(writer);
  weft_stream_close(writer);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *sctx;
  int rc = weft_tls_context_new(WEFT_TLS_SERVER, &sctx);
  if (rc < 0 || (rc = weft_tls_context_load_cert_chain_pem(
                     sctx, certs->server.cert_pem, certs->server.cert_len, certs->server.key_pem,
                     certs->server.key_len, NULL)) < 0)
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
  if ((rc = casetrace_start_server(loop, serve, NULL, &options, &server)) < 0)
    return rc;
  weft_tls_context_release(sctx);
  static const struct {
    const char *name;
    int right;
  } trusts[] = {{"other_ca", 0}, {"ca", 1}};
  for (int i = 0; i < 2; i++) {
    const weft_testcert_t *ca = trusts[i].right ? &certs->ca : &certs->other_ca;
    weft_tls_context_t *cctx;
    if ((rc = weft_tls_context_new(WEFT_TLS_CLIENT, &cctx)) < 0 ||
        (rc = weft_tls_context_load_verify_pem(cctx, ca->cert_pem, ca->cert_len)) < 0)
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
    weft_tls_context_release(cctx);
    if (rc == 0) {
      weft_value_t line;
      char q[64];
      if ((rc = weft_stream_readline_await(reader, &line)) < 0)
        return rc;
      casetrace_emit("trust %s read %s", trusts[i].name,
                     casetrace_q(q, sizeof q, line.ptr, line.len));
      weft_value_clear(&line);
      casetrace_close_writer(reader, writer);
    } else {
      casetrace_emit("trust %s error %s", trusts[i].name, casetrace_err(rc));
    }
  }
  return casetrace_close_server(server);
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
