/* The loop's socket operations on a connected pair of non-blocking sockets: sock_recv
 * waits for data, sock_sendall sends all of a large buffer while the peer reads it, and
 * sock_recv returns empty at EOF. */
#include <casetrace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SIZE (4 * 1024 * 1024)

/* Awaits `f` (released here); 0 or its error. */
static int await_release(weft_future_t *f) {
  int rc = weft_await(f);
  weft_future_release(f);
  return rc;
}

static int read_all(weft_task_t *self, void *arg) {
  int fd = *(const int *)arg;
  int64_t total = 0;
  while (total < SIZE) {
    weft_future_t *f;
    const weft_value_t *v;
    int rc = weft_sock_recv(casetrace_loop(self), fd, 65536, &f);
    if (rc < 0)
      return rc;
    if ((rc = weft_await(f)) == 0 && (rc = weft_future_result(f, &v)) == 0)
      total += (int64_t)v->len;
    weft_future_release(f);
    if (rc < 0)
      return rc;
  }
  return weft_task_return(self, weft_value_int(total));
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  weft_loop_t *loop = casetrace_loop(self);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
    return WEFT_EIO;
  int a = sv[0], b = sv[1];
  char q[64];
  weft_future_t *recv, *f;
  const weft_value_t *v;
  int rc = weft_sock_recv(loop, b, 100, &recv);
  if (rc < 0)
    return rc;
  weft_sleep_await(loop, 0);
  casetrace_emit("recv-waiting %s", casetrace_bool(!weft_future_done(recv)));
  if ((rc = weft_sock_sendall(loop, a, "ping", 4, &f)) < 0 || (rc = await_release(f)) < 0)
    return rc;
  if ((rc = weft_await(recv)) == 0 && weft_future_result(recv, &v) == 0)
    casetrace_emit("recv %s", casetrace_q(q, sizeof q, v->ptr, v->len));
  weft_future_release(recv);
  weft_task_t *reader;
  if ((rc = weft_task_spawn(loop, read_all, &b, NULL, &reader)) < 0)
    return rc;
  char *big = malloc(SIZE);
  if (big == NULL)
    return WEFT_ENOMEM;
  memset(big, 'z', SIZE);
  rc = weft_sock_sendall(loop, a, big, SIZE, &f);
  free(big);
  if (rc < 0 || (rc = await_release(f)) < 0)
    return rc;
  casetrace_emit("sendall returned");
  if ((rc = weft_await(weft_task_future(reader))) == 0 &&
      weft_future_result(weft_task_future(reader), &v) == 0)
    casetrace_emit("peer read %lld", (long long)v->i);
  weft_task_release(reader);
  close(a);
  if ((rc = weft_sock_recv(loop, b, 100, &f)) < 0)
    return rc;
  if ((rc = weft_await(f)) == 0 && weft_future_result(f, &v) == 0)
    casetrace_emit("at-eof %s", casetrace_q(q, sizeof q, v->ptr, v->len));
  weft_future_release(f);
  close(b);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
