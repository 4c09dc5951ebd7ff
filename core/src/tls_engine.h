/* The TLS engine: one connection's OpenSSL state driven through memory BIOs, so any byte
 * transport can carry TLS (asyncio's SSLProtocol does the same with ssl.MemoryBIO).
 *
 * The engine never does I/O and never calls back into a loop. Its owner (the TLS transport)
 * moves bytes:
 *   - ciphertext that arrived from the network:  weft__tls_feed(), weft__tls_feed_eof()
 *   - plaintext for the application:              weft__tls_read() (also drives the
 *                                                  handshake and the shutdown)
 *   - plaintext from the application:             weft__tls_write()
 *   - ciphertext to send to the network:          weft__tls_out_pending() / _out_read()
 * After every call above, the owner sends whatever weft__tls_out_pending() reports (handshake
 * messages, alerts, close_notify and session tickets appear there, not only encrypted data),
 * even after a failure: the alert telling the peer why is there.
 *
 * The seam for transports (asyncio's SSLProtocol): the TLS transport is a protocol on the
 * byte transport and a transport to the application's protocol. connection_made: create the
 * engine, weft__tls_handshake(), send, arm the handshake timer. data_received: feed (keep
 * what did not fit and pause the byte transport), read until WEFT_EAGAIN delivering
 * plaintext (unless the application paused reading), send. The handshake callback completes
 * the waiter of create_connection/start_tls, flushes the write backlog kept meanwhile, and
 * exposes the engine as the "ssl_object" (weft_tls_conn_t queries). WEFT_EEOF from read is
 * eof_received for the application, then weft__tls_shutdown(); close() is shutdown, send,
 * read until UNWRAPPED (or the shutdown timer), then close the byte transport. Write-side
 * flow control counts the backlog plus weft__tls_out_pending().
 *
 * States follow asyncio's SSLProtocol:
 *   HANDSHAKING --handshake ok--> WRAPPED --weft__tls_shutdown()--> SHUTTING_DOWN
 *   --peer's close_notify--> UNWRAPPED;   any error --> FAILED.
 * Memory: incoming and outgoing ciphertext are each capped at max_buffer (plus one record);
 * feed and write accept only what fits, so the owner applies back-pressure (pause reading,
 * keep its write backlog) instead of the engine growing. Timeouts are the owner's: it arms
 * one when it starts the handshake (WEFT_TLS_HANDSHAKE_TIMEOUT) and one when it starts the
 * shutdown (WEFT_TLS_SHUTDOWN_TIMEOUT), and aborts the transport when one fires. */
#ifndef WEFT_TLS_ENGINE_H
#define WEFT_TLS_ENGINE_H

#include "weft/tls.h"

typedef weft_tls_conn_t weft__tls_engine_t;

enum weft__tls_state {
  WEFT__TLS_HANDSHAKING = 0,
  WEFT__TLS_WRAPPED = 1,
  WEFT__TLS_SHUTTING_DOWN = 2, /* our close_notify is out; the peer's has not come */
  WEFT__TLS_UNWRAPPED = 3,     /* close_notify went both ways; the TLS session is over */
  WEFT__TLS_FAILED = 4,
};

/* The default cap on buffered ciphertext, each direction. */
#define WEFT__TLS_DEFAULT_MAX_BUFFER (256u * 1024u)

/* Called once when the handshake ends: status 0 on success, or the negative code (and
 * weft_tls_conn_error() says why). Called from inside weft__tls_read or
 * weft__tls_handshake; the engine must not be freed from inside it. */
typedef void (*weft__tls_handshake_fn)(weft__tls_engine_t *engine, int status, void *arg);

/* Creates an engine for ctx's role. server_hostname (client only, may be NULL) is sent as
 * SNI (unless it is an IP address) and checked against the certificate when the context
 * checks host names, which then requires it. max_buffer 0 means the default. */
int weft__tls_engine_new(weft_tls_context_t *ctx, const char *server_hostname, size_t max_buffer,
                         weft__tls_engine_t **out);
/* Creates an engine around an SSL made outside weft (weft_tls_ssl_t in tls.h): the same
 * engine as weft__tls_engine_new's, only the SSL comes from elsewhere. It must be on `role`'s
 * side and not have started its handshake (else WEFT_EINVAL). The engine takes a reference
 * to the SSL and calls release(owner) once when freed; also at once when this fails. */
int weft__tls_engine_adopt(void *ssl, int32_t role, size_t max_buffer, void *owner,
                           weft_free_fn release, weft__tls_engine_t **out);
/* Frees the engine, whatever its state (no close_notify is sent: shut down first for that). */
void weft__tls_engine_free(weft__tls_engine_t *engine);
/* Installs the handshake-completion callback. */
void weft__tls_set_handshake_cb(weft__tls_engine_t *engine, weft__tls_handshake_fn fn, void *arg);
/* The current state (enum weft__tls_state). */
int weft__tls_state(const weft__tls_engine_t *engine);

/* Starts or continues the handshake: 0 once it is complete, WEFT_EAGAIN while it needs
 * more bytes from the peer, or the error. A client calls it once to produce its
 * ClientHello; afterwards weft__tls_read() drives it. */
int weft__tls_handshake(weft__tls_engine_t *engine);

/* Hands over ciphertext from the transport; *consumed says how much fit (0..len). Less
 * than len means the incoming buffer is full: read plaintext out, and pause the transport. */
int weft__tls_feed(weft__tls_engine_t *engine, const void *data, size_t len, size_t *consumed);
/* Records that the transport reached end of stream. Pending bytes are still processed; then
 * weft__tls_read reports WEFT_ECONNRESET during the handshake, or WEFT_EEOF afterwards with
 * weft__tls_unclean_eof() set when no close_notify came first. */
void weft__tls_feed_eof(weft__tls_engine_t *engine);
/* Free room in the incoming buffer: what the next weft__tls_feed accepts. */
size_t weft__tls_feed_space(const weft__tls_engine_t *engine);

/* Processes fed ciphertext and copies decrypted application data into buf (up to cap):
 * 0 with *nread > 0 when there was data; WEFT_EAGAIN (with *nread 0) when more ciphertext is
 * needed; WEFT_EEOF once the peer has closed (close_notify, or see weft__tls_feed_eof);
 * WEFT_ETLS (or another error) when the connection failed. Call it until it stops returning
 * data: OpenSSL may hold a decrypted record inside. */
int weft__tls_read(weft__tls_engine_t *engine, void *buf, size_t cap, size_t *nread);
/* Encrypts application data; *consumed says how much was taken (less than len when the
 * outgoing buffer is full: send it, then write the rest). WEFT_EAGAIN before the handshake
 * has completed (the owner keeps its backlog, as asyncio does), WEFT_ESHUTDOWN after the
 * shutdown has begun. */
int weft__tls_write(weft__tls_engine_t *engine, const void *data, size_t len, size_t *consumed);

/* Ciphertext waiting to be sent, in bytes. */
size_t weft__tls_out_pending(const weft__tls_engine_t *engine);
/* Moves up to cap bytes of waiting ciphertext into buf; returns how many. */
size_t weft__tls_out_read(weft__tls_engine_t *engine, void *buf, size_t cap);

/* Begins or continues the close_notify exchange: 0 once both sides' close_notify have
 * passed (UNWRAPPED), WEFT_EAGAIN while the peer's is awaited (keep reading: weft__tls_read
 * completes it), WEFT_EINVALIDSTATE during the handshake (abort the transport instead, as
 * asyncio does), or the connection's error. */
int weft__tls_shutdown(weft__tls_engine_t *engine);
/* 1 when the peer's close_notify has arrived. */
int weft__tls_peer_closed(const weft__tls_engine_t *engine);
/* 1 when the stream ended without the peer's close_notify (a truncation the application may
 * care about). */
int weft__tls_unclean_eof(const weft__tls_engine_t *engine);
/* Bytes fed after the peer's close_notify, which no longer belong to TLS (STARTTLS-style
 * protocols continue in plaintext): moves up to cap of them into buf; returns how many. */
size_t weft__tls_take_unwrapped(weft__tls_engine_t *engine, void *buf, size_t cap);

/* The code of the failure (0 when none) and its message. */
int weft__tls_error_code(const weft__tls_engine_t *engine);

#endif
