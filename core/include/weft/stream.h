/* Streams: asyncio's StreamReader / StreamWriter, open_connection and start_server.
 *
 * Every read or drain exists twice: as a future (for callbacks and bindings) and, for
 * stackful C tasks, as a call that waits in the task (the *_await forms, built on
 * weft_await). Reads return bytes: futures as a WEFT_VALUE_BYTES result, the *_await
 * forms as a value the caller owns (weft_value_clear it). Only one read may wait on a
 * reader at a time; a second gets WEFT_EINVALIDSTATE, as asyncio's RuntimeError.
 *
 * Errors follow asyncio: WEFT_EINCOMPLETE (IncompleteReadError) carries the partial data,
 * which the reader no longer holds; WEFT_ELIMITOVERRUN (LimitOverrunError) leaves the data
 * in the reader, except from readline, which drops the line as asyncio does before its
 * ValueError. A reader given an error (set_error, or a lost connection) fails every read
 * with it. */
#ifndef WEFT_STREAM_H
#define WEFT_STREAM_H

#include "common.h"
#include "value.h"
#include "tcp.h"
#include "server.h"
#include "transport.h"
#include "tls_transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_stream_reader_s weft_stream_reader_t;
typedef struct weft_stream_writer_s weft_stream_writer_t;

/* asyncio's default buffer limit: 64 KiB. */
#define WEFT_STREAM_LIMIT_DEFAULT (64 * 1024)

/* ---------------------------------------------------------------- reader */

/* A reader with no transport, fed by hand (limit 0: the default). */
WEFT_API int weft_stream_reader_new(weft_loop_t *loop, size_t limit, weft_stream_reader_t **out);
WEFT_API weft_stream_reader_t *weft_stream_reader_retain(weft_stream_reader_t *reader);
WEFT_API void weft_stream_reader_release(weft_stream_reader_t *reader);
/* Appends data (copied) and wakes a waiting read. WEFT_EINVALIDSTATE after feed_eof;
 * WEFT_ENOMEM when the data cannot be kept, which also fails the reader (set_error). */
WEFT_API int weft_stream_feed_data(weft_stream_reader_t *reader, const void *data, size_t len);
WEFT_API int weft_stream_feed_eof(weft_stream_reader_t *reader);
/* Fails the waiting read and every later one with `code` (asyncio's set_exception). */
WEFT_API int weft_stream_set_error(weft_stream_reader_t *reader, int code);
/* The error set on the reader, 0 if none (asyncio's exception()). */
WEFT_API int weft_stream_reader_error(const weft_stream_reader_t *reader);
/* 1 once EOF was fed and the buffer is empty. */
WEFT_API int weft_stream_at_eof(const weft_stream_reader_t *reader);
/* The bytes buffered and not read yet. */
WEFT_API size_t weft_stream_reader_buffered(const weft_stream_reader_t *reader);
WEFT_API size_t weft_stream_reader_limit(const weft_stream_reader_t *reader);

/* read(n): up to n bytes as soon as any are there (empty at EOF); n < 0 reads to EOF. */
WEFT_API int weft_stream_read(weft_stream_reader_t *reader, int64_t n, weft_future_t **out);
/* readline(): up to and including "\n"; at EOF what is left (maybe empty). */
WEFT_API int weft_stream_readline(weft_stream_reader_t *reader, weft_future_t **out);
/* readexactly(n): exactly n bytes, or WEFT_EINCOMPLETE at EOF. */
WEFT_API int weft_stream_readexactly(weft_stream_reader_t *reader, size_t n, weft_future_t **out);
/* readuntil(separators): up to and including the separator whose match ends first (of
 * matches ending at the same byte, the shortest separator's, whose start the limit is
 * checked against, as in asyncio); the separators (count >= 1, none empty) are copied.
 * WEFT_EINCOMPLETE at EOF without one, WEFT_ELIMITOVERRUN when the limit is reached first. */
WEFT_API int weft_stream_readuntil(weft_stream_reader_t *reader, const void *const *separators,
                                   const size_t *lengths, size_t count, weft_future_t **out);
/* For a read future failed with WEFT_EINCOMPLETE: the partial data (borrowed from the
 * future) and its size; NULL otherwise. */
WEFT_API const void *weft_stream_error_partial(const weft_future_t *future, size_t *len_out);
/* For WEFT_ELIMITOVERRUN: asyncio's `consumed`; for WEFT_EINCOMPLETE: the expected size
 * (0 for readuntil). */
WEFT_API size_t weft_stream_error_consumed(const weft_future_t *future);

/* The same reads inside a stackful task. They return 0 or the error; *out receives the
 * bytes (the partial data with WEFT_EINCOMPLETE). */
WEFT_API int weft_stream_read_await(weft_stream_reader_t *reader, int64_t n, weft_value_t *out);
WEFT_API int weft_stream_readline_await(weft_stream_reader_t *reader, weft_value_t *out);
WEFT_API int weft_stream_readexactly_await(weft_stream_reader_t *reader, size_t n,
                                           weft_value_t *out);
WEFT_API int weft_stream_readuntil_await(weft_stream_reader_t *reader,
                                         const void *const *separators, const size_t *lengths,
                                         size_t count, weft_value_t *out);
/* readexactly straight into the caller's buffer (no allocation); with WEFT_EINCOMPLETE
 * *nread_out (may be NULL) says how many bytes arrived. */
WEFT_API int weft_stream_readexactly_into_await(weft_stream_reader_t *reader, void *buf, size_t n,
                                                size_t *nread_out);

/* ---------------------------------------------------------------- writer */

WEFT_API weft_stream_writer_t *weft_stream_writer_retain(weft_stream_writer_t *writer);
/* Dropping the last reference to a writer whose transport is still open closes it. */
WEFT_API void weft_stream_writer_release(weft_stream_writer_t *writer);
/* The reader of the same connection (borrowed). */
WEFT_API weft_stream_reader_t *weft_stream_writer_reader(const weft_stream_writer_t *writer);
/* The transport (borrowed). */
WEFT_API weft_transport_t *weft_stream_writer_transport(const weft_stream_writer_t *writer);

WEFT_API int weft_stream_write(weft_stream_writer_t *writer, const void *data, size_t len);
WEFT_API int weft_stream_writelines(weft_stream_writer_t *writer, const void *const *bufs,
                                    const size_t *lens, size_t count);
WEFT_API int weft_stream_can_write_eof(const weft_stream_writer_t *writer);
WEFT_API int weft_stream_write_eof(weft_stream_writer_t *writer);
/* drain(): done at once unless the transport paused writing (buffer above the high-water
 * mark); then done when it resumes. Fails with the reader's error, or with the connection
 * error (WEFT_ECONNRESET when it was simply closed) once the connection is lost. */
WEFT_API int weft_stream_drain(weft_stream_writer_t *writer, weft_future_t **out);
WEFT_API int weft_stream_drain_await(weft_stream_writer_t *writer);
WEFT_API int weft_stream_close(weft_stream_writer_t *writer);
WEFT_API int weft_stream_is_closing(const weft_stream_writer_t *writer);
/* Done once the connection is lost (failing with its error if it had one). */
WEFT_API int weft_stream_wait_closed(weft_stream_writer_t *writer, weft_future_t **out);
WEFT_API int weft_stream_wait_closed_await(weft_stream_writer_t *writer);
/* StreamWriter.start_tls: upgrades the connection to TLS (STARTTLS-style); the reader and
 * writer then go on over the TLS transport. The side is the server's for connections from
 * start_server, else the client's; the context must match it. The future completes (with
 * no value) after the handshake; on failure it fails (WEFT_ETLS...) and the connection is
 * lost with that error. */
WEFT_API int weft_stream_start_tls(weft_stream_writer_t *writer, const weft_tls_options_t *tls,
                                   weft_future_t **out);
WEFT_API int weft_stream_start_tls_await(weft_stream_writer_t *writer,
                                         const weft_tls_options_t *tls);
/* As weft_transport_get_extra_info on the writer's transport. */
WEFT_API int weft_stream_get_extra_info(const weft_stream_writer_t *writer, int key, void *buf,
                                        size_t *len);

/* ---------------------------------------------------------------- connections, servers */

typedef struct weft_stream_options_s {
  size_t size;                           /* sizeof(weft_stream_options_t) */
  size_t limit;                          /* the readers' limit, 0: WEFT_STREAM_LIMIT_DEFAULT */
  const weft_connect_options_t *connect; /* open_[unix_]connection's options (may be NULL) */
  const weft_server_options_t *server;   /* start_[unix_]server's options (may be NULL) */
  /* start_server: run each client callback in a new stackful task (so it may await);
   * the connection's reader and writer are released when it returns. */
  int client_in_task;
} weft_stream_options_t;

/* Fills *options with the defaults: every field zero (none, off), size set. */
WEFT_API void weft_stream_options_init(weft_stream_options_t *options);

/* A connected client. reader and writer are borrowed for the call: retain them to keep
 * them beyond it (the writer closes when its last reference goes). In a task, the return
 * value is the task's outcome. */
typedef int (*weft_stream_client_fn)(weft_stream_reader_t *reader, weft_stream_writer_t *writer,
                                     void *arg);

/* open_connection: the future's result (WEFT_VALUE_STREAM_WRITER) is the writer (a reference owned
 * by the future); weft_stream_writer_reader gives the reader. */
WEFT_API int weft_open_connection(weft_loop_t *loop, const char *host, int port,
                                  const weft_stream_options_t *options, weft_future_t **out);
WEFT_API int weft_open_unix_connection(weft_loop_t *loop, const char *path, size_t path_len,
                                       const weft_stream_options_t *options, weft_future_t **out);
/* Inside a task: connects and hands out new references to the reader and the writer. */
WEFT_API int weft_open_connection_await(weft_loop_t *loop, const char *host, int port,
                                        const weft_stream_options_t *options,
                                        weft_stream_reader_t **reader_out,
                                        weft_stream_writer_t **writer_out);
WEFT_API int weft_open_unix_connection_await(weft_loop_t *loop, const char *path, size_t path_len,
                                             const weft_stream_options_t *options,
                                             weft_stream_reader_t **reader_out,
                                             weft_stream_writer_t **writer_out);
/* start_server and start_unix_server: the future's result (WEFT_VALUE_SERVER) is the
 * server, as for weft_create_server and weft_create_unix_server (server.h). arg_free (may
 * be NULL) is called with arg exactly once, after the server closed and every client
 * callback it started has returned (as a factory argument, server.h). */
WEFT_API int weft_start_server(weft_loop_t *loop, weft_stream_client_fn client, void *arg,
                               weft_free_fn arg_free, const char *host, int port,
                               const weft_stream_options_t *options, weft_future_t **out);
WEFT_API int weft_start_unix_server(weft_loop_t *loop, weft_stream_client_fn client, void *arg,
                                    weft_free_fn arg_free, const char *path, size_t path_len,
                                    const weft_stream_options_t *options, weft_future_t **out);

#ifdef __cplusplus
}
#endif
#endif
