/* A Node-API addon built from libweft_host.a. Loaded into node by host_load.js, it runs a
 * weft loop on Node's own libuv loop and reports the libuv and OpenSSL it finds, which must
 * be node's: the module carries no copy of either. One environment loads it (the test's
 * main thread), so its state is a static. */
#include <node_api.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <uv.h>
#include <weft.h>

/* NAPI_MODULE_INIT defines this without a prototype. */
NAPI_MODULE_EXPORT int32_t NODE_API_MODULE_GET_API_VERSION(void);

static struct {
  weft_loop_t *loop;
  int soon_ran;
  int later_ran;
} addon;

static void on_soon(void *arg) {
  (void)arg;
  addon.soon_ran++;
}

static void on_later(void *arg) {
  (void)arg;
  addon.later_ran++;
}

static napi_value fail(napi_env env, const char *what, int rc) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, weft_err_name(rc));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static void set_string(napi_env env, napi_value object, const char *key, const char *value) {
  napi_value s;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, object, key, s);
}

static void set_int(napi_env env, napi_value object, const char *key, int value) {
  napi_value n;
  napi_create_int32(env, value, &n);
  napi_set_named_property(env, object, key, n);
}

/* versions(): the libuv and OpenSSL the module was compiled for and the ones it runs on.
 * The OpenSSL one comes through weft's TLS engine, so node's OpenSSL answers weft's call. */
static napi_value versions(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  char text[64];
  napi_create_object(env, &out);
  set_string(env, out, "uv", uv_version_string());
  snprintf(text, sizeof text, "%d.%d.%d", UV_VERSION_MAJOR, UV_VERSION_MINOR, UV_VERSION_PATCH);
  set_string(env, out, "uvHeader", text);
  unsigned long n = weft_tls_openssl_version();
  snprintf(text, sizeof text, "%lu.%lu.%lu", (n >> 28) & 0xf, (n >> 20) & 0xff, (n >> 4) & 0xff);
  set_string(env, out, "openssl", text);
  snprintf(text, sizeof text, "%d.%d.%d", OPENSSL_VERSION_MAJOR, OPENSSL_VERSION_MINOR,
           OPENSSL_VERSION_PATCH);
  set_string(env, out, "opensslHeader", text);
  set_string(env, out, "weft", weft_version_string());
  return out;
}

/* start(): a weft loop adopting Node's loop, a call_soon and a call_later on it, and a TLS
 * context made and released (SSL_CTX_new and friends from node's OpenSSL). */
static napi_value start(napi_env env, napi_callback_info info) {
  (void)info;
  struct uv_loop_s *uv_loop;
  if (addon.loop != NULL)
    return fail(env, "start", WEFT_EINVALIDSTATE);
  if (napi_get_uv_event_loop(env, &uv_loop) != napi_ok)
    return fail(env, "uv loop", WEFT_EINVAL);
  weft_loop_options_t options = {.size = sizeof options, .adopt = uv_loop};
  int rc = weft_loop_new_ex(&options, &addon.loop);
  if (rc != 0)
    return fail(env, "weft_loop_new_ex", rc);
  if (weft_loop_uv(addon.loop) != uv_loop)
    return fail(env, "weft_loop_uv", WEFT_EINVALIDSTATE);
  weft_tls_context_t *ctx;
  if ((rc = weft_tls_context_new(WEFT_TLS_CLIENT, &ctx)) != 0)
    return fail(env, "weft_tls_context_new", rc);
  weft_tls_context_release(ctx);
  if ((rc = weft_call_soon(addon.loop, on_soon, NULL, NULL)) != 0)
    return fail(env, "weft_call_soon", rc);
  if ((rc = weft_call_later(addon.loop, 0.01, on_later, NULL, NULL)) != 0)
    return fail(env, "weft_call_later", rc);
  return NULL;
}

/* state(): how many times each callback ran. */
static napi_value state(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_object(env, &out);
  set_int(env, out, "soon", addon.soon_ran);
  set_int(env, out, "later", addon.later_ran);
  return out;
}

/* close(): closes and drops the weft loop; Node's loop goes on. */
static napi_value close_loop(napi_env env, napi_callback_info info) {
  (void)info;
  if (addon.loop == NULL)
    return fail(env, "close", WEFT_EINVALIDSTATE);
  int rc = weft_loop_close(addon.loop);
  weft_loop_release(addon.loop);
  addon.loop = NULL;
  napi_value out;
  napi_create_int32(env, rc, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"versions", NULL, versions, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"state", NULL, state, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_loop, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}
