/* Connection setup and teardown, in one process: connect_cycle COUNT [unix]
 * COUNT times in a row, a client connects (weft_create_connection to 127.0.0.1, or
 * weft_create_unix_connection), the server accepts, the client closes at connection_made
 * and the server closes on EOF; the next connect starts from the client's connection_lost.
 * bench/connect_cycle.sh runs it under callgrind for two counts: the difference divided by
 * the difference of the counts is the instructions one connection costs on both sides
 * (startup and teardown cancel out), a figure that does not depend on the machine's load.
 * It is the path that composing TLS in connect.c could slow down for plain connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"

static weft_loop_t *loop;
static int count, done, use_unix, port;
static char path[64];

static int server_eof(weft_transport_t *t, void *arg) {
  return 0; /* close */
}

static int factory(void *farg, weft_protocol_t *p, void **arg) {
  p->eof_received = server_eof;
  *arg = NULL;
  return 0;
}

static void start_one(void);

static void client_made(weft_transport_t *t, void *arg) {
  weft_transport_close(t);
}

static void client_lost(weft_transport_t *t, int error, void *arg) {
  if (++done < count)
    start_one();
  else
    weft_loop_stop(loop);
}

static const weft_protocol_t client = {.size = sizeof(weft_protocol_t),
                                       .connection_made = client_made,
                                       .connection_lost = client_lost};

static void start_one(void) {
  weft_future_t *f;
  int rc = use_unix ? weft_create_unix_connection(loop, &client, NULL, path, strlen(path), NULL, &f)
                    : weft_create_connection(loop, &client, NULL, "127.0.0.1", port, NULL, &f);
  if (rc) {
    fprintf(stderr, "connect_cycle: %s\n", weft_strerror(rc));
    exit(1);
  }
  weft_future_release(f);
}

int main(int argc, char **argv) {
  count = argc > 1 ? atoi(argv[1]) : 1000;
  use_unix = argc > 2 && strcmp(argv[2], "unix") == 0;
  snprintf(path, sizeof(path), "/tmp/weft-connect-cycle-%d", (int)getpid());
  weft_loop_new(&loop);
  weft_future_t *f;
  int rc = use_unix
               ? weft_create_unix_server(loop, factory, NULL, NULL, path, strlen(path), NULL, &f)
               : weft_create_server(loop, factory, NULL, NULL, "127.0.0.1", 0, NULL, &f);
  if (rc == 0)
    rc = weft_loop_run_until_complete(loop, f);
  if (rc) {
    fprintf(stderr, "connect_cycle: cannot listen: %s\n", weft_strerror(rc));
    return 1;
  }
  const weft_value_t *v;
  weft_future_result(f, &v);
  weft_server_t *s = weft_server_retain(v->ptr);
  weft_future_release(f);
  port = weft_server_port(s);
  if (count > 0) {
    start_one();
    weft_loop_run_forever(loop);
  }
  weft_server_close(s);
  weft_server_release(s);
  weft_loop_release(loop);
  printf("%d\n", done);
  return 0;
}
