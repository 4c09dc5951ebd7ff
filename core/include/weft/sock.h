/* Low-level socket operations: asyncio's add_reader/add_writer and loop.sock_* on
 * non-blocking descriptors, and loop.sendfile.
 *
 * The descriptors stay the caller's: weft never closes them (accept's new descriptor is
 * the caller's too). Only one reader and one writer can watch a descriptor: adding another
 * replaces the first, as in asyncio. Do not watch a descriptor a transport also uses. */
#ifndef WEFT_SOCK_H
#define WEFT_SOCK_H

#include "common.h"
#include "transport.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;

/* Readiness callbacks: cb(arg) runs from the loop whenever fd is readable (writable) until
 * removed. remove_* return 1 if a callback was registered, 0 if not. add_* fail with
 * WEFT_EBADF for a descriptor that is not open and WEFT_EBUSY for one another handle of the
 * loop (a transport, a server) watches. A watched descriptor may be closed at any time: its
 * callbacks stop, and the registration stays until removed (as a selector's key). arg_free
 * (may be NULL) is called with arg exactly once, when the loop lets go of it: on remove,
 * when another add for the same fd and direction replaces it (not with the same pointer,
 * which stays kept under the new arg_free), or when the loop closes. */
WEFT_API int weft_add_reader(weft_loop_t *loop, int fd, weft_callback_fn cb, void *arg,
                             weft_free_fn arg_free);
WEFT_API int weft_remove_reader(weft_loop_t *loop, int fd);
WEFT_API int weft_add_writer(weft_loop_t *loop, int fd, weft_callback_fn cb, void *arg,
                             weft_free_fn arg_free);
WEFT_API int weft_remove_writer(weft_loop_t *loop, int fd);

/* Each operation tries at once and, if the descriptor is not ready, waits for readiness.
 * Cancelling the future stops the wait. The buffers given to the *_into forms and to
 * recvfrom_into's address must stay valid until the future is done. */
/* Result: bytes (up to n; empty at EOF). */
WEFT_API int weft_sock_recv(weft_loop_t *loop, int fd, size_t n, weft_future_t **out);
/* Result: int, the number of bytes read into buf. */
WEFT_API int weft_sock_recv_into(weft_loop_t *loop, int fd, void *buf, size_t len,
                                 weft_future_t **out);
/* Result: bytes; the sender's address is stored in *addr (of *addrlen bytes on entry, the
 * address size on completion) when addr is not NULL. */
WEFT_API int weft_sock_recvfrom(weft_loop_t *loop, int fd, size_t n, struct sockaddr *addr,
                                size_t *addrlen, weft_future_t **out);
/* Result: int, the number of bytes; address as recvfrom. */
WEFT_API int weft_sock_recvfrom_into(weft_loop_t *loop, int fd, void *buf, size_t len,
                                     struct sockaddr *addr, size_t *addrlen, weft_future_t **out);
/* Sends every byte (copied at the call). Result: none. */
WEFT_API int weft_sock_sendall(weft_loop_t *loop, int fd, const void *data, size_t len,
                               weft_future_t **out);
/* Sends one datagram (copied) to addr. Result: int, bytes sent. */
WEFT_API int weft_sock_sendto(weft_loop_t *loop, int fd, const void *data, size_t len,
                              const struct sockaddr *addr, weft_future_t **out);
/* Connects (the address is copied). Result: none. */
WEFT_API int weft_sock_connect(weft_loop_t *loop, int fd, const struct sockaddr *addr,
                               weft_future_t **out);
/* Accepts a connection. Result: int, the new non-blocking, close-on-exec descriptor. */
WEFT_API int weft_sock_accept(weft_loop_t *loop, int fd, weft_future_t **out);
/* Sends count bytes (0: to the end) of file descriptor `file_fd` from `offset` over the
 * non-blocking socket, with sendfile(2), falling back to read+send where it is not
 * available and `fallback` is set (else WEFT_ESENDFILEUNAVAIL). Result: int, bytes sent. */
WEFT_API int weft_sock_sendfile(weft_loop_t *loop, int fd, int file_fd, int64_t offset,
                                int64_t count, int fallback, weft_future_t **out);

/* asyncio's loop.sendfile: sends count bytes (0: to the end) of `file_fd` from `offset`
 * through a transport once its buffer is flushed: zero-copy on a plain TCP or Unix
 * transport, else (a layered transport, or sendfile(2) refusing) by reading the file and
 * writing through the transport when `fallback` is set. Result: int, bytes sent. */
WEFT_API int weft_sendfile(weft_transport_t *transport, int file_fd, int64_t offset, int64_t count,
                           int fallback, weft_future_t **out);
/* The bytes a weft_sendfile or weft_sock_sendfile future that failed had sent before its
 * error (where asyncio leaves the file position); 0 for any other future. */
WEFT_API int64_t weft_sendfile_sent(const weft_future_t *future);

#ifdef __cplusplus
}
#endif
#endif
