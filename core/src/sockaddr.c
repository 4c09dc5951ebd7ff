/* Socket addresses: their lengths, Unix socket names, and text for messages and
 * bindings. */
#include "net.h"

#include <arpa/inet.h>
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
