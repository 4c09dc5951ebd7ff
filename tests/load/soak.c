/* Soak: a mixed workload on one loop for a chosen time, reporting RSS, descriptors and
 * errors as it goes.
 *
 *   soak SECONDS [INTERVAL [WARMUP [RSS_BOUND_MIB]]]
 *
 * Workers, each a stackful task repeating one cycle until the time is up: TCP echo (a
 * connection, twenty round trips of 1 byte to 16 KiB checked byte for byte, a close), the
 * same over TLS, UDP echo (two endpoints, fifty datagrams), subprocesses (cat fed through
 * communicate, and a sleep that is killed), timers (call_later, half of them cancelled),
 * cancellations (sleeping tasks cancelled, wait_for and timeout expiring) and a bounded
 * queue between two tasks. Every INTERVAL seconds a line gives the elapsed time, the RSS,
 * the descriptor count, the cycles done per worker and the errors.
 *
 * It fails (exit 1) on any error, on an RSS more than RSS_BOUND_MIB above the RSS at the end
 * of the warm-up (WARMUP seconds), on more descriptors than the quiet count plus what the
 * workers can hold at once, and on a descriptor count at the end that differs from the
 * quiet count: the one measured after each cycle had run once alone, so that what the
 * first use creates for good (libuv's SIGCHLD pipe, OpenSSL's tables) is counted in. */
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tls_testcerts.h"
#include "weft.h"

enum { K_TCP, K_TLS, K_UDP, K_PROCESS, K_TIMER, K_CANCEL, K_QUEUE, K_COUNT };
static const char *const kind_names[K_COUNT] = {"tcp",   "tls",    "udp",  "process",
                                                "timer", "cancel", "queue"};

/* Descriptors the workers may hold at once beyond the quiet count: two per TCP or TLS
 * connection (both ends), two UDP endpoints, a child's three pipes. */
#define FD_SLACK 32

static weft_loop_t *loop;
static int port_tcp, port_tls;
static weft_tls_context_t *client_ctx, *server_ctx;
static int stopping;
static long cycles[K_COUNT];
static long errors;
static int active_handlers;
static int run_failed; /* growth or a descriptor left over */

static void fail_at(int kind, const char *what, int rc) {
  errors++;
  fprintf(stderr, "soak: %s: %s: %s\n", kind_names[kind], what, weft_strerror(rc));
}

#define CHECK(kind, expr)                                                                          \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_) {                                                                                     \
      fail_at(kind, #expr, rc_);                                                                   \
      goto out;                                                                                    \
    }                                                                                              \
  } while (0)

#define EXPECT(kind, cond)                                                                         \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fail_at(kind, #cond, WEFT_EINVAL);                                                           \
      goto out;                                                                                    \
    }                                                                                              \
  } while (0)

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

static int fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = -1; /* the directory's own descriptor */
  if (!d)
    return -1;
  while (readdir(d))
    n++;
  closedir(d);
  return n - 2; /* "." and ".." */
}

static unsigned next_random(unsigned *state) {
  *state ^= *state << 13;
  *state ^= *state >> 17;
  *state ^= *state << 5;
  return *state;
}

/* ---- TCP and TLS echo ------------------------------------------------------------------ */

static int echo_handler(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  active_handlers++;
  for (;;) {
    weft_value_t v = {0};
    int rc = weft_stream_read_await(r, 64 * 1024, &v);
    if (rc || v.len == 0) {
      weft_value_clear(&v);
      break;
    }
    rc = weft_stream_write(w, v.ptr, v.len);
    weft_value_clear(&v);
    if (rc || weft_stream_drain_await(w))
      break;
  }
  active_handlers--;
  return 0;
}

static int echo_cycle(int kind, unsigned *seed) {
  weft_tls_options_t tls;
  weft_tls_options_init(&tls);
  tls.context = client_ctx;
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = kind == K_TLS ? &tls : NULL;
  weft_stream_options_t so;
  weft_stream_options_init(&so);
  so.connect = &co;
  weft_stream_reader_t *r = NULL;
  weft_stream_writer_t *w = NULL;
  char *out = malloc(16384), *in = malloc(16384);
  int ok = 0;
  EXPECT(kind, out && in);
  CHECK(kind, weft_open_connection_await(loop, "127.0.0.1", kind == K_TLS ? port_tls : port_tcp,
                                         &so, &r, &w));
  for (int i = 0; i < 20; i++) {
    size_t len = 1 + next_random(seed) % 16384;
    for (size_t j = 0; j < len; j++)
      out[j] = (char)next_random(seed);
    CHECK(kind, weft_stream_write(w, out, len));
    CHECK(kind, weft_stream_drain_await(w));
    size_t got = 0;
    CHECK(kind, weft_stream_readexactly_into_await(r, in, len, &got));
    EXPECT(kind, got == len && memcmp(in, out, len) == 0);
  }
  ok = 1;
out:
  if (w) {
    weft_stream_close(w);
    int rc = weft_stream_wait_closed_await(w);
    if (ok && rc) {
      fail_at(kind, "wait_closed", rc);
      ok = 0;
    }
  }
  weft_stream_writer_release(w);
  weft_stream_reader_release(r);
  free(out);
  free(in);
  return ok ? 0 : -1;
}

static int tcp_cycle(unsigned *seed) {
  return echo_cycle(K_TCP, seed);
}

static int tls_cycle(unsigned *seed) {
  return echo_cycle(K_TLS, seed);
}

/* ---- UDP echo ----------------------------------------------------------------------------- */

static void udp_server_received(weft_transport_t *t, const char *data, size_t len,
                                const struct sockaddr *addr, void *arg) {
  if (weft_transport_sendto(t, data, len, addr))
    fail_at(K_UDP, "sendto (server)", WEFT_EINVAL);
}

typedef struct udp_client {
  weft_future_t *waiting; /* the reply's future; NULL when none is expected */
} udp_client_t;

static void udp_client_received(weft_transport_t *t, const char *data, size_t len,
                                const struct sockaddr *addr, void *arg) {
  udp_client_t *c = arg;
  weft_value_t v;
  if (!c->waiting || weft_value_bytes(&v, data, len) || weft_future_set_result(c->waiting, v)) {
    fail_at(K_UDP, "an unexpected datagram", WEFT_EINVAL);
    return;
  }
  c->waiting = NULL;
}

static int open_endpoint(const weft_protocol_t *p, void *arg, const weft_datagram_options_t *o,
                         weft_transport_t **out) {
  weft_future_t *f;
  int rc = weft_create_datagram_endpoint(loop, p, arg, o, &f);
  if (rc)
    return rc;
  rc = weft_await(f);
  const weft_value_t *v;
  if (rc == 0 && (rc = weft_future_result(f, &v)) == 0)
    *out = weft_transport_retain(weft_value_object(v, WEFT_VALUE_TRANSPORT));
  weft_future_release(f);
  return rc;
}

static int udp_cycle(unsigned *seed) {
  static const weft_protocol_t server_protocol = {.size = sizeof(weft_protocol_t),
                                                  .datagram_received = udp_server_received};
  static const weft_protocol_t client_protocol = {.size = sizeof(weft_protocol_t),
                                                  .datagram_received = udp_client_received};
  udp_client_t client = {0};
  weft_transport_t *server = NULL, *peer = NULL;
  weft_future_t *reply = NULL, *timed = NULL;
  int ok = 0;
  weft_datagram_options_t o;
  weft_datagram_options_init(&o);
  o.local_host = "127.0.0.1";
  CHECK(K_UDP, open_endpoint(&server_protocol, NULL, &o, &server));
  struct sockaddr_storage ss;
  size_t sslen = sizeof ss;
  CHECK(K_UDP, weft_transport_get_extra_info(server, WEFT_INFO_SOCKNAME, &ss, &sslen));
  weft_datagram_options_init(&o);
  o.remote_host = "127.0.0.1";
  o.remote_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  CHECK(K_UDP, open_endpoint(&client_protocol, &client, &o, &peer));
  for (int i = 0; i < 50; i++) {
    char out[512];
    size_t len = 1 + next_random(seed) % sizeof out;
    for (size_t j = 0; j < len; j++)
      out[j] = (char)next_random(seed);
    CHECK(K_UDP, weft_future_new(loop, &reply));
    client.waiting = reply;
    CHECK(K_UDP, weft_transport_sendto(peer, out, len, NULL));
    /* One datagram in flight on loopback is not dropped; the bound only keeps a lost one
     * from hanging the run. */
    CHECK(K_UDP, weft_wait_for(loop, reply, 30.0, &timed));
    CHECK(K_UDP, weft_await(timed));
    const weft_value_t *v;
    CHECK(K_UDP, weft_future_result(reply, &v));
    EXPECT(K_UDP, v->len == len && memcmp(v->ptr, out, len) == 0);
    weft_future_release(timed);
    weft_future_release(reply);
    timed = reply = NULL;
  }
  ok = 1;
out:
  client.waiting = NULL;
  weft_future_release(timed);
  weft_future_release(reply);
  if (peer)
    weft_transport_close(peer);
  if (server)
    weft_transport_close(server);
  weft_transport_release(peer);
  weft_transport_release(server);
  return ok ? 0 : -1;
}

/* ---- Subprocesses --------------------------------------------------------------------- */

static int process_cycle(unsigned *seed) {
  weft_process_t *p = NULL;
  weft_future_t *f = NULL;
  int ok = 0;
  char input[4096];
  size_t len = 1 + next_random(seed) % sizeof input;
  for (size_t i = 0; i < len; i++)
    input[i] = (char)next_random(seed);
  weft_process_options_t o;
  weft_process_options_init(&o);
  o.stdio[0].mode = WEFT_STDIO_PIPE;
  o.stdio[1].mode = WEFT_STDIO_PIPE;
  o.stdio[2].mode = WEFT_STDIO_DEVNULL;
  const char *const cat[] = {"cat", NULL};
  CHECK(K_PROCESS, weft_create_subprocess_exec(loop, cat, &o, &p));
  CHECK(K_PROCESS, weft_process_communicate(p, input, len, &f));
  CHECK(K_PROCESS, weft_await(f));
  const char *data;
  size_t got;
  int code = -1;
  CHECK(K_PROCESS, weft_process_output(p, 1, &data, &got));
  EXPECT(K_PROCESS, got == len && memcmp(data, input, len) == 0);
  CHECK(K_PROCESS, weft_process_returncode(p, &code));
  EXPECT(K_PROCESS, code == 0);
  weft_future_release(f);
  weft_process_release(p);
  f = NULL;
  p = NULL;

  /* A child that would outlive the run, killed: its wait ends with the signal. */
  weft_process_options_init(&o);
  o.stdio[0].mode = WEFT_STDIO_DEVNULL;
  const char *const sleeper[] = {"sleep", "3600", NULL};
  CHECK(K_PROCESS, weft_create_subprocess_exec(loop, sleeper, &o, &p));
  CHECK(K_PROCESS, weft_process_kill(p));
  CHECK(K_PROCESS, weft_process_wait(p, &f));
  CHECK(K_PROCESS, weft_await(f));
  CHECK(K_PROCESS, weft_process_returncode(p, &code));
  EXPECT(K_PROCESS, code == -9);
  ok = 1;
out:
  weft_future_release(f);
  if (p && !ok) {
    weft_process_kill(p);
    weft_future_t *w;
    if (weft_process_wait(p, &w) == 0) {
      weft_await(w);
      weft_future_release(w);
    }
  }
  weft_process_release(p);
  return ok ? 0 : -1;
}

/* ---- Timers --------------------------------------------------------------------------- */

#define TIMERS 200

typedef struct timer_round {
  int fired;
  int wrong; /* a cancelled timer ran */
  weft_future_t *all_fired;
} timer_round_t;

static timer_round_t *current_round;

static void timer_fired(void *arg) {
  uintptr_t index = (uintptr_t)arg;
  timer_round_t *t = current_round;
  if (index % 2)
    t->wrong++;
  if (++t->fired == TIMERS / 2)
    weft_future_set_result(t->all_fired, weft_value_none());
}

static int timer_cycle(unsigned *seed) {
  timer_round_t t = {0};
  weft_handle_t *handles[TIMERS] = {0};
  int ok = 0;
  current_round = &t;
  CHECK(K_TIMER, weft_future_new(loop, &t.all_fired));
  for (uintptr_t i = 0; i < TIMERS; i++)
    CHECK(K_TIMER, weft_call_later(loop, (double)(next_random(seed) % 20) / 1000.0, timer_fired,
                                   (void *)i, &handles[i]));
  for (int i = 1; i < TIMERS; i += 2)
    weft_handle_cancel(handles[i]);
  CHECK(K_TIMER, weft_await(t.all_fired));
  EXPECT(K_TIMER, t.wrong == 0 && t.fired == TIMERS / 2);
  ok = 1;
out:
  weft_handles_release(handles, TIMERS, 1);
  weft_future_release(t.all_fired);
  return ok ? 0 : -1;
}

/* ---- Cancellations -------------------------------------------------------------------- */

static int long_sleeper(weft_task_t *self, void *arg) {
  return weft_sleep_await(loop, 3600.0);
}

static int cancel_cycle(unsigned *seed) {
  weft_task_t *tasks[20] = {0};
  weft_future_t *sleep = NULL, *timed = NULL;
  weft_timeout_t *timeout = NULL;
  int ok = 0;
  for (int i = 0; i < 20; i++)
    CHECK(K_CANCEL, weft_task_spawn(loop, long_sleeper, NULL, NULL, &tasks[i]));
  /* Half are cancelled before they start, half while they sleep. */
  for (int i = 0; i < 10; i++)
    EXPECT(K_CANCEL, weft_task_cancel(tasks[i], NULL) == 1);
  CHECK(K_CANCEL, weft_sleep_await(loop, 0));
  for (int i = 10; i < 20; i++)
    EXPECT(K_CANCEL, weft_task_cancel(tasks[i], NULL) == 1);
  for (int i = 0; i < 20; i++) {
    EXPECT(K_CANCEL, weft_await(weft_task_future(tasks[i])) == WEFT_ECANCELLED);
    EXPECT(K_CANCEL, weft_future_cancelled(weft_task_future(tasks[i])));
  }

  CHECK(K_CANCEL, weft_sleep(loop, 3600.0, &sleep));
  CHECK(K_CANCEL, weft_wait_for(loop, sleep, (double)(next_random(seed) % 3) / 1000.0, &timed));
  EXPECT(K_CANCEL, weft_await(timed) == WEFT_ETIMEDOUT);
  EXPECT(K_CANCEL, weft_future_cancelled(sleep));

  weft_task_t *self = weft_current_task(loop);
  CHECK(K_CANCEL, weft_timeout_enter(self, 0.001, &timeout));
  int rc = weft_sleep_await(loop, 3600.0);
  rc = weft_timeout_exit(timeout, rc);
  timeout = NULL;
  EXPECT(K_CANCEL, rc == WEFT_ETIMEDOUT);
  ok = 1;
out:
  if (timeout)
    weft_timeout_exit(timeout, 0);
  for (int i = 0; i < 20; i++) {
    if (tasks[i] && !weft_future_done(weft_task_future(tasks[i]))) {
      weft_task_cancel(tasks[i], NULL);
      weft_await(weft_task_future(tasks[i]));
    }
    weft_task_release(tasks[i]);
  }
  weft_future_release(timed);
  weft_future_release(sleep);
  return ok ? 0 : -1;
}

/* ---- Queues ---------------------------------------------------------------------------- */

#define QUEUE_ITEMS 500

static int producer(weft_task_t *self, void *arg) {
  weft_queue_t *q = arg;
  for (int i = 0; i < QUEUE_ITEMS; i++) {
    int rc = weft_queue_put_await(q, weft_value_int(i));
    if (rc)
      return rc;
  }
  return weft_queue_join_await(q);
}

static int queue_cycle(unsigned *seed) {
  weft_queue_t *q = NULL;
  weft_task_t *t = NULL;
  int ok = 0;
  CHECK(K_QUEUE, weft_queue_new(loop, WEFT_QUEUE_FIFO, 1 + next_random(seed) % 16, &q));
  CHECK(K_QUEUE, weft_task_spawn(loop, producer, q, NULL, &t));
  for (int i = 0; i < QUEUE_ITEMS; i++) {
    weft_value_t v = {0};
    CHECK(K_QUEUE, weft_queue_get_await(q, &v, NULL));
    EXPECT(K_QUEUE, v.type == WEFT_VALUE_INT && v.i == i);
    CHECK(K_QUEUE, weft_queue_task_done(q));
  }
  CHECK(K_QUEUE, weft_await(weft_task_future(t)));
  EXPECT(K_QUEUE, weft_queue_empty(q));
  ok = 1;
out:
  if (t && !weft_future_done(weft_task_future(t))) {
    weft_task_cancel(t, NULL);
    weft_await(weft_task_future(t));
  }
  weft_task_release(t);
  weft_queue_release(q);
  return ok ? 0 : -1;
}

/* ---- The run -------------------------------------------------------------------------- */

typedef int (*cycle_fn)(unsigned *seed);
static const cycle_fn cycle_fns[K_COUNT] = {tcp_cycle,   tls_cycle,    udp_cycle,  process_cycle,
                                            timer_cycle, cancel_cycle, queue_cycle};

static int worker(weft_task_t *self, void *arg) {
  int kind = (int)(intptr_t)arg;
  unsigned seed = 0x9e3779b9u * (unsigned)(kind + 1);
  while (!stopping) {
    if (cycle_fns[kind](&seed))
      return 0; /* the error is counted and printed; one is enough to fail the run */
    cycles[kind]++;
  }
  return 0;
}

static double seconds_arg, interval_arg, warmup_arg;
static long rss_bound_kib;

static void report(double elapsed, long rss, int fds) {
  printf("%7.1fs rss %6ld KiB fds %3d errors %ld |", elapsed, rss, fds, errors);
  for (int k = 0; k < K_COUNT; k++)
    printf(" %s %ld", kind_names[k], cycles[k]);
  printf("\n");
  fflush(stdout);
}

/* Waits (bounded) until the server side of every connection has finished and what was
 * closed has left the descriptor table; returns the count then. */
static int settle(int expected) {
  int fds = fd_count();
  for (int i = 0; i < 1000 && (active_handlers > 0 || (expected >= 0 && fds != expected)); i++) {
    weft_sleep_await(loop, 0.005);
    fds = fd_count();
  }
  for (int i = 0; i < 10; i++) /* closes finish in the iterations after their callbacks */
    weft_sleep_await(loop, 0);
  return fd_count();
}

static int start_servers(weft_server_t **tcp, weft_server_t **tls_server) {
  weft_tls_options_t tls;
  weft_tls_options_init(&tls);
  tls.context = server_ctx;
  weft_server_options_t plain, secure;
  weft_server_options_init(&plain);
  weft_server_options_init(&secure);
  secure.tls = &tls;
  weft_server_t **out[2] = {tcp, tls_server};
  const weft_server_options_t *opts[2] = {&plain, &secure};
  for (int i = 0; i < 2; i++) {
    weft_stream_options_t so;
    weft_stream_options_init(&so);
    so.client_in_task = 1;
    so.server = opts[i];
    weft_future_t *f;
    int rc = weft_start_server(loop, echo_handler, NULL, NULL, "127.0.0.1", 0, &so, &f);
    if (rc == 0)
      rc = weft_await(f);
    const weft_value_t *v;
    if (rc == 0 && (rc = weft_future_result(f, &v)) == 0)
      *out[i] = weft_server_retain(weft_value_object(v, WEFT_VALUE_SERVER));
    weft_future_release(f);
    if (rc)
      return rc;
  }
  port_tcp = weft_server_port(*tcp);
  port_tls = weft_server_port(*tls_server);
  return 0;
}

static int run(weft_task_t *self, void *arg) {
  weft_server_t *tcp = NULL, *tls = NULL;
  weft_task_t *workers[K_COUNT] = {0};
  int failed = 0;
  int rc = start_servers(&tcp, &tls);
  if (rc) {
    fprintf(stderr, "soak: cannot start the servers: %s\n", weft_strerror(rc));
    run_failed = 1;
    return 0;
  }
  /* Each cycle once, alone, before the count everything is measured against. */
  unsigned seed = 1;
  for (int k = 0; k < K_COUNT; k++)
    if (cycle_fns[k](&seed) == 0)
      cycles[k]++;
  int quiet_fds = settle(-1);
  double start = weft_loop_time(loop);
  printf("soak: %.0f s, report every %.0f s, warm-up %.0f s, RSS bound %ld KiB; quiet: rss %ld "
         "KiB, fds %d\n",
         seconds_arg, interval_arg, warmup_arg, rss_bound_kib, rss_kib(), quiet_fds);
  for (int k = 0; k < K_COUNT && !errors; k++)
    if ((rc = weft_task_spawn(loop, worker, (void *)(intptr_t)k, NULL, &workers[k])) != 0)
      fail_at(k, "weft_task_spawn", rc);

  long rss_base = -1, rss_peak = 0;
  double elapsed = 0;
  while (elapsed < seconds_arg && !errors) {
    double wait = interval_arg < seconds_arg - elapsed ? interval_arg : seconds_arg - elapsed;
    weft_sleep_await(loop, wait);
    elapsed = weft_loop_time(loop) - start;
    long rss = rss_kib();
    int fds = fd_count();
    report(elapsed, rss, fds);
    if (fds > quiet_fds + FD_SLACK) {
      fprintf(stderr, "soak: %d descriptors, more than %d + %d\n", fds, quiet_fds, FD_SLACK);
      failed = 1;
      break;
    }
    if (elapsed < warmup_arg)
      continue;
    if (rss_base < 0) {
      rss_base = rss;
      continue;
    }
    if (rss > rss_peak)
      rss_peak = rss;
    if (rss > rss_base + rss_bound_kib) {
      fprintf(stderr, "soak: RSS grew from %ld to %ld KiB after the warm-up\n", rss_base, rss);
      failed = 1;
      break;
    }
  }
  stopping = 1;
  for (int k = 0; k < K_COUNT; k++) {
    if (!workers[k])
      continue;
    if (weft_await(weft_task_future(workers[k])) && !errors)
      fail_at(k, "worker", WEFT_EINVAL);
    weft_task_release(workers[k]);
  }
  int end_fds = settle(quiet_fds);
  long total = 0;
  for (int k = 0; k < K_COUNT; k++)
    total += cycles[k];
  report(weft_loop_time(loop) - start, rss_kib(), end_fds);
  printf("soak: %ld cycles; RSS after warm-up %ld KiB, peak after it %ld KiB; fds %d at the "
         "end, %d quiet\n",
         total, rss_base, rss_peak, end_fds, quiet_fds);
  if (end_fds != quiet_fds) {
    fprintf(stderr, "soak: %d descriptors at the end, %d before the workload\n", end_fds,
            quiet_fds);
    failed = 1;
  }
  weft_server_close(tcp);
  weft_server_close(tls);
  weft_future_t *f;
  if (weft_server_wait_closed(tcp, &f) == 0) {
    weft_await(f);
    weft_future_release(f);
  }
  if (weft_server_wait_closed(tls, &f) == 0) {
    weft_await(f);
    weft_future_release(f);
  }
  weft_server_release(tcp);
  weft_server_release(tls);
  run_failed = failed;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SECONDS [INTERVAL [WARMUP [RSS_BOUND_MIB]]]\n", argv[0]);
    return 2;
  }
  seconds_arg = atof(argv[1]);
  interval_arg = argc > 2 ? atof(argv[2]) : 5.0;
  warmup_arg = argc > 3 ? atof(argv[3]) : seconds_arg / 4;
  rss_bound_kib = (argc > 4 ? atol(argv[4]) : 8) * 1024;
  if (seconds_arg <= 0 || interval_arg <= 0)
    return 2;
  const weft_testcerts_t *certs = weft_testcerts();
  if (weft_tls_context_new(WEFT_TLS_SERVER, &server_ctx) ||
      weft_tls_context_load_cert_chain_pem(server_ctx, certs->server.cert_pem,
                                           certs->server.cert_len, certs->server.key_pem,
                                           certs->server.key_len, NULL) ||
      weft_tls_context_new(WEFT_TLS_CLIENT, &client_ctx) ||
      weft_tls_context_load_verify_pem(client_ctx, certs->ca.cert_pem, certs->ca.cert_len)) {
    fprintf(stderr, "soak: cannot set up TLS\n");
    return 1;
  }
  int rc = weft_loop_new(&loop);
  weft_task_t *main_task = NULL;
  if (rc == 0)
    rc = weft_task_spawn(loop, run, NULL, NULL, &main_task);
  if (rc == 0)
    rc = weft_loop_run_until_complete(loop, weft_task_future(main_task));
  int failed = rc != 0 || run_failed;
  if (rc)
    fprintf(stderr, "soak: %s\n", weft_strerror(rc));
  weft_task_release(main_task);
  weft_loop_release(loop);
  weft_tls_context_release(client_ctx);
  weft_tls_context_release(server_ctx);
  printf("soak: %s\n", failed || errors ? "FAILED" : "passed");
  return failed || errors ? 1 : 0;
}
