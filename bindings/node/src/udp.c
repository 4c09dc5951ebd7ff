/* UDP endpoints: asyncio's create_datagram_endpoint, with a protocol object (protocol.c)
 * whose datagramReceived(data, {address, family, port}) and errorReceived(error) the
 * core calls, and Transport.sendto. lib/udp.js adds the async iterator of datagrams. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "weft_node.h"

static int opt_string(napi_env env, napi_value obj, const char *name, char **out) {
  napi_value v;
  *out = NULL;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok)
    return -1;
  return wn_is_undefined(env, v) ? 0 : wn_get_string(env, v, name, out, NULL);
}

static int opt_int(napi_env env, napi_value obj, const char *name, int *out) {
  napi_value v;
  int64_t n = 0;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok)
    return -1;
  if (wn_is_undefined(env, v))
    return 0;
  if (wn_get_int64(env, v, name, &n) != 0)
    return -1;
  if (n < 0 || n > 65535) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", name);
    return -1;
  }
  *out = (int)n;
  return 0;
}

static int opt_flag(napi_env env, napi_value obj, const char *name, int *out) {
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok)
    return -1;
  if (!wn_is_undefined(env, v) && napi_get_value_bool(env, v, &b) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", name);
    return -1;
  }
  *out = b;
  return 0;
}

/* createDatagramEndpoint(protocol, {localAddress, localPort, remoteAddress, remotePort,
 * family (4 or 6), reusePort, allowBroadcast}): a Promise of the Transport. */
static napi_value create_endpoint(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0)
    return NULL;
  napi_valuetype t;
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options must be an object");
    return NULL;
  }
  weft_datagram_options_t o;
  weft_datagram_options_init(&o);
  char *local = NULL, *remote = NULL;
  int family = 0;
  void *p = NULL;
  weft_protocol_t table;
  int rc = -1;
  if (opt_string(env, argv[1], "localAddress", &local) == 0 &&
      opt_string(env, argv[1], "remoteAddress", &remote) == 0 &&
      opt_int(env, argv[1], "localPort", &o.local_port) == 0 &&
      opt_int(env, argv[1], "remotePort", &o.remote_port) == 0 &&
      opt_int(env, argv[1], "family", &family) == 0 &&
      opt_flag(env, argv[1], "reusePort", &o.reuse_port) == 0 &&
      opt_flag(env, argv[1], "allowBroadcast", &o.allow_broadcast) == 0 &&
      (p = wn_protocol_new(env, st, argv[0], &table)) != NULL) {
    o.local_host = local;
    o.remote_host = remote;
    o.family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : 0;
    weft_future_t *f = NULL;
    rc = weft_create_datagram_endpoint(st->loop, &table, p, &o, &f);
    if (rc != 0) {
      wn_protocol_free(p);
      wn_throw(env, rc, rc == WEFT_EINVAL ? "invalid endpoint options" : NULL);
    } else {
      free(local);
      free(remote);
      return wn_promise(env, st, f, NULL, wn_transport_result, st, NULL);
    }
  }
  free(local);
  free(remote);
  return NULL;
}

napi_value wn_transport_sendto(napi_env env, napi_callback_info info) {
  napi_value argv[2], self;
  if (wn_args(env, info, 2, argv, &self) != 0)
    return NULL;
  weft_transport_t *t = wn_transport_of(env, self);
  const void *data;
  size_t len;
  if (t == NULL || wn_get_bytes(env, argv[0], "data must be a Buffer", &data, &len) != 0)
    return NULL;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  const struct sockaddr *addr = NULL;
  if (!wn_is_undefined(env, argv[1])) {
    char *host = NULL;
    int port = 0;
    if (opt_string(env, argv[1], "address", &host) != 0 ||
        opt_int(env, argv[1], "port", &port) != 0) {
      free(host);
      return NULL;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (host != NULL && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons((uint16_t)port);
    } else if (host != NULL && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)port);
    } else {
      free(host);
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                            "address.address must be an IPv4 or IPv6 address");
      return NULL;
    }
    free(host);
    addr = (const struct sockaddr *)&ss;
  }
  int rc = weft_transport_sendto(t, data, len, addr);
  return rc < 0 ? wn_throw(env, rc, NULL) : NULL;
}

napi_status wn_udp_init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {WN_METHOD("createDatagramEndpoint", create_endpoint)};
  return napi_define_properties(env, exports, WN_COUNT(fns), fns);
}
