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

static int weftgo_process_start(weft_loop_t *loop, weftgo_slice_t argz, weftgo_slice_t envz,
                                int use_env, weftgo_slice_t cwdz, int in_mode, int in_fd,
                                int out_mode, int out_fd, int err_mode, int err_fd,
                                weft_process_t **out) {
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
    rc = argv[0] == NULL ? WEFT_EINVAL : weft_create_subprocess_exec(loop, argv, &options, out);
  }
  free(argv);
  free(env);
  return rc;
}
%}
/* Declared before weft.i gives weft_process_t ** its typemap: its own, the same. */
%typemap(gotype) weft_process_t **process_out "*SwigcptrStruct_SS_weft_process_s"
%typemap(imtype) weft_process_t **process_out "*SwigcptrStruct_SS_weft_process_s"
int weftgo_process_start(weft_loop_t *loop, weftgo_slice_t argz, weftgo_slice_t envz,
                         int use_env, weftgo_slice_t cwdz, int in_mode, int in_fd,
                         int out_mode, int out_fd, int err_mode, int err_fd,
                         weft_process_t **process_out);

%constant weft_callback_fn WeftgoCallback = weftgoCallback;
%constant weft_future_cb WeftgoFutureDone = weftgoFutureDone;
%constant weft_free_fn WeftgoFreeHandle = weftgoFreeHandle;
%constant weft_predicate_fn WeftgoPredicate = weftgoPredicate;
%constant weft_step_fn WeftgoStep = weftgoStep;
%constant weft_protocol_factory_fn WeftgoProtocolFactory = weftgo_protocol_factory;

%include "weft.i"
