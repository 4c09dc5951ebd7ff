/* TLS: contexts (certificates, trust, verification, protocol limits, ALPN) and the
 * queries a TLS connection answers (peer certificate, version, cipher, ALPN result).
 *
 * The engine is OpenSSL driven through memory buffers, as asyncio's sslproto does, so TLS
 * runs over any transport. A context is shared by many connections and reference counted;
 * configure it before its first connection starts: a connection copies the settings it
 * needs when it is created. A client context verifies the peer's certificate chain and host
 * name by default; turning either off is always an explicit call.
 *
 * Functions that can fail return 0 or a negative WEFT_E* code; OpenSSL failures are
 * WEFT_ETLS, and weft_tls_context_error() then says why. */
#ifndef WEFT_TLS_H
#define WEFT_TLS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_tls_context_s weft_tls_context_t; /* shared TLS configuration */
typedef struct weft_tls_conn_s weft_tls_conn_t; /* one TLS connection (its transport owns it) */

/* The side of the handshake a context serves. */
enum weft_tls_role {
  WEFT_TLS_CLIENT = 0,
  WEFT_TLS_SERVER = 1,
};

/* How the peer's certificate is checked (ssl.CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED).
 * On a server, OPTIONAL and REQUIRED ask the client for a certificate. */
enum weft_tls_verify {
  WEFT_TLS_VERIFY_NONE = 0,
  WEFT_TLS_VERIFY_OPTIONAL = 1,
  WEFT_TLS_VERIFY_REQUIRED = 2,
};

/* Protocol versions, as their wire values. */
enum weft_tls_version {
  WEFT_TLS_VERSION_1_2 = 0x0303,
  WEFT_TLS_VERSION_1_3 = 0x0304,
};

/* asyncio's defaults for the transport layer's handshake and shutdown timeouts, seconds. */
#define WEFT_TLS_HANDSHAKE_TIMEOUT 60.0
#define WEFT_TLS_SHUTDOWN_TIMEOUT 30.0

/* Called on a server during the handshake with the host name the client asked for (SNI),
 * or NULL when it sent none. Return 0 to go on, optionally after storing in *use another
 * server context whose certificate should serve this connection (not retained: it must
 * outlive the handshake); return a negative code to refuse the handshake. */
typedef int (*weft_tls_sni_fn)(const char *server_name, weft_tls_context_t **use, void *arg);

/* Creates a context for role (enum weft_tls_role) with one reference. A client context
 * starts with VERIFY_REQUIRED and host-name checking on, and no trusted CAs loaded; every
 * context starts with TLS 1.2 as the minimum version. */
WEFT_API int weft_tls_context_new(int32_t role, weft_tls_context_t **out);
/* Adds a reference and returns ctx. */
WEFT_API weft_tls_context_t *weft_tls_context_retain(weft_tls_context_t *ctx);
/* Drops a reference; the last one frees the context (connections hold their own). */
WEFT_API void weft_tls_context_release(weft_tls_context_t *ctx);
/* The context's role (enum weft_tls_role). */
WEFT_API int32_t weft_tls_context_role(const weft_tls_context_t *ctx);
/* Why the last failing call on ctx failed ("" when none has); valid until the next call. */
WEFT_API const char *weft_tls_context_error(const weft_tls_context_t *ctx);

/* Loads this side's certificate chain (leaf first) and private key from PEM files;
 * keyfile NULL means the key is in certfile; password (may be NULL) decrypts the key. */
WEFT_API int weft_tls_context_load_cert_chain(weft_tls_context_t *ctx, const char *certfile,
                                              const char *keyfile, const char *password);
/* As weft_tls_context_load_cert_chain, from PEM text in memory (key_pem NULL: in cert_pem). */
WEFT_API int weft_tls_context_load_cert_chain_pem(weft_tls_context_t *ctx, const char *cert_pem,
                                                  size_t cert_len, const char *key_pem,
                                                  size_t key_len, const char *password);
/* Trusts the CA certificates in a PEM file (cafile) and/or a hashed directory (capath);
 * either may be NULL. */
WEFT_API int weft_tls_context_load_verify_locations(weft_tls_context_t *ctx, const char *cafile,
                                                    const char *capath);
/* Trusts the CA certificates in PEM text in memory (one or more certificates). */
WEFT_API int weft_tls_context_load_verify_pem(weft_tls_context_t *ctx, const char *pem, size_t len);
/* Trusts the system's default CA store (OpenSSL's default file and directory, or the
 * SSL_CERT_FILE / SSL_CERT_DIR environment variables). */
WEFT_API int weft_tls_context_load_default_verify(weft_tls_context_t *ctx);

/* Sets how the peer's certificate is checked (enum weft_tls_verify). Lowering it to NONE
 * while host-name checking is on fails with WEFT_EINVAL: turn that off first. */
WEFT_API int weft_tls_context_set_verify(weft_tls_context_t *ctx, int32_t mode);
/* The verification mode (enum weft_tls_verify). */
WEFT_API int32_t weft_tls_context_get_verify(const weft_tls_context_t *ctx);
/* Turns checking the server's host name against its certificate on (1) or off (0), on a
 * client; turning it on raises the verification mode to REQUIRED when it was NONE. */
WEFT_API int weft_tls_context_set_check_hostname(weft_tls_context_t *ctx, int32_t enabled);
/* 1 when the host name is checked, else 0. */
WEFT_API int32_t weft_tls_context_get_check_hostname(const weft_tls_context_t *ctx);

/* Sets the lowest and the highest protocol version allowed (enum weft_tls_version, or 0
 * for the library's own limit). */
WEFT_API int weft_tls_context_set_min_version(weft_tls_context_t *ctx, int32_t version);
WEFT_API int weft_tls_context_set_max_version(weft_tls_context_t *ctx, int32_t version);
/* Sets the TLS 1.2 cipher list, in OpenSSL's cipher-list syntax. */
WEFT_API int weft_tls_context_set_ciphers(weft_tls_context_t *ctx, const char *ciphers);
/* Sets the ALPN protocols, most preferred first (each 1..255 bytes; count 0 clears). A
 * client offers them; a server picks its most preferred one the client offers, or none. */
WEFT_API int weft_tls_context_set_alpn_protocols(weft_tls_context_t *ctx,
                                                 const char *const *protocols, size_t count);
/* Installs (or, with fn NULL, removes) a server's SNI callback. arg_free (may be NULL) is
 * called with arg exactly once, when the context lets go of it: when another callback
 * replaces it (not with the same arg, which stays kept under the new arg_free), when it is
 * removed, or when the context is freed (by whoever drops the last reference, for a
 * context used by connections on their loop's thread). */
WEFT_API int weft_tls_context_set_sni_callback(weft_tls_context_t *ctx, weft_tls_sni_fn fn,
                                               void *arg, weft_free_fn arg_free);

/* An OpenSSL `SSL *` made outside weft, for one connection: how a binding whose language
 * owns the TLS configuration (Python's ssl.SSLContext, which cannot be read back) hands
 * each connection to the engine. The SSL must come from the libssl weft calls, be set up for
 * its side (SSL_set_connect_state / _accept_state, SNI, host-name checks...) and not have
 * started its handshake. weft takes its own reference (SSL_up_ref) and replaces its BIOs
 * with the engine's; its app data and the context's callbacks stay the owner's. `release`
 * (if not NULL) is called with `owner` exactly once, when weft no longer uses the SSL (also
 * when adopting it fails), so the owner can keep alive what its callbacks need till then. */
typedef struct weft_tls_ssl_s {
  size_t size;          /* sizeof(weft_tls_ssl_t) */
  void *ssl;            /* SSL * */
  void *owner;          /* passed to release */
  weft_free_fn release; /* may be NULL */
} weft_tls_ssl_t;

/* Supplies the SSL for a new connection on `server_side` (1: server) into *out (whose size
 * is set); returns 0, or a negative code to refuse the connection. */
typedef int (*weft_tls_ssl_fn)(void *arg, int32_t server_side, weft_tls_ssl_t *out);

/* The version number of the OpenSSL library weft runs on (OpenSSL_version_num()): a binding
 * that hands over SSL objects checks that its own language's OpenSSL is the same one. */
WEFT_API unsigned long weft_tls_openssl_version(void);

/* Connection queries. A connection belongs to its transport, which hands it out (asyncio's
 * get_extra_info("ssl_object")); strings and bytes stay valid as long as the connection. */

/* 1 once the handshake has completed, else 0. */
WEFT_API int32_t weft_tls_conn_handshake_done(const weft_tls_conn_t *conn);
/* The negotiated version's name ("TLSv1.3"), or NULL before the handshake completes. */
WEFT_API const char *weft_tls_conn_version(const weft_tls_conn_t *conn);
/* The negotiated version's wire value (enum weft_tls_version), or 0 before the handshake. */
WEFT_API int32_t weft_tls_conn_version_number(const weft_tls_conn_t *conn);
/* The cipher suite's name ("TLS_AES_256_GCM_SHA384") and its secret bits (bits may be NULL);
 * NULL before the handshake. */
WEFT_API const char *weft_tls_conn_cipher(const weft_tls_conn_t *conn, int32_t *bits);
/* The ALPN protocol both sides agreed on, or NULL when none was. */
WEFT_API const char *weft_tls_conn_alpn_protocol(const weft_tls_conn_t *conn);
/* The SNI host name: on a client the one it sent, on a server the one it received; or NULL. */
WEFT_API const char *weft_tls_conn_server_name(const weft_tls_conn_t *conn);
/* The peer certificate's DER bytes in *der and *len; WEFT_ENOENT when the peer sent none. */
WEFT_API int weft_tls_conn_peer_cert_der(const weft_tls_conn_t *conn, const uint8_t **der,
                                         size_t *len);
/* The peer certificate's subject and issuer as RFC 2253 text ("CN=localhost,O=weft"),
 * or NULL when the peer sent no certificate. */
WEFT_API const char *weft_tls_conn_peer_subject(const weft_tls_conn_t *conn);
WEFT_API const char *weft_tls_conn_peer_issuer(const weft_tls_conn_t *conn);
/* Why the connection failed ("certificate verify failed: ..."), or "" when it has not. */
WEFT_API const char *weft_tls_conn_error(const weft_tls_conn_t *conn);
/* The connection's OpenSSL `SSL *` (borrowed; for what the queries above do not cover). */
WEFT_API void *weft_tls_conn_ssl(const weft_tls_conn_t *conn);
/* The owner given with an adopted SSL (weft_tls_ssl_t), or NULL for one weft made. */
WEFT_API void *weft_tls_conn_owner(const weft_tls_conn_t *conn);
/* The peer certificate's verification result (OpenSSL's X509_V_* code; 0: X509_V_OK) and
 * its text in *message (may be NULL): why "certificate verify failed". */
WEFT_API long weft_tls_conn_verify_result(const weft_tls_conn_t *conn, const char **message);

#ifdef __cplusplus
}
#endif
#endif
