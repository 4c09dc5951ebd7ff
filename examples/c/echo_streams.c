/* An echo server and its clients in streams style: the server answers each line in upper
 * case; three clients talk to it at once from a TaskGroup. Everything on 127.0.0.1.
 *
 * Run: build/examples/c/echo_streams */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "weft.h"

/* One connection on the server: runs in its own task until the client closes. */
static int serve_client(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)arg;
  for (;;) {
    weft_value_t line;
    int rc = weft_stream_readline_await(reader, &line);
    if (rc != 0)
      return rc;
    if (line.len == 0) { /* end of stream */
      weft_value_clear(&line);
      break;
    }
    char *text = line.ptr;
    for (size_t i = 0; i < line.len; i++)
      text[i] = (char)toupper((unsigned char)text[i]);
    weft_stream_write(writer, text, line.len);
    weft_value_clear(&line);
    if ((rc = weft_stream_drain_await(writer)) != 0)
      return rc;
  }
  weft_stream_close(writer);
  return weft_stream_wait_closed_await(writer);
}

typedef struct {
  int port;
  int id;
} client_args_t;

static int client(weft_task_t *self, void *arg) {
  client_args_t *c = arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  int rc = weft_open_connection_await(loop, "127.0.0.1", c->port, NULL, &reader, &writer);
  if (rc != 0)
    return rc;
  for (int i = 1; i <= 2 && rc == 0; i++) {
    char line[64];
    int n = snprintf(line, sizeof line, "hello %d from client %d\n", i, c->id);
    weft_stream_write(writer, line, (size_t)n);
    weft_value_t answer;
    rc = weft_stream_readline_await(reader, &answer);
    if (rc == 0) {
      printf("client %d got: %.*s", c->id, (int)answer.len, (const char *)answer.ptr);
      weft_value_clear(&answer);
    }
  }
  weft_stream_close(writer);
  weft_stream_wait_closed_await(writer);
  weft_stream_writer_release(writer);
  weft_stream_reader_release(reader);
  return rc;
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  weft_stream_options_t options = {.size = sizeof options, .client_in_task = 1};
  weft_future_t *started;
  int rc = weft_start_server(loop, serve_client, NULL, NULL, "127.0.0.1", 0, &options, &started);
  if (rc == 0)
    rc = weft_await(started);
  if (rc != 0) {
    fprintf(stderr, "server: %s\n", weft_strerror(rc));
    weft_future_release(started);
    return rc;
  }
  const weft_value_t *value;
  weft_future_result(started, &value);
  weft_server_t *server = weft_server_retain(value->ptr);
  weft_future_release(started);
  int port = weft_server_port(server);
  printf("echo server listening on 127.0.0.1:%d\n", port);

  weft_taskgroup_t *group;
  weft_taskgroup_enter(self, &group);
  client_args_t clients[3];
  for (int i = 0; i < 3; i++) {
    clients[i] = (client_args_t){port, i + 1};
    weft_taskgroup_spawn(group, client, &clients[i], NULL, NULL);
  }
  rc = weft_taskgroup_exit_await(group, 0);
  weft_taskgroup_free(group);
  printf("clients done: %s\n", weft_err_name(rc));

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
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
