/* Datagram endpoints on loopback. */
#include "net_util.h"

#include <fcntl.h>
#include <unistd.h>

typedef struct dp_s {
  int made, lost, n, errors;
  char last[64];
  size_t last_len;
  struct sockaddr_storage from;
  int echo;
} dp_t;

static void d_made(weft_transport_t *t, void *arg) {
  ((dp_t *)arg)->made++;
}
static void d_recv(weft_transport_t *t, const char *d, size_t n, const struct sockaddr *a,
                   void *arg) {
  dp_t *p = arg;
  p->n++;
  memcpy(p->last, d, n < 64 ? n : 64);
  p->last_len = n;
  if (a)
    memcpy(&p->from, a,
           weft_sockaddr_format(a, NULL, 0, NULL) >= 0 && a->sa_family == AF_INET6
               ? sizeof(struct sockaddr_in6)
               : sizeof(struct sockaddr_in));
  if (p->echo)
    weft_transport_sendto(t, d, n, a);
}
static void d_err(weft_transport_t *t, int e, void *arg) {
  ((dp_t *)arg)->errors++;
}
static void d_lost(weft_transport_t *t, int e, void *arg) {
  ((dp_t *)arg)->lost++;
}
static const weft_protocol_t dproto = {.size = sizeof(weft_protocol_t),
                                       .connection_made = d_made,
                                       .datagram_received = d_recv,
                                       .error_received = d_err,
                                       .connection_lost = d_lost};

static weft_transport_t *endpoint(weft_loop_t *loop, dp_t *p, weft_datagram_options_t *o) {
  weft_future_t *f;
  ASSERT_OK(weft_create_datagram_endpoint(loop, &dproto, p, o, &f));
  int rc;
  weft_transport_t *t = weft_transport_retain(await_ptr(loop, f, &rc));
  ASSERT_OK(rc);
  weft_future_release(f);
  ASSERT_EQ(p->made, 1);
  return t;
}

/* The port the endpoint is bound to. */
static int local_port(weft_transport_t *t) {
  struct sockaddr_storage ss;
  size_t sl = sizeof(ss);
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_SOCKNAME, &ss, &sl));
  return addr_port((struct sockaddr *)&ss);
}

/* Whether the endpoint's socket has the SOL_SOCKET option `opt` on. */
static int socket_option_on(weft_transport_t *t, int opt) {
  int fd = -1, on = 0;
  size_t fl = sizeof fd;
  ASSERT_OK(weft_transport_get_extra_info(t, WEFT_INFO_FD, &fd, &fl));
  socklen_t ol = sizeof on;
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, opt, &on, &ol), 0);
  return on;
}

/* Runs the loop until `p` has received `n` datagrams in all (five seconds at most). */
static void wait_received(weft_loop_t *loop, dp_t *p, int n) {
  double deadline = weft_loop_time(loop) + 5;
  while (p->n < n && weft_loop_time(loop) < deadline)
    spin(loop, 1);
  ASSERT_EQ(p->n, n);
}

/* Aborts the endpoint, waits for its connection_lost and drops the test's reference. */
static void abort_endpoint(weft_loop_t *loop, weft_transport_t *t, dp_t *p) {
  weft_transport_abort(t);
  run_until_flag(loop, &p->lost, 5);
  weft_transport_release(t);
}

static void roundtrip(const char *host) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  dp_t sp = {.echo = 1}, cp = {0};
  weft_datagram_options_t so = {.size = sizeof(so), .local_host = host, .reuse_port = 1};
  weft_transport_t *st = endpoint(loop, &sp, &so);
  weft_datagram_options_t co = {
      .size = sizeof(co), .remote_host = host, .remote_port = local_port(st)};
  weft_transport_t *ct = endpoint(loop, &cp, &co);
  for (int i = 0; i < 20; i++) {
    char msg[16];
    int n = snprintf(msg, sizeof(msg), "dgram %d", i);
    ASSERT_OK(weft_transport_sendto(ct, msg, (size_t)n, NULL));
    wait_received(loop, &cp, i + 1);
    ASSERT_EQ(cp.last_len, (size_t)n);
    ASSERT_TRUE(memcmp(cp.last, msg, (size_t)n) == 0);
  }
  ASSERT_EQ(sp.n, 20);
  ASSERT_CODE(weft_transport_write(ct, "x", 1), WEFT_ENOTSUP);
  weft_transport_close(ct);
  weft_transport_close(st);
  ASSERT_CODE(weft_transport_sendto(st, "x", 1, NULL), WEFT_ECLOSED);
  run_until_flag(loop, &cp.lost, 5);
  run_until_flag(loop, &sp.lost, 5);
  weft_transport_release(ct);
  weft_transport_release(st);
  weft_test_close_loop(loop);
}

WEFT_TEST(roundtrip_v4) {
  roundtrip("127.0.0.1");
}

WEFT_TEST(roundtrip_v6) {
  roundtrip("::1");
}

WEFT_TEST(unconnected_and_broadcast) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  dp_t a = {0}, b = {0};
  weft_datagram_options_t o = {.size = sizeof(o), .local_host = "127.0.0.1", .allow_broadcast = 1};
  weft_transport_t *ta = endpoint(loop, &a, &o);
  weft_transport_t *tb = endpoint(loop, &b, &o);
  struct sockaddr_storage ss;
  size_t sl = sizeof(ss);
  ASSERT_OK(weft_transport_get_extra_info(tb, WEFT_INFO_SOCKNAME, &ss, &sl));
  ASSERT_OK(weft_transport_sendto(ta, "to-b", 4, (struct sockaddr *)&ss));
  wait_received(loop, &b, 1);
  ASSERT_EQ(b.from.ss_family, AF_INET);
  /* unconnected without an address is the caller's mistake */
  ASSERT_TRUE(weft_transport_sendto(ta, "x", 1, NULL) < 0);
  abort_endpoint(loop, ta, &a);
  abort_endpoint(loop, tb, &b);
  weft_test_close_loop(loop);
}

/* An endpoint still open when its loop closes is closed and freed by the close: its
 * protocol hears connection_lost(WEFT_ECLOSED) (valgrind and ASan check for leaks). */
WEFT_TEST(loop_close_frees_open_endpoint) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  dp_t p = {0};
  weft_datagram_options_t o = {.size = sizeof(o), .local_host = "127.0.0.1"};
  weft_transport_release(endpoint(loop, &p, &o));
  ASSERT_OK(weft_loop_close(loop));
  ASSERT_EQ(p.lost, 1);
  weft_loop_release(loop);
}

/* weft_datagram_socket: the first candidate that can be set up wins, bound and connected as
 * asked; when none can, the first one's error is the answer. */
WEFT_TEST(datagram_socket_candidates) {
  struct sockaddr_storage local, remote, taken_addr;
  struct sockaddr *l = (struct sockaddr *)&local, *r = (struct sockaddr *)&remote;
  ASSERT_TRUE(weft_sockaddr_ip(AF_INET, "127.0.0.1", 0, 0, 0, l, sizeof local) > 0);
  /* A peer to connect to, and a port already taken for the failing binds. */
  int peer = -1;
  weft_datagram_candidate_t one = {AF_INET, 0, l, 0, NULL, 0};
  ASSERT_EQ(weft_datagram_socket(&one, 1, 0, 0, &peer), 0);
  ASSERT_TRUE(peer >= 0);
  socklen_t len = sizeof taken_addr;
  ASSERT_EQ(getsockname(peer, (struct sockaddr *)&taken_addr, &len), 0);
  memcpy(&remote, &taken_addr, len);
  weft_datagram_candidate_t taken = {AF_INET, 0, (struct sockaddr *)&taken_addr, 0, NULL, 0};
  weft_datagram_candidate_t bad_family = {-1, 0, NULL, 0, NULL, 0};
  weft_datagram_candidate_t good = {AF_INET, 0, l, 0, r, 0};
  weft_datagram_candidate_t list[] = {taken, bad_family, good};
  int fd = -1;
  ASSERT_EQ(weft_datagram_socket(list, 3, 0, 0, &fd), 2);
  ASSERT_TRUE(fd >= 0);
  struct sockaddr_storage peer_name;
  len = sizeof peer_name;
  ASSERT_EQ(getpeername(fd, (struct sockaddr *)&peer_name, &len), 0);
  ASSERT_TRUE(memcmp(&((struct sockaddr_in *)&peer_name)->sin_port,
                     &((struct sockaddr_in *)&taken_addr)->sin_port, 2) == 0);
  ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  close(fd);
  /* None works: the first candidate's error, and no descriptor. */
  fd = 7;
  ASSERT_CODE(weft_datagram_socket(list, 2, 0, 0, &fd), WEFT_EADDRINUSE);
  ASSERT_EQ(fd, -1);
  weft_datagram_candidate_t reversed[] = {bad_family, taken};
  ASSERT_CODE(weft_datagram_socket(reversed, 2, 0, 0, &fd), WEFT_EAFNOSUPPORT);
  /* With SO_REUSEPORT on both, a second socket binds the same port; broadcast skips the
   * connect (asyncio sends to the remote address instead). */
  int a = -1, b = -1;
  ASSERT_EQ(weft_datagram_socket(&one, 1, 1, 0, &a), 0);
  len = sizeof taken_addr;
  ASSERT_EQ(getsockname(a, (struct sockaddr *)&taken_addr, &len), 0);
  ASSERT_EQ(weft_datagram_socket(&taken, 1, 1, 1, &b), 0);
  int on = 0;
  len = sizeof on;
  ASSERT_EQ(getsockopt(b, SOL_SOCKET, SO_BROADCAST, &on, &len), 0);
  ASSERT_TRUE(on);
  close(a);
  close(b);
  weft_datagram_candidate_t broadcast = {AF_INET, 0, NULL, 0, r, 0};
  ASSERT_EQ(weft_datagram_socket(&broadcast, 1, 0, 1, &b), 0);
  len = sizeof peer_name;
  ASSERT_TRUE(getpeername(b, (struct sockaddr *)&peer_name, &len) != 0);
  close(b);
  close(peer);
  ASSERT_CODE(weft_datagram_socket(list, 0, 0, 0, &fd), WEFT_EINVAL);
}

/* The endpoint's future, awaited: its error code, and its message in *msg (if any). */
static int endpoint_error(weft_loop_t *loop, weft_datagram_options_t *o, char *msg, size_t cap) {
  dp_t p = {0};
  weft_future_t *f;
  ASSERT_OK(weft_create_datagram_endpoint(loop, &dproto, &p, o, &f));
  int rc;
  weft_transport_t *t = await_ptr(loop, f, &rc);
  ASSERT_TRUE(t == NULL);
  const char *text = weft_future_error_message(f);
  snprintf(msg, cap, "%s", text ? text : "");
  weft_future_release(f);
  ASSERT_EQ(p.made, 0);
  return rc;
}

/* asyncio's pairing: local and remote are resolved on their own, and only the families both
 * have are tried; none in common, or no address and no family, is an error of its own. */
/* asyncio's pairing: one row per (family, protocol) with an address of every side given,
 * in the order first named, with each side's last address. */
WEFT_TEST(datagram_pair_rows) {
  struct sockaddr_storage a[5];
  struct sockaddr *p[5];
  for (int i = 0; i < 5; i++)
    p[i] = (struct sockaddr *)&a[i];
  weft_datagram_candidate_t rows[] = {
      {AF_INET6, 17, p[0], 0, NULL, 0}, /* local: v6, then two v4 */
      {AF_INET, 17, p[1], 0, NULL, 0},  {AF_INET, 17, p[2], 0, NULL, 0},
      {AF_INET, 17, NULL, 0, p[3], 0}, /* remote: v4 only, then a UDP-Lite one */
      {AF_INET, 136, NULL, 0, p[4], 0},
  };
  ASSERT_EQ(weft_datagram_pair(rows, 5), 1);
  ASSERT_EQ(rows[0].family, AF_INET);
  ASSERT_EQ(rows[0].protocol, 17);
  ASSERT_TRUE(rows[0].local == p[2] && rows[0].remote == p[3]);
  /* One side only: every (family, protocol), in order, each with its last address. */
  weft_datagram_candidate_t local[] = {
      {AF_INET6, 17, p[0], 0, NULL, 0},
      {AF_INET, 17, p[1], 0, NULL, 0},
      {AF_INET6, 17, p[2], 0, NULL, 0},
  };
  ASSERT_EQ(weft_datagram_pair(local, 3), 2);
  ASSERT_TRUE(local[0].family == AF_INET6 && local[0].local == p[2] && !local[0].remote);
  ASSERT_TRUE(local[1].family == AF_INET && local[1].local == p[1]);
  /* No family in common: nothing to try. */
  weft_datagram_candidate_t apart[] = {{AF_INET6, 17, p[0], 0, NULL, 0},
                                       {AF_INET, 17, NULL, 0, p[1], 0}};
  ASSERT_EQ(weft_datagram_pair(apart, 2), 0);
  ASSERT_EQ(weft_datagram_pair(NULL, 2), 0);
}

WEFT_TEST(endpoint_pairs_local_and_remote) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  dp_t sp = {0}, cp = {0};
  weft_datagram_options_t so = {.size = sizeof(so), .local_host = "127.0.0.1"};
  weft_transport_t *st = endpoint(loop, &sp, &so);
  int port = local_port(st);
  /* "localhost" may name ::1 first: the IPv4 remote picks its IPv4 address. */
  weft_datagram_options_t co = {.size = sizeof(co),
                                .local_host = "localhost",
                                .remote_host = "127.0.0.1",
                                .remote_port = port};
  weft_transport_t *ct = endpoint(loop, &cp, &co);
  struct sockaddr_storage ss;
  size_t sl = sizeof(ss);
  ASSERT_OK(weft_transport_get_extra_info(ct, WEFT_INFO_SOCKNAME, &ss, &sl));
  ASSERT_EQ(ss.ss_family, AF_INET);
  sl = sizeof(ss);
  ASSERT_OK(weft_transport_get_extra_info(ct, WEFT_INFO_PEERNAME, &ss, &sl));
  ASSERT_EQ(addr_port((struct sockaddr *)&ss), port);
  ASSERT_OK(weft_transport_sendto(ct, "hi", 2, NULL));
  wait_received(loop, &sp, 1);
  abort_endpoint(loop, ct, &cp);
  abort_endpoint(loop, st, &sp);

  char msg[128];
  weft_datagram_options_t mixed = {
      .size = sizeof(mixed), .local_host = "::1", .remote_host = "127.0.0.1", .remote_port = port};
  ASSERT_CODE(endpoint_error(loop, &mixed, msg, sizeof msg), WEFT_EINVAL);
  ASSERT_TRUE(strcmp(msg, "can not get address information") == 0);
  weft_datagram_options_t wrong = {
      .size = sizeof(wrong), .local_host = "127.0.0.1", .family = AF_INET6};
  int rc = endpoint_error(loop, &wrong, msg, sizeof msg);
  ASSERT_TRUE(rc == WEFT_EAI_NONAME || rc == WEFT_EAI_ADDRFAMILY || rc == WEFT_EAI_FAMILY);
  weft_datagram_options_t none = {.size = sizeof(none)};
  ASSERT_CODE(endpoint_error(loop, &none, msg, sizeof msg), WEFT_EINVAL);
  ASSERT_TRUE(strcmp(msg, "unexpected address family") == 0);
  /* With a family and no address: an unbound socket of that family. */
  dp_t up = {0};
  weft_datagram_options_t v6 = {.size = sizeof(v6), .family = AF_INET6};
  weft_transport_t *ut = endpoint(loop, &up, &v6);
  sl = sizeof(ss);
  ASSERT_OK(weft_transport_get_extra_info(ut, WEFT_INFO_SOCKNAME, &ss, &sl));
  ASSERT_EQ(ss.ss_family, AF_INET6);
  abort_endpoint(loop, ut, &up);
  weft_test_close_loop(loop);
}

/* reuse_port lets a second endpoint bind the first one's port; without it the bind fails
 * with the socket's own error. */
WEFT_TEST(endpoint_reuse_port) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  dp_t a = {0}, b = {0};
  weft_datagram_options_t o = {.size = sizeof(o), .local_host = "127.0.0.1", .reuse_port = 1};
  weft_transport_t *ta = endpoint(loop, &a, &o);
  o.local_port = local_port(ta);
  weft_transport_t *tb = endpoint(loop, &b, &o);
  ASSERT_EQ(local_port(tb), o.local_port);
  ASSERT_TRUE(socket_option_on(tb, SO_REUSEPORT));
  char msg[128];
  o.reuse_port = 0;
  ASSERT_CODE(endpoint_error(loop, &o, msg, sizeof msg), WEFT_EADDRINUSE);
  abort_endpoint(loop, ta, &a);
  abort_endpoint(loop, tb, &b);
  weft_test_close_loop(loop);
}

/* allow_broadcast with a remote address: SO_BROADCAST, no connect (as asyncio), and sendto
 * without an address still reaches the remote. */
WEFT_TEST(endpoint_broadcast_remote) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  dp_t sp = {0}, cp = {0};
  weft_datagram_options_t so = {.size = sizeof(so), .local_host = "127.0.0.1"};
  weft_transport_t *st = endpoint(loop, &sp, &so);
  weft_datagram_options_t co = {.size = sizeof(co),
                                .remote_host = "127.0.0.1",
                                .remote_port = local_port(st),
                                .allow_broadcast = 1};
  weft_transport_t *ct = endpoint(loop, &cp, &co);
  ASSERT_TRUE(socket_option_on(ct, SO_BROADCAST));
  struct sockaddr_storage ss;
  size_t sl = sizeof(ss);
  ASSERT_CODE(weft_transport_get_extra_info(ct, WEFT_INFO_PEERNAME, &ss, &sl), WEFT_ENOENT);
  ASSERT_OK(weft_transport_sendto(ct, "bc", 2, NULL));
  wait_received(loop, &sp, 1);
  ASSERT_TRUE(memcmp(sp.last, "bc", 2) == 0);
  abort_endpoint(loop, ct, &cp);
  abort_endpoint(loop, st, &sp);
  weft_test_close_loop(loop);
}
