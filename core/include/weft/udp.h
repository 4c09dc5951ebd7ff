/* Datagram endpoints: asyncio's loop.create_datagram_endpoint over UDP.
 *
 * The protocol gets connection_made, datagram_received(data, addr), error_received and
 * connection_lost. The transport sends with weft_transport_sendto; write buffering and
 * flow control work as for streams (datagrams the kernel cannot take at once are queued). */
#ifndef WEFT_UDP_H
#define WEFT_UDP_H

#include "common.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_datagram_options_s {
  size_t size;            /* sizeof(weft_datagram_options_t) */
  const char *local_host; /* bind here (NULL with local_port 0: no bind) */
  int local_port;
  const char *remote_host; /* connect to this peer (NULL: unconnected) */
  int remote_port;
  int family;          /* AF_INET, AF_INET6 or 0 (required when no address is given) */
  int flags;           /* getaddrinfo flags */
  int reuse_port;      /* SO_REUSEPORT */
  int allow_broadcast; /* SO_BROADCAST; the remote is then not connected but sendto's default */
} weft_datagram_options_t;

/* Fills *options with the defaults: every field zero (none, off), size set. */
WEFT_API void weft_datagram_options_init(weft_datagram_options_t *options);

/* Creates the endpoint as asyncio does: the local and remote addresses are resolved, paired by
 * family and protocol, and set up by weft_datagram_socket (WEFT_EINVAL "can not get address
 * information" when no pair exists). The future's result (WEFT_VALUE_TRANSPORT) is the
 * transport (a reference owned by the future), completed after connection_made. */
WEFT_API int weft_create_datagram_endpoint(weft_loop_t *loop, const weft_protocol_t *protocol,
                                           void *arg, const weft_datagram_options_t *options,
                                           weft_future_t **out);
/* Wraps a UDP socket the caller hands over (bound or connected as it is). */
WEFT_API int weft_create_datagram_endpoint_fd(weft_loop_t *loop, const weft_protocol_t *protocol,
                                              void *arg, int fd, weft_future_t **out);

/* One address pair create_datagram_endpoint may use: a socket of family and protocol, bound
 * to local and connected to remote when they are not NULL (their lengths matter for Unix
 * abstract names; 0 takes the family's whole address). */
typedef struct weft_datagram_candidate_s {
  int family;
  int protocol;
  const struct sockaddr *local;
  size_t local_len;
  const struct sockaddr *remote;
  size_t remote_len;
} weft_datagram_candidate_t;

/* asyncio's pairing of resolved addresses, in place: `rows` holds each address resolved for
 * the local side (local set) and then for the remote side (remote set), in resolution order;
 * they become one row per (family, protocol) that has an address of every side some row
 * has, in the order first named, each with the last address of each side. Returns how many
 * rows remain (0: asyncio's "can not get address information"). */
WEFT_API size_t weft_datagram_pair(weft_datagram_candidate_t *rows, size_t count);

/* asyncio's datagram socket set-up: tries each candidate in turn (a non-blocking socket,
 * SO_REUSEPORT and SO_BROADCAST when asked, bind, then connect unless allow_broadcast) and
 * puts the first socket made in *fd_out (the caller's to wrap or close). Returns the index of
 * that candidate, the first candidate's error, or WEFT_ENOTSUP at once when SO_REUSEPORT
 * cannot be set. */
WEFT_API int weft_datagram_socket(const weft_datagram_candidate_t *candidates, size_t count,
                                  int reuse_port, int allow_broadcast, int *fd_out);

#ifdef __cplusplus
}
#endif
#endif
