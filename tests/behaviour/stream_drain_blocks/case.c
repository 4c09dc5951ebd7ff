/* drain waits while the peer does not read and the write buffer is above its high-water
 * mark; it returns once the peer reads, and every byte arrives. */
#include <casetrace.h>
#include <stdlib.h>
#include <string.h>

#define SIZE (16 * 1024 * 1024) /* more than the kernel buffers of both sockets hold */

typedef struct {
  weft_event_t *start_reading;
  weft_future_t *received;
} shared_t;

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  shared_t *s = arg;
  int rc = weft_event_wait_await(s->start_reading);
  if (rc < 0)
    return rc;
  weft_value_t data;
  if ((rc = weft_stream_readexactly_await(reader, SIZE, &data)) < 0)
    return rc;
  weft_future_set_result(s->received, weft_value_int((int64_t)data.len));
  weft_value_clear(&data);
  weft_stream_close(writer);
  return weft_stream_wait_closed_await(writer);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  shared_t s;
  weft_server_t *server;
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  weft_future_t *drain;
  int rc = weft_event_new(loop, &s.start_reading);
  if (rc < 0 || (rc = weft_future_new(loop, &s.received)) < 0 ||
      (rc = casetrace_start_server(loop, serve, &s, NULL, &server)) < 0 ||
      (rc = weft_open_connection_await(loop, "127.0.0.1", weft_server_port(server), NULL, &reader,
                                       &writer)) < 0)
    return rc;
  weft_transport_set_write_buffer_limits(weft_stream_writer_transport(writer), 64 * 1024, -1);
  char *big = malloc(SIZE);
  if (big == NULL)
    return WEFT_ENOMEM;
  memset(big, 'x', SIZE);
  weft_stream_write(writer, big, SIZE);
  free(big);
  if ((rc = weft_stream_drain(writer, &drain)) < 0)
    return rc;
  weft_sleep_await(loop, 0.1);
  casetrace_emit("drain done %s", casetrace_bool(weft_future_done(drain)));
  weft_event_set(s.start_reading);
  rc = weft_await(drain);
  weft_future_release(drain);
  if (rc < 0)
    return rc;
  casetrace_emit("drain returned");
  const weft_value_t *v;
  if ((rc = weft_await(s.received)) == 0 && weft_future_result(s.received, &v) == 0)
    casetrace_emit("peer received %lld", (long long)v->i);
  weft_future_release(s.received);
  weft_event_release(s.start_reading);
  if ((rc = casetrace_close_writer(reader, writer)) < 0)
    return rc;
  return casetrace_close_server(server);
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
