/* Socket addresses: their lengths, Unix socket names, and text for messages and
 * bindings. */
#include "net.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

socklen_t weft__sockaddr_len(const struct sockaddr *a) {
  switch (a->sa_family) {
  case AF_INET:
    return sizeof(struct sockaddr_in);
  case AF_INET6:
    return sizeof(struct sockaddr_in6);
  case AF_UNIX:
    return sizeof(struct sockaddr_un);
  default:
    return 0;
  }
}

int weft__unix_addr(const char *path, size_t path_len, struct sockaddr_un *out,
                    socklen_t *len_out) {
  memset(out, 0, sizeof(*out));
  out->sun_family = AF_UNIX;
  if (!path || path_len == 0)
    return WEFT_EINVAL;
  if (path_len > sizeof(out->sun_path) - (path[0] != '\0'))
    return WEFT_ENAMETOOLONG;
  memcpy(out->sun_path, path, path_len);
  /* A path name is NUL-terminated; an abstract name is exactly its bytes. */
  *len_out =
      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + (path[0] != '\0' ? 1 : 0));
  return 0;
}

int weft_sockaddr_ip(int family, const char *host, int port, unsigned flowinfo, unsigned scope_id,
                     struct sockaddr *out, size_t cap) {
  if (!host || !out)
    return WEFT_EINVAL;
  if (family != AF_INET && family != AF_INET6)
    return WEFT_EAFNOSUPPORT;
  size_t need = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (cap < need)
    return WEFT_ENOBUFS;
  memset(out, 0, cap);
  if (port < 0 || port > 65535)
    return WEFT_EINVAL;
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
      return WEFT_EINVAL;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    return (int)need;
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
  char text[INET6_ADDRSTRLEN];
  const char *scope = strchr(host, '%');
  size_t host_len = scope ? (size_t)(scope - host) : strlen(host);
  if (host_len >= sizeof(text))
    return WEFT_EINVAL;
  memcpy(text, host, host_len);
  text[host_len] = '\0';
  if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
    return WEFT_EINVAL;
  if (scope && scope_id == 0) {
    char *end = NULL;
    unsigned long number = strtoul(scope + 1, &end, 10);
    if (scope[1] >= '0' && scope[1] <= '9' && *end == '\0' && number <= UINT32_MAX)
      scope_id = (unsigned)number;
    else if ((scope_id = if_nametoindex(scope + 1)) == 0)
      return WEFT_EINVAL;
  }
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons((uint16_t)port);
  in6->sin6_flowinfo = htonl(flowinfo);
  in6->sin6_scope_id = scope_id;
  return (int)need;
}

int weft_sockaddr_unix(const char *path, size_t path_len, struct sockaddr *out, size_t cap) {
  if (!path || !out)
    return WEFT_EINVAL;
  if (cap < sizeof(struct sockaddr_un))
    return WEFT_ENOBUFS;
  memset(out, 0, cap);
  struct sockaddr_un sun;
  socklen_t len = 0;
  int rc = weft__unix_addr(path, path_len, &sun, &len);
  if (rc < 0)
    return rc;
  memcpy(out, &sun, sizeof sun);
  return (int)len;
}

int weft_sockaddr_format(const struct sockaddr *addr, char *buf, size_t cap, int *port_out) {
  if (!addr || (cap && !buf))
    return WEFT_EINVAL;
  char tmp[128];
  int port = 0;
  tmp[0] = 0;
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &in->sin_addr, tmp, sizeof(tmp));
    port = ntohs(in->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    inet_ntop(AF_INET6, &in6->sin6_addr, tmp, sizeof(tmp));
    port = ntohs(in6->sin6_port);
  } else if (addr->sa_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
    if (un->sun_path[0] == '\0' && un->sun_path[1] != '\0')
      snprintf(tmp, sizeof(tmp), "@%.*s", (int)sizeof(un->sun_path) - 1, un->sun_path + 1);
    else
      snprintf(tmp, sizeof(tmp), "%.*s", (int)sizeof(un->sun_path), un->sun_path);
  } else {
    return WEFT_EAFNOSUPPORT;
  }
  if (port_out)
    *port_out = port;
  if (cap)
    snprintf(buf, cap, "%s", tmp);
  return (int)strlen(tmp);
}

int weft_sockaddr_decode(const struct sockaddr *addr, size_t len, weft_sockaddr_parts_t *out) {
  if (!addr || !out)
    return WEFT_EINVAL;
  memset(out, 0, sizeof *out);
  size_t whole = weft__sockaddr_len(addr);
  if (!whole)
    return WEFT_EAFNOSUPPORT;
  if (len == 0)
    len = whole;
  else if (len > whole)
    len = whole;
  size_t base = offsetof(struct sockaddr, sa_data);
  if (len < (addr->sa_family == AF_UNIX ? base : whole))
    return WEFT_EINVAL;
  out->family = addr->sa_family;
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &in->sin_addr, out->host, sizeof out->host);
    out->port = ntohs(in->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    inet_ntop(AF_INET6, &in6->sin6_addr, out->host, sizeof out->host);
    out->port = ntohs(in6->sin6_port);
    out->flowinfo = ntohl(in6->sin6_flowinfo);
    out->scope_id = in6->sin6_scope_id;
  } else {
    const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
    size_t n = len - offsetof(struct sockaddr_un, sun_path);
    if (n > 0 && un->sun_path[0] != '\0')
      n = strnlen(un->sun_path, n); /* a path ends at its NUL */
    else if (len == whole)
      while (n > 0 && un->sun_path[n - 1] == '\0')
        n--; /* no length known: the name ends where its NUL padding starts */
    out->path = un->sun_path;
    out->path_len = n;
  }
  return 0;
}
