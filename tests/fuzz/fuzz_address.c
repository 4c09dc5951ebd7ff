/* Fuzz target: socket addresses, which reach weft from peers and resolvers.
 *
 * The first byte picks what the rest feeds:
 *   0  weft_sockaddr_format on arbitrary address bytes (as recvfrom or accept hand them
 *      over), with every buffer size: the text round-trips through inet_pton, the port is
 *      the address's, a Unix path is its bytes ("@" and the name for an abstract one), and
 *      truncation keeps the NUL and returns the full length;
 *   1  weft__unix_addr on an arbitrary path, then formatted back;
 *   2  weft_getaddrinfo on an arbitrary numeric host and port (AI_NUMERICHOST|SERV, so no
 *      lookup leaves the machine), compared entry by entry with libc's getaddrinfo;
 *   3  happy eyeballs' address order (interleave_addrs, compiled in from
 *      core/src/happy_eyeballs.c) against asyncio's _interleave_addrinfos, written here. */
#include <weft.h>

#include "net.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file's static functions are what is under test; its two external functions then come
 * from here rather than from the library (as test_coro_ucontext does with coro.c). */
#include "happy_eyeballs.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz_address: %s: ", #cond);                                                \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* Formats with every buffer size up to past the full length and checks the truncations;
 * returns the full text in full (NUL-terminated, 256 bytes). */
static int format_all(const struct sockaddr *sa, char *full, int *port) {
  int n = weft_sockaddr_format(sa, full, 256, port);
  if (n < 0)
    return n;
  CHECK(n < 256 && full[n] == '\0' && (int)strlen(full) == n, "length %d", n);
  CHECK(weft_sockaddr_format(sa, NULL, 0, NULL) == n, "the length without a buffer");
  for (size_t cap = 1; cap <= (size_t)n + 1; cap++) {
    char buf[258];
    memset(buf, 0x5a, sizeof buf);
    int m = weft_sockaddr_format(sa, buf, cap, NULL);
    CHECK(m == n, "cap %zu: returned %d, not %d", cap, m, n);
    size_t kept = cap - 1 < (size_t)n ? cap - 1 : (size_t)n;
    CHECK(buf[kept] == '\0' && memcmp(buf, full, kept) == 0, "cap %zu: a truncated prefix", cap);
    CHECK((unsigned char)buf[cap] == 0x5a, "cap %zu: wrote past the buffer", cap);
  }
  return n;
}

static void check_format(const struct sockaddr_storage *ss) {
  char text[256];
  int port = -1;
  int n = format_all((const struct sockaddr *)ss, text, &port);
  switch (ss->ss_family) {
  case AF_INET: {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    struct in_addr back;
    CHECK(n > 0 && inet_pton(AF_INET, text, &back) == 1, "\"%s\" parses", text);
    CHECK(memcmp(&back, &in->sin_addr, sizeof back) == 0, "\"%s\" is the address", text);
    CHECK(port == ntohs(in->sin_port), "port %d", port);
    break;
  }
  case AF_INET6: {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    struct in6_addr back;
    CHECK(n > 0 && inet_pton(AF_INET6, text, &back) == 1, "\"%s\" parses", text);
    CHECK(memcmp(&back, &in6->sin6_addr, sizeof back) == 0, "\"%s\" is the address", text);
    CHECK(port == ntohs(in6->sin6_port), "port %d", port);
    break;
  }
  case AF_UNIX: {
    const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
    const char *p = un->sun_path;
    size_t cap = sizeof un->sun_path;
    CHECK(port == 0, "a Unix address has no port");
    if (p[0] == '\0' && p[1] != '\0') {
      CHECK(text[0] == '@', "an abstract name starts with @");
      size_t len = strnlen(p + 1, cap - 1);
      CHECK((size_t)n == len + 1 && memcmp(text + 1, p + 1, len) == 0, "the abstract name");
    } else {
      size_t len = strnlen(p, cap);
      CHECK((size_t)n == len && memcmp(text, p, len) == 0, "the path");
    }
    break;
  }
  default:
    CHECK(n == WEFT_EAFNOSUPPORT, "family %d: %d", ss->ss_family, n);
  }
}

static void fuzz_format(const uint8_t *data, size_t size) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  memcpy(&ss, data, size < sizeof ss ? size : sizeof ss);
  /* Mostly the families weft formats; the rest of the time whatever came. */
  static const sa_family_t families[4] = {AF_INET, AF_INET6, AF_UNIX, 0};
  if (size > 0 && (data[0] & 3) != 3)
    ss.ss_family = families[data[0] & 3];
  check_format(&ss);
}

static void fuzz_unix(const uint8_t *data, size_t size) {
  struct sockaddr_un un;
  socklen_t len = 0;
  int rc = weft__unix_addr((const char *)data, size, &un, &len);
  int abstract = size > 0 && data[0] == '\0';
  if (size == 0) {
    CHECK(rc == WEFT_EINVAL, "an empty path: %d", rc);
    return;
  }
  if (size > sizeof un.sun_path - (abstract ? 0 : 1)) {
    CHECK(rc == WEFT_ENAMETOOLONG, "%zu bytes: %d", size, rc);
    return;
  }
  CHECK(rc == 0, "%zu bytes: %d", size, rc);
  CHECK(un.sun_family == AF_UNIX, "the family");
  CHECK(memcmp(un.sun_path, data, size) == 0, "the path's bytes");
  size_t want = offsetof(struct sockaddr_un, sun_path) + size + (abstract ? 0 : 1);
  CHECK(len == want, "length %u, not %zu", (unsigned)len, want);
  CHECK(len <= sizeof un, "the length fits the structure");
  if (!abstract)
    CHECK(un.sun_path[size] == '\0', "a path is NUL-terminated");
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  memcpy(&ss, &un, sizeof un);
  check_format(&ss);
}

static void quiet_handler(weft_loop_t *loop, const weft_error_context_t *ctx, void *arg) {
  (void)loop;
  (void)ctx;
  (void)arg;
}

static void fuzz_getaddrinfo(const uint8_t *data, size_t size) {
  if (size < 2)
    return;
  static const int families[4] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNSPEC};
  static const int socktypes[4] = {0, SOCK_STREAM, SOCK_DGRAM, SOCK_STREAM};
  int family = families[data[0] & 3];
  int socktype = socktypes[(data[0] >> 2) & 3];
  int flags = AI_NUMERICHOST | AI_NUMERICSERV | ((data[0] & 0x10) ? AI_PASSIVE : 0);
  /* host and service as text: the bytes up to the first '|' and after it */
  char host[128], service[32];
  const char *rest = (const char *)data + 1;
  size_t n = size - 1;
  const char *bar = memchr(rest, '|', n);
  size_t hl = bar ? (size_t)(bar - rest) : n;
  size_t sl = bar ? n - hl - 1 : 0;
  if (hl >= sizeof host || sl >= sizeof service || memchr(rest, '\0', n))
    return;
  memcpy(host, rest, hl);
  host[hl] = '\0';
  memcpy(service, bar ? bar + 1 : "", sl);
  service[sl] = '\0';
  const char *h = hl ? host : NULL;
  const char *s = sl ? service : NULL;
  if (!h && !s)
    return;

  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_flags = flags;
  int libc = getaddrinfo(h, s, &hints, &res);

  weft_loop_t *loop;
  CHECK(weft_loop_new(&loop) == 0, "loop");
  weft_loop_set_exception_handler(loop, quiet_handler, NULL, NULL);
  weft_future_t *f;
  int rc = weft_getaddrinfo(loop, h, s, family, socktype, 0, flags, &f);
  if (rc != 0) {
    /* libuv refuses some names at once (a host that is not UTF-8: its IDNA step) */
    CHECK(libc != 0, "\"%s\" \"%s\": weft refused it at once (%s), libc did not", host, service,
          weft_err_name(rc));
    if (res)
      freeaddrinfo(res);
    weft_loop_close(loop);
    weft_loop_release(loop);
    return;
  }
  CHECK(weft_loop_run_until_complete(loop, f) == 0 || weft_future_done(f), "the lookup ends");
  const weft_value_t *v = NULL;
  rc = weft_future_result(f, &v);
  CHECK((rc == 0) == (libc == 0), "\"%s\" \"%s\": weft %s, libc %d", host, service,
        weft_err_name(rc), libc);
  if (rc == 0) {
    const weft_addrinfo_t *l = v->ptr;
    size_t i = 0;
    for (const struct addrinfo *a = res; a; a = a->ai_next, i++) {
      size_t alen = 0;
      const struct sockaddr *sa = weft_addrinfo_addr(l, i, &alen);
      CHECK(sa != NULL, "entry %zu is there", i);
      CHECK(weft_addrinfo_family(l, i) == a->ai_family, "entry %zu's family", i);
      CHECK(weft_addrinfo_socktype(l, i) == a->ai_socktype, "entry %zu's socktype", i);
      CHECK(weft_addrinfo_protocol(l, i) == a->ai_protocol, "entry %zu's protocol", i);
      CHECK(alen == a->ai_addrlen && memcmp(sa, a->ai_addr, alen) == 0, "entry %zu's address", i);
      struct sockaddr_storage ss;
      memset(&ss, 0, sizeof ss);
      memcpy(&ss, sa, alen);
      check_format(&ss);
    }
    CHECK(weft_addrinfo_count(l) == i, "%zu entries, libc %zu", weft_addrinfo_count(l), i);
    CHECK(weft_addrinfo_addr(l, i, NULL) == NULL, "nothing past the end");
  }
  if (res)
    freeaddrinfo(res);
  weft_future_release(f);
  weft_loop_close(loop);
  weft_loop_release(loop);
}

/* asyncio's _interleave_addrinfos: group by family in order of first appearance; the first
 * `first_count - 1` of the first family go first; then one of each family in turn. */
static void model_interleave(const int *fam, const int *id, size_t n, int first_count,
                             int *out_id) {
  int order[64];
  size_t nfam = 0;
  for (size_t i = 0; i < n; i++) {
    size_t f = 0;
    while (f < nfam && order[f] != fam[i])
      f++;
    if (f == nfam)
      order[nfam++] = fam[i];
  }
  char used[64] = {0};
  size_t k = 0;
  if (first_count > 1) {
    for (size_t i = 0; i < n && (int)k < first_count - 1; i++)
      if (fam[i] == order[0]) {
        out_id[k++] = id[i];
        used[i] = 1;
      }
  }
  /* zip_longest over the per-family lists: round r takes each family's next unused one */
  while (k < n) {
    for (size_t f = 0; f < nfam; f++)
      for (size_t i = 0; i < n; i++)
        if (!used[i] && fam[i] == order[f]) {
          out_id[k++] = id[i];
          used[i] = 1;
          break;
        }
  }
}

static void fuzz_interleave(const uint8_t *data, size_t size) {
  if (size < 1)
    return;
  int interleave = (int)(data[0] % 6) - 1; /* -1 .. 4 */
  size_t n = size - 1 < 64 ? size - 1 : 64;
  struct sockaddr_storage addrs[64];
  int fam[64], id[64], want[64];
  for (size_t i = 0; i < n; i++) {
    memset(&addrs[i], 0, sizeof addrs[i]);
    fam[i] = data[1 + i] & 1 ? AF_INET6 : AF_INET;
    id[i] = (int)i;
    addrs[i].ss_family = (sa_family_t)fam[i];
    /* the entry's index in the port, to follow it through the reordering */
    if (fam[i] == AF_INET)
      ((struct sockaddr_in *)&addrs[i])->sin_port = htons((uint16_t)i);
    else
      ((struct sockaddr_in6 *)&addrs[i])->sin6_port = htons((uint16_t)i);
  }
  interleave_addrs(addrs, n, interleave);
  if (interleave <= 0 || n < 2) {
    for (size_t i = 0; i < n; i++)
      want[i] = (int)i;
  } else {
    model_interleave(fam, id, n, interleave, want);
  }
  for (size_t i = 0; i < n; i++) {
    int got = addrs[i].ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&addrs[i])->sin_port)
                                            : ntohs(((struct sockaddr_in6 *)&addrs[i])->sin6_port);
    CHECK(got == want[i], "position %zu: entry %d, asyncio's order has %d", i, got, want[i]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  switch (data[0] & 3) {
  case 0:
    fuzz_format(data + 1, size - 1);
    break;
  case 1:
    fuzz_unix(data + 1, size - 1);
    break;
  case 2:
    fuzz_getaddrinfo(data + 1, size - 1);
    break;
  case 3:
    fuzz_interleave(data + 1, size - 1);
    break;
  }
  return 0;
}
