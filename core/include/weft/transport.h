/* Transports: the connection a protocol talks to, as asyncio's transports.
 *
 * A transport is reference counted. Whoever created it through weft (a connect future's
 * result, a server) holds references of its own until connection_lost has been delivered;
 * take another with weft_transport_retain to keep the object (not the connection) longer.
 * Every function accepts NULL and returns WEFT_EINVAL (or 0 for the queries) instead of
 * crashing; a transport that is closing or closed answers WEFT_ECLOSED to writes.
 *
 * Transports are layered the way asyncio's sslproto does it: a layer (TLS, say) installs
 * itself as the protocol of a raw transport and presents a transport of its own, made with
 * weft_transport_new, to the application's protocol. */
#ifndef WEFT_TRANSPORT_H
#define WEFT_TRANSPORT_H

#include "common.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* asyncio's default write-buffer high-water mark; the low-water mark defaults to high/4. */
#define WEFT_WRITE_BUFFER_HIGH_DEFAULT (64 * 1024)

WEFT_API weft_transport_t *weft_transport_retain(weft_transport_t *transport);
WEFT_API void weft_transport_release(weft_transport_t *transport);
WEFT_API weft_loop_t *weft_transport_loop(const weft_transport_t *transport);

/* Queues data[0..len) for sending without blocking (the bytes are copied or sent at once).
 * WEFT_ECLOSED once closing, WEFT_EINVALIDSTATE after write_eof. Writing 0 bytes does
 * nothing. May call the protocol's pause_writing before it returns. */
WEFT_API int weft_transport_write(weft_transport_t *transport, const void *data, size_t len);
/* Writes count buffers as one vectored write. */
WEFT_API int weft_transport_writelines(weft_transport_t *transport, const void *const *bufs,
                                       const size_t *lens, size_t count);
/* Thread-safe, unlike the rest of this header: weft_transport_write from any thread, in the
 * order of the calls (the caller holds its reference across the call). On a plain TCP or
 * Unix stream socket with nothing queued, the calling thread sends at once; what the socket
 * does not take, and every write of other transports (TLS, pipes), is copied and written by
 * the loop, one wake-up per burst. Returns the write-buffer size after the write (bytes
 * accepted and not yet in the kernel: wait for weft_stream_drain or resume_writing above
 * the high-water mark) or a negative code, none of the bytes accepted then: WEFT_ECLOSED
 * after close or abort, WEFT_EINVALIDSTATE after write_eof, the connection's error once it
 * is lost. Bytes accepted before a close are sent before it. */
WEFT_API int64_t weft_transport_write_threadsafe(weft_transport_t *transport, const void *data,
                                                 size_t len);
/* Loop thread: hands the reading of a plain TCP or Unix stream socket over to
 * weft_transport_read_threadsafe (on = 1), or takes it back (on = 0). While handed over the
 * loop does not read the socket and data_received is not called; bytes a protocol received
 * before (a stream reader's buffer) are the caller's to take first, which nothing can add to
 * once this returns. The end a reading thread meets reaches the protocol from the loop:
 * eof_received (closing the transport if it returns 0), or connection_lost with the read's
 * error. Taken back, the loop reads again unless the stream has ended. WEFT_ENOTSUP for
 * other transports (TLS, pipes, datagrams), WEFT_ECLOSED once closing. */
WEFT_API int weft_transport_set_read_threadsafe(weft_transport_t *transport, int on);
/* Thread-safe: reads up to len (> 0) bytes of a transport handed over as above into buf,
 * without blocking; reads from several threads take the bytes in turn. Returns the count,
 * 0 at the end of the stream (again on every later call), WEFT_EAGAIN when nothing is there
 * yet (wait for the socket to be readable), or a negative code: the read's error (again on
 * every later call), WEFT_EINVALIDSTATE while not handed over, WEFT_ECLOSED once the
 * transport is closing (or the connection's error once lost). */
WEFT_API int64_t weft_transport_read_threadsafe(weft_transport_t *transport, void *buf, size_t len);
/* Datagram transports: sends one datagram to addr (NULL: the connected peer). The address
 * length is taken from its family. */
WEFT_API int weft_transport_sendto(weft_transport_t *transport, const void *data, size_t len,
                                   const struct sockaddr *addr);
/* Half-closes: the peer gets EOF once the buffer is flushed (a write pipe, which cannot
 * half-close, closes then, as asyncio's does). WEFT_ENOTSUP when the transport cannot
 * (can_write_eof is 0). */
WEFT_API int weft_transport_write_eof(weft_transport_t *transport);
WEFT_API int weft_transport_can_write_eof(const weft_transport_t *transport);
/* Closes after the write buffer is flushed; connection_lost(0) follows from the loop.
 * Closing twice is harmless. */
WEFT_API int weft_transport_close(weft_transport_t *transport);
/* Closes at once, dropping what is buffered; connection_lost(0) follows from the loop. */
WEFT_API int weft_transport_abort(weft_transport_t *transport);
/* 1 once close or abort started (or the connection was lost). */
WEFT_API int weft_transport_is_closing(const weft_transport_t *transport);

/* Read flow control. Pausing a paused (or resuming a reading) transport does nothing. */
WEFT_API int weft_transport_pause_reading(weft_transport_t *transport);
WEFT_API int weft_transport_resume_reading(weft_transport_t *transport);
WEFT_API int weft_transport_is_reading(const weft_transport_t *transport);

/* Write flow control: pause_writing when the buffer goes above `high`, resume_writing when
 * it drains to `low` or below. high < 0: the default; low < 0: high/4. WEFT_EINVAL when
 * low > high. */
WEFT_API int weft_transport_set_write_buffer_limits(weft_transport_t *transport, int64_t high,
                                                    int64_t low);
WEFT_API int weft_transport_get_write_buffer_limits(const weft_transport_t *transport,
                                                    size_t *low_out, size_t *high_out);
/* Bytes queued and not yet handed to the kernel. */
WEFT_API size_t weft_transport_get_write_buffer_size(const weft_transport_t *transport);

/* The protocol the transport calls now (asyncio's get_protocol / set_protocol). Setting
 * another arg lets go of the previous one (its table's arg_free runs); the same arg stays
 * kept, under the new table's arg_free. */
WEFT_API void *weft_transport_get_protocol_arg(const weft_transport_t *transport);
WEFT_API int weft_transport_set_protocol(weft_transport_t *transport,
                                         const weft_protocol_t *protocol, void *arg);

/* Keys of weft_transport_get_extra_info: a typed form of asyncio's get_extra_info names. */
typedef enum weft_extra_info {
  WEFT_INFO_PEERNAME = 1,  /* struct sockaddr_storage (or sockaddr_un): the peer's address */
  WEFT_INFO_SOCKNAME = 2,  /* the local address, same form */
  WEFT_INFO_FD = 3,        /* int: the socket or pipe descriptor (borrowed, do not close) */
  WEFT_INFO_KIND = 4,      /* int: a weft_transport_kind_t */
  WEFT_INFO_TRANSPORT = 5, /* weft_transport_t *: the transport under a layered one */
  /* 100 and up: layers (TLS: protocol version, cipher, peer certificate, ALPN...). */
  WEFT_INFO_LAYER_BASE = 100,
} weft_extra_info_t;

typedef enum weft_transport_kind {
  WEFT_TRANSPORT_TCP = 1,
  WEFT_TRANSPORT_UNIX = 2,
  WEFT_TRANSPORT_PIPE_READ = 3,
  WEFT_TRANSPORT_PIPE_WRITE = 4,
  WEFT_TRANSPORT_UDP = 5,
  WEFT_TRANSPORT_LAYERED = 6,
} weft_transport_kind_t;

/* Copies the value of `key` into buf. *len is buf's capacity on entry and the value's size
 * on return. WEFT_ENOENT if the transport has no such information (e.g. after close),
 * WEFT_ENOBUFS if buf is too small (*len then says how much is needed). */
WEFT_API int weft_transport_get_extra_info(const weft_transport_t *transport, int key, void *buf,
                                           size_t *len);

/* Transports implemented outside the core (layers, bindings): a table of operations on
 * `impl`. Unset entries answer WEFT_ENOTSUP (queries: 0). The generic functions above
 * check arguments and the closing state before calling them. */
typedef struct weft_transport_ops_s {
  size_t size; /* sizeof(weft_transport_ops_t) */
  int (*write)(void *impl, const void *const *bufs, const size_t *lens, size_t count);
  int (*write_eof)(void *impl);
  int (*can_write_eof)(void *impl);
  int (*close)(void *impl);
  int (*abort)(void *impl);
  int (*pause_reading)(void *impl);
  int (*resume_reading)(void *impl);
  int (*set_write_buffer_limits)(void *impl, size_t high, size_t low);
  size_t (*get_write_buffer_size)(void *impl);
  int (*get_extra_info)(void *impl, int key, void *buf, size_t *len);
  /* Called when the last reference goes. */
  void (*free)(void *impl);
} weft_transport_ops_t;

/* Makes a transport backed by `ops` on `impl` and bound to a protocol. The caller holds
 * the one reference. */
WEFT_API int weft_transport_new(weft_loop_t *loop, const weft_transport_ops_t *ops, void *impl,
                                const weft_protocol_t *protocol, void *protocol_arg,
                                weft_transport_t **out);
/* For implementations of `ops`: deliver events to the transport's protocol. These keep the
 * generic state (closing, reading, paused) right and deliver connection_lost only once. */
WEFT_API void weft_transport_emit_connection_made(weft_transport_t *transport);
WEFT_API void weft_transport_emit_data(weft_transport_t *transport, const char *data, size_t len);
WEFT_API int weft_transport_emit_eof(weft_transport_t *transport);
WEFT_API void weft_transport_emit_connection_lost(weft_transport_t *transport, int error);
/* Re-checks the write buffer (ops.get_write_buffer_size) against the watermarks and calls
 * pause_writing or resume_writing as asyncio would. weft_transport_write does it after
 * each write; an implementation calls it whenever its buffer shrank. */
WEFT_API void weft_transport_update_write_flow(weft_transport_t *transport);
WEFT_API void *weft_transport_impl(const weft_transport_t *transport);

#ifdef __cplusplus
}
#endif
#endif
