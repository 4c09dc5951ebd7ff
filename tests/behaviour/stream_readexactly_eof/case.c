/* readexactly when the peer closes early: EINCOMPLETE with the partial data and the
 * expected size; the reader is then at EOF and read() returns empty. */
#include <casetrace.h>

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)reader, (void)arg;
  weft_stream_write(writer, "abc", 3);
  int rc = weft_stream_drain_await(writer);
  if (rc < 0)
    return rc;
  weft_stream_close(writer);
  return weft_stream_wait_closed_await(writer);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_server_t *server;
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  char q[64];
  int rc = casetrace_start_server(loop, serve, NULL, NULL, &server);
  if (rc < 0 || (rc = weft_open_connection_await(loop, "127.0.0.1", weft_server_port(server), NULL,
                                                 &reader, &writer)) < 0)
    return rc;
  weft_value_t data;
  if ((rc = weft_stream_readexactly_await(reader, 2, &data)) < 0)
    return rc;
  casetrace_emit("readexactly 2 %s", casetrace_q(q, sizeof q, data.ptr, data.len));
  weft_value_clear(&data);
  /* The future form: its error carries the partial data and the expected size. */
  weft_future_t *f;
  if ((rc = weft_stream_readexactly(reader, 5, &f)) < 0)
    return rc;
  rc = weft_await(f);
  if (rc == WEFT_EINCOMPLETE) {
    size_t len;
    const void *partial = weft_stream_error_partial(f, &len);
    casetrace_emit("readexactly 5 %s partial %s expected %zu", casetrace_err(rc),
                   casetrace_q(q, sizeof q, partial, len), weft_stream_error_consumed(f));
  }
  weft_future_release(f);
  if ((rc = weft_stream_read_await(reader, -1, &data)) < 0)
    return rc;
  casetrace_emit("read %s at_eof %s", casetrace_q(q, sizeof q, data.ptr, data.len),
                 casetrace_bool(weft_stream_at_eof(reader)));
  weft_value_clear(&data);
  if ((rc = casetrace_close_writer(reader, writer)) < 0)
    return rc;
  return casetrace_close_server(server);
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
