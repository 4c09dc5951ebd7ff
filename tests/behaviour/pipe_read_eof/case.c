/* connect_read_pipe: a stream reader on the read end of a pipe gets what the write end
 * sent, then EOF when it is closed. The protocol feeds the reader, as asyncio's
 * StreamReaderProtocol does. */
#include <casetrace.h>
#include <unistd.h>

static void data_received(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t;
  weft_stream_feed_data(arg, data, len);
}

static int eof_received(weft_transport_t *t, void *arg) {
  (void)t;
  weft_stream_feed_eof(arg);
  return 0;
}

static void connection_lost(weft_transport_t *t, int error, void *arg) {
  (void)t;
  if (error < 0)
    weft_stream_set_error(arg, error);
  else
    weft_stream_feed_eof(arg);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  int fds[2];
  if (pipe(fds) != 0)
    return WEFT_EIO;
  weft_stream_reader_t *reader;
  int rc = weft_stream_reader_new(loop, 0, &reader);
  if (rc < 0)
    return rc;
  weft_protocol_t protocol = {.size = sizeof protocol,
                              .data_received = data_received,
                              .eof_received = eof_received,
                              .connection_lost = connection_lost};
  weft_future_t *f;
  if ((rc = weft_connect_read_pipe(loop, &protocol, reader, fds[0], &f)) < 0 ||
      (rc = weft_await(f)) < 0)
    return rc;
  char q[64];
  weft_value_t data;
  if (write(fds[1], "first line\nsecond", 17) != 17)
    return WEFT_EIO;
  if ((rc = weft_stream_readline_await(reader, &data)) < 0)
    return rc;
  casetrace_emit("readline %s", casetrace_q(q, sizeof q, data.ptr, data.len));
  weft_value_clear(&data);
  close(fds[1]);
  if ((rc = weft_stream_read_await(reader, -1, &data)) < 0)
    return rc;
  casetrace_emit("read %s at_eof %s", casetrace_q(q, sizeof q, data.ptr, data.len),
                 casetrace_bool(weft_stream_at_eof(reader)));
  weft_value_clear(&data);
  const weft_value_t *v;
  if (weft_future_result(f, &v) == 0)
    weft_transport_close(weft_value_object(v, WEFT_VALUE_TRANSPORT));
  weft_future_release(f);
  weft_sleep_await(loop, 0); /* connection_lost runs before the reader goes */
  weft_stream_reader_release(reader);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
