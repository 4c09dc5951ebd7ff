/* Ownership of user pointers (weft.h): every argument the core keeps comes with a
 * destructor, called exactly once when the core lets go of it, and never when the call
 * that would have kept it fails. */
#include "net_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

/* An argument that counts its destructor's calls, and any callback calls made after. */
typedef struct owned_s {
  int frees;
  int calls_after_free;
  int made, lost;
} owned_t;

static void owned_free(void *p) {
  ((owned_t *)p)->frees++;
}

static void owned_callback(void *p) {
  owned_t *o = p;
  if (o->frees)
    o->calls_after_free++;
}

/* ---- protocols ------------------------------------------------------------------------ */

static void proto_made(weft_transport_t *t, void *arg) {
  owned_t *o = arg;
  o->made++;
  if (o->frees)
    o->calls_after_free++;
}
static void proto_lost(weft_transport_t *t, int error, void *arg) {
  owned_t *o = arg;
  o->lost++;
  if (o->frees)
    o->calls_after_free++;
}

static const weft_protocol_t owned_proto = {
    .size = sizeof(weft_protocol_t),
    .connection_made = proto_made,
    .connection_lost = proto_lost,
    .arg_free = owned_free,
};

static int server_factory(void *farg, weft_protocol_t *p, void **arg) {
  owned_t *conn = farg; /* the accepted connection's protocol argument */
  *p = owned_proto;
  *arg = conn;
  return 0;
}

static weft_server_t *start_server(weft_loop_t *loop, owned_t *conn) {
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, server_factory, conn, NULL, "127.0.0.1", 0, NULL, &f));
  int rc;
  weft_server_t *s = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  return s;
}

/* A port where nothing listens: a bound socket that never calls listen() refuses. */
static int refusing_port(int *fd_out) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_TRUE(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
  socklen_t len = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  *fd_out = fd;
  return ntohs(a.sin_port);
}

WEFT_TEST(protocol_arg_freed_after_connection_lost) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t accepted = {0}, client = {0};
  weft_server_t *server = start_server(loop, &accepted);
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &owned_proto, &client, "127.0.0.1",
                                   weft_server_port(server), NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  run_until_flag(loop, &accepted.made, 5);
  ASSERT_EQ(client.made, 1);
  ASSERT_EQ(client.frees, 0);
  ASSERT_OK(weft_transport_close(t));
  run_until_flag(loop, &client.frees, 5);
  run_until_flag(loop, &accepted.frees, 5);
  ASSERT_EQ(client.lost, 1);
  ASSERT_EQ(client.frees, 1); /* right after connection_lost, the transport still held */
  ASSERT_EQ(accepted.lost, 1);
  ASSERT_EQ(accepted.frees, 1);
  weft_transport_release(t);
  weft_server_close(server);
  weft_server_release(server);
  spin(loop, 3);
  weft_test_close_loop(loop);
  ASSERT_EQ(client.frees, 1);
  ASSERT_EQ(accepted.frees, 1);
  ASSERT_EQ(client.calls_after_free + accepted.calls_after_free, 0);
}

/* One rule for a connect that never reaches connection_made: the core owned the argument
 * from the 0 return, so it lets go of it; a call that fails keeps nothing. */
WEFT_TEST(protocol_arg_of_failed_or_refused_connect) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fd;
  int port = refusing_port(&fd);
  owned_t refused = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &owned_proto, &refused, "127.0.0.1", port, NULL, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ECONNREFUSED);
  weft_future_release(f);
  spin(loop, 3);
  ASSERT_EQ(refused.made + refused.lost, 0);
  ASSERT_EQ(refused.frees, 1);

  owned_t cancelled = {0};
  ASSERT_OK(weft_create_connection(loop, &owned_proto, &cancelled, "127.0.0.1", port, NULL, &f));
  weft_future_cancel(f, NULL);
  weft_future_release(f);
  spin(loop, 5);
  ASSERT_EQ(cancelled.made + cancelled.lost, 0);
  ASSERT_EQ(cancelled.frees, 1);

  /* The same for a connect over a descriptor cancelled before it started. */
  int sp[2];
  ASSERT_TRUE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
  owned_t fd_cancelled = {0};
  ASSERT_OK(weft_create_unix_connection_fd(loop, &owned_proto, &fd_cancelled, sp[0], NULL, &f));
  weft_future_cancel(f, NULL);
  weft_future_release(f);
  spin(loop, 5);
  close(sp[1]);
  ASSERT_EQ(fd_cancelled.made + fd_cancelled.lost, 0);
  ASSERT_EQ(fd_cancelled.frees, 1);

  owned_t rejected = {0};
  f = NULL;
  ASSERT_CODE(weft_create_connection(loop, &owned_proto, &rejected, "127.0.0.1", -1, NULL, &f),
              WEFT_EINVAL);
  ASSERT_CODE(weft_create_connection_fd(loop, &owned_proto, &rejected, -1, NULL, &f), WEFT_EINVAL);
  spin(loop, 3);
  ASSERT_EQ(rejected.frees, 0);
  close(fd);
  weft_test_close_loop(loop);
}

WEFT_TEST(set_protocol_lets_go_of_a_replaced_arg) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t accepted = {0}, first = {0}, second = {0};
  weft_server_t *server = start_server(loop, &accepted);
  weft_future_t *f;
  ASSERT_OK(weft_create_connection(loop, &owned_proto, &first, "127.0.0.1",
                                   weft_server_port(server), NULL, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_OK(weft_transport_set_protocol(t, &owned_proto, &first)); /* the same: kept */
  ASSERT_EQ(first.frees, 0);
  ASSERT_OK(weft_transport_set_protocol(t, &owned_proto, &second));
  ASSERT_EQ(first.frees, 1);
  ASSERT_PTR_EQ(weft_transport_get_protocol_arg(t), &second);
  weft_transport_abort(t);
  run_until_flag(loop, &second.frees, 5);
  ASSERT_EQ(second.lost, 1);
  ASSERT_EQ(second.frees, 1);
  ASSERT_EQ(first.lost, 0);
  weft_transport_release(t);
  run_until_flag(loop, &accepted.frees, 5);
  weft_server_close(server);
  weft_server_release(server);
  spin(loop, 3);
  weft_test_close_loop(loop);
  ASSERT_EQ(first.frees + second.frees + accepted.frees, 3);
}

/* ---- servers' factory arguments -------------------------------------------------------- */

static int refusing_factory(void *farg, weft_protocol_t *p, void **arg) {
  return WEFT_ECONNREFUSED;
}

WEFT_TEST(factory_arg_freed_at_close_or_failed_creation) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t served = {0};
  weft_future_t *f;
  ASSERT_OK(
      weft_create_server(loop, refusing_factory, &served, owned_free, "127.0.0.1", 0, NULL, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(served.frees, 0);
  ASSERT_OK(weft_server_close(server));
  ASSERT_EQ(served.frees, 1);
  ASSERT_OK(weft_server_close(server)); /* twice: still once */
  weft_server_release(server);
  spin(loop, 3);
  ASSERT_EQ(served.frees, 1);

  /* A creating future that fails: the server never existed, the argument is let go. */
  int fd;
  int port = refusing_port(&fd); /* bound already, without SO_REUSEPORT */
  owned_t unbound = {0};
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.reuse_address = 0;
  ASSERT_OK(
      weft_create_server(loop, refusing_factory, &unbound, owned_free, "127.0.0.1", port, &so, &f));
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_EADDRINUSE);
  weft_future_release(f);
  spin(loop, 3);
  ASSERT_EQ(unbound.frees, 1);
  close(fd);

  /* Calls that fail keep nothing. */
  owned_t rejected = {0};
  ASSERT_CODE(
      weft_create_server(loop, refusing_factory, &rejected, owned_free, "127.0.0.1", -1, NULL, &f),
      WEFT_EINVAL);
  int bad = -1;
  ASSERT_CODE(
      weft_create_server_fds(loop, refusing_factory, &rejected, owned_free, &bad, 1, NULL, &f),
      WEFT_ENOTSOCK);
  ASSERT_EQ(rejected.frees, 0);
  weft_test_close_loop(loop);
}

/* The loop closing closes the server: its factory argument goes with it. */
WEFT_TEST(factory_arg_freed_when_the_loop_closes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t served = {0};
  weft_future_t *f;
  ASSERT_OK(
      weft_create_server(loop, refusing_factory, &served, owned_free, "127.0.0.1", 0, NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  ASSERT_EQ(served.frees, 0);
  weft_test_close_loop(loop);
  ASSERT_EQ(served.frees, 1);
}

static int fd_is_closed(int fd) {
  return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/* A connection made from a descriptor starts from the loop. A loop closed before that start
 * ran drops the call, which still owns the half-made transport, its future and the
 * protocol's argument: they go with it, and the descriptor, handed over, is closed
 * (valgrind and ASan check the memory). TCP, Unix and pipes share the path. A descriptor
 * refused after the start was scheduled (one not open) leaves the caller's argument alone. */
WEFT_TEST(loop_close_before_a_connection_from_a_descriptor_starts) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  int sp[2], pp[2];
  ASSERT_TRUE(tcp >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0 && pipe(pp) == 0);
  owned_t o[5] = {{0}};
  weft_future_t *f[4];
  ASSERT_OK(weft_create_connection_fd(loop, &owned_proto, &o[0], tcp, NULL, &f[0]));
  ASSERT_OK(weft_create_unix_connection_fd(loop, &owned_proto, &o[1], sp[0], NULL, &f[1]));
  ASSERT_OK(weft_connect_read_pipe(loop, &owned_proto, &o[2], pp[0], &f[2]));
  ASSERT_OK(weft_connect_write_pipe(loop, &owned_proto, &o[3], pp[1], &f[3]));
  weft_future_t *refused = NULL;
  int not_open = dup(sp[1]);
  close(not_open);
  ASSERT_CODE(weft_connect_read_pipe(loop, &owned_proto, &o[4], not_open, &refused), WEFT_EBADF);
  ASSERT_TRUE(refused == NULL);
  ASSERT_OK(weft_loop_close(loop));
  for (int i = 0; i < 4; i++) {
    ASSERT_TRUE(!weft_future_done(f[i]));
    weft_future_release(f[i]);
    ASSERT_EQ(o[i].frees, 1);
    ASSERT_EQ(o[i].made + o[i].lost + o[i].calls_after_free, 0);
  }
  ASSERT_EQ(o[4].frees, 0);
  ASSERT_TRUE(fd_is_closed(tcp) && fd_is_closed(sp[0]) && fd_is_closed(pp[0]) &&
              fd_is_closed(pp[1]));
  close(sp[1]);
  weft_loop_release(loop);
}

/* The same for a datagram endpoint made from a descriptor. */
WEFT_TEST(loop_close_before_a_datagram_endpoint_from_a_descriptor_starts) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_TRUE(fd >= 0);
  owned_t o = {0}, again = {0};
  weft_future_t *f, *refused = NULL;
  ASSERT_OK(weft_create_datagram_endpoint_fd(loop, &owned_proto, &o, fd, &f));
  int not_open = dup(fd);
  close(not_open);
  ASSERT_CODE(weft_create_datagram_endpoint_fd(loop, &owned_proto, &again, not_open, &refused),
              WEFT_EBADF);
  ASSERT_TRUE(refused == NULL);
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_TRUE(!weft_future_done(f));
  weft_future_release(f);
  ASSERT_EQ(o.frees, 1);
  ASSERT_EQ(o.made + o.lost + o.calls_after_free, 0);
  ASSERT_EQ(again.frees, 0);
  ASSERT_TRUE(fd_is_closed(fd));
  weft_loop_release(loop);
}

/* A datagram endpoint made from a descriptor: started, its argument goes after
 * connection_lost; cancelled before it started, at once, with the descriptor closed. */
WEFT_TEST(datagram_endpoint_from_a_descriptor_started_or_cancelled) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int started_fd = socket(AF_INET, SOCK_DGRAM, 0), cancelled_fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_TRUE(started_fd >= 0 && cancelled_fd >= 0);
  owned_t started = {0}, cancelled = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_datagram_endpoint_fd(loop, &owned_proto, &started, started_fd, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(started.made, 1);
  ASSERT_OK(weft_transport_close(t));
  weft_transport_release(t);
  spin(loop, 3);
  ASSERT_EQ(started.lost, 1);
  ASSERT_EQ(started.frees, 1);
  ASSERT_TRUE(fd_is_closed(started_fd));

  ASSERT_OK(weft_create_datagram_endpoint_fd(loop, &owned_proto, &cancelled, cancelled_fd, &f));
  weft_future_cancel(f, NULL);
  weft_future_release(f);
  spin(loop, 3);
  ASSERT_EQ(cancelled.made + cancelled.lost, 0);
  ASSERT_EQ(cancelled.frees, 1);
  ASSERT_TRUE(fd_is_closed(cancelled_fd));
  ASSERT_EQ(started.calls_after_free + cancelled.calls_after_free, 0);
  weft_test_close_loop(loop);
}

static int count_client(weft_stream_reader_t *r, weft_stream_writer_t *w, void *arg) {
  owned_t *o = arg;
  o->made++;
  if (o->frees)
    o->calls_after_free++;
  return 0;
}

WEFT_TEST(start_server_arg_freed_after_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t clients = {0};
  weft_stream_options_t so;
  weft_stream_options_init(&so);
  so.client_in_task = 1;
  weft_future_t *f;
  ASSERT_OK(weft_start_server(loop, count_client, &clients, owned_free, "127.0.0.1", 0, &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  owned_t c = {0};
  ASSERT_OK(weft_create_connection(loop, &owned_proto, &c, "127.0.0.1", weft_server_port(server),
                                   NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
  run_until_flag(loop, &clients.made, 5);
  ASSERT_OK(weft_server_close(server));
  run_until_flag(loop, &clients.frees, 5);
  ASSERT_EQ(clients.made, 1);
  ASSERT_EQ(clients.frees, 1);
  weft_server_close_clients(server);
  run_until_flag(loop, &c.frees, 5);
  weft_server_release(server);
  spin(loop, 3);
  weft_test_close_loop(loop);
  ASSERT_EQ(clients.frees, 1);
  ASSERT_EQ(clients.calls_after_free, 0);
}

/* ---- handlers, watchers, signals ------------------------------------------------------- */

static void on_exception(weft_loop_t *loop, const weft_error_context_t *c, void *arg) {}
static void on_log(weft_loop_t *loop, int level, const char *text, void *arg) {}
static void on_batch(weft_loop_t *loop, const uintptr_t *ids, size_t n, void *arg) {}

WEFT_TEST(handler_args_replaced_removed_and_freed_with_the_loop) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
  ASSERT_OK(weft_loop_set_exception_handler(loop, on_exception, &a, owned_free));
  ASSERT_OK(weft_loop_set_exception_handler(loop, on_exception, &a, owned_free)); /* same */
  ASSERT_EQ(a.frees, 0);
  ASSERT_OK(weft_loop_set_exception_handler(loop, on_exception, &b, owned_free));
  ASSERT_EQ(a.frees, 1);
  void *arg = NULL;
  ASSERT_TRUE(weft_loop_get_exception_handler(loop, &arg) == on_exception);
  ASSERT_PTR_EQ(arg, &b);
  ASSERT_OK(weft_loop_set_exception_handler(loop, NULL, &d, owned_free)); /* removes: d unkept */
  ASSERT_EQ(b.frees, 1);
  ASSERT_OK(weft_loop_set_log_handler(loop, on_log, &c, owned_free));
  ASSERT_OK(weft_loop_set_batch_handler(loop, on_batch, &e, owned_free));
  ASSERT_EQ(c.frees + e.frees, 0);
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop); /* the loop's memory goes: nothing can call the handlers */
  ASSERT_EQ(a.frees, 1);
  ASSERT_EQ(b.frees, 1);
  ASSERT_EQ(c.frees, 1);
  ASSERT_EQ(d.frees, 0);
  ASSERT_EQ(e.frees, 1);
}

WEFT_TEST(watcher_args_removed_replaced_and_at_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_TRUE(pipe(fds) == 0);
  owned_t r1 = {0}, r2 = {0}, w1 = {0}, rejected = {0};
  ASSERT_OK(weft_add_reader(loop, fds[0], owned_callback, &r1, owned_free));
  ASSERT_OK(weft_add_reader(loop, fds[0], owned_callback, &r1, owned_free)); /* same: kept */
  ASSERT_EQ(r1.frees, 0);
  ASSERT_OK(weft_add_reader(loop, fds[0], owned_callback, &r2, owned_free));
  ASSERT_EQ(r1.frees, 1);
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 1);
  ASSERT_EQ(r2.frees, 1);
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 0);
  ASSERT_CODE(weft_add_reader(loop, -1, owned_callback, &rejected, owned_free), WEFT_EINVAL);
  ASSERT_OK(weft_add_writer(loop, fds[1], owned_callback, &w1, owned_free)); /* left on */
  spin(loop, 2);
  ASSERT_EQ(w1.frees, 0);
  weft_test_close_loop(loop);
  ASSERT_EQ(w1.frees, 1);
  ASSERT_EQ(r1.frees + r2.frees, 2);
  ASSERT_EQ(rejected.frees, 0);
  ASSERT_EQ(r1.calls_after_free + r2.calls_after_free + w1.calls_after_free, 0);
  close(fds[0]);
  close(fds[1]);
}

WEFT_TEST(signal_handler_args) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t a = {0}, b = {0}, c = {0}, rejected = {0};
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR1, owned_callback, &a, owned_free));
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR1, owned_callback, &b, owned_free));
  ASSERT_EQ(a.frees, 1);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR1), 1);
  ASSERT_EQ(b.frees, 1);
  ASSERT_CODE(weft_add_signal_handler(loop, SIGKILL, owned_callback, &rejected, owned_free),
              WEFT_EINVAL);
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR2, owned_callback, &c, owned_free));
  spin(loop, 2);
  weft_test_close_loop(loop);
  ASSERT_EQ(c.frees, 1);
  ASSERT_EQ(rejected.frees, 0);
  ASSERT_EQ(a.frees + b.frees, 2);
}

/* ---- step-driven tasks ----------------------------------------------------------------- */

typedef struct stepper_s {
  owned_t owned;
  int steps;
} stepper_t;

static void two_steps(weft_task_t *task, int throw_code, void *arg) {
  stepper_t *s = arg;
  s->steps++;
  if (s->owned.frees)
    s->owned.calls_after_free++;
  if (s->steps < 2)
    weft_task_suspend(task, NULL);
  else
    weft_task_return(task, weft_value_int(7));
  if (s->owned.frees) /* the step may still use its argument after finishing the task */
    s->owned.calls_after_free++;
}

static void stepper_free(void *p) {
  ((stepper_t *)p)->owned.frees++;
}

WEFT_TEST(stepped_task_arg_freed_after_the_last_step) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  stepper_t s = {0};
  weft_task_t *task;
  ASSERT_OK(weft_task_new_stepped(loop, two_steps, &s, stepper_free, NULL, &task));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(task)));
  ASSERT_EQ(s.steps, 2);
  ASSERT_EQ(s.owned.frees, 1);
  ASSERT_EQ(s.owned.calls_after_free, 0);
  weft_task_release(task);

  /* A call that fails keeps nothing. */
  stepper_t rejected = {0};
  ASSERT_CODE(weft_task_new_stepped(loop, NULL, &rejected, stepper_free, NULL, &task), WEFT_EINVAL);
  ASSERT_EQ(rejected.owned.frees, 0);

  /* A task that never stepped: freed with the task. */
  stepper_t never = {0};
  ASSERT_OK(weft_task_new_stepped(loop, two_steps, &never, stepper_free, NULL, &task));
  weft_task_release(task);
  ASSERT_OK(weft_loop_close(loop)); /* drops the first step */
  weft_loop_release(loop);
  ASSERT_EQ(never.steps, 0);
  ASSERT_EQ(never.owned.frees, 1);
}

/* ---- TLS: SNI callbacks and a server's ssl_fn argument --------------------------------- */

static int sni_cb(const char *name, weft_tls_context_t **use, void *arg) {
  return 0;
}

WEFT_TEST(sni_arg_replaced_and_freed_with_the_context) {
  weft_tls_context_t *ctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &ctx));
  owned_t a = {0}, b = {0};
  ASSERT_OK(weft_tls_context_set_sni_callback(ctx, sni_cb, &a, owned_free));
  ASSERT_OK(weft_tls_context_set_sni_callback(ctx, sni_cb, &a, owned_free));
  ASSERT_EQ(a.frees, 0);
  ASSERT_OK(weft_tls_context_set_sni_callback(ctx, sni_cb, &b, owned_free));
  ASSERT_EQ(a.frees, 1);
  weft_tls_context_retain(ctx);
  weft_tls_context_release(ctx);
  ASSERT_EQ(b.frees, 0);
  weft_tls_context_release(ctx);
  ASSERT_EQ(b.frees, 1);
}

static int no_ssl(void *arg, int32_t server_side, weft_tls_ssl_t *out) {
  return WEFT_ENOTSUP;
}

WEFT_TEST(server_ssl_arg_freed_at_close) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  owned_t factory_arg = {0}, ssl_arg = {0};
  weft_tls_options_t tls;
  weft_tls_options_init(&tls);
  tls.ssl_fn = no_ssl;
  tls.ssl_arg = &ssl_arg;
  tls.ssl_arg_free = owned_free;
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &tls;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, refusing_factory, &factory_arg, owned_free, "127.0.0.1", 0,
                               &so, &f));
  int rc;
  weft_server_t *server = weft_server_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(factory_arg.frees + ssl_arg.frees, 0);
  ASSERT_OK(weft_server_close(server));
  ASSERT_EQ(factory_arg.frees, 1);
  ASSERT_EQ(ssl_arg.frees, 1);
  weft_server_release(server);

  /* A call that fails keeps neither. */
  owned_t f2 = {0}, s2 = {0};
  tls.ssl_arg = &s2;
  int bad = -1;
  f = NULL;
  ASSERT_CODE(weft_create_server_fds(loop, refusing_factory, &f2, owned_free, &bad, 1, &so, &f),
              WEFT_ENOTSOCK);
  spin(loop, 3);
  weft_test_close_loop(loop);
  ASSERT_EQ(f2.frees + s2.frees, 0);
  ASSERT_EQ(factory_arg.frees + ssl_arg.frees, 2);
}

/* ---- never on a stackful task's stack -------------------------------------------------- */

typedef struct placed_s {
  weft_loop_t *loop;
  int frees, on_task;
} placed_t;

static void placed_free(void *p) {
  placed_t *o = p;
  o->frees++;
  if (weft_current_task(o->loop) != NULL)
    o->on_task++;
}

static void placed_noop(void *p) {}

static int let_go_inside_a_task(weft_task_t *self, void *arg) {
  placed_t *p = arg; /* [0] reader, [1] signal, [2] handler, [3] server */
  weft_loop_t *loop = weft_test_loop_of(self);
  int fds[2];
  ASSERT_TRUE(pipe(fds) == 0);
  ASSERT_OK(weft_add_reader(loop, fds[0], placed_noop, &p[0], placed_free));
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR1, placed_noop, &p[1], placed_free));
  ASSERT_OK(weft_loop_set_exception_handler(loop, on_exception, &p[2], placed_free));
  weft_future_t *f;
  ASSERT_OK(
      weft_create_server(loop, refusing_factory, &p[3], placed_free, "127.0.0.1", 0, NULL, &f));
  ASSERT_OK(weft_await(f));
  const weft_value_t *v = NULL;
  ASSERT_OK(weft_future_result(f, &v));
  weft_server_t *server = weft_server_retain(v->ptr);
  weft_future_release(f);
  /* Each of these lets go of an argument while this task runs. */
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 1);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR1), 1);
  ASSERT_OK(weft_loop_set_exception_handler(loop, NULL, NULL, NULL));
  ASSERT_OK(weft_server_close(server));
  weft_server_release(server);
  for (int i = 0; i < 4; i++)
    if (p[i].frees)
      WEFT_FAIL_AT("argument %d freed on the task stack", i);
  ASSERT_OK(weft_sleep_await(loop, 0));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

WEFT_TEST(destructors_never_run_on_a_task_stack) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  placed_t p[4];
  for (int i = 0; i < 4; i++)
    p[i] = (placed_t){.loop = loop};
  weft_task_t *task;
  ASSERT_OK(weft_task_spawn(loop, let_go_inside_a_task, p, NULL, &task));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(task)));
  weft_task_release(task);
  spin(loop, 3);
  weft_test_close_loop(loop);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(p[i].frees, 1);
    ASSERT_EQ(p[i].on_task, 0);
  }
}

static int remove_reader_and_return(weft_task_t *self, void *arg) {
  placed_t *p = arg;
  weft_loop_t *loop = weft_test_loop_of(self);
  int fds[2];
  ASSERT_TRUE(pipe(fds) == 0);
  ASSERT_OK(weft_add_reader(loop, fds[0], placed_noop, p, placed_free));
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 1);
  close(fds[0]);
  close(fds[1]);
  return 0; /* the destructor is deferred: nothing awaited after */
}

/* A destructor deferred off a task's stack runs once, as soon as the loop's stack is back
 * (defer.c's queue), so a loop closed right after cannot drop it. */
WEFT_TEST(deferred_destructor_runs_once_back_on_the_loop_stack) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  placed_t p = {.loop = loop};
  weft_task_t *task;
  ASSERT_OK(weft_task_spawn(loop, remove_reader_and_return, &p, NULL, &task));
  /* One iteration at a time: what the task's step scheduled runs in the next one. */
  for (int i = 0; i < 100 && !weft_future_done(weft_task_future(task)); i++)
    ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_TRUE(weft_future_done(weft_task_future(task)));
  ASSERT_OK(weft_future_error(weft_task_future(task)));
  weft_task_release(task);
  /* Deferred calls run as soon as the loop's stack is back (defer.c), before any close. */
  ASSERT_EQ(p.frees, 1);
  weft_test_close_loop(loop);
  ASSERT_EQ(p.frees, 1);
  ASSERT_EQ(p.on_task, 0);
}
