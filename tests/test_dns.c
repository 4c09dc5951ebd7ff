/* getaddrinfo / getnameinfo futures. */
#include "net_util.h"

#include <netdb.h>
#include <string.h>

WEFT_TEST(getaddrinfo_numeric_and_localhost) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_getaddrinfo(loop, "127.0.0.1", "80", AF_INET, SOCK_STREAM, 0, 0, &f));
  int rc;
  weft_addrinfo_t *l = await_ptr(loop, f, &rc);
  ASSERT_OK(rc);
  ASSERT_TRUE(weft_addrinfo_count(l) >= 1);
  ASSERT_EQ(weft_addrinfo_family(l, 0), AF_INET);
  ASSERT_EQ(weft_addrinfo_socktype(l, 0), SOCK_STREAM);
  size_t al;
  const struct sockaddr *a = weft_addrinfo_addr(l, 0, &al);
  ASSERT_EQ(al, sizeof(struct sockaddr_in));
  char text[64];
  int port;
  ASSERT_EQ(weft_sockaddr_format(a, text, sizeof(text), &port), 9);
  ASSERT_STREQ(text, "127.0.0.1");
  ASSERT_EQ(port, 80);
  ASSERT_TRUE(weft_addrinfo_addr(l, 99, &al) == NULL);
  weft_addrinfo_t *copy;
  ASSERT_OK(weft_addrinfo_copy(l, &copy));
  weft_future_release(f);
  ASSERT_EQ(weft_addrinfo_family(copy, 0), AF_INET);
  weft_addrinfo_free(copy);
  ASSERT_OK(weft_getaddrinfo(loop, "localhost", NULL, 0, SOCK_STREAM, 0, AI_CANONNAME, &f));
  l = await_ptr(loop, f, &rc);
  ASSERT_OK(rc);
  ASSERT_TRUE(weft_addrinfo_count(l) >= 1);
  weft_future_release(f);
  ASSERT_OK(weft_getaddrinfo(loop, "no-such-host.invalid", "1", 0, 0, 0, 0, &f));
  rc = weft_loop_run_until_complete(loop, f);
  ASSERT_TRUE(rc <= WEFT_EAI_ADDRFAMILY && rc >= WEFT_EAI_SOCKTYPE);
  weft_future_release(f);
  ASSERT_CODE(weft_getaddrinfo(loop, NULL, NULL, 0, 0, 0, 0, &f), WEFT_EINVAL);
  /* cancelled while resolving */
  ASSERT_OK(weft_getaddrinfo(loop, "localhost", "1", 0, 0, 0, 0, &f));
  weft_future_cancel(f, NULL);
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ECANCELLED);
  weft_future_release(f);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

/* Hosts libuv refuses before any lookup (empty, longer than a DNS name) get the C
 * library's own answer, as asyncio's loop.getaddrinfo gives it (socket.getaddrinfo). */
WEFT_TEST(getaddrinfo_hosts_libuv_refuses) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  char long_host[301];
  memset(long_host, 'a', 300);
  long_host[300] = '\0';
  const char *hosts[] = {"", long_host};
  for (size_t i = 0; i < 2; i++) {
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    ASSERT_EQ(getaddrinfo(hosts[i], "80", &hints, &res), EAI_NONAME);
    weft_future_t *f;
    ASSERT_OK(weft_getaddrinfo(loop, hosts[i], "80", AF_INET, SOCK_STREAM, 0, 0, &f));
    ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_EAI_NONAME);
    ASSERT_TRUE(strstr(weft_future_error_message(f), "unknown node") != NULL);
    weft_future_release(f);
  }
  /* cancelled while the C library answers */
  weft_future_t *f;
  ASSERT_OK(weft_getaddrinfo(loop, "", "80", 0, 0, 0, 0, &f));
  weft_future_cancel(f, NULL);
  ASSERT_CODE(weft_loop_run_until_complete(loop, f), WEFT_ECANCELLED);
  weft_future_release(f);
  spin(loop, 3);
  weft_test_close_loop(loop);
}

WEFT_TEST(getnameinfo) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  weft_future_t *f;
  ASSERT_OK(weft_getnameinfo(loop, (struct sockaddr *)&a, NI_NUMERICHOST | NI_NUMERICSERV, &f));
  int rc;
  weft_nameinfo_t *ni = await_ptr(loop, f, &rc);
  ASSERT_OK(rc);
  ASSERT_STREQ(weft_nameinfo_host(ni), "127.0.0.1");
  ASSERT_STREQ(weft_nameinfo_service(ni), "80");
  weft_future_release(f);
  weft_test_close_loop(loop);
}
