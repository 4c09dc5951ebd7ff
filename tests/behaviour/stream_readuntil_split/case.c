/* readuntil over loopback TCP with the separator split across two writes: the read waits
 * for the second part and returns through the separator; the rest stays for the next
 * read. */
#include <casetrace.h>
#include <string.h>

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)reader, (void)arg;
  static const char *parts[] = {"hel", "lo\r", "\nwor", "ld\r\n"};
  weft_loop_t *loop = weft_transport_loop(weft_stream_writer_transport(writer));
  for (int i = 0; i < 4; i++) {
    weft_stream_write(writer, parts[i], strlen(parts[i]));
    int rc = weft_stream_drain_await(writer);
    if (rc == 0)
      rc = weft_sleep_await(loop, 0.02); /* so that the parts arrive apart */
    if (rc < 0)
      return rc;
  }
  weft_stream_close(writer);
  return weft_stream_wait_closed_await(writer);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  weft_server_t *server;
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  int rc = casetrace_start_server(loop, serve, NULL, NULL, &server);
  if (rc < 0 || (rc = weft_open_connection_await(loop, "127.0.0.1", weft_server_port(server), NULL,
                                                 &reader, &writer)) < 0)
    return rc;
  const void *sep[] = {"\r\n"};
  const size_t sep_len[] = {2};
  for (int i = 0; i < 3; i++) {
    weft_value_t data;
    char q[64];
    rc = weft_stream_readuntil_await(reader, sep, sep_len, 1, &data);
    if (rc == 0)
      casetrace_emit("readuntil %s", casetrace_q(q, sizeof q, data.ptr, data.len));
    else if (rc == WEFT_EINCOMPLETE)
      casetrace_emit("readuntil-at-eof %s partial %s", casetrace_err(rc),
                     casetrace_q(q, sizeof q, data.ptr, data.len));
    else
      return rc;
    weft_value_clear(&data);
  }
  if ((rc = casetrace_close_writer(reader, writer)) < 0)
    return rc;
  return casetrace_close_server(server);
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
