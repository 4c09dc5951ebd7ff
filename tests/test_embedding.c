/* The embedding rule (weft.h, "Where callbacks run"): code registered by a user or a
 * binding only ever runs on the loop's stack. Each kind of registered code is triggered
 * from inside a stackful task; every call records whether it ran on a task's stack (by the
 * address of one of its locals, against the stacks of the tasks that ran) and in which
 * order, which must be the order the calls would have run in place. */
#include "weft_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "net.h"
#include "tls_testcerts.h"

/* ---- Where a call ran ----------------------------------------------------------------- */

#define MAX_MARKS 8
#define MAX_CALLS 64

/* An address on each task's stack; a task stack is 256 KiB, so any local within that of a
 * mark is on that task's stack. The loop's stack (the main thread's) is far away. */
static const char *marks[MAX_MARKS];
static int nmarks;

static struct {
  const char *what;
  int on_task_stack;
} calls[MAX_CALLS];
static int ncalls;

static void mark_task_stack(const char *local) {
  ASSERT_TRUE(nmarks < MAX_MARKS);
  marks[nmarks++] = local;
}

static int on_a_task_stack(const char *local) {
  for (int i = 0; i < nmarks; i++) {
    ptrdiff_t d = local - marks[i];
    if (d > -(ptrdiff_t)(512 * 1024) && d < (ptrdiff_t)(512 * 1024))
      return 1;
  }
  return 0;
}

static void record(const char *what) {
  char local = 0;
  ASSERT_TRUE(ncalls < MAX_CALLS);
  calls[ncalls].what = what;
  calls[ncalls].on_task_stack = on_a_task_stack(&local) || weft__task_stack_loop() != NULL;
  ncalls++;
}

static void reset_calls(void) {
  ncalls = 0;
  nmarks = 0;
}

/* Every recorded call ran on the loop's stack, in exactly this order. */
static void expect_calls(const char *const *expected, int n) {
  for (int i = 0; i < ncalls && i < n; i++) {
    if (strcmp(calls[i].what, expected[i]) != 0)
      WEFT_FAIL_AT("call %d: %s, expected %s", i, calls[i].what, expected[i]);
    if (calls[i].on_task_stack)
      WEFT_FAIL_AT("%s ran on a task's stack", calls[i].what);
  }
  ASSERT_EQ(ncalls, n);
}

/* ---- Registered code of every kind ---------------------------------------------------- */

static void value_free(void *p) {
  record(p);
}

static void payload_free(void *p) {
  record(p);
}

static void arg_free(void *p) {
  record(p);
}

static void on_exception(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop, (void)arg;
  /* The context was copied: its strings are still readable here. */
  ASSERT_TRUE(ctx->message != NULL);
  if (strstr(ctx->message, "never retrieved") != NULL) {
    ASSERT_CODE(ctx->error, WEFT_EIO);
    ASSERT_STREQ(ctx->error_message, "lost");
    record("exception handler: never retrieved");
  } else {
    ASSERT_STREQ(ctx->message, "reported from a task");
    ASSERT_STREQ(ctx->error_message, "details");
    ASSERT_TRUE(ctx->future != NULL && weft_future_done(ctx->future));
    record("exception handler: reported");
  }
}

static void on_log(weft_loop_t *loop, int level, const char *text, void *arg) {
  (void)loop, (void)level, (void)arg;
  ASSERT_TRUE(strstr(text, "logged from a task") != NULL);
  record("log handler");
}

static void done_cb(weft_future_t *f, void *arg) {
  (void)f;
  record(arg);
}

static void step_fn(weft_task_t *self, int code, void *arg) {
  (void)code, (void)arg;
  record("eager step");
  weft_task_return(self, weft_value_none());
}

/* A transport implemented by "the binding": its write buffer only grows. */
static size_t buffered;

static int t_write(void *impl, const void *const *bufs, const size_t *lens, size_t count) {
  (void)impl, (void)bufs;
  for (size_t i = 0; i < count; i++)
    buffered += lens[i];
  return 0;
}

static size_t t_buffer_size(void *impl) {
  (void)impl;
  return buffered;
}

static int t_close(void *impl) {
  (void)impl;
  return 0;
}

static void p_made(weft_transport_t *t, void *arg) {
  (void)t, (void)arg;
  record("connection_made");
}

static void p_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t, (void)arg;
  ASSERT_EQ(len, 5);
  ASSERT_TRUE(memcmp(data, "hello", 5) == 0); /* a copy: the task's buffer is gone */
  record("data_received");
}

static int p_eof(weft_transport_t *t, void *arg) {
  (void)t, (void)arg;
  record("eof_received");
  return 1;
}

static void p_pause(weft_transport_t *t, void *arg) {
  (void)t, (void)arg;
  record("pause_writing");
}

static void p_resume(weft_transport_t *t, void *arg) {
  (void)t, (void)arg;
  record("resume_writing");
}

static void p_lost(weft_transport_t *t, int error, void *arg) {
  (void)t, (void)arg;
  ASSERT_CODE(error, WEFT_ECONNRESET);
  record("connection_lost");
}

static const weft_protocol_t protocol = {
    .size = sizeof(weft_protocol_t),
    .connection_made = p_made,
    .data_received = p_data,
    .eof_received = p_eof,
    .connection_lost = p_lost,
    .pause_writing = p_pause,
    .resume_writing = p_resume,
};

static int work(void *arg, weft_value_t *result) {
  (void)arg, (void)result;
  return 0;
}

/* ---- Triggering each from a task ------------------------------------------------------ */

static weft_executor_t *closed_executor;

/* Triggers every kind of registered call, in a fixed order. Returns how many calls it made
 * happen and the order they must come in. */
static const char *const trigger_order[] = {
    "value destructor",
    "exception handler: never retrieved",
    "payload destructor (released future)",
    "pointer result destructor",
    "payload destructor (refused set_error)",
    "exception handler: reported",
    "log handler",
    "eager step",
    "connection_made",
    "data_received",
    "pause_writing",
    "resume_writing",
    "eof_received",
    "connection_lost",
    "executor arg destructor",
    "task payload destructor (replaced)",
    "done callback",
};
#define NTRIGGERS ((int)(sizeof trigger_order / sizeof trigger_order[0]))

static void trigger_all(weft_loop_t *loop, weft_task_t *self, weft_future_t **done_out) {
  /* A value's destructor. */
  weft_value_t v = weft_value_pointer("value destructor", value_free);
  weft_value_clear(&v);

  /* A failed future nobody looked at: the exception handler, then its payload. */
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_set_error(f, WEFT_EIO, "lost", "payload destructor (released future)",
                                  payload_free));
  weft_future_release(f);

  /* A future whose result owns a pointer. */
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_set_result(f, weft_value_pointer("pointer result destructor", value_free)));
  weft_future_release(f);

  /* A refused call hands its payload back to the destructor at once. */
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_CODE(
      weft_future_set_error(f, 1, NULL, "payload destructor (refused set_error)", payload_free),
      WEFT_EINVAL);

  /* A report made directly, with strings that are gone once this returns. */
  char message[] = "reported from a task";
  char details[] = "details";
  weft_future_cancel(f, NULL);
  weft_error_context_t ctx = {
      .size = sizeof ctx, .message = message, .error_message = details, .future = f};
  weft_loop_call_exception_handler(loop, &ctx);
  memset(message, 'x', sizeof message - 1);
  memset(details, 'x', sizeof details - 1);
  weft_future_release(f);

  /* The log handler, through the default exception handler. */
  weft_exception_handler_fn saved;
  void *saved_arg;
  saved = weft_loop_get_exception_handler(loop, &saved_arg);
  ASSERT_OK(weft_loop_set_exception_handler(loop, NULL, NULL, NULL));
  weft_error_context_t log_ctx = {.size = sizeof log_ctx, .message = "logged from a task"};
  weft_loop_call_exception_handler(loop, &log_ctx);
  ASSERT_OK(weft_loop_set_exception_handler(loop, saved, saved_arg, NULL));

  /* An eager step-driven task started from here: its step function. */
  weft_task_options_t options;
  weft_task_options_init(&options);
  options.eager_start = 1;
  weft_task_t *stepped;
  ASSERT_OK(weft_task_new_stepped(loop, step_fn, NULL, NULL, &options, &stepped));
  ASSERT_TRUE(!weft_future_done(weft_task_future(stepped))); /* not yet: deferred */
  weft_task_release(stepped);

  /* A binding's transport and the user's protocol: every event raised from here. */
  weft_transport_ops_t ops = {.size = sizeof ops,
                              .write = t_write,
                              .get_write_buffer_size = t_buffer_size,
                              .close = t_close};
  weft_transport_t *t;
  buffered = 0;
  ASSERT_OK(weft_transport_new(loop, &ops, NULL, &protocol, NULL, &t));
  ASSERT_OK(weft_transport_set_write_buffer_limits(t, 4, 0));
  weft_transport_emit_connection_made(t);
  char data[] = "hello";
  weft_transport_emit_data(t, data, 5);
  memset(data, 0, sizeof data);
  ASSERT_OK(weft_transport_write(t, "more than four", 14)); /* pause_writing */
  buffered = 0;
  weft_transport_update_write_flow(t);      /* resume_writing */
  ASSERT_EQ(weft_transport_emit_eof(t), 1); /* put off: the transport stays open */
  weft_transport_emit_connection_lost(t, WEFT_ECONNRESET);
  weft_transport_release(t);

  /* The executor hands arg back on a refused submission. */
  weft_future_t *work_future = NULL;
  ASSERT_CODE(weft_run_in_executor_ex(loop, closed_executor, work, "executor arg destructor",
                                      arg_free, &work_future),
              WEFT_ECLOSED);

  /* A stackful task's error replaced by another: the first payload goes. */
  weft_task_fail(self, WEFT_EIO, NULL, "task payload destructor (replaced)", payload_free);
  weft_task_fail(self, WEFT_EIO, NULL, NULL, NULL);

  /* A done callback (always queued; here for completeness). */
  ASSERT_OK(weft_future_new(loop, &f));
  ASSERT_OK(weft_future_add_done_callback(f, done_cb, "done callback"));
  ASSERT_OK(weft_future_set_result(f, weft_value_none()));
  *done_out = f;
}

static int trigger_body(weft_task_t *self, void *arg) {
  (void)arg;
  char local = 0;
  mark_task_stack(&local);
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  weft_future_t *done;
  trigger_all(loop, self, &done);
  /* Nothing ran on this stack: every call waits for the loop's. */
  ASSERT_EQ(ncalls, 0);
  ASSERT_OK(weft_sleep_await(loop, 0)); /* one trip through the loop */
  ASSERT_TRUE(weft_future_done(done));
  weft_future_release(done);
  /* Back after one trip through the loop: all of them ran, in order, before this. */
  expect_calls(trigger_order, NTRIGGERS);
  return 0;
}

static void setup(weft_loop_t **loop) {
  reset_calls();
  ASSERT_OK(weft_loop_new(loop));
  ASSERT_OK(weft_loop_set_exception_handler(*loop, on_exception, NULL, NULL));
  ASSERT_OK(weft_loop_set_log_handler(*loop, on_log, NULL, NULL));
  ASSERT_OK(weft_executor_new(1, &closed_executor));
  ASSERT_OK(weft_executor_shutdown(closed_executor, 1, 0));
}

static void teardown(weft_loop_t *loop) {
  weft_executor_release(closed_executor);
  closed_executor = NULL;
  ASSERT_OK(weft_loop_close(loop));
  weft_loop_release(loop);
}

WEFT_TEST(every_kind_deferred_from_a_task_in_order) {
  weft_loop_t *loop;
  setup(&loop);
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, trigger_body, NULL, NULL, &t));
  ASSERT_CODE(weft_loop_run_until_complete(loop, weft_task_future(t)), WEFT_EIO);
  weft_task_release(t);
  teardown(loop);
}

/* A step-driven task is on the loop's stack: there, each call happens at once. */
static void reference_step(weft_task_t *self, int code, void *arg) {
  (void)code, (void)arg;
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  int before = ncalls;
  weft_value_t v = weft_value_pointer("value destructor", value_free);
  weft_value_clear(&v);
  ASSERT_EQ(ncalls, before + 1); /* at once */
  (void)loop;
  weft_task_return(self, weft_value_none());
}

WEFT_TEST(on_the_loop_stack_calls_run_in_place) {
  weft_loop_t *loop;
  setup(&loop);
  weft_task_t *t;
  ASSERT_OK(weft_task_new_stepped(loop, reference_step, NULL, NULL, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  const char *const expected[] = {"value destructor"};
  expect_calls(expected, 1);
  teardown(loop);
}

/* ---- Nesting: a task started eagerly from a task -------------------------------------- */

static int inner_body(weft_task_t *self, void *arg) {
  (void)self, (void)arg;
  char local = 0;
  mark_task_stack(&local);
  weft_value_t v = weft_value_pointer("inner, before its await", value_free);
  weft_value_clear(&v);
  ASSERT_OK(weft_sleep_await(weft_future_loop(weft_task_future(self)), 0));
  v = weft_value_pointer("inner, after its await", value_free);
  weft_value_clear(&v);
  return 0;
}

static int outer_body(weft_task_t *self, void *arg) {
  (void)arg;
  char local = 0;
  mark_task_stack(&local);
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));
  weft_value_t v = weft_value_pointer("outer, first", value_free);
  weft_value_clear(&v);
  /* Eager: the inner task runs on its own stack up to its await, inside this call; what it
   * defers waits for the loop's stack, not this task's. */
  weft_task_options_t options;
  weft_task_options_init(&options);
  options.eager_start = 1;
  weft_task_t *inner;
  ASSERT_OK(weft_task_spawn(loop, inner_body, NULL, &options, &inner));
  v = weft_value_pointer("outer, after the eager start", value_free);
  weft_value_clear(&v);
  ASSERT_EQ(ncalls, 0);
  ASSERT_OK(weft_await(weft_task_future(inner)));
  weft_task_release(inner);
  return 0;
}

WEFT_TEST(nested_eager_task_defers_to_the_loop_stack_in_order) {
  weft_loop_t *loop;
  setup(&loop);
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, outer_body, NULL, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  const char *const expected[] = {"outer, first", "inner, before its await",
                                  "outer, after the eager start", "inner, after its await"};
  expect_calls(expected, 4);
  teardown(loop);
}

/* ---- Kinds only the loop calls, set in motion from a task ------------------------------ */

/* A server's factory and its argument's destructor, the protocols of both ends of a real
 * connection, a signal handler and a reader callback: each is started from inside a task
 * and must run on the loop's stack. */

static int loop_events; /* calls seen by the loop-driven callbacks */

static void counted(const char *what) {
  record(what);
  loop_events++;
}

static void s_made(weft_transport_t *t, void *arg) {
  (void)t, (void)arg;
  counted("server connection_made");
}

static void s_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)arg, (void)data;
  counted("server data_received");
  weft_transport_write(t, "pong", 4);
  (void)len;
}

static void s_lost(weft_transport_t *t, int error, void *arg) {
  (void)t, (void)error, (void)arg;
  counted("server connection_lost");
}

static int factory(void *arg, weft_protocol_t *out, void **arg_out) {
  (void)arg;
  counted("server factory");
  out->connection_made = s_made;
  out->data_received = s_data;
  out->connection_lost = s_lost;
  *arg_out = NULL;
  return 0;
}

static int client_got_reply;

static void c_made(weft_transport_t *t, void *arg) {
  (void)t, (void)arg;
  counted("client connection_made");
}

static void c_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t, (void)data, (void)len, (void)arg;
  counted("client data_received");
  client_got_reply = 1;
}

static void c_lost(weft_transport_t *t, int error, void *arg) {
  (void)t, (void)error, (void)arg;
  counted("client connection_lost");
}

static void on_signal(void *arg) {
  (void)arg;
  counted("signal handler");
}

static int reader_fired;

static void on_readable(void *arg) {
  int fd = *(int *)arg;
  char byte;
  ASSERT_EQ(read(fd, &byte, 1), 1);
  counted("reader callback");
  reader_fired = 1;
}

/* Waits, a loop iteration at a time and boundedly, until *flag is set. */
static void await_flag(weft_loop_t *loop, const int *flag) {
  for (int i = 0; i < 5000 && !*flag; i++)
    ASSERT_OK(weft_sleep_await(loop, 0.001));
  ASSERT_TRUE(*flag);
}

static int sni_cb(const char *server_name, weft_tls_context_t **use, void *arg) {
  (void)use, (void)arg;
  ASSERT_STREQ(server_name, "localhost");
  counted("SNI callback");
  return 0;
}

static int tls_factory_ran;

static int tls_factory(void *arg, weft_protocol_t *out, void **arg_out) {
  (void)arg;
  counted("TLS server factory");
  tls_factory_ran = 1;
  out->connection_made = s_made;
  *arg_out = NULL;
  return 0;
}

/* A TLS server with an SNI callback, and a TLS connection to it made from the task. */
static void tls_from_task(weft_loop_t *loop) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *sctx, *cctx;
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_SERVER, &sctx));
  ASSERT_OK(weft_tls_context_load_cert_chain_pem(sctx, certs->server.cert_pem,
                                                 certs->server.cert_len, certs->server.key_pem,
                                                 certs->server.key_len, NULL));
  ASSERT_OK(weft_tls_context_set_sni_callback(sctx, sni_cb, NULL, NULL));
  ASSERT_OK(weft_tls_context_new(WEFT_TLS_CLIENT, &cctx));
  ASSERT_OK(weft_tls_context_load_verify_pem(cctx, certs->ca.cert_pem, certs->ca.cert_len));
  weft_tls_options_t stls;
  weft_tls_options_init(&stls);
  stls.context = sctx;
  weft_server_options_t so;
  weft_server_options_init(&so);
  so.tls = &stls;
  weft_future_t *f;
  ASSERT_OK(weft_create_server(loop, tls_factory, NULL, NULL, "127.0.0.1", 0, &so, &f));
  ASSERT_OK(weft_await(f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  weft_server_t *server = weft_server_retain(v->ptr);
  weft_future_release(f);

  weft_tls_options_t ctls;
  weft_tls_options_init(&ctls);
  ctls.context = cctx;
  ctls.server_hostname = "localhost";
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.tls = &ctls;
  weft_protocol_t client = {.size = sizeof client, .connection_made = c_made};
  ASSERT_OK(
      weft_create_connection(loop, &client, NULL, "127.0.0.1", weft_server_port(server), &co, &f));
  ASSERT_OK(weft_await(f));
  ASSERT_OK(weft_future_result(f, &v));
  weft_transport_t *t = weft_transport_retain(v->ptr);
  weft_future_release(f);
  /* The server's side completes its handshake on its own: a server closed before that
   * never calls its factory. */
  await_flag(loop, &tls_factory_ran);
  ASSERT_OK(weft_transport_abort(t));
  weft_transport_release(t);
  ASSERT_OK(weft_server_close(server));
  ASSERT_OK(weft_server_wait_closed(server, &f));
  ASSERT_OK(weft_await(f));
  weft_future_release(f);
  weft_server_release(server);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
}

static int loop_driven_body(weft_task_t *self, void *arg) {
  (void)arg;
  char local = 0;
  mark_task_stack(&local);
  weft_loop_t *loop = weft_future_loop(weft_task_future(self));

  /* A server whose factory argument has a destructor, and a connection to it. */
  char path[64];
  int n = snprintf(path, sizeof path, "%cweft-embedding-%d", 0, (int)getpid());
  weft_future_t *creating;
  ASSERT_OK(weft_create_unix_server(loop, factory, "factory arg", arg_free, path, (size_t)n, NULL,
                                    &creating));
  ASSERT_OK(weft_await(creating));
  const weft_value_t *made;
  ASSERT_OK(weft_future_result(creating, &made));
  weft_server_t *server = weft_server_retain(weft_value_object(made, WEFT_VALUE_SERVER));
  weft_future_release(creating);
  weft_protocol_t client = {.size = sizeof client,
                            .connection_made = c_made,
                            .data_received = c_data,
                            .connection_lost = c_lost};
  weft_future_t *connecting;
  ASSERT_OK(weft_create_unix_connection(loop, &client, NULL, path, (size_t)n, NULL, &connecting));
  ASSERT_OK(weft_await(connecting));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(connecting, &v));
  weft_transport_t *t = weft_transport_retain(v->ptr);
  weft_future_release(connecting);
  ASSERT_OK(weft_transport_write(t, "ping", 4));
  await_flag(loop, &client_got_reply);
  ASSERT_OK(weft_transport_close(t));
  weft_transport_release(t);
  ASSERT_OK(weft_server_close(server));
  weft_server_release(server); /* the factory argument's destructor: deferred */

  /* A signal raised by the task. */
  static int signalled;
  ASSERT_OK(weft_add_signal_handler(loop, SIGUSR1, on_signal, NULL, NULL));
  int before = loop_events;
  raise(SIGUSR1);
  for (int i = 0; i < 5000 && loop_events == before; i++)
    ASSERT_OK(weft_sleep_await(loop, 0.001));
  signalled = loop_events > before;
  ASSERT_TRUE(signalled);
  ASSERT_EQ(weft_remove_signal_handler(loop, SIGUSR1), 1);

  /* A descriptor the task makes readable. */
  int fds[2];
  ASSERT_OK(pipe(fds));
  ASSERT_OK(weft_add_reader(loop, fds[0], on_readable, &fds[0], NULL));
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  await_flag(loop, &reader_fired);
  weft_remove_reader(loop, fds[0]);
  close(fds[0]);
  close(fds[1]);
  tls_from_task(loop);

  /* Let the closed connections' connection_lost calls arrive. */
  for (int i = 0; i < 20; i++)
    ASSERT_OK(weft_sleep_await(loop, 0.001));
  return 0;
}

WEFT_TEST(loop_driven_kinds_started_from_a_task_run_on_the_loop_stack) {
  weft_loop_t *loop;
  setup(&loop);
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, loop_driven_body, NULL, NULL, &t));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(t)));
  weft_task_release(t);
  const char *const kinds[] = {"server factory",         "server connection_made",
                               "client connection_made", "server data_received",
                               "client data_received",   "factory arg",
                               "signal handler",         "reader callback",
                               "SNI callback",           "TLS server factory"};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    int seen = 0;
    for (int i = 0; i < ncalls; i++)
      seen |= strcmp(calls[i].what, kinds[k]) == 0;
    if (!seen)
      WEFT_FAIL_AT("%s never ran", kinds[k]);
  }
  for (int i = 0; i < ncalls; i++)
    if (calls[i].on_task_stack)
      WEFT_FAIL_AT("%s ran on a task's stack", calls[i].what);
  teardown(loop);
}

/* ---- The debug assertion ---------------------------------------------------------------- */

#ifndef NDEBUG
static int asserting_body(weft_task_t *self, void *arg) {
  (void)self, (void)arg;
  weft__assert_loop_stack("a test's registered code");
  return 0;
}
#endif

WEFT_TEST(debug_assertion_aborts_on_a_task_stack) {
#ifdef NDEBUG
  fprintf(stderr, "skipped: the assertion exists in debug builds only\n");
#else
  weft__assert_loop_stack("on the loop's stack: passes");
  fflush(NULL);
  pid_t pid = fork();
  ASSERT_TRUE(pid >= 0);
  if (pid == 0) {
    /* The child's complaint is expected: keep it out of the test's output. */
    FILE *devnull = freopen("/dev/null", "w", stderr);
    (void)devnull;
    weft_loop_t *loop;
    if (weft_loop_new(&loop) != 0)
      _exit(3);
    weft_task_t *t;
    if (weft_task_spawn(loop, asserting_body, NULL, NULL, &t) != 0)
      _exit(3);
    weft_loop_run_until_complete(loop, weft_task_future(t));
    _exit(0); /* not reached: the assertion aborts */
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(WTERMSIG(status), SIGABRT);
#endif
}

/* ---- Posts from another thread: one wake-up for many ------------------------------------ */

#define NPOSTS 10000

static struct {
  weft_loop_t *loop;
  uv_sem_t posted;    /* the poster is done */
  uint64_t iteration; /* libuv iterations of the loop, counted by a prepare handle */
  uint64_t first_iteration, last_iteration;
  int ran;
  uv_thread_t poster;
} tp;

static void count_iteration(uv_prepare_t *p) {
  (void)p;
  tp.iteration++;
}

static void posted_cb(void *arg) {
  (void)arg;
  if (tp.ran == 0)
    tp.first_iteration = tp.iteration;
  tp.last_iteration = tp.iteration;
  if (++tp.ran == NPOSTS)
    weft_loop_stop(tp.loop);
}

static void poster(void *arg) {
  (void)arg;
  for (int i = 0; i < NPOSTS; i++)
    ASSERT_OK(weft_call_soon_threadsafe(tp.loop, posted_cb, NULL));
  uv_sem_post(&tp.posted);
}

/* Keeps the loop busy until every post is made, as a loop running Python or Go code is.
 * The poster starts from here, so that no post can reach an iteration before this one
 * (however the threads are scheduled: valgrind runs one at a time). */
static void busy(void *arg) {
  (void)arg;
  ASSERT_OK(uv_thread_create(&tp.poster, poster, NULL));
  uv_sem_wait(&tp.posted);
}

WEFT_TEST(threadsafe_posts_made_while_busy_cost_one_wakeup) {
  memset(&tp, 0, sizeof tp);
  ASSERT_OK(weft_loop_new(&tp.loop));
  ASSERT_OK(uv_sem_init(&tp.posted, 0));
  uv_prepare_t prepare;
  uv_prepare_init(weft_loop_uv(tp.loop), &prepare);
  uv_prepare_start(&prepare, count_iteration);
  uv_unref((uv_handle_t *)&prepare);
  ASSERT_OK(weft_call_soon(tp.loop, busy, NULL, NULL));
  ASSERT_OK(weft_loop_run_forever(tp.loop));
  uv_thread_join(&tp.poster);
  ASSERT_EQ(tp.ran, NPOSTS);
  /* All ten thousand were taken in one batch and ran in one iteration. */
  ASSERT_EQ(tp.first_iteration, tp.last_iteration);
  uv_close((uv_handle_t *)&prepare, NULL);
  uv_sem_destroy(&tp.posted);
  ASSERT_OK(weft_loop_close(tp.loop));
  weft_loop_release(tp.loop);
}
