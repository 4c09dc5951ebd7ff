/* Socket addresses built from their parts (weft_sockaddr_ip, weft_sockaddr_unix), checked
 * against what the C library makes of the same parts and against weft_sockaddr_format. */
#include "weft_test.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

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
