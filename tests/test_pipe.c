/* Pipe transports over pipe(2). */
#include "net_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct rp_s {
  size_t len;
  int eof, lost, lost_error;
  char buf[256];
} rp_t;

static void r_data(weft_transport_t *t, const char *d, size_t n, void *arg) {
  rp_t *r = arg;
  if (r->len + n <= sizeof(r->buf))
    memcpy(r->buf + r->len, d, n);
  r->len += n;
}
static int r_eof(weft_transport_t *t, void *arg) {
  ((rp_t *)arg)->eof++;
  return 1; /* ignored for read pipes */
}
static void r_lost(weft_transport_t *t, int e, void *arg) {
  rp_t *r = arg;
  r->lost++;
  r->lost_error = e;
}

WEFT_TEST(read_and_write_pipes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(pipe(fds));
  rp_t rp = {0}, wp = {0};
  weft_protocol_t rproto = {.size = sizeof(rproto),
                            .data_received = r_data,
                            .eof_received = r_eof,
                            .connection_lost = r_lost};
  weft_protocol_t wproto = {.size = sizeof(wproto), .connection_lost = r_lost};
  weft_future_t *rf, *wf;
  ASSERT_OK(weft_connect_read_pipe(loop, &rproto, &rp, fds[0], &rf));
  ASSERT_OK(weft_connect_write_pipe(loop, &wproto, &wp, fds[1], &wf));
  int rc;
  weft_transport_t *rt = weft_transport_retain(await_ptr(loop, rf, &rc));
  ASSERT_OK(rc);
  weft_transport_t *wt = weft_transport_retain(await_ptr(loop, wf, &rc));
  ASSERT_OK(rc);
  weft_future_release(rf);
  weft_future_release(wf);
  ASSERT_CODE(weft_transport_write(rt, "x", 1), WEFT_ENOTSUP);
  ASSERT_EQ(weft_transport_can_write_eof(wt), 1); /* EOF on a pipe: close once flushed */
  ASSERT_EQ(weft_transport_can_write_eof(rt), 0);
  ASSERT_EQ(weft_transport_is_reading(wt), 0); /* a write pipe never reads */
  const void *b[2] = {"pi", "pe"};
  size_t l[2] = {2, 2};
  ASSERT_OK(weft_transport_writelines(wt, b, l, 2));
  ASSERT_OK(weft_transport_pause_reading(rt));
  ASSERT_EQ(weft_transport_is_reading(rt), 0);
  spin(loop, 5);
  ASSERT_EQ(rp.len, 0);
  ASSERT_OK(weft_transport_resume_reading(rt));
  /* write_eof flushes, then closes: the reader gets the data, then end of file. */
  ASSERT_OK(weft_transport_write_eof(wt));
  ASSERT_EQ(weft_transport_is_closing(wt), 1);
  run_until_flag(loop, &rp.lost, 5);
  ASSERT_EQ(rp.len, 4);
  ASSERT_TRUE(memcmp(rp.buf, "pipe", 4) == 0);
  ASSERT_EQ(rp.eof, 1);
  ASSERT_EQ(rp.lost_error, 0);
  run_until_flag(loop, &wp.lost, 5);
  ASSERT_EQ(wp.lost, 1);
  weft_transport_release(rt);
  weft_transport_release(wt);
  weft_test_close_loop(loop);
}

WEFT_TEST(write_pipe_reader_already_gone) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(pipe(fds));
  close(fds[0]);
  rp_t wp = {0};
  weft_protocol_t wproto = {.size = sizeof(wproto), .connection_lost = r_lost};
  weft_future_t *wf;
  ASSERT_OK(weft_connect_write_pipe(loop, &wproto, &wp, fds[1], &wf));
  int rc;
  weft_transport_t *wt = weft_transport_retain(await_ptr(loop, wf, &rc));
  ASSERT_OK(rc);
  weft_future_release(wf);
  /* asyncio's write pipe notices the reader closing and closes, with nothing lost. */
  run_until_flag(loop, &wp.lost, 5);
  ASSERT_EQ(wp.lost, 1);
  ASSERT_OK(wp.lost_error);
  ASSERT_EQ(weft_transport_is_closing(wt), 1);
  ASSERT_CODE(weft_transport_write(wt, "x", 1), WEFT_ECLOSED);
  weft_transport_release(wt);
  weft_test_close_loop(loop);
}

WEFT_TEST(write_pipe_reader_closes_with_data_queued) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(pipe(fds));
  rp_t wp = {0};
  weft_protocol_t wproto = {.size = sizeof(wproto), .connection_lost = r_lost};
  weft_future_t *wf;
  ASSERT_OK(weft_connect_write_pipe(loop, &wproto, &wp, fds[1], &wf));
  int rc;
  weft_transport_t *wt = weft_transport_retain(await_ptr(loop, wf, &rc));
  ASSERT_OK(rc);
  weft_future_release(wf);
  static char big[1 << 20];
  ASSERT_OK(weft_transport_write(wt, big, sizeof(big))); /* more than a pipe holds */
  ASSERT_TRUE(weft_transport_get_write_buffer_size(wt) > 0);
  spin(loop, 3);
  ASSERT_EQ(wp.lost, 0);
  close(fds[0]);
  run_until_flag(loop, &wp.lost, 5);
  ASSERT_EQ(wp.lost, 1);
  ASSERT_CODE(wp.lost_error, WEFT_EPIPE);
  weft_transport_release(wt);
  weft_test_close_loop(loop);
}

WEFT_TEST(write_pipe_over_socket_peer_closes) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int sv[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  rp_t wp = {0};
  weft_protocol_t wproto = {.size = sizeof(wproto), .connection_lost = r_lost};
  weft_future_t *wf;
  ASSERT_OK(weft_connect_write_pipe(loop, &wproto, &wp, sv[1], &wf));
  int rc;
  weft_transport_t *wt = weft_transport_retain(await_ptr(loop, wf, &rc));
  ASSERT_OK(rc);
  weft_future_release(wf);
  ASSERT_OK(weft_transport_write(wt, "1", 1));
  char c = 0;
  spin(loop, 2);
  ASSERT_EQ(read(sv[0], &c, 1), 1);
  ASSERT_EQ(c, '1');
  spin(loop, 3);
  ASSERT_EQ(wp.lost, 0);
  close(sv[0]);
  run_until_flag(loop, &wp.lost, 5);
  ASSERT_EQ(wp.lost, 1);
  ASSERT_OK(wp.lost_error);
  weft_transport_release(wt);
  weft_test_close_loop(loop);
}

/* Closing a write pipe closes the reader's end for good: the watcher's duplicate of the
 * descriptor must not keep it open. */
WEFT_TEST(write_pipe_close_gives_reader_eof) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(pipe(fds));
  rp_t wp = {0};
  weft_protocol_t wproto = {.size = sizeof(wproto), .connection_lost = r_lost};
  weft_future_t *wf;
  ASSERT_OK(weft_connect_write_pipe(loop, &wproto, &wp, fds[1], &wf));
  int rc;
  weft_transport_t *wt = weft_transport_retain(await_ptr(loop, wf, &rc));
  ASSERT_OK(rc);
  weft_future_release(wf);
  ASSERT_OK(weft_transport_write(wt, "ab", 2));
  ASSERT_OK(weft_transport_close(wt));
  run_until_flag(loop, &wp.lost, 5);
  ASSERT_EQ(wp.lost, 1);
  char buf[8];
  ASSERT_EQ(read(fds[0], buf, sizeof(buf)), 2);
  ASSERT_EQ(read(fds[0], buf, sizeof(buf)), 0); /* EOF: no descriptor of the end is left */
  close(fds[0]);
  weft_transport_release(wt);
  weft_test_close_loop(loop);
}

/* A descriptor that cannot be read fails the connect future, from the loop, and no
 * protocol callback runs. */
WEFT_TEST(read_pipe_on_write_end_fails_future) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(pipe(fds));
  rp_t rp = {0};
  weft_protocol_t rproto = {.size = sizeof(rproto),
                            .data_received = r_data,
                            .eof_received = r_eof,
                            .connection_lost = r_lost};
  weft_future_t *rf;
  ASSERT_OK(weft_connect_read_pipe(loop, &rproto, &rp, fds[1], &rf));
  ASSERT_EQ(weft_future_done(rf), 0);
  ASSERT_CODE(weft_loop_run_until_complete(loop, rf), WEFT_ENOTCONN);
  weft_future_release(rf);
  spin(loop, 3);
  ASSERT_EQ(rp.lost, 0);
  ASSERT_EQ(rp.eof, 0);
  /* The descriptor went with the failed transport: the reader sees EOF. */
  char c;
  ASSERT_EQ(read(fds[0], &c, 1), 0);
  close(fds[0]);
  weft_test_close_loop(loop);
}

/* write_eof with data queued: closing at once (asyncio's is_closing), the data still
 * flushed, then EOF for the reader. */
WEFT_TEST(write_pipe_eof_flushes_queued_data) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(pipe(fds));
  rp_t wp = {0};
  weft_protocol_t wproto = {.size = sizeof(wproto), .connection_lost = r_lost};
  weft_future_t *wf;
  ASSERT_OK(weft_connect_write_pipe(loop, &wproto, &wp, fds[1], &wf));
  int rc;
  weft_transport_t *wt = weft_transport_retain(await_ptr(loop, wf, &rc));
  ASSERT_OK(rc);
  weft_future_release(wf);
  ASSERT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  static char big[1 << 20];
  ASSERT_OK(weft_transport_write(wt, big, sizeof(big)));
  ASSERT_OK(weft_transport_write_eof(wt));
  ASSERT_EQ(weft_transport_is_closing(wt), 1);
  ASSERT_TRUE(weft_transport_write(wt, "x", 1) < 0);
  size_t total = 0;
  char buf[65536];
  for (int i = 0; i < 10000 && !wp.lost; i++) {
    weft_loop_run_once(loop, 1);
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0)
      total += (size_t)n;
  }
  ASSERT_EQ(wp.lost, 1);
  ASSERT_OK(wp.lost_error);
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0)
    total += (size_t)n;
  ASSERT_EQ(total, sizeof(big));
  close(fds[0]);
  weft_transport_release(wt);
  weft_test_close_loop(loop);
}
