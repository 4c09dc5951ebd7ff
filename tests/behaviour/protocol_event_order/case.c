/* A client protocol over loopback TCP hears connection_made, then the data, then
 * eof_received, then connection_lost with no error, in that order; returning 0 from
 * eof_received closes the transport. */
#include <casetrace.h>
#include <string.h>

typedef struct {
  char data[64];
  size_t len;
  weft_future_t *lost;
} client_t;

static void connection_made(weft_transport_t *t, void *arg) {
  (void)arg;
  casetrace_emit("connection_made %s", casetrace_bool(weft_transport_is_closing(t)));
}

static void data_received(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t;
  client_t *c = arg;
  if (c->len == 0)
    casetrace_emit("data_received");
  if (len > sizeof c->data - c->len)
    len = sizeof c->data - c->len;
  memcpy(c->data + c->len, data, len);
  c->len += len;
}

static int eof_received(weft_transport_t *t, void *arg) {
  (void)t;
  client_t *c = arg;
  char q[96];
  casetrace_emit("eof_received %s", casetrace_q(q, sizeof q, c->data, c->len));
  return 0;
}

static void connection_lost(weft_transport_t *t, int error, void *arg) {
  (void)t;
  client_t *c = arg;
  casetrace_emit("connection_lost %s", error ? casetrace_err(error) : "none");
  weft_future_set_result(c->lost, weft_value_none());
}

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)arg;
  weft_stream_write(writer, "hello, ", 7);
  weft_stream_write(writer, "world", 5);
  int rc = weft_stream_drain_await(writer);
  if (rc < 0)
    return rc;
  weft_stream_write_eof(writer);
  weft_value_t rest;
  if ((rc = weft_stream_read_await(reader, -1, &rest)) < 0)
    return rc;
  weft_value_clear(&rest);
  weft_stream_close(writer);
  return 0;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  client_t client = {.len = 0};
  weft_server_t *server;
  weft_future_t *f;
  int rc = weft_future_new(loop, &client.lost);
  if (rc < 0 || (rc = casetrace_start_server(loop, serve, NULL, NULL, &server)) < 0)
    return rc;
  weft_protocol_t protocol = {.size = sizeof protocol,
                              .connection_made = connection_made,
                              .data_received = data_received,
                              .eof_received = eof_received,
                              .connection_lost = connection_lost};
  if ((rc = weft_create_connection(loop, &protocol, &client, "127.0.0.1", weft_server_port(server),
                                   NULL, &f)) < 0 ||
      (rc = weft_await(f)) < 0)
    return rc;
  const weft_value_t *v;
  weft_future_result(f, &v);
  weft_transport_t *transport = weft_value_object(v, WEFT_VALUE_TRANSPORT);
  if ((rc = weft_await(client.lost)) < 0)
    return rc;
  casetrace_emit("closing %s", casetrace_bool(weft_transport_is_closing(transport)));
  weft_future_release(f);
  weft_future_release(client.lost);
  return casetrace_close_server(server);
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
