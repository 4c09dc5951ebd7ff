/* What the network objects (streams, protocols, servers, datagram endpoints) share: the
 * scope JS runs in from a libuv callback, strings and addresses across the boundary,
 * Node's ref()/unref() and the extra fields of a stream read's error. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include "weft_node.h"

int wn_scope_open(wn_state_t *st, wn_scope_t *scope) {
  scope->hs = NULL;
  scope->cs = NULL;
  /* A terminated Worker's loop still delivers the close callbacks of the clean-up: no JS. */
  if (st->closing)
    return -1;
  napi_value resource;
  napi_open_handle_scope(st->env, &scope->hs);
  if (napi_get_reference_value(st->env, st->resource, &resource) == napi_ok)
    napi_open_callback_scope(st->env, resource, st->async_context, &scope->cs);
  return 0;
}

void wn_scope_close(wn_state_t *st, wn_scope_t *scope) {
  bool pending = false;
  /* An exception thrown by a user callback is Node's uncaught exception, as from an
   * EventEmitter's listener. */
  if (napi_is_exception_pending(st->env, &pending) == napi_ok && pending) {
    napi_value error;
    napi_get_and_clear_last_exception(st->env, &error);
    napi_fatal_exception(st->env, error);
  }
  if (scope->cs != NULL)
    napi_close_callback_scope(st->env, scope->cs);
  if (scope->hs != NULL)
    napi_close_handle_scope(st->env, scope->hs);
}

int wn_get_string(napi_env env, napi_value v, const char *what, char **out, size_t *len) {
  napi_valuetype t;
  size_t n = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return -1;
  }
  char *s = malloc(n + 1);
  if (s == NULL) {
    wn_throw(env, WEFT_ENOMEM, NULL);
    return -1;
  }
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  *out = s;
  if (len != NULL)
    *len = n;
  return 0;
}

int wn_get_bytes(napi_env env, napi_value v, const char *what, const void **data, size_t *len) {
  bool ok = false;
  void *p = NULL;
  if (napi_is_buffer(env, v, &ok) == napi_ok && ok &&
      napi_get_buffer_info(env, v, &p, len) == napi_ok) {
    *data = p != NULL ? p : "";
    return 0;
  }
  napi_typedarray_type type;
  size_t n = 0, offset = 0;
  napi_value ab;
  if (napi_is_typedarray(env, v, &ok) == napi_ok && ok &&
      napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &offset) == napi_ok &&
      (type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array)) {
    *data = p != NULL ? p : "";
    *len = n;
    return 0;
  }
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
  return -1;
}

napi_value wn_address_js(napi_env env, const struct sockaddr *addr) {
  napi_value out, v;
  weft_sockaddr_parts_t p;
  if (addr == NULL) {
    napi_get_null(env, &out);
    return out;
  }
  napi_create_object(env, &out);
  if (weft_sockaddr_decode(addr, 0, &p) != 0)
    return out;
  if (p.family == AF_UNIX) {
    napi_create_string_utf8(env, p.path, p.path_len, &v);
    napi_set_named_property(env, out, "path", v);
    return out;
  }
  napi_create_string_utf8(env, p.host, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "address", v);
  napi_create_string_utf8(env, p.family == AF_INET ? "IPv4" : "IPv6", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "family", v);
  napi_create_int32(env, p.port, &v);
  napi_set_named_property(env, out, "port", v);
  return out;
}

typedef struct {
  int fd;
  int ref;
} fd_ref_t;

static void set_ref_walk(uv_handle_t *handle, void *arg) {
  fd_ref_t *want = arg;
  uv_os_fd_t fd;
  if (uv_is_closing(handle) || uv_fileno(handle, &fd) != 0 || fd != want->fd)
    return;
  if (want->ref)
    uv_ref(handle);
  else
    uv_unref(handle);
}

/* The core keeps its handles to itself; the handle of a socket is found by its
 * descriptor, which only that handle watches. ref/unref is rare, so a walk is cheap
 * enough. */
void wn_fd_set_ref(wn_state_t *st, int fd, int ref) {
  if (fd < 0)
    return;
  fd_ref_t want = {fd, ref};
  uv_walk(weft_loop_uv(st->loop), set_ref_walk, &want);
}

void wn_transport_set_ref(wn_state_t *st, weft_transport_t *t, int ref) {
  /* A TLS transport is layered: the socket is the one under it. */
  for (int depth = 0; t != NULL && depth < 4; depth++) {
    int fd = -1;
    size_t len = sizeof fd;
    if (weft_transport_get_extra_info(t, WEFT_INFO_FD, &fd, &len) == 0) {
      wn_fd_set_ref(st, fd, ref);
      return;
    }
    weft_transport_t *under = NULL;
    len = sizeof under;
    if (weft_transport_get_extra_info(t, WEFT_INFO_TRANSPORT, &under, &len) != 0)
      return;
    t = under;
  }
}

void wn_error_decorate(napi_env env, weft_future_t *future, napi_value error) {
  int code = weft_future_error(future);
  napi_valuetype t;
  if (error == NULL || napi_typeof(env, error, &t) != napi_ok || t != napi_object)
    return;
  napi_value v;
  if (code == WEFT_EINCOMPLETE) {
    size_t len = 0;
    const void *partial = weft_stream_error_partial(future, &len);
    if (partial == NULL && len == 0)
      partial = "";
    if (partial != NULL && napi_create_buffer_copy(env, len, partial, NULL, &v) == napi_ok)
      napi_set_named_property(env, error, "partial", v);
    size_t expected = weft_stream_error_consumed(future);
    if (expected > 0)
      napi_create_double(env, (double)expected, &v);
    else
      napi_get_null(env, &v);
    napi_set_named_property(env, error, "expected", v);
  } else if (code == WEFT_ELIMITOVERRUN) {
    napi_create_double(env, (double)weft_stream_error_consumed(future), &v);
    napi_set_named_property(env, error, "consumed", v);
  }
}

void wn_net_abandon(wn_state_t *st) {
  wn_net_t *net = st->net;
  if (net == NULL)
    return;
  napi_ref *refs[] = {&net->server_class,  &net->conn_class, &net->transport_class,
                      &net->data_dispatch, &net->read_pool,  &net->buffer_view};
  for (size_t i = 0; i < WN_COUNT(refs); i++) {
    if (*refs[i] != NULL)
      napi_delete_reference(st->env, *refs[i]);
    *refs[i] = NULL;
  }
  net->read_pool_base = NULL;
}

napi_status wn_net_init(napi_env env, napi_value exports) {
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return napi_pending_exception;
  /* Freed with the state (loop.c), after every finalizer. */
  st->net = calloc(1, sizeof *st->net);
  if (st->net == NULL)
    return napi_generic_failure;
  return wn_server_init(env, exports, st);
}

napi_value wn_net_ctor(napi_env env, napi_callback_info info, const napi_type_tag *tag,
                       wn_release_fn release, const char *hint) {
  napi_value argv[1], self;
  if (wn_ctor_args(env, info, 1, argv, &self) != 0)
    return NULL;
  void *object = NULL;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &object) != napi_ok || object == NULL) {
    napi_throw_type_error(env, "ERR_ILLEGAL_CONSTRUCTOR", hint);
    return NULL;
  }
  if (wn_wrap(env, self, tag, object, release) != napi_ok)
    return NULL;
  return self;
}

napi_value wn_net_new(napi_env env, napi_ref cls, void *object, wn_release_fn release) {
  napi_value ctor, ext, out;
  if (napi_get_reference_value(env, cls, &ctor) != napi_ok ||
      napi_create_external(env, object, NULL, NULL, &ext) != napi_ok ||
      napi_new_instance(env, ctor, 1, &ext, &out) != napi_ok) {
    release(object);
    return NULL;
  }
  return out;
}

void *wn_net_this(napi_env env, napi_callback_info info, size_t n, napi_value *argv,
                  const napi_type_tag *tag, const char *cls) {
  napi_value self;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  return wn_unwrap(env, self, tag, cls);
}

napi_value wn_net_keep_function(napi_env env, napi_callback_info info, napi_ref *slot,
                                const char *what) {
  napi_value argv[1];
  napi_valuetype t;
  if (wn_args(env, info, 1, argv, NULL) != 0)
    return NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a function", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
  }
  if (*slot != NULL)
    napi_delete_reference(env, *slot);
  napi_create_reference(env, argv[0], 1, slot);
  return NULL;
}
