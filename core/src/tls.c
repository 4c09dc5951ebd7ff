/* TLS contexts and the per-connection engine: OpenSSL over memory BIOs (see tls_engine.h). */
#include "tls_engine.h"
#include "internal.h"

#include "weft/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MSG_SIZE 256

/* Ceiling for max_buffer: BIO_write and BIO_read count in int. */
#define MAX_BUFFER_LIMIT (1u << 30)

struct weft_tls_context_s {
  atomic_int refs; /* contexts may be shared by loops on several threads, as in Python */
  int32_t role;
  int32_t verify_mode;
  int32_t check_hostname;
  SSL_CTX *ssl_ctx;
  unsigned char *alpn; /* ALPN list in wire format (length-prefixed names) */
  size_t alpn_len;
  weft_tls_sni_fn sni_fn;
  void *sni_arg;
  weft_free_fn sni_arg_free;
  char error[MSG_SIZE];
};

struct weft_tls_conn_s {
  weft_tls_context_t *ctx; /* NULL for an adopted SSL */
  SSL *ssl;
  void *owner; /* an adopted SSL's owner, told through release when the engine is freed */
  weft_free_fn release;
  BIO *in;  /* ciphertext from the network, read by OpenSSL */
  BIO *out; /* ciphertext written by OpenSSL, for the network */
  size_t max_buffer;
  int state;
  int error_code;
  int eof;         /* the transport reached end of stream */
  int peer_closed; /* the peer's close_notify (or an end of stream) was seen */
  int unclean_eof; /* the stream ended without close_notify */
  int is_server;
  int sni_refused; /* the SNI callback said no: a clearer reason than OpenSSL's */
  weft__tls_handshake_fn hs_fn;
  void *hs_arg;
  char *hostname; /* what the client expects; kept for the mismatch message */
  /* Filled when the handshake completes, so queries are plain reads. */
  const char *version;
  int32_t version_number;
  const char *cipher;
  int32_t cipher_bits;
  char *alpn;
  char *server_name;
  uint8_t *peer_der;
  size_t peer_der_len;
  char *peer_subject;
  char *peer_issuer;
  char error[MSG_SIZE];
};

/* ---- helpers ---------------------------------------------------------------------------- */

/* The engine is found from its SSL through an ex_data slot of its own, never the app data
 * (ex_data index 0): an adopted SSL's app data belongs to its owner, whose callbacks (Python's
 * SNI, ALPN and message callbacks) read it during the handshake. */
static int engine_index = -1;
static pthread_once_t engine_index_once = PTHREAD_ONCE_INIT;

static void make_engine_index(void) {
  engine_index = SSL_get_ex_new_index(0, "weft TLS engine", NULL, NULL, NULL);
}

static int engine_slot(void) {
  pthread_once(&engine_index_once, make_engine_index);
  return engine_index;
}

static char *dup_bytes(const void *data, size_t len) {
  char *s = malloc(len + 1);
  if (s) {
    memcpy(s, data, len);
    s[len] = '\0';
  }
  return s;
}

static char *dup_str(const char *s) {
  return s ? dup_bytes(s, strlen(s)) : NULL;
}

/* The reason OpenSSL gives for its oldest queued error (the root cause, usually), then the
 * queue is cleared so the next operation starts clean. */
static void take_openssl_reason(char *buf, size_t size, const char *fallback) {
  unsigned long e = ERR_get_error();
  if (e == 0) {
    snprintf(buf, size, "%s", fallback);
  } else {
    const char *reason = ERR_reason_error_string(e);
    if (reason)
      snprintf(buf, size, "%s", reason);
    else
      ERR_error_string_n(e, buf, size);
  }
  ERR_clear_error();
}

static int ctx_fail(weft_tls_context_t *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ctx_fail(weft_tls_context_t *ctx, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
  va_end(ap);
  return code;
}

/* A context failure whose reason is on OpenSSL's error queue. */
static int ctx_fail_openssl(weft_tls_context_t *ctx, const char *what) {
  char reason[MSG_SIZE];
  take_openssl_reason(reason, sizeof reason, "unknown error");
  return ctx_fail(ctx, WEFT_ETLS, "%s: %s", what, reason);
}

/* Supplies the key's password, and refuses rather than letting OpenSSL prompt on a terminal
 * when there is none. */
static int password_cb(char *buf, int size, int rwflag, void *u) {
  (void)rwflag;
  const char *pw = u;
  if (pw == NULL)
    return -1;
  size_t n = strlen(pw);
  if (n > (size_t)size)
    return -1;
  memcpy(buf, pw, n);
  return (int)n;
}

static int is_ip_address(const char *host) {
  unsigned char addr[16];
  return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* ---- contexts --------------------------------------------------------------------------- */

static void apply_verify(weft_tls_context_t *ctx) {
  int flags = SSL_VERIFY_NONE;
  if (ctx->verify_mode != WEFT_TLS_VERIFY_NONE)
    flags = SSL_VERIFY_PEER;
  /* A client always fails without a server certificate; a server only when it requires one. */
  if (ctx->verify_mode == WEFT_TLS_VERIFY_REQUIRED && ctx->role == WEFT_TLS_SERVER)
    flags |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx->ssl_ctx, flags, NULL);
}

int weft_tls_context_new(int32_t role, weft_tls_context_t **out) {
  if (out == NULL || (role != WEFT_TLS_CLIENT && role != WEFT_TLS_SERVER))
    return WEFT_EINVAL;
  *out = NULL;
  weft_tls_context_t *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return WEFT_ENOMEM;
  atomic_init(&ctx->refs, 1);
  ctx->role = role;
  ctx->ssl_ctx = SSL_CTX_new(role == WEFT_TLS_CLIENT ? TLS_client_method() : TLS_server_method());
  if (ctx->ssl_ctx == NULL) {
    ERR_clear_error();
    free(ctx);
    return WEFT_ENOMEM;
  }
  /* Renegotiation is refused (on every connection too: engine_setup): it would make a write
   * need a read, which the memory-BIO model does not support. Compression is off against
   * CRIME. */
  long opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (role == WEFT_TLS_SERVER)
    opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx->ssl_ctx, opts);
  SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_2_VERSION);
  if (role == WEFT_TLS_CLIENT) {
    ctx->verify_mode = WEFT_TLS_VERIFY_REQUIRED;
    ctx->check_hostname = 1;
  } else {
    ctx->verify_mode = WEFT_TLS_VERIFY_NONE;
    ctx->check_hostname = 0;
  }
  apply_verify(ctx);
  *out = ctx;
  return 0;
}

weft_tls_context_t *weft_tls_context_retain(weft_tls_context_t *ctx) {
  if (ctx)
    atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
  return ctx;
}

void weft_tls_context_release(weft_tls_context_t *ctx) {
  if (ctx == NULL || atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
    return;
  SSL_CTX_free(ctx->ssl_ctx);
  if (ctx->sni_arg_free != NULL)
    ctx->sni_arg_free(ctx->sni_arg);
  free(ctx->alpn);
  free(ctx);
}

int32_t weft_tls_context_role(const weft_tls_context_t *ctx) {
  return ctx ? ctx->role : WEFT_EINVAL;
}

const char *weft_tls_context_error(const weft_tls_context_t *ctx) {
  return ctx ? ctx->error : NULL;
}

/* Installs the chain read from cert (leaf first) and the key read from key. */
static int load_chain_bios(weft_tls_context_t *ctx, BIO *cert, BIO *key, const char *password) {
  ERR_clear_error();
  X509 *leaf = PEM_read_bio_X509_AUX(cert, NULL, password_cb, NULL);
  if (leaf == NULL)
    return ctx_fail_openssl(ctx, "no certificate could be read");
  int ok = SSL_CTX_use_certificate(ctx->ssl_ctx, leaf);
  X509_free(leaf);
  if (!ok)
    return ctx_fail_openssl(ctx, "the certificate was refused");
  SSL_CTX_clear_chain_certs(ctx->ssl_ctx);
  X509 *ca;
  while ((ca = PEM_read_bio_X509(cert, NULL, password_cb, NULL)) != NULL) {
    if (!SSL_CTX_add0_chain_cert(ctx->ssl_ctx, ca)) {
      X509_free(ca);
      return ctx_fail_openssl(ctx, "a chain certificate was refused");
    }
  }
  /* The loop ends on "no start line" at the end of the text: not an error. */
  ERR_clear_error();
  EVP_PKEY *pkey = PEM_read_bio_PrivateKey(key, NULL, password_cb, (void *)password);
  if (pkey == NULL)
    return ctx_fail_openssl(ctx, "no private key could be read");
  ok = SSL_CTX_use_PrivateKey(ctx->ssl_ctx, pkey);
  EVP_PKEY_free(pkey);
  if (!ok || !SSL_CTX_check_private_key(ctx->ssl_ctx))
    return ctx_fail_openssl(ctx, "the private key does not match the certificate");
  ctx->error[0] = '\0';
  return 0;
}

static BIO *open_file(weft_tls_context_t *ctx, const char *path, int *code) {
  errno = 0;
  BIO *b = BIO_new_file(path, "r");
  if (b == NULL) {
    int e = errno ? errno : EIO;
    ERR_clear_error();
    *code = ctx_fail(ctx, -e, "cannot open %s: %s", path, strerror(e));
  }
  return b;
}

int weft_tls_context_load_cert_chain(weft_tls_context_t *ctx, const char *certfile,
                                     const char *keyfile, const char *password) {
  if (ctx == NULL || certfile == NULL)
    return WEFT_EINVAL;
  int rc = 0;
  BIO *cert = open_file(ctx, certfile, &rc);
  if (cert == NULL)
    return rc;
  BIO *key = open_file(ctx, keyfile ? keyfile : certfile, &rc);
  if (key == NULL) {
    BIO_free(cert);
    return rc;
  }
  rc = load_chain_bios(ctx, cert, key, password);
  BIO_free(cert);
  BIO_free(key);
  return rc;
}

int weft_tls_context_load_cert_chain_pem(weft_tls_context_t *ctx, const char *cert_pem,
                                         size_t cert_len, const char *key_pem, size_t key_len,
                                         const char *password) {
  if (ctx == NULL || cert_pem == NULL || cert_len > INT_MAX || key_len > INT_MAX)
    return WEFT_EINVAL;
  if (key_pem == NULL) {
    key_pem = cert_pem;
    key_len = cert_len;
  }
  BIO *cert = BIO_new_mem_buf(cert_pem, (int)cert_len);
  BIO *key = BIO_new_mem_buf(key_pem, (int)key_len);
  int rc = (cert && key) ? load_chain_bios(ctx, cert, key, password) : WEFT_ENOMEM;
  BIO_free(cert);
  BIO_free(key);
  return rc;
}

int weft_tls_context_load_verify_locations(weft_tls_context_t *ctx, const char *cafile,
                                           const char *capath) {
  if (ctx == NULL || (cafile == NULL && capath == NULL))
    return WEFT_EINVAL;
  ERR_clear_error();
  if (cafile && !SSL_CTX_load_verify_file(ctx->ssl_ctx, cafile))
    return ctx_fail_openssl(ctx, cafile);
  if (capath && !SSL_CTX_load_verify_dir(ctx->ssl_ctx, capath))
    return ctx_fail_openssl(ctx, capath);
  ctx->error[0] = '\0';
  return 0;
}

int weft_tls_context_load_verify_pem(weft_tls_context_t *ctx, const char *pem, size_t len) {
  if (ctx == NULL || pem == NULL || len > INT_MAX)
    return WEFT_EINVAL;
  BIO *b = BIO_new_mem_buf(pem, (int)len);
  if (b == NULL)
    return WEFT_ENOMEM;
  ERR_clear_error();
  X509_STORE *store = SSL_CTX_get_cert_store(ctx->ssl_ctx);
  int count = 0, rc = 0;
  X509 *x;
  while ((x = PEM_read_bio_X509(b, NULL, password_cb, NULL)) != NULL) {
    int ok = X509_STORE_add_cert(store, x);
    X509_free(x);
    if (!ok) {
      rc = ctx_fail_openssl(ctx, "a CA certificate was refused");
      break;
    }
    count++;
  }
  BIO_free(b);
  if (rc == 0 && count == 0)
    return ctx_fail_openssl(ctx, "no CA certificate found in the PEM text");
  if (rc == 0) {
    ERR_clear_error();
    ctx->error[0] = '\0';
  }
  return rc;
}

int weft_tls_context_load_default_verify(weft_tls_context_t *ctx) {
  if (ctx == NULL)
    return WEFT_EINVAL;
  ERR_clear_error();
  if (!SSL_CTX_set_default_verify_paths(ctx->ssl_ctx))
    return ctx_fail_openssl(ctx, "the default CA locations");
  return 0;
}

int weft_tls_context_set_verify(weft_tls_context_t *ctx, int32_t mode) {
  if (ctx == NULL || mode < WEFT_TLS_VERIFY_NONE || mode > WEFT_TLS_VERIFY_REQUIRED)
    return WEFT_EINVAL;
  if (mode == WEFT_TLS_VERIFY_NONE && ctx->check_hostname)
    return ctx_fail(ctx, WEFT_EINVAL,
                    "cannot turn verification off while host names are checked: "
                    "turn host-name checking off first");
  ctx->verify_mode = mode;
  apply_verify(ctx);
  return 0;
}

int32_t weft_tls_context_get_verify(const weft_tls_context_t *ctx) {
  return ctx ? ctx->verify_mode : WEFT_EINVAL;
}

int weft_tls_context_set_check_hostname(weft_tls_context_t *ctx, int32_t enabled) {
  if (ctx == NULL)
    return WEFT_EINVAL;
  if (enabled && ctx->role != WEFT_TLS_CLIENT)
    return ctx_fail(ctx, WEFT_EINVAL, "host names are checked by clients only");
  ctx->check_hostname = enabled ? 1 : 0;
  if (enabled && ctx->verify_mode == WEFT_TLS_VERIFY_NONE) {
    ctx->verify_mode = WEFT_TLS_VERIFY_REQUIRED;
    apply_verify(ctx);
  }
  return 0;
}

int32_t weft_tls_context_get_check_hostname(const weft_tls_context_t *ctx) {
  return ctx != NULL && ctx->check_hostname;
}

static int check_version(int32_t version) {
  return version == 0 || version == WEFT_TLS_VERSION_1_2 || version == WEFT_TLS_VERSION_1_3;
}

int weft_tls_context_set_min_version(weft_tls_context_t *ctx, int32_t version) {
  if (ctx == NULL || !check_version(version))
    return WEFT_EINVAL;
  if (!SSL_CTX_set_min_proto_version(ctx->ssl_ctx, version))
    return ctx_fail_openssl(ctx, "minimum version");
  return 0;
}

int weft_tls_context_set_max_version(weft_tls_context_t *ctx, int32_t version) {
  if (ctx == NULL || !check_version(version))
    return WEFT_EINVAL;
  if (!SSL_CTX_set_max_proto_version(ctx->ssl_ctx, version))
    return ctx_fail_openssl(ctx, "maximum version");
  return 0;
}

int weft_tls_context_set_ciphers(weft_tls_context_t *ctx, const char *ciphers) {
  if (ctx == NULL || ciphers == NULL)
    return WEFT_EINVAL;
  ERR_clear_error();
  if (!SSL_CTX_set_cipher_list(ctx->ssl_ctx, ciphers))
    return ctx_fail_openssl(ctx, "cipher list");
  return 0;
}

/* The server's choice: its own most preferred protocol that the client offers. With no
 * overlap the handshake goes on without ALPN, as Python's ssl module does. */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  weft_tls_context_t *ctx = arg;
  unsigned char *chosen = NULL;
  if (ctx->alpn_len == 0 ||
      SSL_select_next_proto(&chosen, outlen, ctx->alpn, (unsigned)ctx->alpn_len, in, inlen) !=
          OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int weft_tls_context_set_alpn_protocols(weft_tls_context_t *ctx, const char *const *protocols,
                                        size_t count) {
  if (ctx == NULL || (count > 0 && protocols == NULL))
    return WEFT_EINVAL;
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    size_t n = protocols[i] ? strlen(protocols[i]) : 0;
    if (n == 0 || n > 255)
      return ctx_fail(ctx, WEFT_EINVAL, "ALPN protocol names are 1 to 255 bytes long");
    total += n + 1;
  }
  if (total > 65535)
    return ctx_fail(ctx, WEFT_EINVAL, "the ALPN list is too long");
  unsigned char *wire = NULL;
  if (total > 0) {
    wire = malloc(total);
    if (wire == NULL)
      return WEFT_ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
      size_t n = strlen(protocols[i]);
      wire[off++] = (unsigned char)n;
      memcpy(wire + off, protocols[i], n);
      off += n;
    }
  }
  if (ctx->role == WEFT_TLS_CLIENT) {
    /* SSL_CTX_set_alpn_protos returns 0 on success, unlike most of OpenSSL. */
    if (SSL_CTX_set_alpn_protos(ctx->ssl_ctx, wire, (unsigned)total) != 0) {
      free(wire);
      return ctx_fail_openssl(ctx, "ALPN list");
    }
  } else {
    SSL_CTX_set_alpn_select_cb(ctx->ssl_ctx, total ? alpn_select_cb : NULL, ctx);
  }
  free(ctx->alpn);
  ctx->alpn = wire;
  ctx->alpn_len = total;
  return 0;
}

static int servername_cb(SSL *ssl, int *alert, void *arg) {
  weft_tls_context_t *ctx = arg;
  if (ctx->sni_fn == NULL)
    return SSL_TLSEXT_ERR_OK;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  weft_tls_context_t *use = NULL;
  weft__assert_loop_stack("an SNI callback");
  if (ctx->sni_fn(name, &use, ctx->sni_arg) < 0) {
    weft__tls_engine_t *e = SSL_get_ex_data(ssl, engine_slot());
    if (e)
      e->sni_refused = 1;
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (use != NULL && use != ctx) {
    if (use->role != WEFT_TLS_SERVER || SSL_set_SSL_CTX(ssl, use->ssl_ctx) == NULL) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

int weft_tls_context_set_sni_callback(weft_tls_context_t *ctx, weft_tls_sni_fn fn, void *arg,
                                      weft_free_fn arg_free) {
  if (ctx == NULL)
    return WEFT_EINVAL;
  if (ctx->role != WEFT_TLS_SERVER)
    return ctx_fail(ctx, WEFT_EINVAL, "the SNI callback is for servers");
  ctx->sni_fn = fn;
  if (fn == NULL)
    arg = NULL, arg_free = NULL;
  /* The previous argument is let go, unless it is kept again (the same pointer). */
  void *old = ctx->sni_arg;
  weft_free_fn old_free = ctx->sni_arg_free;
  ctx->sni_arg = arg;
  ctx->sni_arg_free = arg_free;
  if (old_free != NULL && old != arg)
    old_free(old);
  /* The macro casts its argument, so it gets a plain name, not an expression. */
  if (fn)
    SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx, servername_cb);
  else
    SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx, NULL);
  SSL_CTX_set_tlsext_servername_arg(ctx->ssl_ctx, ctx);
  return 0;
}

/* ---- the engine ------------------------------------------------------------------------- */

/* What every engine does with its SSL, wherever the SSL came from: memory BIOs, the modes and
 * options the memory-BIO model needs, the engine's ex_data slot, the side. */
static int engine_setup(weft__tls_engine_t *e, SSL *ssl, int is_server, size_t max_buffer) {
  e->max_buffer = max_buffer ? max_buffer : WEFT__TLS_DEFAULT_MAX_BUFFER;
  if (e->max_buffer > MAX_BUFFER_LIMIT)
    e->max_buffer = MAX_BUFFER_LIMIT;
  e->is_server = is_server;
  e->state = WEFT__TLS_HANDSHAKING;
  e->ssl = ssl;
  e->in = BIO_new(BIO_s_mem());
  e->out = BIO_new(BIO_s_mem());
  int slot = engine_slot();
  if (e->in == NULL || e->out == NULL || slot < 0 || !SSL_set_ex_data(ssl, slot, e)) {
    BIO_free(e->in);
    BIO_free(e->out);
    e->in = e->out = NULL;
    ERR_clear_error();
    return WEFT_ENOMEM;
  }
  /* An empty input BIO means "more to come", not end of stream: the end is ours to say
   * (weft__tls_feed_eof). */
  BIO_set_mem_eof_return(e->in, -1);
  BIO_set_mem_eof_return(e->out, -1);
  /* Replaces (and frees) whatever BIOs an adopted SSL had. */
  SSL_set_bio(ssl, e->in, e->out);
  /* Partial writes let weft__tls_write stop at the buffer cap; a moving buffer lets the
   * caller retry from a different address. */
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
  if (is_server)
    SSL_set_accept_state(ssl);
  else
    SSL_set_connect_state(ssl);
  return 0;
}

int weft__tls_engine_new(weft_tls_context_t *ctx, const char *server_hostname, size_t max_buffer,
                         weft__tls_engine_t **out) {
  if (ctx == NULL || out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (ctx->role == WEFT_TLS_CLIENT && ctx->check_hostname &&
      (server_hostname == NULL || server_hostname[0] == '\0'))
    return ctx_fail(ctx, WEFT_EINVAL, "checking the host name needs a server host name");
  weft__tls_engine_t *e = calloc(1, sizeof *e);
  if (e == NULL)
    return WEFT_ENOMEM;
  ERR_clear_error();
  SSL *ssl = SSL_new(ctx->ssl_ctx);
  if (ssl == NULL) {
    ERR_clear_error();
    free(e);
    return WEFT_ENOMEM;
  }
  int rc = engine_setup(e, ssl, ctx->role == WEFT_TLS_SERVER, max_buffer);
  if (rc != 0) {
    SSL_free(ssl);
    free(e);
    return rc;
  }
  e->ctx = weft_tls_context_retain(ctx);
  if (!e->is_server && server_hostname && server_hostname[0]) {
    int ip = is_ip_address(server_hostname);
    e->hostname = dup_str(server_hostname);
    e->server_name = ip ? NULL : dup_str(server_hostname);
    if (e->hostname == NULL || (!ip && e->server_name == NULL))
      rc = WEFT_ENOMEM;
    /* RFC 6066 forbids IP addresses in SNI. */
    else if (!ip && !SSL_set_tlsext_host_name(e->ssl, server_hostname))
      rc = WEFT_EINVAL;
    else if (ctx->check_hostname) {
      if (ip) {
        if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(e->ssl), server_hostname))
          rc = WEFT_EINVAL;
      } else {
        SSL_set_hostflags(e->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (!SSL_set1_host(e->ssl, server_hostname))
          rc = WEFT_EINVAL;
      }
    }
    if (rc == WEFT_EINVAL)
      ctx_fail_openssl(ctx, "the server host name");
  }
  if (rc != 0) {
    weft__tls_engine_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

/* The host name an adopted client SSL checks the certificate against, as its owner set it
 * (SSL_set1_host or an IP address), else the SNI it sends: for failure messages only. */
static char *adopted_hostname(SSL *ssl) {
  X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
  const char *host = X509_VERIFY_PARAM_get0_host(param, 0);
  if (host)
    return dup_str(host);
  char *ip = X509_VERIFY_PARAM_get1_ip_asc(param);
  if (ip) {
    char *copy = dup_str(ip);
    OPENSSL_free(ip);
    return copy;
  }
  return dup_str(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
}

int weft__tls_engine_adopt(void *ssl_ptr, int32_t role, size_t max_buffer, void *owner,
                           weft_free_fn release, weft__tls_engine_t **out) {
  SSL *ssl = ssl_ptr;
  int rc = 0;
  weft__tls_engine_t *e = NULL;
  if (out == NULL || ssl == NULL || (role != WEFT_TLS_CLIENT && role != WEFT_TLS_SERVER)) {
    rc = WEFT_EINVAL;
  } else if (SSL_is_server(ssl) != (role == WEFT_TLS_SERVER) || !SSL_in_before(ssl) ||
             SSL_get_ex_data(ssl, engine_slot()) != NULL) {
    rc = WEFT_EINVAL; /* the wrong side, a handshake under way, or another engine's */
  } else if ((e = calloc(1, sizeof *e)) == NULL) {
    rc = WEFT_ENOMEM;
  } else {
    ERR_clear_error();
    SSL_up_ref(ssl);
    rc = engine_setup(e, ssl, role == WEFT_TLS_SERVER, max_buffer);
    if (rc != 0) {
      SSL_free(ssl);
      free(e);
      e = NULL;
    }
  }
  if (rc != 0) {
    if (out)
      *out = NULL;
    if (release)
      release(owner);
    return rc;
  }
  e->owner = owner;
  e->release = release;
  if (!e->is_server) {
    e->hostname = adopted_hostname(ssl);
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    e->server_name = dup_str(sni);
    if (sni && e->server_name == NULL) {
      weft__tls_engine_free(e);
      *out = NULL;
      return WEFT_ENOMEM;
    }
  }
  *out = e;
  return 0;
}

void weft__tls_engine_free(weft__tls_engine_t *e) {
  if (e == NULL)
    return;
  /* The slot is cleared first: an adopted SSL outlives the engine in its owner's hands. */
  SSL_set_ex_data(e->ssl, engine_slot(), NULL);
  SSL_free(e->ssl); /* frees both BIOs (they are the SSL's), or drops the engine's reference */
  weft_tls_context_release(e->ctx);
  free(e->hostname);
  free(e->alpn);
  free(e->server_name);
  free(e->peer_der);
  free(e->peer_subject);
  free(e->peer_issuer);
  weft_free_fn release = e->release;
  void *owner = e->owner;
  free(e);
  if (release)
    release(owner);
}

void weft__tls_set_handshake_cb(weft__tls_engine_t *e, weft__tls_handshake_fn fn, void *arg) {
  e->hs_fn = fn;
  e->hs_arg = arg;
}

int weft__tls_state(const weft__tls_engine_t *e) {
  return e->state;
}

int weft__tls_error_code(const weft__tls_engine_t *e) {
  return e->error_code;
}

static char *name_to_text(const X509_NAME *name) {
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL)
    return NULL;
  char *s = NULL;
  if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
    char *data;
    long n = BIO_get_mem_data(b, &data);
    s = dup_bytes(data, n > 0 ? (size_t)n : 0);
  }
  BIO_free(b);
  return s;
}

/* Records what the queries report, once the handshake is over. */
static int collect_session_info(weft__tls_engine_t *e) {
  e->version = SSL_get_version(e->ssl);
  e->version_number = SSL_version(e->ssl);
  const SSL_CIPHER *c = SSL_get_current_cipher(e->ssl);
  if (c) {
    int bits = 0;
    e->cipher = SSL_CIPHER_get_name(c);
    SSL_CIPHER_get_bits(c, &bits);
    e->cipher_bits = bits;
  }
  const unsigned char *alpn = NULL;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(e->ssl, &alpn, &alpn_len);
  if (alpn_len > 0 && (e->alpn = dup_bytes(alpn, alpn_len)) == NULL)
    return WEFT_ENOMEM;
  if (e->is_server) {
    const char *sni = SSL_get_servername(e->ssl, TLSEXT_NAMETYPE_host_name);
    if (sni && (e->server_name = dup_str(sni)) == NULL)
      return WEFT_ENOMEM;
  }
  X509 *peer = SSL_get1_peer_certificate(e->ssl);
  if (peer) {
    int rc = 0;
    int n = i2d_X509(peer, NULL);
    if (n > 0 && (e->peer_der = malloc((size_t)n)) != NULL) {
      unsigned char *p = e->peer_der;
      e->peer_der_len = (size_t)i2d_X509(peer, &p);
    }
    e->peer_subject = name_to_text(X509_get_subject_name(peer));
    e->peer_issuer = name_to_text(X509_get_issuer_name(peer));
    if (e->peer_der == NULL || e->peer_subject == NULL || e->peer_issuer == NULL)
      rc = WEFT_ENOMEM;
    X509_free(peer);
    return rc;
  }
  return 0;
}

static void notify_handshake(weft__tls_engine_t *e, int status) {
  weft__tls_handshake_fn fn = e->hs_fn;
  e->hs_fn = NULL; /* once */
  if (fn)
    fn(e, status, e->hs_arg);
}

static int engine_fail(weft__tls_engine_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int engine_fail(weft__tls_engine_t *e, int code, const char *fmt, ...) {
  int was_handshaking = e->state == WEFT__TLS_HANDSHAKING;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->error, sizeof e->error, fmt, ap);
  va_end(ap);
  e->state = WEFT__TLS_FAILED;
  e->error_code = code;
  ERR_clear_error();
  if (was_handshaking)
    notify_handshake(e, code);
  return code;
}

/* Turns an OpenSSL failure into WEFT_ETLS and a message naming the reason; certificate
 * failures say what was wrong with the certificate, as Python's ssl module does. */
static int engine_fail_ssl(weft__tls_engine_t *e, int ssl_error) {
  unsigned long first = ERR_peek_error();
  if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
      ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    long v = SSL_get_verify_result(e->ssl);
    if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
      return engine_fail(e, WEFT_ETLS,
                         "certificate verify failed: %s, certificate is not valid for '%s'",
                         X509_verify_cert_error_string(v), e->hostname ? e->hostname : "");
    return engine_fail(e, WEFT_ETLS, "certificate verify failed: %s",
                       X509_verify_cert_error_string(v));
  }
  if (e->sni_refused)
    return engine_fail(e, WEFT_ETLS, "the SNI callback refused the server name '%s'",
                       SSL_get_servername(e->ssl, TLSEXT_NAMETYPE_host_name)
                           ? SSL_get_servername(e->ssl, TLSEXT_NAMETYPE_host_name)
                           : "");
  if (first == 0) {
    if (ssl_error == SSL_ERROR_ZERO_RETURN)
      return engine_fail(e, WEFT_ETLS, "the peer closed the connection during the handshake");
    return engine_fail(e, WEFT_ETLS, "TLS failure (OpenSSL error %d)", ssl_error);
  }
  char reason[MSG_SIZE];
  take_openssl_reason(reason, sizeof reason, "unknown error");
  return engine_fail(e, WEFT_ETLS, "%s", reason);
}

int weft__tls_handshake(weft__tls_engine_t *e) {
  switch (e->state) {
  case WEFT__TLS_HANDSHAKING:
    break;
  case WEFT__TLS_FAILED:
    return e->error_code;
  default:
    return 0;
  }
  ERR_clear_error();
  int r = SSL_do_handshake(e->ssl);
  if (r == 1) {
    e->state = WEFT__TLS_WRAPPED;
    int rc = collect_session_info(e);
    if (rc != 0)
      return engine_fail(e, rc, "out of memory");
    notify_handshake(e, 0);
    return 0;
  }
  int err = SSL_get_error(e->ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    ERR_clear_error();
    if (e->eof && BIO_ctrl_pending(e->in) == 0)
      return engine_fail(e, WEFT_ECONNRESET, "the connection closed during the TLS handshake");
    return WEFT_EAGAIN;
  }
  return engine_fail_ssl(e, err);
}

int weft__tls_feed(weft__tls_engine_t *e, const void *data, size_t len, size_t *consumed) {
  *consumed = 0;
  if (e->state == WEFT__TLS_FAILED)
    return e->error_code;
  size_t n = weft__tls_feed_space(e);
  if (n > len)
    n = len;
  if (n > 0 && BIO_write(e->in, data, (int)n) != (int)n) {
    ERR_clear_error();
    return WEFT_ENOMEM;
  }
  *consumed = n;
  return 0;
}

void weft__tls_feed_eof(weft__tls_engine_t *e) {
  e->eof = 1;
}

size_t weft__tls_feed_space(const weft__tls_engine_t *e) {
  size_t pending = BIO_ctrl_pending(e->in);
  return pending < e->max_buffer ? e->max_buffer - pending : 0;
}

int weft__tls_read(weft__tls_engine_t *e, void *buf, size_t cap, size_t *nread) {
  *nread = 0;
  switch (e->state) {
  case WEFT__TLS_FAILED:
    return e->error_code;
  case WEFT__TLS_UNWRAPPED:
    return WEFT_EEOF;
  case WEFT__TLS_HANDSHAKING: {
    int rc = weft__tls_handshake(e);
    if (rc != 0)
      return rc;
    break;
  }
  default:
    break;
  }
  if (e->peer_closed)
    return WEFT_EEOF;
  if (cap == 0)
    return 0;
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_read_ex(e->ssl, buf, cap, &n);
  if (r == 1) {
    *nread = n;
    return 0;
  }
  int err = SSL_get_error(e->ssl, r);
  switch (err) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    ERR_clear_error();
    if (e->eof && BIO_ctrl_pending(e->in) == 0) {
      /* The stream ended without close_notify: an end of stream all the same (asyncio
       * treats it so), flagged for whoever cares about truncation. */
      e->peer_closed = 1;
      e->unclean_eof = 1;
      if (e->state == WEFT__TLS_SHUTTING_DOWN)
        e->state = WEFT__TLS_UNWRAPPED;
      return WEFT_EEOF;
    }
    return WEFT_EAGAIN;
  case SSL_ERROR_ZERO_RETURN:
    ERR_clear_error();
    e->peer_closed = 1;
    if (e->state == WEFT__TLS_SHUTTING_DOWN) {
      /* Ours is out and theirs is in: this call only records the exchange as complete. */
      SSL_shutdown(e->ssl);
      ERR_clear_error();
      e->state = WEFT__TLS_UNWRAPPED;
    }
    return WEFT_EEOF;
  default:
    return engine_fail_ssl(e, err);
  }
}

int weft__tls_write(weft__tls_engine_t *e, const void *data, size_t len, size_t *consumed) {
  *consumed = 0;
  switch (e->state) {
  case WEFT__TLS_WRAPPED:
    break;
  case WEFT__TLS_HANDSHAKING:
    return WEFT_EAGAIN;
  case WEFT__TLS_FAILED:
    return e->error_code;
  default:
    return WEFT_ESHUTDOWN;
  }
  const unsigned char *p = data;
  size_t done = 0;
  while (done < len) {
    size_t pending = BIO_ctrl_pending(e->out);
    if (pending >= e->max_buffer)
      break;
    size_t chunk = len - done;
    if (chunk > e->max_buffer - pending)
      chunk = e->max_buffer - pending;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_write_ex(e->ssl, p + done, chunk, &n);
    if (r == 1) {
      done += n;
      continue;
    }
    int err = SSL_get_error(e->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      break;
    }
    *consumed = done;
    return engine_fail_ssl(e, err);
  }
  *consumed = done;
  return 0;
}

size_t weft__tls_out_pending(const weft__tls_engine_t *e) {
  return BIO_ctrl_pending(e->out);
}

size_t weft__tls_out_read(weft__tls_engine_t *e, void *buf, size_t cap) {
  if (cap > INT_MAX)
    cap = INT_MAX;
  int n = cap ? BIO_read(e->out, buf, (int)cap) : 0;
  return n > 0 ? (size_t)n : 0;
}

int weft__tls_shutdown(weft__tls_engine_t *e) {
  switch (e->state) {
  case WEFT__TLS_HANDSHAKING:
    return WEFT_EINVALIDSTATE;
  case WEFT__TLS_FAILED:
    return e->error_code;
  case WEFT__TLS_UNWRAPPED:
    return 0;
  case WEFT__TLS_SHUTTING_DOWN:
    return WEFT_EAGAIN;
  default:
    break;
  }
  if (e->unclean_eof) {
    /* Nobody is left to answer: there is no exchange to complete. */
    e->state = WEFT__TLS_UNWRAPPED;
    return 0;
  }
  ERR_clear_error();
  int r = SSL_shutdown(e->ssl);
  if (r == 1) {
    e->state = WEFT__TLS_UNWRAPPED;
    return 0;
  }
  if (r == 0) {
    e->state = WEFT__TLS_SHUTTING_DOWN;
    return WEFT_EAGAIN;
  }
  return engine_fail_ssl(e, SSL_get_error(e->ssl, r));
}

int weft__tls_peer_closed(const weft__tls_engine_t *e) {
  return e->peer_closed;
}

int weft__tls_unclean_eof(const weft__tls_engine_t *e) {
  return e->unclean_eof;
}

size_t weft__tls_take_unwrapped(weft__tls_engine_t *e, void *buf, size_t cap) {
  if (e->state != WEFT__TLS_UNWRAPPED && !(e->peer_closed && !e->unclean_eof))
    return 0;
  if (cap > INT_MAX)
    cap = INT_MAX;
  int n = cap ? BIO_read(e->in, buf, (int)cap) : 0;
  return n > 0 ? (size_t)n : 0;
}

/* ---- connection queries ----------------------------------------------------------------- */

int32_t weft_tls_conn_handshake_done(const weft_tls_conn_t *conn) {
  return conn != NULL && conn->version != NULL;
}

const char *weft_tls_conn_version(const weft_tls_conn_t *conn) {
  return conn ? conn->version : NULL;
}

int32_t weft_tls_conn_version_number(const weft_tls_conn_t *conn) {
  return conn ? conn->version_number : WEFT_EINVAL;
}

const char *weft_tls_conn_cipher(const weft_tls_conn_t *conn, int32_t *bits) {
  if (bits)
    *bits = conn ? conn->cipher_bits : 0;
  return conn ? conn->cipher : NULL;
}

const char *weft_tls_conn_alpn_protocol(const weft_tls_conn_t *conn) {
  return conn ? conn->alpn : NULL;
}

const char *weft_tls_conn_server_name(const weft_tls_conn_t *conn) {
  return conn ? conn->server_name : NULL;
}

int weft_tls_conn_peer_cert_der(const weft_tls_conn_t *conn, const uint8_t **der, size_t *len) {
  if (!conn || !der || !len)
    return WEFT_EINVAL;
  if (conn->peer_der == NULL) {
    *der = NULL;
    *len = 0;
    return WEFT_ENOENT;
  }
  *der = conn->peer_der;
  *len = conn->peer_der_len;
  return 0;
}

const char *weft_tls_conn_peer_subject(const weft_tls_conn_t *conn) {
  return conn ? conn->peer_subject : NULL;
}

const char *weft_tls_conn_peer_issuer(const weft_tls_conn_t *conn) {
  return conn ? conn->peer_issuer : NULL;
}

const char *weft_tls_conn_error(const weft_tls_conn_t *conn) {
  return conn ? conn->error : NULL;
}

void *weft_tls_conn_ssl(const weft_tls_conn_t *conn) {
  return conn ? conn->ssl : NULL;
}

void *weft_tls_conn_owner(const weft_tls_conn_t *conn) {
  return conn ? conn->owner : NULL;
}

long weft_tls_conn_verify_result(const weft_tls_conn_t *conn, const char **message) {
  if (!conn) {
    if (message)
      *message = NULL;
    return WEFT_EINVAL;
  }
  long v = SSL_get_verify_result(conn->ssl);
  if (message)
    *message = X509_verify_cert_error_string(v);
  return v;
}

unsigned long weft_tls_openssl_version(void) {
  return OpenSSL_version_num();
}
