/* Subprocesses: exit codes, signals, pipes in both forms, communicate with megabytes both
 * ways, stdio modes, env/cwd, sessions and groups, errors at creation, and reaping. */
#include "weft_test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void tick(weft_loop_t *loop, double seconds) {
  weft_future_t *f;
  ASSERT_OK(weft_sleep(loop, seconds, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  weft_future_release(f);
}

/* Runs until f is done (10 s at most) and returns its outcome. */
static int run(weft_loop_t *loop, weft_future_t *f) {
  weft_future_t *bounded;
  ASSERT_OK(weft_wait_for(loop, f, 10, &bounded));
  int rc = weft_loop_run_until_complete(loop, bounded);
  weft_future_release(bounded);
  return rc;
}

static int int_result(weft_future_t *f) {
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->type, WEFT_VALUE_INT);
  return (int)v->i;
}

static int wait_code(weft_loop_t *loop, weft_process_t *p) {
  weft_future_t *f;
  ASSERT_OK(weft_process_wait(p, &f));
  ASSERT_OK(run(loop, f));
  int code = int_result(f);
  weft_future_release(f);
  int again;
  ASSERT_OK(weft_process_returncode(p, &again));
  ASSERT_EQ(again, code);
  return code;
}

static void assert_no_children(void) {
  errno = 0;
  ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ(errno, ECHILD);
}

WEFT_TEST(exit_codes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *t[] = {"true", NULL}, *f[] = {"false", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_exec(loop, t, NULL, &p));
  ASSERT_TRUE(weft_process_pid(p) > 0);
  int code;
  ASSERT_CODE(weft_process_returncode(p, &code), WEFT_EINVALIDSTATE);
  ASSERT_EQ(wait_code(loop, p), 0);
  weft_process_release(p);
  ASSERT_OK(weft_create_subprocess_exec(loop, f, NULL, &p));
  ASSERT_EQ(wait_code(loop, p), 1);
  weft_process_release(p);
  ASSERT_OK(weft_create_subprocess_shell(loop, "exit 7", NULL, &p));
  ASSERT_EQ(wait_code(loop, p), 7);
  /* wait after the exit is done at once */
  weft_future_t *w;
  ASSERT_OK(weft_process_wait(p, &w));
  ASSERT_TRUE(weft_future_done(w));
  ASSERT_EQ(int_result(w), 7);
  weft_future_release(w);
  weft_process_release(p);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

WEFT_TEST(killed_by_signal) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *argv[] = {"sleep", "30", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, NULL, &p));
  ASSERT_OK(weft_process_kill(p));
  ASSERT_EQ(wait_code(loop, p), -SIGKILL);
  /* Reaped: asyncio's ProcessLookupError, whichever way the signal is sent. */
  ASSERT_CODE(weft_process_send_signal(p, SIGTERM), WEFT_ESRCH);
  ASSERT_CODE(weft_process_terminate(p), WEFT_ESRCH);
  ASSERT_CODE(weft_process_kill(p), WEFT_ESRCH);
  ASSERT_CODE(weft_process_send_signal(p, 0), WEFT_ESRCH);
  weft_process_release(p);
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, NULL, &p));
  ASSERT_OK(weft_process_terminate(p));
  ASSERT_EQ(wait_code(loop, p), -SIGTERM);
  weft_process_release(p);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

static weft_process_options_t piped(int in, int out, int err) {
  weft_process_options_t o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.stdio[0].mode = in;
  o.stdio[1].mode = out;
  o.stdio[2].mode = err;
  return o;
}

static void expect_output(weft_process_t *p, int fd, const char *expected) {
  const char *data;
  size_t len;
  ASSERT_OK(weft_process_output(p, fd, &data, &len));
  ASSERT_EQ(len, strlen(expected));
  ASSERT_TRUE(memcmp(data, expected, len) == 0);
}

WEFT_TEST(shell_communicate) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_INHERIT, WEFT_STDIO_PIPE, WEFT_STDIO_PIPE);
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_shell(loop, "echo hello; echo oops >&2; exit 3", &o, &p));
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  ASSERT_EQ(int_result(f), 3);
  weft_future_release(f);
  expect_output(p, 1, "hello\n");
  expect_output(p, 2, "oops\n");
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

/* cat echoes stdin, read line by line from a task, through Process.stdin/.stdout. */
static int cat_task(weft_task_t *self, void *arg) {
  weft_loop_t *loop = arg;
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  const char *argv[] = {"cat", NULL};
  weft_process_t *p;
  int rc = weft_create_subprocess_exec(loop, argv, &o, &p);
  if (rc)
    return rc;
  weft_stream_writer_t *in = weft_process_stdin(p);
  weft_stream_reader_t *out = weft_process_stdout(p);
  if (!in || !out || weft_process_stderr(p) || !weft_process_get_pipe_transport(p, 0) ||
      weft_process_get_pipe_transport(p, 2) ||
      weft_stream_writer_transport(in) != weft_process_get_pipe_transport(p, 0))
    rc = WEFT_EIO;
  const char *lines[] = {"first line\n", "second\n", "x\n"};
  for (int i = 0; i < 3 && rc == 0; i++) {
    if ((rc = weft_stream_write(in, lines[i], strlen(lines[i]))) != 0)
      break;
    if ((rc = weft_stream_drain_await(in)) != 0)
      break;
    weft_value_t v;
    if ((rc = weft_stream_readline_await(out, &v)) != 0)
      break;
    if (v.len != strlen(lines[i]) || memcmp(v.ptr, lines[i], v.len) != 0)
      rc = WEFT_EIO;
    weft_value_clear(&v);
  }
  if (rc == 0) {
    /* A second read while one is pending is refused. */
    weft_future_t *f, *g;
    weft_stream_write(in, "partial", 7);
    weft_stream_close(in); /* flushes, then EOF for cat */
    if (weft_stream_write(in, "late", 4) != WEFT_ECLOSED)
      rc = WEFT_EIO;
    if (weft_stream_read(out, -1, &f) == 0) {
      if (!weft_future_done(f) && weft_stream_read(out, 1, &g) != WEFT_EINVALIDSTATE)
        rc = WEFT_EIO;
      int r = weft_await(f);
      const weft_value_t *v;
      if (r != 0 || weft_future_result(f, &v) != 0 || v->len != 7 ||
          memcmp(v->ptr, "partial", 7) != 0)
        rc = WEFT_EIO;
      weft_future_release(f);
    }
    /* At EOF: empty reads. */
    weft_value_t v;
    if (weft_stream_readline_await(out, &v) != 0 || v.len != 0 || !weft_stream_at_eof(out))
      rc = WEFT_EIO;
    weft_value_clear(&v);
    weft_future_t *w;
    weft_process_wait(p, &w);
    if (weft_await(w) != 0)
      rc = WEFT_EIO;
    const weft_value_t *code;
    if (weft_future_result(w, &code) != 0 || code->i != 0)
      rc = WEFT_EIO;
    weft_future_release(w);
  }
  weft_process_release(p);
  return rc;
}

WEFT_TEST(cat_stream_lines) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_task_t *t;
  ASSERT_OK(weft_task_spawn(loop, cat_task, loop, NULL, &t));
  ASSERT_OK(run(loop, weft_task_future(t)));
  weft_task_release(t);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

WEFT_TEST(communicate_megabytes_both_ways) {
  enum { IN = 4 * 1024 * 1024, ERR = 3 * 1024 * 1024 };
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_PIPE);
  weft_process_t *p;
  /* The child fills stderr while echoing stdin to stdout: only reading both pipes while
   * writing stdin gets through. */
  ASSERT_OK(weft_create_subprocess_shell(
      loop, "head -c 3145728 /dev/zero | tr '\\0' e >&2 & cat; wait", &o, &p));
  char *input = malloc(IN);
  for (size_t i = 0; i < IN; i++)
    input[i] = (char)('a' + i % 23);
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, input, IN, &f));
  ASSERT_OK(run(loop, f));
  ASSERT_EQ(int_result(f), 0);
  weft_future_release(f);
  const char *data;
  size_t len;
  ASSERT_OK(weft_process_output(p, 1, &data, &len));
  ASSERT_EQ(len, IN);
  ASSERT_TRUE(memcmp(data, input, IN) == 0);
  ASSERT_OK(weft_process_output(p, 2, &data, &len));
  ASSERT_EQ(len, ERR);
  ASSERT_TRUE(data[0] == 'e' && data[ERR - 1] == 'e');
  free(input);
  weft_process_release(p);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

WEFT_TEST(nonexistent_program) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *a[] = {"/nonexistent/weft-program", NULL};
  const char *b[] = {"weft-no-such-program-anywhere", NULL};
  weft_process_t *p = (weft_process_t *)1;
  ASSERT_CODE(weft_create_subprocess_exec(loop, a, NULL, &p), WEFT_ENOENT);
  ASSERT_TRUE(p == NULL);
  ASSERT_CODE(weft_subprocess_exec(loop, b, NULL, NULL, NULL, &p), WEFT_ENOENT);
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_PIPE);
  ASSERT_CODE(weft_create_subprocess_exec(loop, b, &o, &p), WEFT_ENOENT);
  o.cwd = "/nonexistent-dir";
  const char *t[] = {"true", NULL};
  ASSERT_CODE(weft_create_subprocess_exec(loop, t, &o, &p), WEFT_ENOENT);
  o = piped(WEFT_STDIO_STDOUT, 0, 0);
  ASSERT_CODE(weft_create_subprocess_exec(loop, t, &o, &p), WEFT_EINVAL);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

WEFT_TEST(env_and_cwd) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  const char *env[] = {"WEFT_TEST_VAR=forty two", "PATH=/usr/bin:/bin", NULL};
  o.env = env;
  o.cwd = "/tmp";
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_shell(loop, "echo \"$WEFT_TEST_VAR\"; pwd; cat", &o, &p));
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  weft_future_release(f);
  expect_output(p, 1, "forty two\n/tmp\n"); /* cat read /dev/null: nothing */
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

WEFT_TEST(stderr_into_stdout_and_fd) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_INHERIT, WEFT_STDIO_PIPE, WEFT_STDIO_STDOUT);
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_shell(loop, "echo a; echo b >&2; echo c", &o, &p));
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  weft_future_release(f);
  expect_output(p, 1, "a\nb\nc\n");
  expect_output(p, 2, "");
  weft_process_release(p);

  /* stdout to a descriptor of ours */
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_FD, WEFT_STDIO_DEVNULL);
  o.stdio[1].fd = fds[1];
  ASSERT_OK(weft_create_subprocess_shell(loop, "echo via-fd", &o, &p));
  close(fds[1]);
  ASSERT_EQ(wait_code(loop, p), 0);
  char buf[64];
  ssize_t n = read(fds[0], buf, sizeof buf);
  ASSERT_EQ(n, 7);
  ASSERT_TRUE(memcmp(buf, "via-fd\n", 7) == 0);
  close(fds[0]);
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

/* Reads the child's own pid, process group and session from /proc. */
static void child_ids(weft_loop_t *loop, weft_process_options_t *o, long ids[3]) {
  weft_process_t *p;
  o->stdio[1].mode = WEFT_STDIO_PIPE;
  ASSERT_OK(weft_create_subprocess_shell(loop, "cat /proc/$$/stat", o, &p));
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  weft_future_release(f);
  const char *data;
  size_t len;
  ASSERT_OK(weft_process_output(p, 1, &data, &len));
  char text[512];
  ASSERT_TRUE(len > 0 && len < sizeof text);
  memcpy(text, data, len);
  text[len] = 0;
  const char *after = strrchr(text, ')');
  ASSERT_TRUE(after != NULL);
  char state;
  long ppid;
  ASSERT_EQ(sscanf(after + 2, "%c %ld %ld %ld", &state, &ppid, &ids[1], &ids[2]), 4);
  ids[0] = weft_process_pid(p);
  weft_process_release(p);
}

WEFT_TEST(session_and_process_group) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(0, 0, 0);
  long ids[3];
  child_ids(loop, &o, ids);
  ASSERT_EQ(ids[1], getpgrp()); /* by default: ours */
  ASSERT_EQ(ids[2], getsid(0));

  o = piped(0, 0, 0);
  o.new_session = 1;
  child_ids(loop, &o, ids);
  ASSERT_EQ(ids[1], ids[0]);
  ASSERT_EQ(ids[2], ids[0]);

  o = piped(0, 0, 0);
  o.set_process_group = 1;
  o.process_group = 0;
  child_ids(loop, &o, ids);
  ASSERT_EQ(ids[1], ids[0]);    /* a new group it leads... */
  ASSERT_EQ(ids[2], getsid(0)); /* ...in our session */
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

typedef struct {
  char log[512];
  weft_loop_t *loop;
  weft_future_t *lost;
  char out[64], err[64];
  size_t out_len, err_len;
} recorder_t;

static void note(recorder_t *r, const char *what) {
  strncat(r->log, what, sizeof r->log - strlen(r->log) - 1);
}

static void rec_made(weft_process_t *t, void *arg) {
  recorder_t *r = arg;
  note(r, "made ");
  weft_transport_t *in = weft_process_get_pipe_transport(t, 0);
  weft_transport_write(in, "to-stdin\n", 9);
  weft_transport_close(in); /* EOF once written */
}

static void rec_data(weft_process_t *t, int fd, const char *data, size_t len, void *arg) {
  recorder_t *r = arg;
  char *buf = fd == 1 ? r->out : r->err;
  size_t *n = fd == 1 ? &r->out_len : &r->err_len;
  if (*n + len < 64) {
    memcpy(buf + *n, data, len);
    *n += len;
  }
}

static void rec_pipe_lost(weft_process_t *t, int fd, int error, void *arg) {
  recorder_t *r = arg;
  char s[32];
  snprintf(s, sizeof s, "lost%d:%d ", fd, error);
  note(r, s);
}

static void rec_exited(weft_process_t *t, void *arg) {
  note(arg, "exited ");
}

static void rec_conn_lost(weft_process_t *t, int error, void *arg) {
  recorder_t *r = arg;
  note(r, "done");
  weft_future_set_result(r->lost, weft_value_none());
}

WEFT_TEST(protocol_form) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  recorder_t r;
  memset(&r, 0, sizeof r);
  r.loop = loop;
  ASSERT_OK(weft_future_new(loop, &r.lost));
  weft_subprocess_protocol_t proto = {
      .size = sizeof proto,
      .connection_made = rec_made,
      .pipe_data_received = rec_data,
      .pipe_connection_lost = rec_pipe_lost,
      .process_exited = rec_exited,
      .connection_lost = rec_conn_lost,
  };
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_PIPE);
  const char *argv[] = {"sh", "-c", "read x; echo \"got $x\"; echo e >&2; exit 5", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_subprocess_exec(loop, argv, &o, &proto, &r, &p));
  ASSERT_EQ(r.log[0], 0); /* connection_made comes from the loop */
  ASSERT_OK(run(loop, r.lost));
  weft_future_release(r.lost);
  ASSERT_TRUE(strncmp(r.log, "made lost0:0 ", 13) == 0);
  ASSERT_TRUE(strstr(r.log, "lost1:0 ") && strstr(r.log, "lost2:0 ") && strstr(r.log, "exited "));
  ASSERT_TRUE(strcmp(r.log + strlen(r.log) - 4, "done") == 0);
  ASSERT_EQ(r.out_len, 13);
  ASSERT_TRUE(memcmp(r.out, "got to-stdin\n", 13) == 0);
  ASSERT_EQ(r.err_len, 2);
  int code;
  ASSERT_OK(weft_process_returncode(p, &code));
  ASSERT_EQ(code, 5);
  weft_process_close(p);
  weft_process_close(p);
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

WEFT_TEST(protocol_close_kills) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_subprocess_protocol_t proto = {.size = sizeof proto};
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  const char *argv[] = {"sleep", "30", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_subprocess_exec(loop, argv, &o, &proto, NULL, &p));
  tick(loop, 0.01);
  weft_process_close(p);
  ASSERT_EQ(wait_code(loop, p), -SIGKILL);
  weft_process_release(p);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

static int gone(int pid) {
  return kill(pid, 0) != 0 && errno == ESRCH; /* a zombie still answers kill(pid, 0) */
}

/* A child reaped in the loop's last iteration before its close: the exit report due in the
 * next iteration is dropped with the ready queue, and the reference it held must go with it
 * (valgrind and ASan check that the process is freed). */
WEFT_TEST(loop_close_right_after_the_reap) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *t[] = {"true", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_exec(loop, t, NULL, &p));
  int pid = weft_process_pid(p);
  weft_process_release(p);
  double deadline = weft_loop_time(loop) + 10;
  while (!gone(pid) && weft_loop_time(loop) < deadline)
    ASSERT_OK(weft_loop_run_once(loop, 0));
  ASSERT_TRUE(gone(pid));
  weft_test_close_loop(loop);
}

WEFT_TEST(no_zombies_without_wait) {
  enum { N = 8 };
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int pids[N + 1];
  const char *t[] = {"true", NULL};
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_PIPE);
  for (int i = 0; i < N; i++) {
    weft_process_t *p;
    ASSERT_OK(weft_create_subprocess_exec(loop, t, i % 2 ? &o : NULL, &p));
    pids[i] = weft_process_pid(p);
    weft_process_release(p); /* never waited for */
  }
  const char *s[] = {"sleep", "0.2", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_exec(loop, s, NULL, &p));
  pids[N] = weft_process_pid(p);
  weft_process_release(p); /* released while it still runs */
  for (int round = 0; round < 200; round++) {
    int all = 1;
    for (int i = 0; i <= N; i++)
      all = all && gone(pids[i]);
    if (all)
      break;
    tick(loop, 0.02);
  }
  for (int i = 0; i <= N; i++)
    ASSERT_TRUE(gone(pids[i]));
  assert_no_children();
  weft_test_close_loop(loop);
}

WEFT_TEST(loop_close_reaps_running_child) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *argv[] = {"sleep", "30", NULL};
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, &o, &p));
  int pid = weft_process_pid(p);
  char *big = calloc(1, 1024 * 1024);
  ASSERT_OK(weft_stream_write(weft_process_stdin(p), big, 1024 * 1024)); /* never read */
  free(big);
  tick(loop, 0.01);
  weft_process_release(p);    /* stdin waits to flush... */
  weft_test_close_loop(loop); /* ...until the loop closes: dropped, the child killed */
  ASSERT_TRUE(gone(pid));
  assert_no_children();
}

/* ---- Flow control, reads with a limit, EOF: the streams and transports of the pipes ---- */

static int done_now(weft_future_t *f) {
  int done = weft_future_done(f);
  weft_future_release(f);
  return done;
}

/* Writes 16 KiB chunks to the child's stdin until drain would wait; returns the bytes
 * written. The write buffer goes just over the high-water mark and no further. */
static size_t write_until_paused(weft_stream_writer_t *in, size_t *buffered) {
  static char chunk[16 * 1024];
  memset(chunk, 'w', sizeof chunk);
  size_t total = 0;
  for (int i = 0; i < 1000; i++) {
    ASSERT_OK(weft_stream_write(in, chunk, sizeof chunk));
    total += sizeof chunk;
    weft_future_t *d;
    ASSERT_OK(weft_stream_drain(in, &d));
    if (!done_now(d))
      break;
  }
  *buffered = weft_transport_get_write_buffer_size(weft_stream_writer_transport(in));
  return total;
}

WEFT_TEST(stdin_flow_control_stream) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL, WEFT_STDIO_INHERIT);
  weft_process_t *p;
  /* Reads nothing for a while, then everything. */
  ASSERT_OK(weft_create_subprocess_shell(loop, "sleep 0.3; exec cat >/dev/null", &o, &p));
  weft_stream_writer_t *in = weft_process_stdin(p);
  ASSERT_TRUE(in != NULL);
  size_t buffered, high;
  ASSERT_OK(weft_transport_get_write_buffer_limits(weft_stream_writer_transport(in), NULL, &high));
  ASSERT_EQ(high, WEFT_WRITE_BUFFER_HIGH_DEFAULT);
  size_t total = write_until_paused(in, &buffered);
  ASSERT_TRUE(buffered > high && buffered <= high + 16 * 1024); /* bounded */
  ASSERT_TRUE(total <= buffered + 1024 * 1024);                 /* the rest is in the pipe */
  weft_future_t *d;
  ASSERT_OK(weft_stream_drain(in, &d));
  tick(loop, 0.05);
  ASSERT_TRUE(!weft_future_done(d)); /* drain suspends while the child does not read */
  ASSERT_EQ(weft_transport_get_write_buffer_size(weft_stream_writer_transport(in)), buffered);
  ASSERT_OK(run(loop, d)); /* the child reads: resume_writing wakes it */
  weft_future_release(d);
  ASSERT_TRUE(weft_transport_get_write_buffer_size(weft_stream_writer_transport(in)) <= high / 4);
  ASSERT_OK(weft_stream_close(in));
  ASSERT_EQ(wait_code(loop, p), 0);
  weft_process_release(p);

  /* A child that never reads: drain waits until the pipe breaks. */
  const char *argv[] = {"sleep", "30", NULL};
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, &o, &p));
  in = weft_process_stdin(p);
  write_until_paused(in, &buffered);
  ASSERT_OK(weft_stream_drain(in, &d));
  tick(loop, 0.05);
  ASSERT_TRUE(!weft_future_done(d));
  ASSERT_OK(weft_process_kill(p));
  ASSERT_CODE(run(loop, d), WEFT_EPIPE);
  weft_future_release(d);
  ASSERT_EQ(wait_code(loop, p), -SIGKILL);
  weft_process_release(p);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

typedef struct {
  int pauses, resumes, lost;
  size_t written, peak, out_len;
  weft_future_t *resumed, *done;
} flow_t;

static void flow_made(weft_process_t *t, void *arg) {
  flow_t *f = arg;
  weft_transport_t *in = weft_process_get_pipe_transport(t, 0);
  ASSERT_OK(weft_transport_set_write_buffer_limits(in, 8192, 1024));
  static char chunk[4096];
  while (f->pauses == 0 && f->written < 4 * 1024 * 1024) {
    ASSERT_OK(weft_transport_write(in, chunk, sizeof chunk));
    f->written += sizeof chunk;
  }
  f->peak = weft_transport_get_write_buffer_size(in);
  /* Reading can be paused too: nothing arrives from stdout until it resumes. */
  ASSERT_OK(weft_transport_pause_reading(weft_process_get_pipe_transport(t, 1)));
}

static void flow_data(weft_process_t *t, int fd, const char *data, size_t len, void *arg) {
  ((flow_t *)arg)->out_len += len;
}

static void flow_pause(weft_process_t *t, void *arg) {
  ((flow_t *)arg)->pauses++;
}

static void flow_resume(weft_process_t *t, void *arg) {
  flow_t *f = arg;
  f->resumes++;
  weft_future_set_result(f->resumed, weft_value_none());
  weft_transport_close(weft_process_get_pipe_transport(t, 0));
}

static void flow_lost(weft_process_t *t, int error, void *arg) {
  weft_future_set_result(((flow_t *)arg)->done, weft_value_none());
}

WEFT_TEST(stdin_flow_control_protocol) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  flow_t f;
  memset(&f, 0, sizeof f);
  ASSERT_OK(weft_future_new(loop, &f.resumed));
  ASSERT_OK(weft_future_new(loop, &f.done));
  weft_subprocess_protocol_t proto = {
      .size = sizeof proto,
      .connection_made = flow_made,
      .pipe_data_received = flow_data,
      .pause_writing = flow_pause,
      .resume_writing = flow_resume,
      .connection_lost = flow_lost,
  };
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  weft_process_t *p;
  ASSERT_OK(weft_subprocess_shell(loop, "sleep 0.2; wc -c", &o, &proto, &f, &p));
  tick(loop, 0.05);
  ASSERT_EQ(f.pauses, 1);
  ASSERT_EQ(f.resumes, 0);
  ASSERT_TRUE(f.peak > 8192 && f.peak <= 8192 + 4096);
  ASSERT_OK(run(loop, f.resumed));
  ASSERT_EQ(f.resumes, 1);
  ASSERT_EQ(wait_code(loop, p), 0);
  tick(loop, 0.05);
  ASSERT_EQ(f.out_len, 0); /* stdout is paused */
  weft_transport_t *out = weft_process_get_pipe_transport(p, 1);
  ASSERT_EQ(weft_transport_is_reading(out), 0);
  ASSERT_OK(weft_transport_resume_reading(out));
  ASSERT_OK(run(loop, f.done));
  char expected[32];
  ASSERT_EQ(f.out_len, (size_t)snprintf(expected, sizeof expected, "%zu\n", f.written));
  weft_future_release(f.resumed);
  weft_future_release(f.done);
  weft_process_release(p);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

/* Runs a read future (already done or not) and checks its bytes. */
static void expect_read(weft_loop_t *loop, weft_future_t *f, const char *expected) {
  ASSERT_OK(run(loop, f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->len, strlen(expected));
  ASSERT_TRUE(memcmp(v->ptr, expected, v->len) == 0);
  weft_future_release(f);
}

WEFT_TEST(stdout_reads_with_limit) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  o.limit = 16;
  weft_process_t *p;
  /* short line, a line over the limit, 30 bytes before a separator, then tails. */
  ASSERT_OK(weft_create_subprocess_shell(loop, "printf 'short\\n%040d\\n%030dx:y;zz' 0 0", &o, &p));
  weft_stream_reader_t *out = weft_process_stdout(p);
  ASSERT_EQ(weft_stream_reader_limit(out), 16);
  ASSERT_EQ(wait_code(loop, p), 0);
  weft_future_t *f;
  ASSERT_OK(weft_stream_readline(out, &f));
  expect_read(loop, f, "short\n");
  /* readline: a line over the limit fails and is dropped */
  ASSERT_OK(weft_stream_readline(out, &f));
  ASSERT_CODE(run(loop, f), WEFT_ELIMITOVERRUN);
  weft_future_release(f);
  /* readuntil: over the limit fails and the data stays */
  const void *colon[1] = {":"};
  size_t one[2] = {1, 2};
  ASSERT_OK(weft_stream_readuntil(out, colon, one, 1, &f));
  ASSERT_CODE(run(loop, f), WEFT_ELIMITOVERRUN);
  ASSERT_EQ(weft_stream_error_consumed(f), 31); /* where ":" starts */
  weft_future_release(f);
  ASSERT_EQ(weft_stream_reader_buffered(out), 36);
  ASSERT_OK(weft_stream_readexactly(out, 30, &f));
  expect_read(loop, f, "000000000000000000000000000000");
  ASSERT_OK(weft_stream_readuntil(out, colon, one, 1, &f));
  expect_read(loop, f, "x:");
  const void *two[2] = {"zz", ";"};
  size_t lens[2] = {2, 1};
  ASSERT_OK(weft_stream_readuntil(out, two, lens, 2, &f));
  expect_read(loop, f, "y;");
  /* readexactly past EOF: incomplete, with the partial data */
  ASSERT_OK(weft_stream_readexactly(out, 5, &f));
  ASSERT_CODE(run(loop, f), WEFT_EINCOMPLETE);
  size_t plen;
  const char *partial = weft_stream_error_partial(f, &plen);
  ASSERT_TRUE(plen == 2 && memcmp(partial, "zz", 2) == 0);
  weft_future_release(f);
  ASSERT_TRUE(weft_stream_at_eof(out));
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

WEFT_TEST(stdout_eof_and_read_flow_control) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  const char *t[] = {"true", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_exec(loop, t, &o, &p));
  weft_stream_reader_t *out = weft_stream_reader_retain(weft_process_stdout(p));
  weft_stream_writer_t *in = weft_process_stdin(p);
  weft_future_t *f;
  ASSERT_OK(weft_stream_read(out, -1, &f));
  expect_read(loop, f, ""); /* EOF */
  ASSERT_TRUE(weft_stream_at_eof(out));
  ASSERT_OK(weft_stream_readline(out, &f));
  expect_read(loop, f, "");
  ASSERT_EQ(wait_code(loop, p), 0);
  tick(loop, 0.01);
  ASSERT_TRUE(weft_stream_is_closing(in)); /* exited, output at EOF: stdin is closed */
  weft_process_release(p);
  ASSERT_OK(weft_stream_read(out, 10, &f)); /* the reader outlives the process */
  expect_read(loop, f, "");
  weft_stream_reader_release(out);

  /* A reader over its limit stops reading from the child, and resumes when read. */
  enum { BIG = 1000000 };
  o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_PIPE, WEFT_STDIO_INHERIT);
  o.limit = 1024;
  ASSERT_OK(weft_create_subprocess_shell(loop, "head -c 1000000 /dev/zero", &o, &p));
  out = weft_process_stdout(p);
  weft_transport_t *pipe = weft_process_get_pipe_transport(p, 1);
  for (int i = 0; i < 100 && weft_transport_is_reading(pipe); i++)
    tick(loop, 0.01);
  ASSERT_EQ(weft_transport_is_reading(pipe), 0);
  ASSERT_TRUE(weft_stream_reader_buffered(out) > 2 * 1024);
  ASSERT_TRUE(weft_stream_reader_buffered(out) <= 2 * 1024 + 64 * 1024);
  ASSERT_OK(weft_stream_read(out, -1, &f));
  ASSERT_OK(run(loop, f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  ASSERT_EQ(v->len, BIG);
  weft_future_release(f);
  ASSERT_EQ(wait_code(loop, p), 0);
  weft_process_release(p);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

static void count_errors(weft_loop_t *loop, const weft_error_context_t *context, void *arg) {
  (*(int *)arg)++;
}

WEFT_TEST(communicate_ignores_broken_stdin) {
  enum { IN = 1024 * 1024 };
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int errors = 0;
  ASSERT_OK(weft_loop_set_exception_handler(loop, count_errors, &errors, NULL));
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL);
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_shell(loop, "echo done; exit 4", &o, &p)); /* reads nothing */
  char *input = calloc(1, IN);
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, input, IN, &f));
  weft_future_t *again;
  ASSERT_CODE(weft_process_communicate(p, NULL, 0, &again), WEFT_EINVALIDSTATE);
  ASSERT_OK(run(loop, f));
  ASSERT_EQ(int_result(f), 4);
  weft_future_release(f);
  expect_output(p, 1, "done\n");
  expect_output(p, 2, "");
  ASSERT_TRUE(weft_stream_is_closing(weft_process_stdin(p)));
  free(input);
  weft_process_release(p);
  tick(loop, 0.01);
  ASSERT_EQ(errors, 0); /* the broken pipe was not reported */
  weft_test_close_loop(loop);
}

typedef struct {
  char log[64];
} order_t;

static void order_made(weft_process_t *t, void *arg) {
  strcat(((order_t *)arg)->log, "made ");
}

static void order_pause(weft_process_t *t, void *arg) {
  strcat(((order_t *)arg)->log, "pause ");
}

static void order_resume(weft_process_t *t, void *arg) {
  strcat(((order_t *)arg)->log, "resume ");
}

/* Written before connection_made: pause_writing still comes after it. */
WEFT_TEST(pause_writing_after_connection_made) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  order_t r;
  memset(&r, 0, sizeof r);
  weft_subprocess_protocol_t proto = {.size = sizeof proto,
                                      .connection_made = order_made,
                                      .pause_writing = order_pause,
                                      .resume_writing = order_resume};
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL, WEFT_STDIO_INHERIT);
  weft_process_t *p;
  ASSERT_OK(weft_subprocess_shell(loop, "sleep 0.1; exec cat >/dev/null", &o, &proto, &r, &p));
  /* Held stopped until the pause has been seen: however slow this machine is, the child
   * cannot drain the pipe first. */
  ASSERT_OK(weft_process_send_signal(p, SIGSTOP));
  char *big = calloc(1, 256 * 1024);
  weft_transport_t *in = weft_process_get_pipe_transport(p, 0);
  ASSERT_OK(weft_transport_write(in, big, 256 * 1024));
  free(big);
  ASSERT_EQ(r.log[0], 0);
  ASSERT_TRUE(weft_transport_get_write_buffer_size(in) > WEFT_WRITE_BUFFER_HIGH_DEFAULT);
  tick(loop, 0.01);
  ASSERT_TRUE(strcmp(r.log, "made pause ") == 0);
  ASSERT_OK(weft_process_send_signal(p, SIGCONT));
  for (int i = 0; i < 500 && weft_transport_get_write_buffer_size(in) > 0; i++)
    tick(loop, 0.01);
  ASSERT_TRUE(strcmp(r.log, "made pause resume ") == 0);
  ASSERT_OK(weft_transport_close(in));
  ASSERT_EQ(wait_code(loop, p), 0);
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

/* pass_fds: the listed descriptor reaches the child at its own number; another
 * close-on-exec descriptor does not. */
WEFT_TEST(pass_fds) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int passed[2], kept[2];
  ASSERT_OK(pipe2(passed, O_CLOEXEC));
  ASSERT_OK(pipe2(kept, O_CLOEXEC));
  char cmd[160];
  /* dash takes only one-digit descriptors after >&: name them through /proc instead. */
  snprintf(cmd, sizeof cmd,
           "echo through >/proc/self/fd/%d; (echo leak >/proc/self/fd/%d) 2>/dev/null || "
           "echo closed",
           passed[1], kept[1]);
  weft_process_options_t o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL);
  int fds[1] = {passed[1]};
  o.pass_fds = fds;
  o.pass_fds_count = 1;
  weft_process_t *p;
  ASSERT_OK(weft_create_subprocess_shell(loop, cmd, &o, &p));
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(p, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  weft_future_release(f);
  expect_output(p, 1, "closed\n");
  close(passed[1]);
  close(kept[1]);
  char buf[32] = {0};
  ASSERT_EQ(read(passed[0], buf, sizeof buf), 8);
  ASSERT_STREQ(buf, "through\n");
  ASSERT_EQ(read(kept[0], buf, sizeof buf), 0);
  close(passed[0]);
  close(kept[0]);
  weft_process_release(p);
  /* Bad descriptors are refused before anything runs. */
  int bad[1] = {-1};
  o.pass_fds = bad;
  ASSERT_CODE(weft_create_subprocess_shell(loop, "true", &o, &p), WEFT_EBADF);
  o.pass_fds = NULL;
  ASSERT_CODE(weft_create_subprocess_shell(loop, "true", &o, &p), WEFT_EINVAL);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

/* A start function as a binding's fork path: the child sets its umask (which posix_spawn
 * cannot) and runs the program found, on the descriptors the core prepared. */
static int fork_with_umask(const char *path, char *const *argv, const int child_fd[3],
                           void *start_arg) {
  int *calls = start_arg;
  ++*calls;
  pid_t pid = fork();
  if (pid < 0)
    return WEFT_EAGAIN;
  if (pid == 0) {
    umask(077);
    for (int i = 0; i < 3; i++)
      if ((child_fd[i] == i ? fcntl(i, F_SETFD, 0) : dup2(child_fd[i], i)) < 0)
        _exit(126);
    execv(path, argv);
    _exit(127);
  }
  return (int)pid;
}

static int refuse_to_start(const char *path, char *const *argv, const int child_fd[3],
                           void *start_arg) {
  (void)path, (void)argv, (void)child_fd;
  ++*(int *)start_arg;
  return WEFT_EPERM;
}

/* executable: the program run in place of argv[0], which the child still gets as its name;
 * start: a function that starts the child in place of posix_spawn, and what it returns. */
WEFT_TEST(executable_and_start) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  const char *argv[] = {"renamed", "-c", "echo $0; umask", NULL};
  weft_process_options_t o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL);
  o.executable = "sh";
  weft_process_t *p;
  weft_future_t *f;
  mode_t mask = umask(022);
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, &o, &p));
  ASSERT_OK(weft_process_communicate(p, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  weft_future_release(f);
  expect_output(p, 1, "renamed\n0022\n");
  weft_process_release(p);

  int calls = 0;
  o.start = fork_with_umask;
  o.start_arg = &calls;
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, &o, &p));
  ASSERT_EQ(calls, 1);
  ASSERT_OK(weft_process_communicate(p, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  weft_future_release(f);
  expect_output(p, 1, "renamed\n0077\n");
  ASSERT_EQ(wait_code(loop, p), 0);
  weft_process_release(p);

  o.start = refuse_to_start;
  ASSERT_CODE(weft_create_subprocess_exec(loop, argv, &o, &p), WEFT_EPERM);
  ASSERT_EQ(calls, 2);
  o.executable = "/no/such/program";
  ASSERT_CODE(weft_create_subprocess_exec(loop, argv, &o, &p), WEFT_ENOENT);
  ASSERT_EQ(calls, 2); /* not found: nothing to start */
  umask(mask);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

typedef struct {
  int stdin_lost, stdin_error, lost;
} stdin_watch_t;

static void sw_pipe_lost(weft_process_t *t, int fd, int error, void *arg) {
  stdin_watch_t *w = arg;
  if (fd == 0) {
    w->stdin_lost++;
    w->stdin_error = error;
  }
}

static void sw_lost(weft_process_t *t, int error, void *arg) {
  ((stdin_watch_t *)arg)->lost++;
}

/* The child exits without reading: its stdin pipe notices, as asyncio's does, with no
 * error when nothing was queued and EPIPE when data was. */
WEFT_TEST(stdin_pipe_notices_child_gone) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_subprocess_protocol_t proto = {
      .size = sizeof proto, .pipe_connection_lost = sw_pipe_lost, .connection_lost = sw_lost};
  for (int queued = 0; queued < 2; queued++) {
    stdin_watch_t w = {0};
    weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL, WEFT_STDIO_DEVNULL);
    const char *argv[] = {"/bin/sh", "-c", "exec sleep 0.2", NULL};
    weft_process_t *p;
    ASSERT_OK(weft_subprocess_exec(loop, argv, &o, &proto, &w, &p));
    if (queued) {
      static char big[1 << 20];
      ASSERT_OK(weft_transport_write(weft_process_get_pipe_transport(p, 0), big, sizeof big));
    }
    double deadline = weft_loop_time(loop) + 5;
    while (!w.lost && weft_loop_time(loop) < deadline)
      tick(loop, 0.01);
    ASSERT_EQ(w.stdin_lost, 1);
    ASSERT_CODE(w.stdin_error, queued ? WEFT_EPIPE : 0);
    ASSERT_EQ(w.lost, 1); /* connection_lost without anyone closing stdin */
    weft_process_release(p);
  }
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

/* Runs argv with `o` (stdout piped) to the end and returns its return code. */
static int run_to_end(weft_loop_t *loop, const char *const *argv, weft_process_options_t *o,
                      weft_process_t **out) {
  ASSERT_OK(weft_create_subprocess_exec(loop, argv, o, out));
  weft_future_t *f;
  ASSERT_OK(weft_process_communicate(*out, NULL, 0, &f));
  ASSERT_OK(run(loop, f));
  weft_future_release(f);
  return wait_code(loop, *out);
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_TRUE(fd >= 0);
  ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* A bare program name is searched in the PATH of the child's environment, as execvp in
 * the child and Popen do; one found but not executable is WEFT_EACCES. */
WEFT_TEST(program_search_uses_the_childs_path) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char dir[] = "/tmp/weft-path-XXXXXX", prog[64], plain[64], path_var[64];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  snprintf(prog, sizeof prog, "%s/weft-prog", dir);
  snprintf(plain, sizeof plain, "%s/weft-plain", dir);
  snprintf(path_var, sizeof path_var, "PATH=/nonexistent::%s", dir);
  write_file(prog, "#!/bin/sh\necho found \"$0\"\n", 0755);
  write_file(plain, "#!/bin/sh\necho never\n", 0644);
  const char *env[] = {path_var, NULL};
  weft_process_options_t o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL);
  o.env = env;
  weft_process_t *p;
  const char *found[] = {"weft-prog", NULL};
  ASSERT_EQ(run_to_end(loop, found, &o, &p), 0);
  char expected[96];
  snprintf(expected, sizeof expected, "found %s\n", prog);
  expect_output(p, 1, expected);
  weft_process_release(p);
  const char *elsewhere[] = {"true", NULL}, *not_executable[] = {"weft-plain", NULL};
  ASSERT_CODE(weft_create_subprocess_exec(loop, elsewhere, &o, &p), WEFT_ENOENT);
  ASSERT_CODE(weft_create_subprocess_exec(loop, not_executable, &o, &p), WEFT_EACCES);
  /* Relative entries, and relative programs, are the child's: from its directory. */
  const char *relative_env[] = {"PATH=/nonexistent:.", NULL};
  o.env = relative_env;
  o.cwd = dir;
  ASSERT_EQ(run_to_end(loop, found, &o, &p), 0);
  expect_output(p, 1, "found ./weft-prog\n");
  weft_process_release(p);
  const char *relative[] = {"./weft-prog", NULL};
  ASSERT_EQ(run_to_end(loop, relative, &o, &p), 0);
  expect_output(p, 1, "found ./weft-prog\n");
  weft_process_release(p);
  unlink(prog);
  unlink(plain);
  rmdir(dir);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

/* Reads the hexadecimal mask of `field` ("SigIgn:", ...) from /proc/PID/status text. */
static unsigned long long status_mask(const char *status, const char *field) {
  const char *at = strstr(status, field);
  ASSERT_TRUE(at != NULL);
  return strtoull(at + strlen(field), NULL, 16);
}

/* The child starts with every signal at its default action and none blocked, whatever the
 * parent ignores (Python ignores SIGPIPE) or blocks. */
WEFT_TEST(signals_reset_in_the_child) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  struct sigaction ignore = {.sa_handler = SIG_IGN}, old_pipe;
  sigemptyset(&ignore.sa_mask);
  ASSERT_OK(sigaction(SIGPIPE, &ignore, &old_pipe));
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_OK(pthread_sigmask(SIG_BLOCK, &usr1, &old_mask));
  weft_process_options_t o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL);
  const char *argv[] = {"cat", "/proc/self/status", NULL};
  weft_process_t *p;
  ASSERT_EQ(run_to_end(loop, argv, &o, &p), 0);
  ASSERT_OK(pthread_sigmask(SIG_SETMASK, &old_mask, NULL));
  ASSERT_OK(sigaction(SIGPIPE, &old_pipe, NULL));
  const char *data;
  size_t len;
  ASSERT_OK(weft_process_output(p, 1, &data, &len));
  char *status = strndup(data, len);
  ASSERT_EQ(status_mask(status, "SigIgn:") & (1ull << (SIGPIPE - 1)), 0);
  ASSERT_EQ(status_mask(status, "SigBlk:"), 0);
  free(status);
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

/* stdout and stderr given as each other's descriptor (2 and 1) swap: each reaches the
 * child from the parent's descriptor as it was, not as the first dup2 left it. */
WEFT_TEST(stdio_descriptors_swapped) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int out[2], err[2];
  ASSERT_OK(pipe2(out, O_CLOEXEC));
  ASSERT_OK(pipe2(err, O_CLOEXEC));
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(1), saved_err = dup(2);
  ASSERT_TRUE(saved_out >= 0 && saved_err >= 0);
  dup2(out[1], 1);
  dup2(err[1], 2);
  weft_process_options_t o = piped(WEFT_STDIO_DEVNULL, WEFT_STDIO_FD, WEFT_STDIO_FD);
  o.stdio[1].fd = 2;
  o.stdio[2].fd = 1;
  const char *argv[] = {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2", NULL};
  weft_process_t *p;
  int rc = weft_create_subprocess_exec(loop, argv, &o, &p);
  int code = rc == 0 ? wait_code(loop, p) : -1;
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  close(out[1]);
  close(err[1]);
  ASSERT_OK(rc);
  ASSERT_EQ(code, 0);
  char buf[32] = {0};
  ASSERT_EQ(read(out[0], buf, sizeof buf), 10);
  ASSERT_STREQ(buf, "to-stderr\n");
  memset(buf, 0, sizeof buf);
  ASSERT_EQ(read(err[0], buf, sizeof buf), 10);
  ASSERT_STREQ(buf, "to-stdout\n");
  close(out[0]);
  close(err[0]);
  weft_process_release(p);
  tick(loop, 0.01);
  weft_test_close_loop(loop);
}

/* valgrind runs a vfork child without sharing the parent's memory, which is how
 * posix_spawn reports a failed exec: under it, such a child just exits with 127. */
static int under_valgrind(void) {
  const char *preload = getenv("LD_PRELOAD");
  return preload && strstr(preload, "vgpreload");
}

/* A file that is executable but no program: the exec's own error, WEFT_ENOEXEC, comes back
 * from the spawn, and nothing is left running. */
WEFT_TEST(exec_format_error) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char dir[] = "/tmp/weft-exec-XXXXXX", junk[64];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  snprintf(junk, sizeof junk, "%s/junk", dir);
  write_file(junk,
             "\x7f"
             "ELF but not really",
             0755);
  const char *argv[] = {junk, NULL};
  weft_process_t *p = NULL;
  int rc = weft_create_subprocess_exec(loop, argv, NULL, &p);
  if (under_valgrind() && rc == 0) {
    ASSERT_EQ(wait_code(loop, p), 127);
    weft_process_release(p);
  } else {
    ASSERT_CODE(rc, WEFT_ENOEXEC);
    ASSERT_TRUE(p == NULL);
  }
  unlink(junk);
  rmdir(dir);
  tick(loop, 0.01);
  assert_no_children();
  weft_test_close_loop(loop);
}

/* close() kills a child still running before its stdin closes, as asyncio's: `cat` would
 * exit 0 at EOF, and must end with -SIGKILL instead. */
WEFT_TEST(close_kills_before_the_child_sees_eof) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_process_options_t o = piped(WEFT_STDIO_PIPE, WEFT_STDIO_DEVNULL, WEFT_STDIO_INHERIT);
  const char *argv[] = {"cat", NULL};
  weft_process_t *p;
  ASSERT_OK(weft_subprocess_exec(loop, argv, &o, NULL, NULL, &p));
  for (int i = 0; i < 10; i++) {
    weft_process_close(p);
    ASSERT_EQ(wait_code(loop, p), -SIGKILL);
    weft_process_release(p);
    if (i < 9)
      ASSERT_OK(weft_subprocess_exec(loop, argv, &o, NULL, NULL, &p));
  }
  weft_test_close_loop(loop);
}
