/* A Unix-socket stream server echoes lines back in upper case; the client reads each
 * reply, then EOF after it half-closes. */
#include <casetrace.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int serve(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)arg;
  for (;;) {
    weft_value_t line;
    int rc = weft_stream_readline_await(reader, &line);
    if (rc < 0)
      return rc;
    if (line.len == 0) {
      weft_value_clear(&line);
      break;
    }
    char *p = line.ptr;
    for (size_t i = 0; i < line.len; i++)
      p[i] = (char)toupper((unsigned char)p[i]);
    weft_stream_write(writer, line.ptr, line.len);
    weft_value_clear(&line);
    if ((rc = weft_stream_drain_await(writer)) < 0)
      return rc;
  }
  casetrace_emit("server eof");
  weft_stream_close(writer);
  return weft_stream_wait_closed_await(writer);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  char tmp[] = "/tmp/weft-case-XXXXXX", path[64];
  if (mkdtemp(tmp) == NULL)
    return WEFT_EIO;
  snprintf(path, sizeof path, "%s/echo.sock", tmp);
  weft_stream_options_t options;
  weft_stream_options_init(&options);
  options.client_in_task = 1;
  weft_server_t *server = NULL;
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  weft_future_t *started;
  const weft_value_t *v;
  int rc = weft_start_unix_server(loop, serve, NULL, NULL, path, strlen(path), &options, &started);
  if (rc < 0)
    return rc;
  if ((rc = weft_await(started)) == 0 && (rc = weft_future_result(started, &v)) == 0)
    server = weft_server_retain(weft_value_object(v, WEFT_VALUE_SERVER));
  weft_future_release(started);
  if (rc < 0 ||
      (rc = weft_open_unix_connection_await(loop, path, strlen(path), NULL, &reader, &writer)) < 0)
    return rc;
  static const char *lines[] = {"one\n", "two\n"};
  char q[64];
  weft_value_t data;
  for (int i = 0; i < 2; i++) {
    weft_stream_write(writer, lines[i], strlen(lines[i]));
    if ((rc = weft_stream_readline_await(reader, &data)) < 0)
      return rc;
    casetrace_emit("reply %s", casetrace_q(q, sizeof q, data.ptr, data.len));
    weft_value_clear(&data);
  }
  weft_stream_write_eof(writer);
  if ((rc = weft_stream_read_await(reader, -1, &data)) < 0)
    return rc;
  casetrace_emit("after-eof %s", casetrace_q(q, sizeof q, data.ptr, data.len));
  weft_value_clear(&data);
  if ((rc = casetrace_close_writer(reader, writer)) < 0 ||
      (rc = casetrace_close_server(server)) < 0)
    return rc;
  rmdir(tmp);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
