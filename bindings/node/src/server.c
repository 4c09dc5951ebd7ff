/* Server: asyncio.Server over a core server, for stream servers and protocol servers
 * alike. The object stays reachable while the server is open (Node's rule: a listening
 * server is not collected), and keeps the process alive by its listening handles unless
 * unref()'d. */
#include <stdlib.h>
#include <sys/socket.h>

#include "weft_node.h"

static const napi_type_tag server_tag = {0x77656674u, 0x5345525645523031u};

typedef struct {
  wn_state_t *st;
  weft_server_t *server;
  napi_ref self; /* strong while open */
} wn_server_t;

static void server_release(void *p) {
  wn_server_t *s = p;
  weft_server_release(s->server);
  free(s);
}

static napi_value server_ctor(napi_env env, napi_callback_info info) {
  return wn_net_ctor(env, info, &server_tag, server_release, "servers come from startServer");
}

napi_value wn_server_new(napi_env env, wn_state_t *st, weft_server_t *server) {
  wn_server_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return wn_throw(env, WEFT_ENOMEM, NULL);
  s->st = st;
  s->server = weft_server_retain(server);
  napi_value out = wn_net_new(env, st->net->server_class, s, server_release);
  if (out != NULL)
    napi_create_reference(env, out, 1, &s->self);
  return out;
}

static wn_server_t *this_server(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  return wn_net_this(env, info, n, argv, &server_tag, "Server");
}

static void server_let_go(napi_env env, wn_server_t *s) {
  if (s->self != NULL) {
    napi_delete_reference(env, s->self);
    s->self = NULL;
  }
}

static napi_value server_close(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  if (s == NULL)
    return NULL;
  weft_server_close(s->server);
  server_let_go(env, s);
  return NULL;
}

static napi_value server_close_clients(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  if (s == NULL)
    return NULL;
  weft_server_close_clients(s->server);
  return NULL;
}

static napi_value server_abort_clients(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  if (s == NULL)
    return NULL;
  weft_server_abort_clients(s->server);
  return NULL;
}

typedef int (*server_future_fn)(weft_server_t *, weft_future_t **);

static napi_value server_wait(napi_env env, napi_callback_info info, server_future_fn fn) {
  napi_value argv[1], signal;
  wn_server_t *s = this_server(env, info, 1, argv);
  if (s == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f = NULL;
  int rc = fn(s->server, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, s->st, f, signal, NULL, NULL, NULL);
}

static napi_value server_wait_closed(napi_env env, napi_callback_info info) {
  return server_wait(env, info, weft_server_wait_closed);
}

static napi_value server_serve_forever(napi_env env, napi_callback_info info) {
  return server_wait(env, info, weft_server_serve_forever);
}

static napi_value server_start_serving(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  if (s == NULL)
    return NULL;
  int rc = weft_server_start_serving(s->server);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value server_is_serving(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  napi_value out = NULL;
  if (s != NULL)
    napi_get_boolean(env, weft_server_is_serving(s->server), &out);
  return out;
}

static napi_value server_port(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  napi_value out = NULL;
  if (s != NULL)
    napi_create_int32(env, weft_server_port(s->server), &out);
  return out;
}

static napi_value server_connections(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  napi_value out = NULL;
  if (s != NULL)
    napi_create_double(env, (double)weft_server_connection_count(s->server), &out);
  return out;
}

/* addresses(): the bound address of each listening socket (asyncio's sockets). */
static napi_value server_addresses(napi_env env, napi_callback_info info) {
  wn_server_t *s = this_server(env, info, 0, NULL);
  if (s == NULL)
    return NULL;
  size_t n = weft_server_socket_count(s->server);
  napi_value out;
  napi_create_array_with_length(env, n, &out);
  for (size_t i = 0; i < n; i++) {
    struct sockaddr_storage ss;
    size_t len = sizeof ss;
    if (weft_server_socket_address(s->server, i, (struct sockaddr *)&ss, &len) == 0)
      napi_set_element(env, out, (uint32_t)i, wn_address_js(env, (struct sockaddr *)&ss));
  }
  return out;
}

static napi_value server_set_ref(napi_env env, napi_callback_info info, int ref) {
  napi_value self;
  wn_server_t *s = this_server(env, info, 0, NULL);
  if (s == NULL)
    return NULL;
  for (size_t i = 0, n = weft_server_socket_count(s->server); i < n; i++)
    wn_fd_set_ref(s->st, weft_server_socket_fd(s->server, i), ref);
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  return self;
}

static napi_value server_ref(napi_env env, napi_callback_info info) {
  return server_set_ref(env, info, 1);
}

static napi_value server_unref(napi_env env, napi_callback_info info) {
  return server_set_ref(env, info, 0);
}

napi_status wn_server_init(napi_env env, napi_value exports, wn_state_t *st) {
  napi_property_descriptor props[] = {
      WN_VOID_METHOD("close", server_close),
      WN_VOID_METHOD("closeClients", server_close_clients),
      WN_VOID_METHOD("abortClients", server_abort_clients),
      WN_METHOD("waitClosed", server_wait_closed),
      WN_METHOD("serveForever", server_serve_forever),
      WN_METHOD("startServing", server_start_serving),
      WN_METHOD("isServing", server_is_serving),
      WN_METHOD("port", server_port),
      WN_METHOD("connectionCount", server_connections),
      WN_METHOD("addresses", server_addresses),
      WN_METHOD("ref", server_ref),
      WN_METHOD("unref", server_unref),
  };
  return wn_define(env, exports, "Server", server_ctor, props, WN_COUNT(props),
                   &st->net->server_class);
}
