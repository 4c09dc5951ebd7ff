/* Protocols: the callbacks a transport delivers its events to, as asyncio.Protocol,
 * asyncio.BufferedProtocol and asyncio.DatagramProtocol.
 *
 * A protocol is a table of callbacks (weft_protocol_t, which begins with its size) plus an
 * opaque `arg` given back to every callback. The transport copies the table, so it may
 * live on the caller's stack. Callbacks are called from the loop (straight from libuv's
 * callbacks), never from inside a transport function the protocol itself called, with one
 * exception asyncio also makes: pause_writing may run inside weft_transport_write.
 *
 * Order, as asyncio documents it: connection_made first, then any number of data_received
 * (or get_buffer/buffer_updated), at most one eof_received, and connection_lost exactly
 * once at the end. After connection_lost nothing else is called.
 *
 * Ownership of `arg`: the table's arg_free (may be NULL) is called with `arg` exactly once,
 * when the core lets go of it, after every other callback: after connection_lost; when a
 * connect fails or is cancelled before connection_made (no other callback is called then);
 * when weft_transport_set_protocol replaces it with another arg; or when the transport is
 * freed. A call that fails (returns an error) keeps nothing: `arg` stays the caller's.
 * From a factory, the core owns `arg` as soon as the factory returned 0. */
#ifndef WEFT_PROTOCOL_H
#define WEFT_PROTOCOL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;
typedef struct weft_transport_s weft_transport_t; /* a transport (stream or datagram) */

/* The transport is ready; it is borrowed (retain it to keep it beyond connection_lost). */
typedef void (*weft_connection_made_fn)(weft_transport_t *transport, void *arg);
/* Bytes arrived; `data` is only valid during the call. */
typedef void (*weft_data_received_fn)(weft_transport_t *transport, const char *data, size_t len,
                                      void *arg);
/* Buffered protocols: hand out a buffer of at least 1 byte (`size_hint` is a suggestion)
 * into which the transport reads directly; set *len_out to its size. Return NULL to have
 * the connection fail with WEFT_ENOBUFS. */
typedef void *(*weft_get_buffer_fn)(weft_transport_t *transport, size_t size_hint, size_t *len_out,
                                    void *arg);
/* Protocols that keep what they read (data_received copying it into a string or buffer of
 * their language): the next read brings `size` bytes. Return memory of that size for the
 * core to read into, which data_received then gets (perhaps fewer bytes), or NULL to read
 * into the loop's shared buffer as usual. The core asks after large reads (64 KiB and up), when
 * the descriptor says how much is waiting, and for a layer's (TLS) plaintext. */
typedef void *(*weft_read_into_fn)(weft_transport_t *transport, size_t size, void *arg);
/* Buffered protocols: `nbytes` bytes were written at the start of the last buffer. */
typedef void (*weft_buffer_updated_fn)(weft_transport_t *transport, size_t nbytes, void *arg);
/* The peer sent EOF. Return nonzero to keep the (half-closed) transport open; 0 closes it. */
typedef int (*weft_eof_received_fn)(weft_transport_t *transport, void *arg);
/* The connection is gone: `error` is 0 for a regular close or EOF, else the error code. */
typedef void (*weft_connection_lost_fn)(weft_transport_t *transport, int error, void *arg);
/* Flow control: the transport's write buffer went over the high-water mark / back down to
 * the low-water mark. */
typedef void (*weft_pause_writing_fn)(weft_transport_t *transport, void *arg);
typedef void (*weft_resume_writing_fn)(weft_transport_t *transport, void *arg);
/* Datagram protocols: a datagram from `addr` (NULL if unknown); valid during the call. */
typedef void (*weft_datagram_received_fn)(weft_transport_t *transport, const char *data, size_t len,
                                          const struct sockaddr *addr, void *arg);
/* Datagram protocols: a send or receive failed with `error`; the endpoint stays open. */
typedef void (*weft_error_received_fn)(weft_transport_t *transport, int error, void *arg);

/* Any callback may be NULL, which means "do nothing" (eof_received: return 0). A protocol
 * with get_buffer set is a buffered protocol: data_received is then not used. */
typedef struct weft_protocol_s {
  size_t size; /* sizeof(weft_protocol_t) */
  weft_connection_made_fn connection_made;
  weft_data_received_fn data_received;
  weft_get_buffer_fn get_buffer;
  weft_buffer_updated_fn buffer_updated;
  weft_eof_received_fn eof_received;
  weft_connection_lost_fn connection_lost;
  weft_pause_writing_fn pause_writing;
  weft_resume_writing_fn resume_writing;
  weft_datagram_received_fn datagram_received;
  weft_error_received_fn error_received;
  weft_free_fn arg_free;       /* frees `arg` when the core lets go of it (see above) */
  weft_read_into_fn read_into; /* optional, with data_received (see above) */
} weft_protocol_t;

/* Servers and factories: make the protocol for a new connection. Fill *protocol_out (the
 * table, copied at once) and *arg_out, and return 0; or return an error code to refuse the
 * connection (it is closed). */
typedef int (*weft_protocol_factory_fn)(void *factory_arg, weft_protocol_t *protocol_out,
                                        void **arg_out);

#ifdef __cplusplus
}
#endif
#endif
