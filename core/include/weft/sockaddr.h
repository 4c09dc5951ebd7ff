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

#ifdef __cplusplus
}
#endif
#endif
