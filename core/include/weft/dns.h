/* Name resolution without blocking the loop: asyncio's loop.getaddrinfo and getnameinfo,
 * on libuv's thread pool. */
#ifndef WEFT_DNS_H
#define WEFT_DNS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;

/* A resolved address list (getaddrinfo's answer), read through the accessors. */
typedef struct weft_addrinfo_s weft_addrinfo_t;

/* A future whose result (WEFT_VALUE_ADDRINFO) is a weft_addrinfo_t owned by the future (borrow it,
 * or take it with weft_addrinfo_copy). host and service may be NULL (not both); family
 * (AF_*), socktype (SOCK_*), protocol and flags (AI_*) are getaddrinfo's hints, 0 for any.
 * Fails with a WEFT_EAI_* code. Cancelling it abandons the lookup. */
WEFT_API int weft_getaddrinfo(weft_loop_t *loop, const char *host, const char *service, int family,
                              int socktype, int protocol, int flags, weft_future_t **out);
WEFT_API size_t weft_addrinfo_count(const weft_addrinfo_t *list);
/* Entry `index`'s fields; the address is borrowed from the list. NULL/0 out of range. */
WEFT_API int weft_addrinfo_family(const weft_addrinfo_t *list, size_t index);
WEFT_API int weft_addrinfo_socktype(const weft_addrinfo_t *list, size_t index);
WEFT_API int weft_addrinfo_protocol(const weft_addrinfo_t *list, size_t index);
WEFT_API const struct sockaddr *weft_addrinfo_addr(const weft_addrinfo_t *list, size_t index,
                                                   size_t *addrlen_out);
WEFT_API const char *weft_addrinfo_canonname(const weft_addrinfo_t *list, size_t index);
/* A copy the caller owns, freed with weft_addrinfo_free. */
WEFT_API int weft_addrinfo_copy(const weft_addrinfo_t *list, weft_addrinfo_t **out);
WEFT_API void weft_addrinfo_free(weft_addrinfo_t *list);

/* A future whose result (WEFT_VALUE_NAMEINFO) is a weft_nameinfo_t owned by the future: the host
 * and service names of `addr` (NI_* flags as getnameinfo). */
typedef struct weft_nameinfo_s weft_nameinfo_t;
WEFT_API int weft_getnameinfo(weft_loop_t *loop, const struct sockaddr *addr, int flags,
                              weft_future_t **out);
WEFT_API const char *weft_nameinfo_host(const weft_nameinfo_t *info);
WEFT_API const char *weft_nameinfo_service(const weft_nameinfo_t *info);

#ifdef __cplusplus
}
#endif
#endif
