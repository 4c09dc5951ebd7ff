/* A reader with an 8-byte limit. readuntil past the limit fails with ELIMITOVERRUN and
 * keeps the data; readline past the limit fails too but drops the line through its
 * newline; what follows stays buffered. */
#include <casetrace.h>
#include <string.h>

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)reader, (void)arg;
  static const char text[] = "0123456789abcdef\nshort\n0123456789ABCDEF\nnext\n";
  weft_stream_write(writer, text, strlen(text));
  int rc = weft_stream_drain_await(writer);
  if (rc < 0)
    return rc;
  weft_stream_close(writer);
  return weft_stream_wait_closed_await(writer);
}

static int emit_line(const char *what, int rc, weft_value_t *data, int with_eof,
                     weft_stream_reader_t *reader) {
  char q[96];
  if (rc == 0 && with_eof)
    casetrace_emit("%s %s at_eof %s", what, casetrace_q(q, sizeof q, data->ptr, data->len),
                   casetrace_bool(weft_stream_at_eof(reader)));
  else if (rc == 0)
    casetrace_emit("%s %s", what, casetrace_q(q, sizeof q, data->ptr, data->len));
  else
    casetrace_emit("%s %s", what, casetrace_err(rc));
  weft_value_clear(data);
  return rc == WEFT_ELIMITOVERRUN ? 0 : rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_server_t *server;
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  weft_stream_options_t options;
  weft_stream_options_init(&options);
  options.limit = 8;
  int rc = casetrace_start_server(loop, serve, NULL, NULL, &server);
  if (rc < 0 || (rc = weft_open_connection_await(loop, "127.0.0.1", weft_server_port(server),
                                                 &options, &reader, &writer)) < 0)
    return rc;
  weft_sleep_await(loop, 0.05); /* the whole message is in before the first read */
  const void *sep[] = {"\n"};
  const size_t sep_len[] = {1};
  weft_value_t data = weft_value_none();
  rc = weft_stream_readuntil_await(reader, sep, sep_len, 1, &data);
  if ((rc = emit_line("readuntil", rc, &data, 0, reader)) < 0)
    return rc;
  rc = weft_stream_readexactly_await(reader, 17, &data);
  if ((rc = emit_line("readexactly", rc, &data, 0, reader)) < 0)
    return rc;
  for (int i = 0; i < 4; i++) {
    rc = weft_stream_readline_await(reader, &data);
    if ((rc = emit_line("readline", rc, &data, i == 3, reader)) < 0)
      return rc;
  }
  if ((rc = casetrace_close_writer(reader, writer)) < 0)
    return rc;
  return casetrace_close_server(server);
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
