/* weft streams-style echo server: one stackful task per connection doing read, write,
 * drain. echo_stream PORT. */
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"

static int client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  for (;;) {
    weft_value_t v;
    int rc = weft_stream_read_await(r, 64 * 1024, &v);
    if (rc || v.len == 0) {
      weft_value_clear(&v);
      return 0;
    }
    weft_stream_write(w, v.ptr, v.len);
    weft_value_clear(&v);
    if (weft_stream_drain_await(w))
      return 0;
  }
}
int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 25002;
  weft_loop_t *loop;
  weft_loop_new(&loop);
  weft_stream_options_t so = {.size = sizeof(so), .client_in_task = 1};
  weft_future_t *f;
  if (weft_start_server(loop, client, NULL, NULL, "127.0.0.1", port, &so, &f) ||
      weft_loop_run_until_complete(loop, f)) {
    fprintf(stderr, "cannot listen on %d\n", port);
    return 1;
  }
  return weft_loop_run_forever(loop);
}
