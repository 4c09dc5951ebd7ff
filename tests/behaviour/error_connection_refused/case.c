/* Connecting to a loopback port where nothing listens fails with ECONNREFUSED. */
#include <casetrace.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  /* A bound socket that does not listen keeps the port ours and refuses connections. */
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  socklen_t len = sizeof addr;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (holder < 0 || bind(holder, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      getsockname(holder, (struct sockaddr *)&addr, &len) != 0)
    return WEFT_EIO;
  int port = ntohs(addr.sin_port);
  weft_stream_reader_t *reader;
  weft_stream_writer_t *writer;
  int rc = weft_open_connection_await(loop, "127.0.0.1", port, NULL, &reader, &writer);
  if (rc == 0) {
    casetrace_emit("connected");
    casetrace_close_writer(reader, writer);
  } else {
    casetrace_emit("open_connection %s", casetrace_err(rc));
  }
  weft_protocol_t protocol = {.size = sizeof protocol};
  weft_future_t *f;
  if ((rc = weft_create_connection(loop, &protocol, NULL, "127.0.0.1", port, NULL, &f)) < 0)
    return rc;
  rc = weft_await(f);
  if (rc < 0)
    casetrace_emit("create_connection %s", casetrace_err(rc));
  else
    casetrace_emit("connected");
  weft_future_release(f);
  close(holder);
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
