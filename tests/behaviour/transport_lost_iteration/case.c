/* In which loop iteration connection_lost comes, for each way a connection ends: as
 * asyncio's transports, which call_soon it the moment they begin to close, the next
 * iteration, ahead of what was scheduled after the close. A callback that reschedules
 * itself numbers the iterations; an end found by polling is counted from eof_received in
 * the same poll (case.py says why). */
#include <casetrace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  weft_loop_t *loop;
  int n;
  int running;
} ticker_t;

static void tick(void *arg) {
  ticker_t *t = arg;
  t->n++;
  if (t->running)
    weft_call_soon(t->loop, tick, t, NULL);
}

typedef struct {
  const char *name, *event;
  int n, error;
} entry_t;

typedef struct {
  entry_t entries[8];
  int len;
} log_t;

static void log_add(log_t *log, const char *name, const char *event, int n, int error) {
  if (log->len < 8)
    log->entries[log->len++] = (entry_t){name, event, n, error};
}

typedef struct {
  const char *name;
  ticker_t *ticker;
  log_t *log;
  weft_transport_t *transport;
  weft_future_t *lost;
} recorder_t;

static void made(weft_transport_t *t, void *arg) {
  ((recorder_t *)arg)->transport = t;
}

static int eof(weft_transport_t *t, void *arg) {
  (void)t;
  recorder_t *r = arg;
  log_add(r->log, r->name, "eof", r->ticker->n, 0);
  return 0;
}

static void lost(weft_transport_t *t, int error, void *arg) {
  (void)t;
  recorder_t *r = arg;
  log_add(r->log, r->name, "lost", r->ticker->n, error);
  weft_future_set_result(r->lost, weft_value_none());
}

static void data(weft_transport_t *t, const char *d, size_t n, void *arg) {
  (void)t, (void)d, (void)n, (void)arg;
}

static const weft_protocol_t stream_protocol = {.size = sizeof(weft_protocol_t),
                                                .connection_made = made,
                                                .data_received = data,
                                                .eof_received = eof,
                                                .connection_lost = lost};

static void datagram(weft_transport_t *t, const char *d, size_t n, const struct sockaddr *addr,
                     void *arg) {
  (void)t, (void)d, (void)n, (void)addr, (void)arg;
}

static const weft_protocol_t datagram_protocol = {.size = sizeof(weft_protocol_t),
                                                  .connection_made = made,
                                                  .datagram_received = datagram,
                                                  .connection_lost = lost};

static int recorder_init(recorder_t *r, const char *name, ticker_t *ticker, log_t *log) {
  *r = (recorder_t){.name = name, .ticker = ticker, .log = log};
  return weft_future_new(ticker->loop, &r->lost);
}

/* Awaits the future and releases it: 0 or its error. */
static int await_release(weft_future_t *f) {
  int rc = weft_await(f);
  weft_future_release(f);
  return rc;
}

/* A connected socket pair, ours a transport to `r`; *peer the other end. */
static int pair(recorder_t *r, const char *name, ticker_t *ticker, log_t *log, int *peer) {
  int sv[2];
  int rc = recorder_init(r, name, ticker, log);
  if (rc < 0)
    return rc;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
    return WEFT_EIO;
  weft_future_t *f;
  if ((rc = weft_connect_accepted_fd(ticker->loop, &stream_protocol, r, sv[0], NULL, &f)) < 0) {
    close(sv[0]);
    close(sv[1]);
    return rc;
  }
  *peer = sv[1];
  return await_release(f);
}

typedef struct {
  ticker_t *ticker;
  log_t *log;
  const char *what;
} mark_t;

static void mark(void *arg) {
  mark_t *m = arg;
  log_add(m->log, "marker", m->what, m->ticker->n, 0);
}

static void show(const char *which, const log_t *log, int base) {
  for (int i = 0; i < log->len; i++) {
    const entry_t *e = &log->entries[i];
    casetrace_emit("%s %s %s %d %s", which, e->name, e->event, e->n - base,
                   e->error ? casetrace_err(e->error) : "none");
  }
}

/* By name, then event, as case.py's sorted(). */
static int by_name(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->event, y->event);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  static ticker_t ticker; /* its last tick runs after this task has returned */
  ticker = (ticker_t){loop, 0, 1};
  weft_call_soon(loop, tick, &ticker, NULL);
  int rc;

  /* close() and abort(), each with a callback scheduled after it. */
  log_t log = {.len = 0};
  recorder_t x, y;
  int px, py;
  if ((rc = pair(&x, "x", &ticker, &log, &px)) < 0 || (rc = pair(&y, "y", &ticker, &log, &py)) < 0)
    return rc;
  int base = ticker.n;
  mark_t after_close = {&ticker, &log, "after-close"}, after_abort = {&ticker, &log, "after-abort"};
  weft_transport_close(x.transport);
  weft_call_soon(loop, mark, &after_close, NULL);
  weft_transport_abort(y.transport);
  weft_call_soon(loop, mark, &after_abort, NULL);
  if ((rc = await_release(x.lost)) < 0 || (rc = await_release(y.lost)) < 0)
    return rc;
  show("close-abort", &log, base);
  close(px);
  close(py);

  /* The peer's end of stream; eof_received returns 0, which closes. */
  log.len = 0;
  recorder_t e;
  int pe;
  if ((rc = pair(&e, "e", &ticker, &log, &pe)) < 0)
    return rc;
  close(pe);
  if ((rc = await_release(e.lost)) < 0)
    return rc;
  show("eof", &log, log.entries[0].n);

  /* A reset found by reading (the peer closed with our byte unread), beside a companion's
   * end of stream found by the same poll. */
  log.len = 0;
  recorder_t r, c;
  int pr, pc;
  if ((rc = pair(&r, "r", &ticker, &log, &pr)) < 0 || (rc = pair(&c, "c", &ticker, &log, &pc)) < 0)
    return rc;
  weft_transport_write(r.transport, "x", 1);
  close(pr);
  close(pc);
  if ((rc = await_release(r.lost)) < 0 || (rc = await_release(c.lost)) < 0)
    return rc;
  int eof_at = 0;
  for (int i = 0; i < log.len; i++)
    if (strcmp(log.entries[i].event, "eof") == 0)
      eof_at = log.entries[i].n;
  qsort(log.entries, (size_t)log.len, sizeof log.entries[0], by_name);
  show("read-error", &log, eof_at);

  /* A write that fails in write() itself: reading is paused, so the peer's end is unseen. */
  log.len = 0;
  recorder_t w;
  int pw;
  if ((rc = pair(&w, "w", &ticker, &log, &pw)) < 0)
    return rc;
  weft_transport_pause_reading(w.transport);
  close(pw);
  base = ticker.n;
  mark_t after_write = {&ticker, &log, "after-write"};
  weft_transport_write(w.transport, "x", 1);
  weft_call_soon(loop, mark, &after_write, NULL);
  if ((rc = await_release(w.lost)) < 0)
    return rc;
  show("write-error", &log, base);

  /* A datagram endpoint's close(). */
  log.len = 0;
  recorder_t u;
  if ((rc = recorder_init(&u, "u", &ticker, &log)) < 0)
    return rc;
  weft_datagram_options_t options;
  weft_datagram_options_init(&options);
  options.local_host = "127.0.0.1";
  weft_future_t *f;
  if ((rc = weft_create_datagram_endpoint(loop, &datagram_protocol, &u, &options, &f)) < 0 ||
      (rc = await_release(f)) < 0)
    return rc;
  base = ticker.n;
  weft_transport_close(u.transport);
  weft_call_soon(loop, mark, &after_close, NULL);
  if ((rc = await_release(u.lost)) < 0)
    return rc;
  show("udp-close", &log, base);

  ticker.running = 0;
  return 0;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
