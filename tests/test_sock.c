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

/* A program may close a descriptor it watches at any moment (asyncio's selector survives
 * it). Here: closed before libuv ever registered it, closed after it did and then asked
 * for other events, and closed with its number taken by another file. The loop goes on,
 * removing finds each registration, and the new file at a reused number is watched. */
WEFT_TEST(watched_descriptor_closed_under_the_watcher) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int a[2], b[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a));
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b));
  reads = writable = churned = 0;
  /* Closed before the first poll. */
  ASSERT_OK(weft_add_reader(loop, a[0], count_churned, NULL, NULL));
  close(a[0]);
  for (int i = 0; i < 3; i++)
    ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(weft_remove_reader(loop, a[0]), 1);
  /* Registered by a poll, closed, then another event asked for. */
  ASSERT_OK(weft_add_reader(loop, b[0], count_churned, NULL, NULL));
  ASSERT_OK(weft_loop_run_once(loop, 1));
  close(b[0]);
  ASSERT_OK(weft_add_writer(loop, b[0], count_churned, NULL, NULL));
  for (int i = 0; i < 3; i++)
    ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_EQ(churned, 0);
  /* Its number now names another socket, with data waiting: watched from the next poll. */
  int c[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c));
  for (int i = 0; i < 2; i++) { /* out of the way of the numbers closed above */
    int moved = fcntl(c[i], F_DUPFD_CLOEXEC, 300);
    close(c[i]);
    c[i] = moved;
  }
  ASSERT_EQ(dup2(c[0], b[0]), b[0]);
  ASSERT_EQ(write(c[1], "x", 1), 1);
  ASSERT_EQ(weft_remove_writer(loop, b[0]), 1);
  ASSERT_OK(weft_add_reader(loop, b[0], count_read, &b[0], NULL));
  run_until_read(loop);
  ASSERT_EQ(weft_remove_reader(loop, b[0]), 1);
  /* A descriptor closed already is refused at once. */
  ASSERT_CODE(weft_add_reader(loop, a[0], count_churned, NULL, NULL), WEFT_EBADF);
  ASSERT_EQ(churned, 0);
  weft_test_close_loop(loop);
  close(c[0]);
  close(b[0]);
  close(c[1]);
  close(a[1]);
  close(b[1]);
}

static void noop_data(weft_transport_t *t, const char *data, size_t len, void *arg) {
  (void)t;
  (void)data;
  (void)len;
  (void)arg;
}

/* A descriptor the loop's own transport watches is refused (asyncio: RuntimeError); a
 * second watcher would take the transport's epoll registration away. */
WEFT_TEST(descriptor_of_a_transport_is_refused) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds));
  weft_protocol_t p;
  memset(&p, 0, sizeof p);
  p.size = sizeof p;
  p.data_received = noop_data;
  weft_future_t *f;
  ASSERT_OK(weft_create_unix_connection_fd(loop, &p, NULL, fds[0], NULL, &f));
  ASSERT_OK(weft_loop_run_until_complete(loop, f));
  const weft_value_t *v;
  ASSERT_OK(weft_future_result(f, &v));
  weft_transport_t *t = v->ptr;
  for (int i = 0; i < 3; i++)
    ASSERT_OK(weft_loop_run_once(loop, 1));
  ASSERT_CODE(weft_add_reader(loop, fds[0], count_churned, NULL, NULL), WEFT_EBUSY);
  ASSERT_CODE(weft_add_writer(loop, fds[0], count_churned, NULL, NULL), WEFT_EBUSY);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  for (int i = 0; i < 3; i++)
    ASSERT_OK(weft_loop_run_once(loop, 1));
  weft_transport_close(t);
  weft_future_release(f);
  close(fds[1]);
  weft_test_close_loop(loop);
}

/* A watcher only polls the caller's descriptor: its blocking mode stays what it was. */
WEFT_TEST(watcher_leaves_the_blocking_mode_alone) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  int fds[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
  ASSERT_OK(weft_add_reader(loop, fds[0], count_read, &fds[0], NULL));
  ASSERT_OK(weft_add_writer(loop, fds[1], count_churned, NULL, NULL));
  ASSERT_EQ(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
  ASSERT_EQ(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  run_until_read(loop);
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 1);
  ASSERT_EQ(weft_remove_writer(loop, fds[1]), 1);
  ASSERT_EQ(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
  close(fds[1]);
  /* and a non-blocking one stays non-blocking */
  ASSERT_OK(weft_add_reader(loop, fds[0], count_churned, NULL, NULL));
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 1);
  ASSERT_EQ(fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
  int flags = fcntl(fds[0], F_GETFL);
  ASSERT_OK(fcntl(fds[0], F_SETFL, flags | O_NONBLOCK));
  ASSERT_OK(weft_add_reader(loop, fds[0], count_churned, NULL, NULL));
  ASSERT_TRUE(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
  ASSERT_EQ(weft_remove_reader(loop, fds[0]), 1);
  close(fds[0]);
  weft_test_close_loop(loop);
}
