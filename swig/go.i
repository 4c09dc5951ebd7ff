/* go.i: what the Go binding adds to weft.i. bindings/go/internal/raw/raw.swig includes it.
 *
 * - A handle returned through CT ** becomes a Go pointer to that handle's own Swigcptr
 *   type, so `var l raw.SwigcptrStruct_SS_weft_loop_s; rc := raw.Weft_loop_new(&l)` keeps
 *   the error code as the return value and the handle typed.
 * - Callbacks are Go functions exported from internal/raw/callbacks.go (//export), named
 *   here as constants of the core's callback types. Their user data is a runtime/cgo.Handle
 *   passed as the void * argument (SWIG maps void * to uintptr): C never holds a Go pointer.
 * - Byte buffers cross as []byte, copied on the C side before the call returns. */

/* go build passes -intgosize 64: uintptr_t and friends are 64-bit here. */
#define SWIGWORDSIZE64

%define WEFT_LANG_HANDLE(CT, ST)
%typemap(gotype) CT ** "*SwigcptrStruct_SS_" #ST
%typemap(imtype) CT ** "*SwigcptrStruct_SS_" #ST
%enddef

/* weft_future_result lends the value it points at. */
%typemap(gotype) const weft_value_t ** "*SwigcptrWeft_value_t"
%typemap(imtype) const weft_value_t ** "*SwigcptrWeft_value_t"
/* Numbers handed back through a pointer. */
%typemap(gotype) int64_t *priority_out "*int64"
%typemap(imtype) int64_t *priority_out "*int64"
%typemap(gotype) int *timeout_ms_out "*int32"
%typemap(imtype) int *timeout_ms_out "*int32"

%rename(Kind) weft_value_s::type;

/* (data, len) pairs read from Go memory during the call only. */
%typemap(gotype) (const void *data, size_t len) "[]byte"
%typemap(imtype) (const void *data, size_t len) "[]byte"
%typemap(in) (const void *data, size_t len) %{
  $1 = ((_goslice_ *)&$input)->array;
  $2 = (size_t)((_goslice_ *)&$input)->len;
%}

/* Arrays of futures (gather, wait, as_completed) cross as Go slices of handles: plain
 * integers to Go, so the slice may be passed to C for the call. */
%typemap(gotype) (weft_future_t *const *futures, size_t count) "[]SwigcptrStruct_SS_weft_future_s"
%typemap(imtype) (weft_future_t *const *futures, size_t count) "[]SwigcptrStruct_SS_weft_future_s"
%typemap(in) (weft_future_t *const *futures, size_t count) %{
  $1 = ($1_ltype)((_goslice_ *)&$input)->array;
  $2 = (size_t)((_goslice_ *)&$input)->len;
%}

%{
#include <string.h>

#include "weft.h"

/* The trampolines of internal/raw/callbacks.go, as cgo exports them. */
extern void weftgoCallback(void *arg);
extern void weftgoFutureDone(weft_future_t *future, void *arg);
extern void weftgoFreeHandle(void *ptr);
extern int weftgoPredicate(void *arg);
extern void weftgoStep(weft_task_t *task, int throw_code, void *arg);
extern uintptr_t weftgoNewProtocol(uintptr_t factory);
extern void weftgoConnectionMade(weft_transport_t *transport, void *arg);
extern void weftgoDataReceived(weft_transport_t *transport, const char *data, size_t len,
                               void *arg);
extern int weftgoEofReceived(weft_transport_t *transport, void *arg);
extern void weftgoConnectionLost(weft_transport_t *transport, int error, void *arg);

/* The calls into Go that may make a goroutine runnable: every trampoline but a protocol's
 * (whose methods only call their transport) and a destructor's. Counted per thread, which
 * is per loop: a loop calls back only on its own thread, the one its goroutine is locked
 * to. weftgo_loop_run_step reports whether an iteration made any, so that package weft
 * chooses where to wait for the next one (drive_linux.go). */
static _Thread_local unsigned long weftgo_wakers;

static void weftgo_callback(void *arg) {
  weftgo_wakers++;
  weftgoCallback(arg);
}
static void weftgo_future_done(weft_future_t *future, void *arg) {
  weftgo_wakers++;
  weftgoFutureDone(future, arg);
}
static int weftgo_predicate(void *arg) {
  weftgo_wakers++;
  return weftgoPredicate(arg);
}
static void weftgo_step(weft_task_t *task, int throw_code, void *arg) {
  weftgo_wakers++;
  weftgoStep(task, throw_code, arg);
}

/* Calls made for every request (the loop's step, a protocol's write) take their handle as
 * an integer: SWIG's wrappers take a handle as an interface, which allocates to box it on
 * every call. */

/* weft_loop_run_step, and whether the iteration called into Go in a way that may have woken
 * a goroutine (*woke_out). */
static int weftgo_loop_run_step(uintptr_t loop, int wait, int *timeout_ms_out, int *woke_out) {
  unsigned long before = weftgo_wakers;
  int rc = weft_loop_run_step((weft_loop_t *)loop, wait, timeout_ms_out);
  *woke_out = weftgo_wakers != before;
  return rc;
}

/* A server's factory: the Go factory (a handle) makes the protocol object, whose handle is
 * the protocol's arg; connection_lost deletes it. 0 from Go refuses the connection. */
static int weftgo_protocol_factory(void *factory_arg, weft_protocol_t *protocol_out,
                                   void **arg_out) {
  uintptr_t arg = weftgoNewProtocol((uintptr_t)factory_arg);
  if (arg == 0) return WEFT_ECONNREFUSED;
  protocol_out->size = sizeof(*protocol_out);
  protocol_out->connection_made = weftgoConnectionMade;
  protocol_out->data_received = weftgoDataReceived;
  protocol_out->eof_received = weftgoEofReceived;
  protocol_out->connection_lost = weftgoConnectionLost;
  *arg_out = (void *)arg;
  return 0;
}

typedef struct {
  void *array;
  intgo len;
  intgo cap;
} weftgo_slice_t;

/* Copies a bytes value's data into dst (as much as fits); returns its full length. */
/* A NUL-terminated copy of bytes from Go (free it), or NULL without memory. The bytes may
 * hold a NUL of their own: a Unix path's leading NUL marks an abstract name, and such a
 * path is passed with its length. */
static char *weftgo_cstring(weftgo_slice_t bytes) {
  char *s = malloc((size_t)bytes.len + 1);
  if (s == NULL) return NULL;
  if (bytes.len > 0) memcpy(s, bytes.array, (size_t)bytes.len);
  s[bytes.len] = 0;
  return s;
}

static size_t weftgo_value_copy(const weft_value_t *value, weftgo_slice_t dst) {
  if (value == NULL || value->type != WEFT_VALUE_BYTES) return 0;
  size_t n = value->len < (size_t)dst.len ? value->len : (size_t)dst.len;
  if (n > 0) memcpy(dst.array, value->ptr, n);
  return value->len;
}
%}

%typemap(gotype) weftgo_slice_t "[]byte"
%typemap(imtype) weftgo_slice_t "[]byte"
%typemap(in) weftgo_slice_t %{ $1 = *(weftgo_slice_t *)&$input; %}
size_t weftgo_value_copy(const weft_value_t *value, weftgo_slice_t dst);

/* Arrays of handles the core fills (weft_all_tasks, weft_taskgroup_errors), as Go slices
 * of handles: integers to Go, so the slice may be handed to C for the call. Each returns
 * the full count, which may exceed the slice's length. */
%{
typedef weftgo_slice_t weftgo_tasks_t;
typedef weftgo_slice_t weftgo_futures_t;

static size_t weftgo_all_tasks(weft_loop_t *loop, weftgo_tasks_t dst) {
  return weft_all_tasks(loop, (weft_task_t **)dst.array, (size_t)dst.len);
}

static size_t weftgo_taskgroup_errors(const weft_taskgroup_t *group, weftgo_futures_t dst) {
  return weft_taskgroup_errors(group, (weft_future_t **)dst.array, (size_t)dst.len);
}
%}
%typemap(gotype) weftgo_tasks_t "[]SwigcptrStruct_SS_weft_task_s"
%typemap(imtype) weftgo_tasks_t "[]SwigcptrStruct_SS_weft_task_s"
%typemap(in) weftgo_tasks_t %{ $1 = *(weftgo_tasks_t *)&$input; %}
%typemap(gotype) weftgo_futures_t "[]SwigcptrStruct_SS_weft_future_s"
%typemap(imtype) weftgo_futures_t "[]SwigcptrStruct_SS_weft_future_s"
%typemap(in) weftgo_futures_t %{ $1 = *(weftgo_futures_t *)&$input; %}
size_t weftgo_all_tasks(weft_loop_t *loop, weftgo_tasks_t dst);
size_t weftgo_taskgroup_errors(const weft_taskgroup_t *group, weftgo_futures_t dst);

/* Subprocesses (process.go): argv and the environment cross as NUL-separated strings in
 * one []byte each, read during the call only (the child is spawned before it returns). */
%{
#include <stdlib.h>

static const char **weftgo_split(weftgo_slice_t z) {
  const char *p = z.array;
  size_t n = 0;
  for (intgo i = 0; i < z.len; i++)
    if (p[i] == 0) n++;
  const char **v = calloc(n + 1, sizeof *v);
  if (v == NULL) return NULL;
  const char *start = p;
  size_t k = 0;
  for (intgo i = 0; i < z.len; i++)
    if (p[i] == 0) {
      v[k++] = start;
      start = p + i + 1;
    }
  return v;
}

/* shell: argz holds one command line, run by /bin/sh -c (create_subprocess_shell). */
static int weftgo_process_start(weft_loop_t *loop, int shell, weftgo_slice_t argz,
                                weftgo_slice_t envz, int use_env, weftgo_slice_t cwdz,
                                int in_mode, int in_fd, int out_mode, int out_fd, int err_mode,
                                int err_fd, weft_process_t **out) {
  if (out == NULL) return WEFT_EINVAL;
  *out = NULL;
  weft_process_options_t options;
  weft_process_options_init(&options);
  options.stdio[0].mode = in_mode;
  options.stdio[0].fd = in_fd;
  options.stdio[1].mode = out_mode;
  options.stdio[1].fd = out_fd;
  options.stdio[2].mode = err_mode;
  options.stdio[2].fd = err_fd;
  if (cwdz.len > 0) options.cwd = cwdz.array;
  const char **argv = weftgo_split(argz);
  const char **env = use_env ? weftgo_split(envz) : NULL;
  int rc = WEFT_ENOMEM;
  if (argv != NULL && (!use_env || env != NULL)) {
    options.env = env;
    if (argv[0] == NULL || (shell && argv[1] != NULL))
      rc = WEFT_EINVAL;
    else if (shell)
      rc = weft_create_subprocess_shell(loop, argv[0], &options, out);
    else
      rc = weft_create_subprocess_exec(loop, argv, &options, out);
  }
  free(argv);
  free(env);
  return rc;
}
%}
/* Declared before weft.i gives weft_process_t ** its typemap: its own, the same. */
%typemap(gotype) weft_process_t **process_out "*SwigcptrStruct_SS_weft_process_s"
%typemap(imtype) weft_process_t **process_out "*SwigcptrStruct_SS_weft_process_s"
int weftgo_process_start(weft_loop_t *loop, int shell, weftgo_slice_t argz,
                         weftgo_slice_t envz, int use_env, weftgo_slice_t cwdz, int in_mode,
                         int in_fd, int out_mode, int out_fd, int err_mode, int err_fd,
                         weft_process_t **process_out);

%constant weft_callback_fn WeftgoCallback = weftgo_callback;
%constant weft_future_cb WeftgoFutureDone = weftgo_future_done;
%constant weft_free_fn WeftgoFreeHandle = weftgoFreeHandle;
%constant weft_predicate_fn WeftgoPredicate = weftgo_predicate;
%constant weft_step_fn WeftgoStep = weftgo_step;
%typemap(gotype) int *woke_out "*int32"
%typemap(imtype) int *woke_out "*int32"
int weftgo_loop_run_step(uintptr_t loop, int wait, int *timeout_ms_out, int *woke_out);
%{
static int weftgo_transport_write(uintptr_t transport, weftgo_slice_t data) {
  return weft_transport_write((weft_transport_t *)transport, data.array, (size_t)data.len);
}
%}
int weftgo_transport_write(uintptr_t transport, weftgo_slice_t data);
%{
/* Conn.Read's and Conn.Write's calls, for each request: into or from Go memory, for the
 * call only. */
static int64_t weftgo_transport_read_threadsafe(uintptr_t transport, weftgo_slice_t dst) {
  return weft_transport_read_threadsafe((weft_transport_t *)transport, dst.array, (size_t)dst.len);
}
%}
int64_t weftgo_transport_read_threadsafe(uintptr_t transport, weftgo_slice_t dst);
%{
static int64_t weftgo_transport_write_threadsafe(uintptr_t transport, weftgo_slice_t data) {
  return weft_transport_write_threadsafe((weft_transport_t *)transport, data.array,
                                         (size_t)data.len);
}
%}
int64_t weftgo_transport_write_threadsafe(uintptr_t transport, weftgo_slice_t data);
%constant weft_protocol_factory_fn WeftgoProtocolFactory = weftgo_protocol_factory;


/* ---- Network connections (conn.go, listener.go, packetconn.go, tls.go) ---- */
%{
extern int weftgoStreamClient(weft_stream_reader_t *reader, weft_stream_writer_t *writer,
                              void *arg);
extern void weftgoDatagramMade(weft_transport_t *transport, void *arg);
extern void weftgoDatagramReceived(weft_transport_t *transport, const char *data, size_t len,
                                   const struct sockaddr *addr, void *arg);
extern void weftgoDatagramError(weft_transport_t *transport, int error, void *arg);
extern void weftgoDatagramLost(weft_transport_t *transport, int error, void *arg);

/* The stream server's and the datagram endpoint's callbacks hand what they get to
 * goroutines (Accept, ReadFrom): counted as weftgo_wakers says. */
static int weftgo_stream_client(weft_stream_reader_t *reader, weft_stream_writer_t *writer,
                                void *arg) {
  weftgo_wakers++;
  return weftgoStreamClient(reader, writer, arg);
}
static void weftgo_datagram_made(weft_transport_t *transport, void *arg) {
  weftgo_wakers++;
  weftgoDatagramMade(transport, arg);
}
static void weftgo_datagram_received(weft_transport_t *transport, const char *data, size_t len,
                                     const struct sockaddr *addr, void *arg) {
  weftgo_wakers++;
  weftgoDatagramReceived(transport, data, len, addr, arg);
}
static void weftgo_datagram_error(weft_transport_t *transport, int error, void *arg) {
  weftgo_wakers++;
  weftgoDatagramError(transport, error, arg);
}
static void weftgo_datagram_lost(weft_transport_t *transport, int error, void *arg) {
  weftgo_wakers++;
  weftgoDatagramLost(transport, error, arg);
}

/* A key of a transport's extra information copied into dst: its size, or an error code. */
static int64_t weftgo_extra_info(const weft_transport_t *transport, int key, weftgo_slice_t dst) {
  size_t len = (size_t)dst.len;
  int rc = weft_transport_get_extra_info(transport, key, dst.array, &len);
  return rc != 0 ? rc : (int64_t)len;
}

/* A listening socket's address copied into dst: its size, or an error code. */
static int64_t weftgo_server_address(const weft_server_t *server, size_t index,
                                     weftgo_slice_t dst) {
  size_t len = (size_t)dst.len;
  int rc = weft_server_socket_address(server, index, (struct sockaddr *)dst.array, &len);
  return rc != 0 ? rc : (int64_t)len;
}

/* One datagram to the raw sockaddr in addr (empty: the connected peer). */
static int weftgo_sendto(weft_transport_t *transport, weftgo_slice_t data, weftgo_slice_t addr) {
  return weft_transport_sendto(transport, data.array, (size_t)data.len,
                               addr.len > 0 ? (const struct sockaddr *)addr.array : NULL);
}

/* A datagram endpoint whose protocol is the Go object behind handle, which the core
 * deletes (arg_free) when it lets go of it. */
static int weftgo_create_datagram_endpoint(weft_loop_t *loop, uintptr_t handle,
                                           const char *host, int port, int family,
                                           weft_future_t **out) {
  weft_datagram_options_t o;
  weft_datagram_options_init(&o);
  o.local_host = host;
  o.local_port = port;
  o.family = family;
  weft_protocol_t p;
  memset(&p, 0, sizeof(p));
  p.size = sizeof(p);
  p.connection_made = weftgo_datagram_made;
  p.datagram_received = weftgo_datagram_received;
  p.error_received = weftgo_datagram_error;
  p.connection_lost = weftgo_datagram_lost;
  p.arg_free = weftgoFreeHandle;
  return weft_create_datagram_endpoint(loop, &p, (void *)handle, &o, out);
}

/* The options structs are filled here, on the C stack, so no string crosses into a struct
 * field (SWIG's setters would copy and leak it). unix_path: host is a socket's path. */
static int weftgo_open_stream(weft_loop_t *loop, weftgo_slice_t address, int port, int unix_path,
                              int family, weft_tls_context_t *tls, const char *server_name,
                              weft_future_t **out) {
  if (out == NULL) return WEFT_EINVAL;
  *out = NULL;
  char *host = weftgo_cstring(address);
  if (host == NULL) return WEFT_ENOMEM;
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.family = family;
  weft_tls_options_t to;
  weft_tls_options_init(&to);
  if (tls) {
    to.context = tls;
    to.server_hostname = server_name && *server_name ? server_name : NULL;
    co.tls = &to;
  }
  weft_stream_options_t so;
  weft_stream_options_init(&so);
  so.connect = &co;
  int rc = unix_path ? weft_open_unix_connection(loop, host, (size_t)address.len, &so, out)
                     : weft_open_connection(loop, host, port, &so, out);
  free(host);
  return rc;
}

/* A stream server whose client callback is the Go function behind handle; the core
 * deletes the handle once the server has let go of it. */
static int weftgo_start_stream_server(weft_loop_t *loop, uintptr_t handle,
                                      weftgo_slice_t address, int port, int unix_path,
                                      int family, weft_tls_context_t *tls, weft_future_t **out) {
  if (out == NULL) return WEFT_EINVAL;
  *out = NULL;
  char *host = weftgo_cstring(address);
  if (host == NULL) return WEFT_ENOMEM;
  weft_server_options_t sv;
  weft_server_options_init(&sv);
  sv.family = family;
  weft_tls_options_t to;
  weft_tls_options_init(&to);
  if (tls) {
    to.context = tls;
    sv.tls = &to;
  }
  weft_stream_options_t so;
  weft_stream_options_init(&so);
  so.server = &sv;
  int rc = unix_path ? weft_start_unix_server(loop, weftgo_stream_client, (void *)handle,
                                              weftgoFreeHandle, host, (size_t)address.len, &so,
                                              out)
                     : weft_start_server(loop, weftgo_stream_client, (void *)handle,
                                         weftgoFreeHandle, *host ? host : NULL, port, &so, out);
  free(host);
  return rc;
}

/* The partial data of a read failed with WEFT_EINCOMPLETE copied into dst (as much as
 * fits); returns its full length. */
static int64_t weftgo_stream_partial(const weft_future_t *future, weftgo_slice_t dst) {
  size_t len = 0;
  const void *data = weft_stream_error_partial(future, &len);
  if (data == NULL) return 0;
  size_t n = len < (size_t)dst.len ? len : (size_t)dst.len;
  if (n > 0) memcpy(dst.array, data, n);
  return (int64_t)len;
}

/* A reader's readuntil with one separator. */
static int weftgo_stream_readuntil(weft_stream_reader_t *reader, weftgo_slice_t sep,
                                   weft_future_t **out) {
  const void *seps[1] = {sep.array};
  size_t lens[1] = {(size_t)sep.len};
  return weft_stream_readuntil(reader, seps, lens, 1, out);
}

/* ALPN protocols packed as NUL-terminated names one after another. */
static int weftgo_tls_set_alpn(weft_tls_context_t *ctx, weftgo_slice_t packed) {
  const char *names[64];
  size_t count = 0;
  const char *p = packed.array, *end = p + packed.len;
  while (p < end && count < 64) {
    names[count++] = p;
    p += strlen(p) + 1;
  }
  return weft_tls_context_set_alpn_protocols(ctx, names, count);
}
%}


%include "weft.i"

/* After weft.i, so that its handle typemaps apply to these (weft_future_t **out). */
int64_t weftgo_extra_info(const weft_transport_t *transport, int key, weftgo_slice_t dst);
int64_t weftgo_server_address(const weft_server_t *server, size_t index, weftgo_slice_t dst);
int weftgo_sendto(weft_transport_t *transport, weftgo_slice_t data, weftgo_slice_t addr);
int weftgo_create_datagram_endpoint(weft_loop_t *loop, uintptr_t handle, const char *host,
                                    int port, int family, weft_future_t **out);
int weftgo_tls_set_alpn(weft_tls_context_t *ctx, weftgo_slice_t packed);

%constant weft_stream_client_fn WeftgoStreamClient = weftgo_stream_client;
int weftgo_open_stream(weft_loop_t *loop, weftgo_slice_t address, int port, int unix_path,
                       int family, weft_tls_context_t *tls, const char *server_name,
                       weft_future_t **out);
int weftgo_start_stream_server(weft_loop_t *loop, uintptr_t handle, weftgo_slice_t address,
                               int port, int unix_path, int family, weft_tls_context_t *tls,
                               weft_future_t **out);
int64_t weftgo_stream_partial(const weft_future_t *future, weftgo_slice_t dst);
int weftgo_stream_readuntil(weft_stream_reader_t *reader, weftgo_slice_t sep, weft_future_t **out);

/* ---- Socket addresses (addr.go) ---- */
%{
#include <sys/socket.h>

/* weft_sockaddr_decode of the raw address in sa (its length as the kernel gave it, or the
 * buffer's): returns the family or an error code, with the port, the IPv6 scope and the
 * text (the numeric host, or a Unix name whose leading NUL marks an abstract one) copied
 * into text as far as it fits, its full length in *text_len. */
static int weftgo_sockaddr_decode(weftgo_slice_t sa, weftgo_slice_t text, int *port,
                                  unsigned *scope_id, int *text_len) {
  weft_sockaddr_parts_t parts;
  int rc = weft_sockaddr_decode((const struct sockaddr *)sa.array, (size_t)sa.len, &parts);
  if (rc != 0) return rc;
  const char *src = parts.family == AF_UNIX ? parts.path : parts.host;
  size_t n = parts.family == AF_UNIX ? parts.path_len : strlen(parts.host);
  *port = parts.port;
  *scope_id = parts.scope_id;
  *text_len = (int)n;
  if (n > (size_t)text.len) n = (size_t)text.len;
  if (n > 0) memcpy(text.array, src, n);
  return parts.family;
}
%}
%typemap(gotype) int *port "*int32"
%typemap(imtype) int *port "*int32"
%typemap(gotype) unsigned *scope_id "*uint32"
%typemap(imtype) unsigned *scope_id "*uint32"
%typemap(gotype) int *text_len "*int32"
%typemap(imtype) int *text_len "*int32"
int weftgo_sockaddr_decode(weftgo_slice_t sa, weftgo_slice_t text, int *port, unsigned *scope_id,
                           int *text_len);

/* ---- Protocol-style clients (protocol_client.go) ---- */
%{
/* asyncio's create_connection / create_unix_connection for the Go protocol behind handle,
 * which the protocol trampolines take as their arg (connection_lost deletes it; before
 * connection_made the core calls nothing, and the handle stays Go's). host is copied: a
 * name or address, or a Unix path whose leading NUL marks an abstract name. */
static int weftgo_create_connection(weft_loop_t *loop, uintptr_t handle, weftgo_slice_t host,
                                    int port, int unix_path, int family,
                                    weft_tls_context_t *tls, const char *server_name,
                                    weft_future_t **out) {
  if (out == NULL) return WEFT_EINVAL;
  *out = NULL;
  char *name = weftgo_cstring(host);
  if (name == NULL) return WEFT_ENOMEM;
  weft_protocol_t p;
  memset(&p, 0, sizeof(p));
  p.size = sizeof(p);
  p.connection_made = weftgoConnectionMade;
  p.data_received = weftgoDataReceived;
  p.eof_received = weftgoEofReceived;
  p.connection_lost = weftgoConnectionLost;
  weft_connect_options_t co;
  weft_connect_options_init(&co);
  co.family = family;
  weft_tls_options_t to;
  weft_tls_options_init(&to);
  if (tls) {
    to.context = tls;
    to.server_hostname = server_name && *server_name ? server_name : NULL;
    co.tls = &to;
  }
  int rc;
  if (unix_path)
    rc = weft_create_unix_connection(loop, &p, (void *)handle, name, (size_t)host.len, &co, out);
  else
    rc = weft_create_connection(loop, &p, (void *)handle, name, port, &co, out);
  free(name);
  return rc;
}
%}
int weftgo_create_connection(weft_loop_t *loop, uintptr_t handle, weftgo_slice_t host, int port,
                             int unix_path, int family, weft_tls_context_t *tls,
                             const char *server_name, weft_future_t **out);

/* ---- Tasks (task.go) ---- */
%{
/* Ends a step-driven task as cancelled, with its cancellation's own message: that is what
 * weft_task_fail does for a NULL message, which a Go string can never be. */
static int weftgo_task_fail_cancelled(weft_task_t *task) {
  return weft_task_fail(task, WEFT_ECANCELLED, NULL, NULL, NULL);
}
%}
int weftgo_task_fail_cancelled(weft_task_t *task);
