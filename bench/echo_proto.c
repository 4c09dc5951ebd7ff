/* weft protocol-style echo server: echo_proto PORT. */
#include <stdio.h>
#include <stdlib.h>

#include "weft.h"

static void on_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  weft_transport_write(t, data, len);
}
static int factory(void *farg, weft_protocol_t *p, void **arg) {
  p->data_received = on_data;
  *arg = NULL;
  return 0;
}
int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 25001;
  weft_loop_t *loop;
  weft_loop_new(&loop);
  weft_future_t *f;
  if (weft_create_server(loop, factory, NULL, NULL, "127.0.0.1", port, NULL, &f) ||
      weft_loop_run_until_complete(loop, f)) {
    fprintf(stderr, "cannot listen on %d\n", port);
    return 1;
  }
  return weft_loop_run_forever(loop);
}
