/* Socket addresses as text, for messages and bindings (asyncio shows them as the tuples
 * of Python's socket module). */
#ifndef WEFT_SOCKADDR_H
#define WEFT_SOCKADDR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;

/* Formats a socket address as text: "1.2.3.4", "::1", or a Unix path ("@name" for an
 * abstract name); *port_out (may be NULL) gets the port or 0. Returns the text's length or
 * a negative code; buf is always NUL-terminated when cap > 0. */
WEFT_API int weft_sockaddr_format(const struct sockaddr *addr, char *buf, size_t cap,
                                  int *port_out);

/* Writes the address of a numeric IPv4 or IPv6 host and port into out (cap bytes, zeroed
 * first). An IPv6 host may name its scope ("fe80::1%eth0", by name or number); a nonzero
 * scope_id wins over it. Returns the address's length; WEFT_EINVAL when host is not a
 * numeric address of family, names an unknown scope, or port is outside 0-65535;
 * WEFT_EAFNOSUPPORT for another family; WEFT_ENOBUFS when cap is too small. */
WEFT_API int weft_sockaddr_ip(int family, const char *host, int port, unsigned flowinfo,
                              unsigned scope_id, struct sockaddr *out, size_t cap);
/* Writes the Unix socket address of path (path_len bytes; a leading NUL names an abstract
 * address) into out (cap bytes, zeroed first). Returns the length to bind or connect with
 * (an abstract name's length is part of the name); WEFT_EINVAL for an empty path,
 * WEFT_ENAMETOOLONG, WEFT_ENOBUFS when cap is too small. */
WEFT_API int weft_sockaddr_unix(const char *path, size_t path_len, struct sockaddr *out,
                                size_t cap);

/* A socket address taken apart, in the terms bindings present it in (Python's socket module
 * tuples, Node's address objects). */
typedef struct weft_sockaddr_parts_s {
  int family;        /* AF_INET, AF_INET6 or AF_UNIX */
  int port;          /* IP: the port, in host order */
  unsigned flowinfo; /* IPv6: host order */
  unsigned scope_id; /* IPv6 */
  char host[48];     /* IP: the numeric host, NUL-terminated ("" for Unix) */
  const char *path;  /* Unix: the name, inside addr; a leading NUL marks an abstract name */
  size_t path_len;   /* 0: an unnamed socket */
} weft_sockaddr_parts_t;

/* Takes addr apart into *out. len is the address's length as the kernel gave it (0: unknown;
 * an abstract name then ends at its last non-NUL byte). Returns 0; WEFT_EAFNOSUPPORT for
 * another family, WEFT_EINVAL for NULL or a length too short for the family. */
WEFT_API int weft_sockaddr_decode(const struct sockaddr *addr, size_t len,
                                  weft_sockaddr_parts_t *out);

#ifdef __cplusplus
}
#endif
#endif
