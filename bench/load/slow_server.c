/* The server of the slow-consumer run (bench/load/slow.py): slow_server STYLE PORT MIB
 *
 * To each client it writes MIB MiB of a known pattern (byte i is i mod 251) in 64 KiB
 * writes, as fast as flow control lets it, then closes. STYLE is "protocol" (writes until
 * pause_writing, goes on at resume_writing) or "streams" (write then drain, in a stackful
 * task). It prints "listening" once it serves, "paused BYTES" the first time a connection's
 * writes are held back (BYTES handed to the transport so far) and "done PAUSES" when a
 * connection has had all its bytes written; it serves until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define CHUNK (64 * 1024)

static size_t total;
static char pattern[CHUNK + 251];

/* The chunk at `offset`: the pattern repeats every 251 bytes. */
static const char *chunk_at(size_t offset) {
  return pattern + offset % 251;
}

typedef struct sender {
  size_t sent;
  long pauses;
  int paused;
} sender_t;

static void announce_pause(sender_t *s) {
  if (s->pauses++ == 0) {
    printf("paused %zu\n", s->sent);
    fflush(stdout);
  }
}

static void finished(sender_t *s) {
  printf("done %ld\n", s->pauses);
  fflush(stdout);
}

/* ---- Protocol style ---- */

static void pump(weft_transport_t *t, sender_t *s) {
  while (!s->paused && s->sent < total) {
    size_t n = total - s->sent < CHUNK ? total - s->sent : CHUNK;
    if (weft_transport_write(t, chunk_at(s->sent), n))
      return; /* closing: connection_lost follows */
    s->sent += n;
  }
  if (s->sent == total && !weft_transport_is_closing(t)) {
    finished(s);
    weft_transport_close(t);
  }
}

static void made(weft_transport_t *t, void *arg) {
  pump(t, arg);
}

static void pause_writing(weft_transport_t *t, void *arg) {
  sender_t *s = arg;
  s->paused = 1;
  announce_pause(s);
}

static void resume_writing(weft_transport_t *t, void *arg) {
  sender_t *s = arg;
  s->paused = 0;
  pump(t, s);
}

static int factory(void *farg, weft_protocol_t *p, void **arg) {
  sender_t *s = calloc(1, sizeof *s);
  if (!s)
    return WEFT_ENOMEM;
  p->connection_made = made;
  p->pause_writing = pause_writing;
  p->resume_writing = resume_writing;
  p->arg_free = free;
  *arg = s;
  return 0;
}

/* ---- Streams style ---- */

static int client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  sender_t s = {0};
  weft_transport_t *t = weft_stream_writer_transport(w);
  size_t high = 0, low = 0;
  weft_transport_get_write_buffer_limits(t, &low, &high);
  while (s.sent < total) {
    size_t n = total - s.sent < CHUNK ? total - s.sent : CHUNK;
    if (weft_stream_write(w, chunk_at(s.sent), n))
      return 0;
    s.sent += n;
    /* Over the high-water mark the transport has paused and drain will wait. */
    if (weft_transport_get_write_buffer_size(t) > high)
      announce_pause(&s);
    if (weft_stream_drain_await(w))
      return 0;
  }
  finished(&s);
  weft_stream_close(w);
  weft_stream_wait_closed_await(w);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4 || (strcmp(argv[1], "protocol") && strcmp(argv[1], "streams"))) {
    fprintf(stderr, "usage: %s protocol|streams PORT MIB\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[2]);
  total = (size_t)atol(argv[3]) * 1024 * 1024;
  for (size_t i = 0; i < sizeof pattern; i++)
    pattern[i] = (char)(i % 251);
  weft_loop_t *loop;
  weft_future_t *f;
  int rc = weft_loop_new(&loop);
  if (rc == 0 && strcmp(argv[1], "protocol") == 0)
    rc = weft_create_server(loop, factory, NULL, NULL, "127.0.0.1", port, NULL, &f);
  else if (rc == 0) {
    weft_stream_options_t so;
    weft_stream_options_init(&so);
    so.client_in_task = 1;
    rc = weft_start_server(loop, client, NULL, NULL, "127.0.0.1", port, &so, &f);
  }
  if (rc == 0)
    rc = weft_loop_run_until_complete(loop, f);
  if (rc) {
    fprintf(stderr, "slow_server: cannot listen on %d: %s\n", port, weft_strerror(rc));
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  return weft_loop_run_forever(loop);
}
