/* Networking internals shared by the transport, server, TCP, Unix, pipe, UDP, DNS and
 * stream modules. Internal: nothing here is exported. */
#ifndef WEFT_NET_H
#define WEFT_NET_H

#include <uv.h>
#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "internal.h"
#include "weft.h"

/* What other threads write to a transport (weft_transport_write_threadsafe): bytes the
 * loop has not taken yet, and whether a plain socket may be sent on directly. Every field
 * but `shared` and `orphan` (loop thread only) is guarded by `lock`, which the loop also
 * takes before closing the descriptor, so a sending thread never sees it reused. */
typedef struct weft__tswrite_s {
  uv_mutex_t lock;
  char *buf; /* written from other threads, for the loop to write; ts_flush takes it */
  size_t len, cap;
  char *spare; /* the buffer the loop handed back, reused by the next burst */
  size_t spare_cap;
  size_t queued;  /* the loop's write-buffer size at its last change */
  int error;      /* nonzero: every later write fails with it (closed, lost, eof written) */
  int send_error; /* a direct send failed: the loop ends the connection with it */
  int fd;         /* a plain stream socket whose loop side has nothing queued, else -1 */
  int posted;     /* `post` is queued or its flush is running */
  int shared;     /* loop thread: other threads write, so the loop's own writes lock */
  int orphan;     /* loop thread: the last reference went while `post` was queued */
  weft__post_t post;
} weft__tswrite_t;

/* What other threads read of a plain stream socket whose reading the loop has handed over
 * (weft_transport_read_threadsafe). Guarded by the tswrite lock, which the loop takes before
 * closing the descriptor; the end a reading thread meets reaches the loop through the
 * tswrite post. Only the loop thread changes `fd` and `error`. */
typedef struct weft__tsread_s {
  int fd;      /* the socket other threads read, -1 unless handed over and open */
  int end;     /* 1: the end of the stream was read; < 0: a read failed with that code */
  int error;   /* nonzero once the transport is closing: later reads fail with it */
  int end_due; /* a reading thread met `end`: the loop delivers it on its next flush */
} weft__tsread_t;

/* The generic part of every transport. Built-in transports embed it first and use an
 * ops table of their own, so every public transport function dispatches the same way. */
struct weft_transport_s {
  int refs;
  int kind; /* weft_transport_kind_t */
  weft_loop_t *loop;
  weft_transport_ops_t ops;
  void *impl;
  weft_protocol_t proto;
  void *proto_arg;
  int closing;        /* close/abort started or the connection is gone */
  int reading;        /* wants to read (not paused) */
  int writing_paused; /* pause_writing was sent and resume_writing not yet */
  int eof_written;    /* write_eof was called */
  int made;           /* connection_made was delivered */
  int lost;           /* connection_lost was delivered */
  size_t high, low;   /* write-buffer watermarks */
  /* A transport over a libuv handle, once the handle closes (transport.c, "Closing"). */
  void (*gone)(weft_transport_t *t); /* delivers connection_lost, lets go of the handle */
  weft_transport_t *closing_next;    /* the loop's closing list */
  int close_done;                    /* the handle's close callback ran */
  int lost_due;                      /* connection_lost's turn on the ready queue came */
  weft__tswrite_t ts;                /* weft_transport_write_threadsafe's side (transport.c) */
  weft__tsread_t tr;                 /* weft_transport_read_threadsafe's side (transport.c) */
};

/* Put in the datagram_received slot of the core's own stream protocols (which no stream
 * transport calls): marks a protocol that may be called on a stackful task's stack, since
 * whatever registered code it reaches defers itself (transport.c). */
void weft__core_protocol(weft_transport_t *t, const char *data, size_t len,
                         const struct sockaddr *addr, void *arg);

/* Fills the generic part; refs = 1. */
void weft__transport_init(weft_transport_t *t, weft_loop_t *loop, int kind,
                          const weft_transport_ops_t *ops, void *impl);
/* Installs a protocol (a fresh transport's, or a layer's on its byte transport): the
 * transport now owns arg, freed with p->arg_free by weft__transport_let_go_arg. */
void weft__transport_set_protocol(weft_transport_t *t, const weft_protocol_t *p, void *arg);
void weft__transport_let_go_arg(weft_transport_t *t);
/* Loop thread: weft_transport_write_threadsafe fails with `code` from now on, and sends on
 * the descriptor stop; with `flush`, what it had accepted is written first. For a layer
 * that starts closing by itself (TLS after the peer's close_notify). */
void weft__transport_end_threadsafe(weft_transport_t *t, int code, int flush);

/* A transport over a libuv handle begins to close (call just before uv_close): as
 * asyncio's transports, it schedules connection_lost on the ready queue now. `gone` runs
 * once that turn has come and weft__transport_handle_closed has been called from the close
 * callback, in the order of the closes. weft__transport_lost_due: the loop is closing and
 * the ready queue will not run; `gone` waits for the close callback alone. */
void weft__transport_closing(weft_transport_t *t, void (*gone)(weft_transport_t *t));
void weft__transport_handle_closed(weft_transport_t *t);
void weft__transport_lost_due(weft_transport_t *t);

/* A stream transport over a libuv stream (TCP socket, Unix socket, pipe). */
typedef struct weft__stream_s weft__stream_t;
struct weft__stream_s {
  weft_transport_t base;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } h;
  int can_read, can_write;
  int started;        /* the transport has its protocol and may deliver events */
  int large_reads;    /* the last read was large (read_into): size the next by what waits */
  int read_fd;        /* the descriptor read_into sizes reads by, once reading started */
  int handle_closing; /* uv_close was called */
  int close_after_flush;
  int lost_error;
  size_t pending_writes;
  uv_connect_t connect_req;   /* used while connecting (happy eyeballs, Unix) */
  uv_shutdown_t shutdown_req; /* write_eof's, made at most once: it cannot fail for memory */
  void *owner;                /* a server's connection tracking, or NULL */
  void (*on_gone)(weft__stream_t *s); /* called once the handle is closed */
  void *connect_ctx;                  /* whoever is connecting this stream */
  int connect_index;
  struct weft__stream_s *next_conn, *prev_conn; /* a server's live connections */
  void (*drained)(void *arg); /* sendfile: told when every queued write has completed */
  void *drained_arg;
  /* Write pipes: a watcher on a duplicate of the descriptor that fires when the reading end
   * goes away (libuv watches the descriptor itself only while a write is pending). */
  uv_poll_t *hup;
  int hup_fd;
  weft__closable_t closable; /* on the loop's list while the handle is open */
  int ts_socket;             /* the socket other threads may send on once shared (ts), else -1 */
};

/* Allocates a stream transport whose handle is initialised for `kind` (TCP, UNIX, PIPE_*)
 * on the loop's libuv loop, with two references: the caller's, and the handle's (dropped
 * once the handle is closed). The caller either starts it and then releases its reference,
 * or discards it (which consumes that reference). */
int weft__stream_new(weft_loop_t *loop, int kind, int tcp_family, weft__stream_t **out);
/* Adopts an open descriptor into the handle (uv_tcp_open / uv_pipe_open). */
int weft__stream_open_fd(weft__stream_t *s, int fd);
/* Binds the protocol, starts reading and delivers connection_made. On failure (the
 * descriptor cannot be read) no protocol event was delivered and the caller discards the
 * stream. */
int weft__stream_start(weft__stream_t *s, const weft_protocol_t *p, void *arg);
/* Closes a stream that was never started: no protocol events, memory freed after. */
void weft__stream_discard(weft__stream_t *s);

/* How a kind of transport takes a descriptor and starts (weft__transport_from_fd). */
typedef struct weft__fd_kind_s {
  int (*adopt)(weft_transport_t *t, int fd); /* fails with the descriptor untouched */
  int (*start)(weft_transport_t *t, const weft_protocol_t *p, void *arg);
  void (*discard)(weft_transport_t *t); /* closes a transport never started; drops a reference */
} weft__fd_kind_t;
/* Makes t, fresh with a reference of the caller's that this takes over (discarding t on
 * failure), adopt fd and start from the loop; the future completes after connection_made.
 * The descriptor is the transport's once this succeeds, the caller's if it fails. */
int weft__transport_from_fd(weft_transport_t *t, const weft__fd_kind_t *kind, int fd,
                            const weft_protocol_t *protocol, void *arg, weft_future_t **out);
/* Wraps an open descriptor in a stream transport of `kind` (transport.c; TCP_NODELAY on a
 * TCP one if `nodelay`); the future completes after connection_made, from the loop. The
 * descriptor is the transport's once this succeeds, the caller's if it fails. */
int weft__connect_fd(weft_loop_t *loop, int kind, const weft_protocol_t *protocol, void *arg,
                     int fd, int nodelay, weft_future_t **out);

/* Plain connects and servers, which connect.c composes with the TLS layer. Each takes the
 * caller's options (ignoring their tls field) and gives a future like the public function
 * it serves; the futures' results are the transport or the server. */
int weft__tcp_connect(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                      const char *host, int port, const weft_connect_options_t *options,
                      weft_future_t **out);
int weft__tcp_connect_addrs(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                            const struct sockaddr *const *addrs, size_t count,
                            const weft_connect_options_t *options, weft_future_t **out);
int weft__unix_connect(weft_loop_t *loop, const weft_protocol_t *protocol, void *arg,
                       const char *path, size_t path_len, weft_future_t **out);
/* Servers: factory_free (may be NULL) frees factory_arg once the server lets go of it, or
 * once the creation has failed or been cancelled (from the future's done callback) if this
 * returned 0; if this fails, factory_arg stays the caller's. Errors in the arguments are
 * returned; what the system says when binding and listening fails the future. */
int weft__server_create(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                        weft_free_fn factory_free, const char *host, int port,
                        const weft_server_options_t *options, weft_future_t **out);
int weft__server_create_fds(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                            weft_free_fn factory_free, const int *fds, size_t count,
                            const weft_server_options_t *options, weft_future_t **out);
int weft__server_create_unix(weft_loop_t *loop, weft_protocol_factory_fn factory, void *factory_arg,
                             weft_free_fn factory_free, const char *path, size_t path_len,
                             const weft_server_options_t *options, weft_future_t **out);

/* A pipe transport (PIPE_READ or PIPE_WRITE) over an open descriptor, started at once:
 * connection_made is delivered and reading starts before it returns. The caller holds the
 * one reference it gets; the descriptor is the transport's, closed on failure too.
 * (Subprocess pipes: the same transport as connect_read_pipe/connect_write_pipe.) */
int weft__pipe_transport(weft_loop_t *loop, int kind, int fd, const weft_protocol_t *protocol,
                         void *arg, weft_transport_t **out);

/* Streams over a transport whose protocol belongs to someone else (a subprocess's pipes,
 * as asyncio's SubprocessStreamProtocol). attach: the reader pauses and resumes `t` for flow
 * control (NULL detaches). writer_wrap: a writer over `t`, with the stream protocol (copied
 * into *proto_out, its arg in *arg_out) to which the owner forwards t's pause_writing,
 * resume_writing and connection_lost; connection_made is delivered here. */
void weft__stream_reader_attach(weft_stream_reader_t *r, weft_transport_t *t);
int weft__stream_writer_wrap(weft_transport_t *t, weft_protocol_t *proto_out, void **arg_out,
                             weft_stream_writer_t **out);

/* Applies asyncio's socket defaults to an accepted or connected TCP socket. */
void weft__tcp_set_nodelay(weft__stream_t *s);

/* Resolution, callback form (the public futures are built on it). The callback gets the
 * result list (owned by the callee, freed with uv_freeaddrinfo) or an error. */
typedef void (*weft__resolve_cb)(void *arg, struct addrinfo *res, int error);
typedef struct weft__resolve_s weft__resolve_t;
int weft__resolve(weft_loop_t *loop, const char *host, const char *service, int family,
                  int socktype, int flags, weft__resolve_cb cb, void *arg, weft__resolve_t **out);
/* Stops a resolution: its callback will not be called. */
void weft__resolve_cancel(weft__resolve_t *r);

/* Happy eyeballs: connects to the first reachable of `count` addresses. A lost race gives
 * its callback every step that failed, as a WEFT__DETAIL_CONNECT detail of
 * weft__connect_failure_t entries (the callee's to free or hand to a future). */
typedef struct weft__connect_failure_s {
  int error;
  int step; /* WEFT_CONNECT_STEP_* */
  struct sockaddr_storage addr;
} weft__connect_failure_t;
typedef void (*weft__he_cb)(void *arg, weft__stream_t *winner, int error, const char *message,
                            weft__error_detail_t *failures);
typedef struct weft__he_s weft__he_t;
int weft__he_start(weft_loop_t *loop, const struct sockaddr *const *addrs, size_t count,
                   const struct sockaddr *const *local_addrs, size_t local_count, double delay,
                   int interleave, weft__he_cb cb, void *arg, weft__he_t **out);
void weft__he_cancel(weft__he_t *he);

/* sockaddr.c. The length of a socket address of the given family (0 if unknown). */
socklen_t weft__sockaddr_len(const struct sockaddr *addr);
/* Fills a sockaddr_un from a path; a leading NUL makes it an abstract name of `len` bytes
 * (path_len counts the NUL). Returns the address length or a negative code. */
int weft__unix_addr(const char *path, size_t path_len, struct sockaddr_un *out, socklen_t *len_out);

/* Fails a sendfile future with `code`, recording that `sent` bytes went out before
 * (weft_sendfile_sent). */
void weft__sendfile_fail(weft_future_t *future, int code, int64_t sent);

/* Completes `future` with a pointer to `t` holding a new reference (released with the
 * value). Returns 1 if it did, 0 if the future was already done (cancelled). */
int weft__future_set_transport(weft_future_t *future, weft_transport_t *t);

#endif
