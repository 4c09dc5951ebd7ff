/* Readiness watchers and sock_* operations on non-blocking sockets. */
#include "net_util.h"

#include <fcntl.h>
#include <unistd.h>

WEFT_TEST(sock_ops_tcp) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  ASSERT_OK(bind(lfd, (struct sockaddr *)&a, sizeof(a)));
  ASSERT_OK(listen(lfd, 4));
  getsockname(lfd, (struct sockaddr *)&a, &al);
  weft_future_t *acc, *con;
  ASSERT_OK(weft_sock_accept(loop, lfd, &acc)); /* waits */
  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_OK(weft_sock_connect(loop, cfd, (struct sockaddr *)&a, &con));
  ASSERT_OK(weft_loop_run_until_complete(loop, con));
  ASSERT_OK(weft_loop_run_until_complete(loop, acc));
  const weft_value_t *v;
  weft_future_result(acc, &v);
  int sfd = (int)v->i;
  weft_future_release(acc);
  weft_future_release(con);
  /* recv waits, then sendall wakes it */
  weft_future_t *rf, *sf;
  ASSERT_OK(weft_sock_recv(loop, sfd, 100, &rf));
  ASSERT_TRUE(!weft_future_done(rf));
  ASSERT_OK(weft_sock_sendall(loop, cfd, "hello", 5, &sf));
  ASSERT_OK(weft_loop_run_until_complete(loop, sf));
  ASSERT_OK(weft_loop_run_until_complete(loop, rf));
  weft_future_result(rf, &v);
  ASSERT_EQ(v->len, 5);
  ASSERT_TRUE(memcmp(v->ptr, "hello", 5) == 0);
  weft_future_release(rf);
  weft_future_release(sf);
  /* a large sendall against recv_into in a loop */
  static char big[1 << 20], got[1 << 20];
  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (char)i;
  ASSERT_OK(weft_sock_sendall(loop, cfd, big, sizeof(big), &sf));
  size_t total = 0;
  while (total < sizeof(got)) {
    ASSERT_OK(weft_sock_recv_into(loop, sfd, got + total, sizeof(got) - total, &rf));
    ASSERT_OK(weft_loop_run_until_complete(loop, rf));
    weft_future_result(rf, &v);
    total += (size_t)v->i;
    weft_future_release(rf);
  }
  ASSERT_OK(weft_loop_run_until_complete(loop, sf));
  weft_future_release(sf);
  ASSERT_TRUE(memcmp(big, got, sizeof(big)) == 0);
  /* cancelling a waiting recv removes its watcher */
  ASSERT_OK(weft_sock_recv(loop, sfd, 10, &rf));
  weft_future_cancel(rf, NULL);
  spin(loop, 2);
  ASSERT_EQ(weft_remove_reader(loop, sfd), 0);
  weft_future_release(rf);
  /* sendfile over the raw socket */
  char path[] = "/tmp/weft-sf-XXXXXX";
  int file = mkstemp(path);
  unlink(path);
  ASSERT_EQ(write(file, big, 100000), 100000);
  ASSERT_OK(weft_sock_sendfile(loop, cfd, file, 0, 0, 1, &sf));
  total = 0;
  while (total < 100000) {
    ASSERT_OK(weft_sock_recv_into(loop, sfd, got + total, 100000 - total, &rf));
    ASSERT_OK(weft_loop_run_until_complete(loop, rf));
    weft_future_result(rf, &v);
    total += (size_t)v->i;
    weft_future_release(rf);
  }
  ASSERT_OK(weft_loop_run_until_complete(loop, sf));
  weft_future_result(sf, &v);
  ASSERT_EQ(v->i, 100000);
  weft_future_release(sf);
  ASSERT_TRUE(memcmp(big, got, 100000) == 0);
  close(file);
  /* connection refused through sock_connect */
  close(lfd);
  int c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT_OK(weft_sock_connect(loop, c2, (struct sockaddr *)&a, &con));
  ASSERT_CODE(weft_loop_run_until_complete(loop, con), WEFT_ECONNREFUSED);
  weft_future_release(con);
  close(c2);
  close(cfd);
  close(sfd);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

static int reads;
static void count_read(void *arg) {
  int fd = *(int *)arg;
  char b[16];
  if (read(fd, b, sizeof(b)) > 0)
    reads++;
}

/* Runs the loop until count_read has read once (5 s at most), then checks that it did. */
static void run_until_read(weft_loop_t *loop) {
  double deadline = weft_loop_time(loop) + 5;
  while (reads < 1 && weft_loop_time(loop) < deadline)
    weft_loop_run_once(loop, 1);
  ASSERT_EQ(reads, 1);
}

WEFT_TEST(readers_writers_udp) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
  ASSERT_OK(weft_add_reader(loop, fds[0], count_read, &fds[0], NULL));
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  run_until_read(loop);
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 1);
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 0);
  ASSERT_EQ(weft_remove_writer(loop, fds[0]), 0);
  ASSERT_CODE(weft_add_reader(loop, -1, count_read, NULL, NULL), WEFT_EINVAL);
  close(fds[0]);
  close(fds[1]);
  /* UDP recvfrom / sendto */
  int u1 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int u2 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  ASSERT_OK(bind(u1, (struct sockaddr *)&a, sizeof(a)));
  getsockname(u1, (struct sockaddr *)&a, &al);
  struct sockaddr_storage from;
  size_t fl = sizeof(from);
  weft_future_t *rf, *sf;
  ASSERT_OK(weft_sock_recvfrom(loop, u1, 64, (struct sockaddr *)&from, &fl, &rf));
  ASSERT_OK(weft_sock_sendto(loop, u2, "dg", 2, (struct sockaddr *)&a, &sf));
  ASSERT_OK(weft_loop_run_until_complete(loop, rf));
  ASSERT_OK(weft_loop_run_until_complete(loop, sf));
  const weft_value_t *v;
  weft_future_result(rf, &v);
  ASSERT_EQ(v->len, 2);
  ASSERT_EQ(from.ss_family, AF_INET);
  weft_future_release(rf);
  weft_future_release(sf);
  char buf[8];
  fl = sizeof(from);
  ASSERT_OK(
      weft_sock_recvfrom_into(loop, u1, buf, sizeof(buf), (struct sockaddr *)&from, &fl, &rf));
  ASSERT_OK(weft_sock_sendto(loop, u2, "abc", 3, (struct sockaddr *)&a, &sf));
  ASSERT_OK(weft_loop_run_until_complete(loop, rf));
  weft_future_result(rf, &v);
  ASSERT_EQ(v->i, 3);
  weft_future_release(rf);
  ASSERT_OK(weft_loop_run_until_complete(loop, sf));
  weft_future_release(sf);
  close(u1);
  close(u2);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

static int writable, churned;
static void count_writable(void *arg) {
  (void)arg;
  writable++;
}
static void count_churned(void *arg) {
  (void)arg;
  churned++;
}

/* Watchers removed and added again many times within one iteration, on a high descriptor
 * number: each add finds the table slot at once and the last callback is the one that
 * runs. Watchers still registered when the loop closes are freed with it. */
WEFT_TEST(watcher_churn_and_high_descriptors) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
  int high = fcntl(fds[0], F_DUPFD_CLOEXEC, 700);
  ASSERT_TRUE(high >= 700);
  reads = writable = churned = 0;
  for (int i = 0; i < 20000; i++) {
    ASSERT_OK(weft_add_reader(loop, high, count_churned, NULL, NULL));
    ASSERT_EQ(weft_remove_reader(loop, high), 1);
  }
  ASSERT_OK(weft_add_reader(loop, high, count_read, &high, NULL));
  ASSERT_OK(weft_add_writer(loop, fds[1], count_writable, NULL, NULL)); /* left registered */
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  run_until_read(loop);
  ASSERT_TRUE(writable >= 1); /* the writer left registered ran */
  ASSERT_EQ(churned, 0);      /* the readers removed within the iteration never did */
  weft_test_close_loop(loop);
  close(high);
  close(fds[0]);
  close(fds[1]);
}
