/* TLS settings from JS: a context of the core made from PEM text, as Node's tls options
 * give it (ca, cert, key, passphrase, servername, ALPNProtocols, rejectUnauthorized).
 * lib/tls.js checks the shapes; this file maps them onto the core's context. A client
 * verifies the server's certificate and host name unless told not to. */
#include <stdlib.h>
#include <string.h>

#include "weft_node.h"

/* The optional string property `name` of `obj` (NULL when absent). */
static int opt_string(napi_env env, napi_value obj, const char *name, char **out, size_t *len) {
  napi_value v;
  *out = NULL;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok)
    return -1;
  if (wn_is_undefined(env, v))
    return 0;
  char what[64];
  snprintf(what, sizeof what, "tls.%s must be a string", name);
  return wn_get_string(env, v, what, out, len);
}

static int opt_bool(napi_env env, napi_value obj, const char *name, int dflt, int *out) {
  napi_value v;
  *out = dflt;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok)
    return -1;
  if (wn_is_undefined(env, v))
    return 0;
  bool b = false;
  if (napi_get_value_bool(env, v, &b) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "a tls flag must be a boolean");
    return -1;
  }
  *out = b;
  return 0;
}

static int fail_ctx(napi_env env, weft_tls_context_t *ctx, int rc) {
  if (rc == 0)
    return 0;
  char message[256];
  snprintf(message, sizeof message, "TLS setup failed: %s", weft_tls_context_error(ctx));
  wn_throw(env, rc == WEFT_EINVAL ? WEFT_ETLS : rc, message);
  return -1;
}

static int set_alpn(napi_env env, napi_value spec, weft_tls_context_t *ctx) {
  napi_value list;
  bool is_array = false;
  if (napi_get_named_property(env, spec, "ALPNProtocols", &list) != napi_ok)
    return -1;
  if (wn_is_undefined(env, list))
    return 0;
  uint32_t n = 0;
  if (napi_is_array(env, list, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, list, &n) != napi_ok || n > 64) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tls.ALPNProtocols must be an array");
    return -1;
  }
  char *names[64];
  uint32_t got = 0;
  int rc = 0;
  for (; got < n; got++) {
    napi_value item;
    napi_get_element(env, list, got, &item);
    if (wn_get_string(env, item, "tls.ALPNProtocols holds strings", &names[got], NULL) != 0) {
      rc = -1;
      break;
    }
  }
  if (rc == 0)
    rc = fail_ctx(env, ctx,
                  weft_tls_context_set_alpn_protocols(ctx, (const char *const *)names, got));
  for (uint32_t i = 0; i < got; i++)
    free(names[i]);
  return rc;
}

int wn_tls_options(napi_env env, napi_value spec, int role, weft_tls_options_t *out,
                   weft_tls_context_t **ctx_out, char **hostname_out) {
  *ctx_out = NULL;
  *hostname_out = NULL;
  weft_tls_options_init(out);
  napi_valuetype t;
  if (wn_is_undefined(env, spec))
    return 1;
  if (napi_typeof(env, spec, &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tls must be an object");
    return -1;
  }
  weft_tls_context_t *ctx = NULL;
  int rc = weft_tls_context_new(role, &ctx);
  if (rc != 0) {
    wn_throw(env, rc, NULL);
    return -1;
  }
  char *ca = NULL, *cert = NULL, *key = NULL, *pass = NULL;
  size_t ca_len = 0, cert_len = 0, key_len = 0;
  int verify = 1, request_cert = 0;
  rc = -1;
  if (opt_string(env, spec, "ca", &ca, &ca_len) != 0 ||
      opt_string(env, spec, "cert", &cert, &cert_len) != 0 ||
      opt_string(env, spec, "key", &key, &key_len) != 0 ||
      opt_string(env, spec, "passphrase", &pass, NULL) != 0 ||
      opt_string(env, spec, "servername", hostname_out, NULL) != 0 ||
      opt_bool(env, spec, "rejectUnauthorized", 1, &verify) != 0 ||
      opt_bool(env, spec, "requestCert", 0, &request_cert) != 0)
    goto done;
  if (cert != NULL &&
      fail_ctx(env, ctx,
               weft_tls_context_load_cert_chain_pem(ctx, cert, cert_len, key, key_len, pass)) != 0)
    goto done;
  if (ca != NULL && fail_ctx(env, ctx, weft_tls_context_load_verify_pem(ctx, ca, ca_len)) != 0)
    goto done;
  if (role == WEFT_TLS_CLIENT) {
    /* Node's rule: verification is on unless rejectUnauthorized is false; with no `ca`,
     * the system's trust store. */
    if (!verify) {
      if (fail_ctx(env, ctx, weft_tls_context_set_check_hostname(ctx, 0)) != 0 ||
          fail_ctx(env, ctx, weft_tls_context_set_verify(ctx, WEFT_TLS_VERIFY_NONE)) != 0)
        goto done;
    } else if (ca == NULL && fail_ctx(env, ctx, weft_tls_context_load_default_verify(ctx)) != 0) {
      goto done;
    }
  } else if (request_cert &&
             fail_ctx(env, ctx,
                      weft_tls_context_set_verify(ctx, verify ? WEFT_TLS_VERIFY_REQUIRED
                                                              : WEFT_TLS_VERIFY_OPTIONAL)) != 0) {
    goto done;
  }
  if (set_alpn(env, spec, ctx) != 0)
    goto done;
  napi_value v;
  if (napi_get_named_property(env, spec, "handshakeTimeout", &v) == napi_ok &&
      !wn_is_undefined(env, v) &&
      wn_get_double(env, v, "tls.handshakeTimeout must be a number", &out->handshake_timeout) != 0)
    goto done;
  out->context = ctx;
  out->server_hostname = *hostname_out;
  *ctx_out = ctx;
  ctx = NULL;
  rc = 0;
done:
  free(ca);
  free(cert);
  free(key);
  free(pass);
  if (ctx != NULL)
    weft_tls_context_release(ctx);
  if (rc != 0) {
    free(*hostname_out);
    *hostname_out = NULL;
  }
  return rc;
}
