/* Socket addresses built from their parts (weft_sockaddr_ip, weft_sockaddr_unix), checked
 * against what the C library makes of the same parts and against weft_sockaddr_format. */
#include "weft_test.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

WEFT_TEST(ipv4) {
  struct sockaddr_storage ss;
  struct sockaddr *sa = (struct sockaddr *)&ss;
  ASSERT_EQ(weft_sockaddr_ip(AF_INET, "127.0.0.1", 8080, 0, 0, sa, sizeof ss),
            (int)sizeof(struct sockaddr_in));
  const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
  ASSERT_EQ(in->sin_family, AF_INET);
  ASSERT_EQ(ntohs(in->sin_port), 8080);
  ASSERT_EQ(in->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  char text[64];
  int port = -1;
  ASSERT_EQ(weft_sockaddr_format(sa, text, sizeof text, &port), 9);
  ASSERT_STREQ(text, "127.0.0.1");
  ASSERT_EQ(port, 8080);
  /* Not numeric, or not of the family, or a port out of range. */
  ASSERT_CODE(weft_sockaddr_ip(AF_INET, "localhost", 1, 0, 0, sa, sizeof ss), WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET, "::1", 1, 0, 0, sa, sizeof ss), WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET, "1.2.3.4", 65536, 0, 0, sa, sizeof ss), WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET, "1.2.3.4", -1, 0, 0, sa, sizeof ss), WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_ip(AF_UNIX, "1.2.3.4", 1, 0, 0, sa, sizeof ss), WEFT_EAFNOSUPPORT);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET, "1.2.3.4", 1, 0, 0, sa, 4), WEFT_ENOBUFS);
}

WEFT_TEST(ipv6) {
  struct sockaddr_storage ss;
  struct sockaddr *sa = (struct sockaddr *)&ss;
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
  ASSERT_EQ(weft_sockaddr_ip(AF_INET6, "::1", 443, 7, 0, sa, sizeof ss),
            (int)sizeof(struct sockaddr_in6));
  ASSERT_EQ(in6->sin6_family, AF_INET6);
  ASSERT_EQ(ntohs(in6->sin6_port), 443);
  ASSERT_EQ(ntohl(in6->sin6_flowinfo), 7);
  ASSERT_EQ(in6->sin6_scope_id, 0);
  ASSERT_TRUE(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
  /* A scope by number, by name, and the explicit scope_id winning over either. */
  ASSERT_EQ(weft_sockaddr_ip(AF_INET6, "fe80::1%3", 1, 0, 0, sa, sizeof ss),
            (int)sizeof(struct sockaddr_in6));
  ASSERT_EQ(in6->sin6_scope_id, 3);
  unsigned lo = if_nametoindex("lo");
  if (lo != 0) {
    ASSERT_EQ(weft_sockaddr_ip(AF_INET6, "fe80::1%lo", 1, 0, 0, sa, sizeof ss),
              (int)sizeof(struct sockaddr_in6));
    ASSERT_EQ(in6->sin6_scope_id, lo);
  }
  ASSERT_EQ(weft_sockaddr_ip(AF_INET6, "fe80::1%3", 1, 0, 9, sa, sizeof ss),
            (int)sizeof(struct sockaddr_in6));
  ASSERT_EQ(in6->sin6_scope_id, 9);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET6, "fe80::1%no-such-interface-x", 1, 0, 0, sa, sizeof ss),
              WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET6, "127.0.0.1", 1, 0, 0, sa, sizeof ss), WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET6, "", 1, 0, 0, sa, sizeof ss), WEFT_EINVAL);
  char longer[200];
  memset(longer, 'f', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  ASSERT_CODE(weft_sockaddr_ip(AF_INET6, longer, 1, 0, 0, sa, sizeof ss), WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET6, "::1", 1, 0, 0, sa, sizeof(struct sockaddr_in)),
              WEFT_ENOBUFS);
  ASSERT_CODE(weft_sockaddr_ip(AF_INET6, NULL, 1, 0, 0, sa, sizeof ss), WEFT_EINVAL);
}

WEFT_TEST(unix_paths) {
  struct sockaddr_storage ss;
  struct sockaddr *sa = (struct sockaddr *)&ss;
  const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
  size_t base = offsetof(struct sockaddr_un, sun_path);
  ASSERT_EQ(weft_sockaddr_unix("/tmp/x.sock", 11, sa, sizeof ss), (int)(base + 12));
  ASSERT_EQ(un->sun_family, AF_UNIX);
  ASSERT_STREQ(un->sun_path, "/tmp/x.sock");
  /* An abstract name is its bytes, without a terminating NUL. */
  ASSERT_EQ(weft_sockaddr_unix("\0name", 5, sa, sizeof ss), (int)(base + 5));
  ASSERT_TRUE(memcmp(un->sun_path, "\0name", 5) == 0);
  char text[64];
  ASSERT_EQ(weft_sockaddr_format(sa, text, sizeof text, NULL), 5);
  ASSERT_STREQ(text, "@name");
  /* The longest path leaves room for its NUL; an abstract name may fill the field. */
  char path[sizeof un->sun_path + 1];
  memset(path, 'a', sizeof path);
  ASSERT_EQ(weft_sockaddr_unix(path, sizeof un->sun_path - 1, sa, sizeof ss),
            (int)(base + sizeof un->sun_path));
  ASSERT_CODE(weft_sockaddr_unix(path, sizeof un->sun_path, sa, sizeof ss), WEFT_ENAMETOOLONG);
  path[0] = '\0';
  ASSERT_EQ(weft_sockaddr_unix(path, sizeof un->sun_path, sa, sizeof ss),
            (int)(base + sizeof un->sun_path));
  ASSERT_CODE(weft_sockaddr_unix("", 0, sa, sizeof ss), WEFT_EINVAL);
  ASSERT_CODE(weft_sockaddr_unix("/x", 2, sa, sizeof(struct sockaddr_in)), WEFT_ENOBUFS);
  ASSERT_CODE(weft_sockaddr_unix(NULL, 2, sa, sizeof ss), WEFT_EINVAL);
}

/* weft_sockaddr_decode takes apart what weft_sockaddr_ip and weft_sockaddr_unix make (the
 * bindings' decoding), and what a kernel reports for a real socket. */
WEFT_TEST(decode) {
  struct sockaddr_storage ss;
  struct sockaddr *sa = (struct sockaddr *)&ss;
  weft_sockaddr_parts_t p;
  ASSERT_TRUE(weft_sockaddr_ip(AF_INET, "10.1.2.3", 4433, 0, 0, sa, sizeof ss) > 0);
  ASSERT_OK(weft_sockaddr_decode(sa, 0, &p));
  ASSERT_EQ(p.family, AF_INET);
  ASSERT_TRUE(strcmp(p.host, "10.1.2.3") == 0);
  ASSERT_EQ(p.port, 4433);
  ASSERT_TRUE(p.path == NULL);
  ASSERT_CODE(weft_sockaddr_decode(sa, 4, &p), WEFT_EINVAL);
  ASSERT_TRUE(weft_sockaddr_ip(AF_INET6, "fe80::1", 65535, 0x12345, 7, sa, sizeof ss) > 0);
  ASSERT_OK(weft_sockaddr_decode(sa, sizeof(struct sockaddr_in6), &p));
  ASSERT_EQ(p.family, AF_INET6);
  ASSERT_TRUE(strcmp(p.host, "fe80::1") == 0);
  ASSERT_EQ(p.port, 65535);
  ASSERT_EQ(p.flowinfo, 0x12345u);
  ASSERT_EQ(p.scope_id, 7u);
  ASSERT_TRUE(weft_sockaddr_ip(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 1, 0, 0, sa,
                               sizeof ss) > 0);
  ASSERT_OK(weft_sockaddr_decode(sa, 0, &p));
  ASSERT_TRUE(strcmp(p.host, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe") == 0);
  /* Unix: a path ends at its NUL; an abstract name keeps its bytes, NULs inside included,
   * and ends at the length given (without one, where the padding starts). */
  int len = weft_sockaddr_unix("/tmp/x.sock", 11, sa, sizeof ss);
  ASSERT_TRUE(len > 0);
  ASSERT_OK(weft_sockaddr_decode(sa, (size_t)len, &p));
  ASSERT_EQ(p.family, AF_UNIX);
  ASSERT_EQ(p.path_len, (size_t)11);
  ASSERT_TRUE(memcmp(p.path, "/tmp/x.sock", 11) == 0);
  ASSERT_OK(weft_sockaddr_decode(sa, 0, &p));
  ASSERT_EQ(p.path_len, (size_t)11);
  len = weft_sockaddr_unix("\0ab\0c\0", 6, sa, sizeof ss);
  ASSERT_OK(weft_sockaddr_decode(sa, (size_t)len, &p));
  ASSERT_EQ(p.path_len, (size_t)6);
  ASSERT_TRUE(memcmp(p.path, "\0ab\0c\0", 6) == 0);
  ASSERT_OK(weft_sockaddr_decode(sa, 0, &p));
  ASSERT_EQ(p.path_len, (size_t)5);
  /* An unbound Unix socket: the family alone. */
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_TRUE(fd >= 0);
  socklen_t sl = sizeof ss;
  memset(&ss, 0x55, sizeof ss);
  ASSERT_EQ(getsockname(fd, sa, &sl), 0);
  ASSERT_OK(weft_sockaddr_decode(sa, sl, &p));
  ASSERT_EQ(p.path_len, (size_t)0);
  close(fd);
  ss.ss_family = AF_PACKET;
  ASSERT_CODE(weft_sockaddr_decode(sa, 0, &p), WEFT_EAFNOSUPPORT);
  ASSERT_CODE(weft_sockaddr_decode(NULL, 0, &p), WEFT_EINVAL);
}
