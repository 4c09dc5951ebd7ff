/* Streams: asyncio's StreamReader and StreamWriter of one connection, as one native object
 * (lib/streams.js presents its reader and writer halves), open_connection and
 * start_server. Every read, drain and wait is a core future; the limit rules and errors
 * (LimitOverrunError, IncompleteReadError with the partial data) are the core's.
 *
 * The object stays reachable while its connection is open, and the socket keeps the
 * process alive, as a net.Socket does, until the connection is lost or unref() is called. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "weft_node.h"

static const napi_type_tag conn_tag = {0x77656674u, 0x53545245414d3031u};

/* A network connection has both halves; a subprocess pipe one of them (stdout and stderr
 * a reader, stdin a writer) and its process as owner. */
typedef struct {
  wn_state_t *st;
  weft_stream_writer_t *writer; /* NULL for a read-only pipe */
  weft_stream_reader_t *reader; /* NULL for stdin */
  void *owner;
  wn_release_fn owner_release;
  napi_ref self;       /* strong until a network connection is lost */
  weft_future_t *lost; /* wait_closed, which drops `self` */
  int server_side;     /* from a server: start_tls takes the server's side */
} wn_conn_t;

static void conn_lost(weft_future_t *future, void *arg);

static void conn_release(void *p) {
  wn_conn_t *c = p;
  if (c->lost != NULL) {
    weft_future_remove_done_callback(c->lost, conn_lost, c);
    /* The addon's own watcher, which nobody else can look at: a lost connection's error
     * is no unretrieved exception (asyncio's stream protocol marks its closed future
     * retrieved in the same way). Without effect while it is pending. */
    weft_future_error(c->lost);
    weft_future_release(c->lost);
  }
  if (c->reader != NULL)
    weft_stream_reader_release(c->reader);
  if (c->writer != NULL)
    weft_stream_writer_release(c->writer);
  if (c->owner != NULL)
    c->owner_release(c->owner);
  free(c);
}

static void conn_lost(weft_future_t *future, void *arg) {
  (void)future;
  wn_conn_t *c = arg;
  /* The object may be collected now; its finalizer releases the writer. */
  if (c->self != NULL) {
    napi_delete_reference(c->st->env, c->self);
    c->self = NULL;
  }
}

static napi_value conn_ctor(napi_env env, napi_callback_info info) {
  return wn_net_ctor(env, info, &conn_tag, conn_release,
                     "connections come from openConnection, startServer or a subprocess");
}

static napi_value conn_make(napi_env env, wn_state_t *st, weft_stream_writer_t *writer,
                            weft_stream_reader_t *reader, void *owner, wn_release_fn owner_release,
                            int server_side) {
  wn_conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    if (owner != NULL)
      owner_release(owner);
    return wn_throw(env, WEFT_ENOMEM, NULL);
  }
  c->st = st;
  c->writer = writer != NULL ? weft_stream_writer_retain(writer) : NULL;
  c->reader = reader != NULL ? weft_stream_reader_retain(reader) : NULL;
  c->owner = owner;
  c->owner_release = owner_release;
  c->server_side = server_side;
  napi_value out = wn_net_new(env, st->net->conn_class, c, conn_release);
  /* A pipe lives as long as its process; a network connection keeps its object while
   * open, as its socket keeps a net.Socket. */
  if (out == NULL || writer == NULL || owner != NULL)
    return out;
  if (napi_create_reference(env, out, 1, &c->self) == napi_ok &&
      (weft_stream_wait_closed(writer, &c->lost) != 0 ||
       weft_future_add_done_callback(c->lost, conn_lost, c) != 0)) {
    /* No way to learn of the end: the object is then kept only by its users. */
    napi_delete_reference(env, c->self);
    c->self = NULL;
  }
  return out;
}

napi_value wn_conn_new(napi_env env, wn_state_t *st, weft_stream_writer_t *writer,
                       weft_stream_reader_t *reader, void *owner, wn_release_fn owner_release) {
  return conn_make(env, st, writer, reader, owner, owner_release, 0);
}

static napi_value conn_new(napi_env env, wn_state_t *st, weft_stream_writer_t *writer,
                           int server_side) {
  return conn_make(env, st, writer, weft_stream_writer_reader(writer), NULL, NULL, server_side);
}

/* A request's read, write and drain name the same connection: the last one is known
 * without napi_unwrap's property lookup, as for Lock and Queue. */
static wn_conn_t *this_conn(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  napi_value self;
  wn_state_t *st = NULL;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || st == NULL || st->closing)
    return wn_unwrap(env, self, &conn_tag, "stream connection");
  return wn_unwrap_recent(env, self, &conn_tag, "stream connection", &st->recent_conn);
}

/* The connection of a reader method, or NULL with an error thrown (stdin has no reader). */
static wn_conn_t *this_reader(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  wn_conn_t *c = this_conn(env, info, n, argv);
  if (c != NULL && c->reader == NULL) {
    wn_throw(env, WEFT_EINVALIDSTATE, "this stream cannot be read");
    return NULL;
  }
  return c;
}

/* The same for writer methods (a subprocess's stdout and stderr have no writer). */
static wn_conn_t *this_writer(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  wn_conn_t *c = this_conn(env, info, n, argv);
  if (c != NULL && c->writer == NULL) {
    wn_throw(env, WEFT_EINVALIDSTATE, "this stream cannot be written");
    return NULL;
  }
  return c;
}

static weft_stream_reader_t *reader_of(wn_conn_t *c) {
  return c->reader;
}

/* A read's bytes from READ_SHARE_MIN on go to JS as a Buffer over the future's own memory,
 * the future kept until the Buffer is collected, instead of a copy; smaller ones are copied
 * into the read pool (read_pooled). The external Buffer's fixed cost (its backing store,
 * prototype change and finalizer) is about what copying 4 KiB costs: the crossover measured
 * with bench/node/callgrind_echo.sh (docs/benchmarks.md, Node echo, streams fifth pass). */
#define READ_SHARE_MIN (4 * 1024)

static void read_bytes_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  weft_future_release(hint);
}

/* A small read's bytes: copied into the protocol style's read pool and viewed as a Buffer by
 * lib/streams.js, which costs less than a Buffer of its own made by Node-API (an
 * allocation, a backing store and a prototype change per read). NULL when that cannot be
 * done, for the copy of wn_value_to_js. */
static napi_value read_pooled(napi_env env, const weft_value_t *v) {
  wn_state_t *st = wn_state(env);
  napi_value view, global, argv[3], out = NULL;
  size_t offset = 0;
  if (st == NULL || st->net->buffer_view == NULL ||
      napi_get_reference_value(env, st->net->buffer_view, &view) != napi_ok || view == NULL ||
      (argv[0] = wn_read_pool_put(st, v->ptr, v->len, &offset)) == NULL)
    return NULL;
  if (napi_create_uint32(env, (uint32_t)offset, &argv[1]) != napi_ok ||
      napi_create_uint32(env, (uint32_t)v->len, &argv[2]) != napi_ok ||
      napi_get_global(env, &global) != napi_ok ||
      napi_call_function(env, global, view, 3, argv, &out) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return NULL;
  }
  return out;
}

static napi_status read_result(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  (void)arg;
  const weft_value_t *v = NULL;
  weft_future_result(future, &v);
  if (v != NULL && v->type == WEFT_VALUE_BYTES && v->len > 0 && v->len < READ_SHARE_MIN &&
      (*out = read_pooled(env, v)) != NULL)
    return napi_ok;
  if (v != NULL && v->type == WEFT_VALUE_BYTES && v->len >= READ_SHARE_MIN) {
    weft_future_retain(future);
    if (napi_create_external_buffer(env, v->len, v->ptr, read_bytes_free, future, out) == napi_ok)
      return napi_ok;
    /* A runtime that allows no external Buffers gets a copy. */
    weft_future_release(future);
  }
  return wn_value_to_js(env, v, out);
}

static napi_value promise_or_throw(napi_env env, wn_conn_t *c, int rc, weft_future_t *f,
                                   napi_value signal) {
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, c->st, f, signal, read_result, NULL, NULL);
}

/* ---- reader ---------------------------------------------------------------------------- */

/* read(n, options): n < 0 (or undefined) reads to EOF. */
static napi_value conn_read(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  wn_conn_t *c = this_reader(env, info, 2, argv);
  int64_t n = -1;
  if (c == NULL ||
      (!wn_is_undefined(env, argv[0]) &&
       wn_get_int64(env, argv[0], "n must be an integer", &n) != 0) ||
      wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  weft_future_t *f = NULL;
  int rc = weft_stream_read(reader_of(c), n, &f);
  return promise_or_throw(env, c, rc, f, signal);
}

static napi_value conn_readline(napi_env env, napi_callback_info info) {
  napi_value argv[1], signal;
  wn_conn_t *c = this_reader(env, info, 1, argv);
  if (c == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f = NULL;
  int rc = weft_stream_readline(reader_of(c), &f);
  return promise_or_throw(env, c, rc, f, signal);
}

static napi_value conn_readexactly(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  wn_conn_t *c = this_reader(env, info, 2, argv);
  int64_t n = 0;
  if (c == NULL || wn_get_int64(env, argv[0], "n must be an integer", &n) != 0 ||
      wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  if (n < 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "readExactly size can not be less than zero");
    return NULL;
  }
  weft_future_t *f = NULL;
  int rc = weft_stream_readexactly(reader_of(c), (size_t)n, &f);
  return promise_or_throw(env, c, rc, f, signal);
}

/* readuntil(separators, options): separators is an array of Buffers (lib/streams.js
 * turns a single one or a string into that). */
static napi_value conn_readuntil(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  wn_conn_t *c = this_reader(env, info, 2, argv);
  if (c == NULL || wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || n == 0 || n > 64) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "separators must be 1 to 64 buffers");
    return NULL;
  }
  const void *seps[64];
  size_t lens[64];
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, argv[0], i, &item);
    if (wn_get_bytes(env, item, "a separator must be a Buffer", &seps[i], &lens[i]) != 0)
      return NULL;
    if (lens[i] == 0) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "a separator must not be empty");
      return NULL;
    }
  }
  weft_future_t *f = NULL;
  int rc = weft_stream_readuntil(reader_of(c), seps, lens, n, &f);
  return promise_or_throw(env, c, rc, f, signal);
}

static napi_value conn_at_eof(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_reader(env, info, 0, NULL);
  napi_value out = NULL;
  if (c != NULL)
    napi_get_boolean(env, weft_stream_at_eof(reader_of(c)), &out);
  return out;
}

static napi_value conn_buffered(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_reader(env, info, 0, NULL);
  napi_value out = NULL;
  if (c != NULL)
    napi_create_double(env, (double)weft_stream_reader_buffered(reader_of(c)), &out);
  return out;
}

static napi_value conn_limit(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_reader(env, info, 0, NULL);
  napi_value out = NULL;
  if (c != NULL)
    napi_create_double(env, (double)weft_stream_reader_limit(reader_of(c)), &out);
  return out;
}

/* ---- writer ---------------------------------------------------------------------------- */

static napi_value conn_write(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_conn_t *c = this_writer(env, info, 1, argv);
  const void *data;
  size_t len;
  if (c == NULL || wn_get_bytes(env, argv[0], "data must be a Buffer", &data, &len) != 0)
    return NULL;
  int rc = weft_stream_write(c->writer, data, len);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value conn_write_eof(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_writer(env, info, 0, NULL);
  if (c == NULL)
    return NULL;
  int rc = weft_stream_write_eof(c->writer);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value conn_can_write_eof(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_writer(env, info, 0, NULL);
  napi_value out = NULL;
  if (c != NULL)
    napi_get_boolean(env, weft_stream_can_write_eof(c->writer), &out);
  return out;
}

static napi_value conn_drain(napi_env env, napi_callback_info info) {
  napi_value argv[1], signal;
  wn_conn_t *c = this_writer(env, info, 1, argv);
  if (c == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f = NULL;
  int rc = weft_stream_drain(c->writer, &f);
  /* No wait and no error: undefined, which lib/streams.js answers with a resolved Promise,
   * instead of a bridge settled at once. A signal keeps the bridge (it may be aborted). */
  if (rc == 0 && weft_future_done(f) && wn_is_undefined(env, signal) && weft_future_error(f) == 0) {
    weft_future_release(f);
    return NULL;
  }
  return promise_or_throw(env, c, rc, f, signal);
}

static napi_value conn_close(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_writer(env, info, 0, NULL);
  if (c != NULL)
    weft_stream_close(c->writer);
  return NULL;
}

static napi_value conn_abort(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_writer(env, info, 0, NULL);
  if (c != NULL)
    weft_transport_abort(weft_stream_writer_transport(c->writer));
  return NULL;
}

static napi_value conn_is_closing(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_writer(env, info, 0, NULL);
  napi_value out = NULL;
  if (c != NULL)
    napi_get_boolean(env, weft_stream_is_closing(c->writer), &out);
  return out;
}

static napi_value conn_wait_closed(napi_env env, napi_callback_info info) {
  napi_value argv[1], signal;
  wn_conn_t *c = this_writer(env, info, 1, argv);
  if (c == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f = NULL;
  int rc = weft_stream_wait_closed(c->writer, &f);
  return promise_or_throw(env, c, rc, f, signal);
}

/* startTls(tls, options): asyncio's StreamWriter.start_tls, a Promise settled after the
 * handshake; the reader and writer then go on over TLS. */
static napi_value conn_start_tls(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  wn_conn_t *c = this_writer(env, info, 2, argv);
  if (c == NULL || wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  weft_tls_options_t tls;
  weft_tls_context_t *ctx = NULL;
  char *hostname = NULL;
  int rc = wn_tls_options(env, argv[0], c->server_side ? WEFT_TLS_SERVER : WEFT_TLS_CLIENT, &tls,
                          &ctx, &hostname);
  if (rc < 0)
    return NULL;
  if (rc > 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "startTls needs TLS options");
    return NULL;
  }
  weft_future_t *f = NULL;
  rc = weft_stream_start_tls(c->writer, &tls, &f);
  weft_tls_context_release(ctx);
  free(hostname);
  return promise_or_throw(env, c, rc, f, signal);
}

/* setWriteBufferLimits(high, low): undefined for the defaults. */
static napi_value conn_set_limits(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  wn_conn_t *c = this_writer(env, info, 2, argv);
  int64_t high = -1, low = -1;
  if (c == NULL ||
      (!wn_is_undefined(env, argv[0]) && wn_get_int64(env, argv[0], "high", &high) != 0) ||
      (!wn_is_undefined(env, argv[1]) && wn_get_int64(env, argv[1], "low", &low) != 0))
    return NULL;
  if (high >= 0 && low > high) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "low must not exceed high");
    return NULL;
  }
  int rc =
      weft_transport_set_write_buffer_limits(weft_stream_writer_transport(c->writer), high, low);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value conn_buffer_size(napi_env env, napi_callback_info info) {
  wn_conn_t *c = this_writer(env, info, 0, NULL);
  napi_value out = NULL;
  if (c != NULL)
    napi_create_double(
        env, (double)weft_transport_get_write_buffer_size(weft_stream_writer_transport(c->writer)),
        &out);
  return out;
}

/* extraInfo(key): 'peername', 'sockname', 'alpnProtocol', 'tlsVersion', 'cipher',
 * 'servername', 'fd' (asyncio's get_extra_info with Node's names). */
static napi_value conn_extra_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_conn_t *c = this_writer(env, info, 1, argv);
  if (c == NULL)
    return NULL;
  return wn_transport_info(env, weft_stream_writer_transport(c->writer), argv[0]);
}

static napi_value conn_set_ref(napi_env env, napi_callback_info info, int ref) {
  wn_conn_t *c = this_writer(env, info, 0, NULL);
  if (c == NULL)
    return NULL;
  wn_transport_set_ref(c->st, weft_stream_writer_transport(c->writer), ref);
  napi_value self;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  return self;
}

static napi_value conn_ref(napi_env env, napi_callback_info info) {
  return conn_set_ref(env, info, 1);
}

static napi_value conn_unref(napi_env env, napi_callback_info info) {
  return conn_set_ref(env, info, 0);
}

/* setBufferView(fn): lib/streams.js's (pool, offset, length) -> Buffer over that part. */
static napi_value set_buffer_view(napi_env env, napi_callback_info info) {
  wn_state_t *st = wn_state(env);
  return st == NULL ? NULL
                    : wn_net_keep_function(env, info, &st->net->buffer_view, "the view maker");
}

/* ---- open_connection, start_server ------------------------------------------------------ */

static napi_status writer_result(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  const weft_value_t *v = NULL;
  weft_future_result(future, &v);
  weft_stream_writer_t *w = weft_value_object(v, WEFT_VALUE_STREAM_WRITER);
  if (w == NULL)
    return napi_generic_failure;
  *out = conn_new(env, arg, w, 0);
  return *out != NULL ? napi_ok : napi_pending_exception;
}

static napi_status server_result(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  const weft_value_t *v = NULL;
  weft_future_result(future, &v);
  weft_server_t *s = weft_value_object(v, WEFT_VALUE_SERVER);
  if (s == NULL)
    return napi_generic_failure;
  *out = wn_server_new(env, arg, s);
  return *out != NULL ? napi_ok : napi_pending_exception;
}

/* The options every stream call shares: limit and TLS. */
typedef struct {
  weft_stream_options_t stream;
  weft_connect_options_t connect;
  weft_server_options_t server;
  weft_tls_options_t tls;
  weft_tls_context_t *ctx;
  char *hostname;
} stream_opts_t;

static int stream_opts(napi_env env, napi_value limit, napi_value tls, int role, stream_opts_t *o) {
  weft_stream_options_init(&o->stream);
  weft_connect_options_init(&o->connect);
  weft_server_options_init(&o->server);
  o->ctx = NULL;
  o->hostname = NULL;
  int64_t n = 0;
  if (!wn_is_undefined(env, limit) && wn_get_int64(env, limit, "limit must be an integer", &n) != 0)
    return -1;
  if (n < 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "limit must be positive");
    return -1;
  }
  o->stream.limit = (size_t)n;
  int rc = wn_tls_options(env, tls, role, &o->tls, &o->ctx, &o->hostname);
  if (rc < 0)
    return -1;
  if (rc == 0) {
    o->connect.tls = &o->tls;
    o->server.tls = &o->tls;
  }
  o->stream.connect = &o->connect;
  o->stream.server = &o->server;
  return 0;
}

static void stream_opts_clear(stream_opts_t *o) {
  if (o->ctx != NULL)
    weft_tls_context_release(o->ctx);
  free(o->hostname);
}

/* openConnection(host, port, limit, tls, options) / openUnixConnection(path, limit, tls,
 * options): a Promise of the connection. */
static napi_value open_connection(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 5, argv, NULL) != 0)
    return NULL;
  char *host = NULL;
  int64_t port = 0;
  stream_opts_t o;
  napi_value signal;
  if (wn_get_signal(env, argv[4], &signal) != 0 ||
      wn_get_string(env, argv[0], "host must be a string", &host, NULL) != 0)
    return NULL;
  if (wn_get_int64(env, argv[1], "port must be an integer", &port) != 0 ||
      stream_opts(env, argv[2], argv[3], WEFT_TLS_CLIENT, &o) != 0) {
    free(host);
    return NULL;
  }
  weft_future_t *f = NULL;
  int rc = (port < 0 || port > 65535)
               ? WEFT_EINVAL
               : weft_open_connection(st->loop, host, (int)port, &o.stream, &f);
  stream_opts_clear(&o);
  free(host);
  if (rc != 0)
    return wn_throw(env, rc, rc == WEFT_EINVAL ? "invalid host, port or options" : NULL);
  return wn_promise(env, st, f, signal, writer_result, st, NULL);
}

static napi_value open_unix_connection(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 4, argv, NULL) != 0)
    return NULL;
  char *path = NULL;
  size_t len = 0;
  stream_opts_t o;
  napi_value signal;
  if (wn_get_signal(env, argv[3], &signal) != 0 ||
      wn_get_string(env, argv[0], "path must be a string", &path, &len) != 0)
    return NULL;
  if (stream_opts(env, argv[1], argv[2], WEFT_TLS_CLIENT, &o) != 0) {
    free(path);
    return NULL;
  }
  weft_future_t *f = NULL;
  int rc = weft_open_unix_connection(st->loop, path, len, &o.stream, &f);
  stream_opts_clear(&o);
  free(path);
  if (rc != 0)
    return wn_throw(env, rc, rc == WEFT_EINVAL ? "invalid path or options" : NULL);
  return wn_promise(env, st, f, signal, writer_result, st, NULL);
}

typedef struct {
  wn_state_t *st;
  napi_ref fn;
} client_arg_t;

static void client_arg_free(void *p) {
  client_arg_t *a = p;
  napi_delete_reference(a->st->env, a->fn);
  free(a);
}

static int on_client(weft_stream_reader_t *reader, weft_stream_writer_t *writer, void *arg) {
  (void)reader;
  client_arg_t *a = arg;
  wn_state_t *st = a->st;
  wn_scope_t scope;
  if (wn_scope_open(st, &scope) != 0)
    return 0;
  napi_env env = st->env;
  napi_value fn, conn, global, ignored;
  if (napi_get_reference_value(env, a->fn, &fn) == napi_ok &&
      (conn = conn_new(env, st, writer, 1)) != NULL) {

    napi_get_global(env, &global);
    napi_call_function(env, global, fn, 1, &conn, &ignored);
  }
  wn_scope_close(st, &scope);
  return 0;
}

/* startServer(onClient, host, port, limit, tls, backlog, reusePort) and
 * startUnixServer(onClient, path, limit, tls, backlog): a Promise of the Server.
 * onClient(conn) is called from the loop for each connection. */
static napi_value start_server(napi_env env, napi_callback_info info, int unix_socket) {
  napi_value argv[7];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 7, argv, NULL) != 0)
    return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "the client callback must be a function");
    return NULL;
  }
  char *where = NULL;
  size_t where_len = 0;
  int64_t port = 0, backlog = 100;
  bool reuse_port = false;
  napi_value *rest = unix_socket ? &argv[2] : &argv[3];
  if (!unix_socket && wn_is_undefined(env, argv[1])) {
    where = NULL;
  } else if (wn_get_string(env, argv[1],
                           unix_socket ? "path must be a string" : "host must be a string", &where,
                           &where_len) != 0) {
    return NULL;
  }
  stream_opts_t o;
  if ((!unix_socket && wn_get_int64(env, argv[2], "port must be an integer", &port) != 0) ||
      (!wn_is_undefined(env, rest[2]) &&
       wn_get_int64(env, rest[2], "backlog must be an integer", &backlog) != 0) ||
      (!unix_socket && !wn_is_undefined(env, rest[3]) &&
       napi_get_value_bool(env, rest[3], &reuse_port) != napi_ok) ||
      stream_opts(env, rest[0], rest[1], WEFT_TLS_SERVER, &o) != 0) {
    free(where);
    return NULL;
  }
  o.server.backlog = (int)(backlog > 0 && backlog < 65536 ? backlog : 100);
  o.server.reuse_port = reuse_port;
  client_arg_t *a = malloc(sizeof *a);
  int rc = WEFT_ENOMEM;
  weft_future_t *f = NULL;
  if (a != NULL) {
    a->st = st;
    napi_create_reference(env, argv[0], 1, &a->fn);
    if (unix_socket)
      rc = weft_start_unix_server(st->loop, on_client, a, client_arg_free, where, where_len,
                                  &o.stream, &f);
    else
      rc = (port < 0 || port > 65535) ? WEFT_EINVAL
                                      : weft_start_server(st->loop, on_client, a, client_arg_free,
                                                          where, (int)port, &o.stream, &f);
    if (rc != 0)
      client_arg_free(a);
  }
  stream_opts_clear(&o);
  free(where);
  if (rc != 0)
    return wn_throw(env, rc, rc == WEFT_EINVAL ? "invalid address or options" : NULL);
  return wn_promise(env, st, f, NULL, server_result, st, NULL);
}

static napi_value start_tcp_server(napi_env env, napi_callback_info info) {
  return start_server(env, info, 0);
}

static napi_value start_unix_server(napi_env env, napi_callback_info info) {
  return start_server(env, info, 1);
}

napi_status wn_stream_init(napi_env env, napi_value exports) {
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return napi_pending_exception;
  napi_property_descriptor props[] = {
      WN_METHOD("read", conn_read),
      WN_METHOD("readline", conn_readline),
      WN_METHOD("readexactly", conn_readexactly),
      WN_METHOD("readuntil", conn_readuntil),
      WN_METHOD("atEof", conn_at_eof),
      WN_METHOD("buffered", conn_buffered),
      WN_METHOD("limit", conn_limit),
      WN_VOID_METHOD("write", conn_write),
      WN_VOID_METHOD("writeEof", conn_write_eof),
      WN_METHOD("canWriteEof", conn_can_write_eof),
      WN_METHOD("drain", conn_drain),
      WN_VOID_METHOD("close", conn_close),
      WN_VOID_METHOD("abort", conn_abort),
      WN_METHOD("isClosing", conn_is_closing),
      WN_METHOD("waitClosed", conn_wait_closed),
      WN_METHOD("startTls", conn_start_tls),
      WN_VOID_METHOD("setWriteBufferLimits", conn_set_limits),
      WN_METHOD("writeBufferSize", conn_buffer_size),
      WN_METHOD("extraInfo", conn_extra_info),
      WN_METHOD("ref", conn_ref),
      WN_METHOD("unref", conn_unref),
  };
  napi_status s = wn_define(env, exports, "StreamConnection", conn_ctor, props, WN_COUNT(props),
                            &st->net->conn_class);
  napi_property_descriptor fns[] = {
      WN_METHOD("openConnection", open_connection),
      WN_METHOD("openUnixConnection", open_unix_connection),
      WN_METHOD("startServer", start_tcp_server),
      WN_METHOD("startUnixServer", start_unix_server),
      WN_METHOD("setBufferView", set_buffer_view),
  };
  if (s == napi_ok)
    s = napi_define_properties(env, exports, WN_COUNT(fns), fns);
  return s;
}
