/* Compiled into weft._weft (weft/_build.py), like _loopcore.c: the one place that reaches into
 * CPython's ssl objects.
 *
 * Why: weft honours a user's ssl.SSLContext exactly by letting Python make each connection's
 * TLS object itself (SSLContext.wrap_bio) and handing that object's OpenSSL `SSL *` to the
 * core, which adopts it (weft_tls_ssl_t, tls.h). Python offers no API that returns the
 * `SSL *`, and the context's settings cannot be read back to rebuild them, so the pointer is
 * read from the objects' C structs, whose start CPython has kept the same since 3.7
 * (Modules/_ssl.c):
 *
 *     PySSLContext: PyObject_HEAD, SSL_CTX *ctx, ...
 *     PySSLSocket:  PyObject_HEAD, PyObject *Socket (a weakref), SSL *ssl, ...
 *
 * Nothing read here is trusted before it is checked against OpenSSL itself: the SSL must
 * belong to that very SSL_CTX, be on the expected side, and not have started a handshake.
 * The Python caller checks the object types and the Python version first, and that the
 * process has one OpenSSL (the core's and the ssl module's). */
#include <Python.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "_native.h"

typedef struct {
  PyObject ob_base; /* PyObject_HEAD */
  SSL_CTX *ctx;
} pyweft_sslcontext_head;

typedef struct {
  PyObject ob_base; /* PyObject_HEAD */
  PyObject *socket_weakref;
  SSL *ssl;
} pyweft_sslsocket_head;

/* The SSL * of `sslsocket` (an _ssl._SSLSocket, the _sslobj of an ssl.SSLObject) made from
 * `sslcontext` (an ssl.SSLContext) for `server_side`, in *out. Returns 0, or what failed:
 * 1 a NULL pointer, 2 the SSL is not from that context, 3 the wrong side, 4 its handshake
 * has started. The caller holds references to both objects for the duration. */
int pyweft_ssl_of(void *sslsocket, void *sslcontext, int server_side, void **out) {
  SSL *ssl = ((pyweft_sslsocket_head *)sslsocket)->ssl;
  SSL_CTX *ctx = ((pyweft_sslcontext_head *)sslcontext)->ctx;
  *out = NULL;
  if (ssl == NULL || ctx == NULL)
    return 1;
  if (SSL_get_SSL_CTX(ssl) != ctx)
    return 2;
  if (SSL_is_server(ssl) != (server_side ? 1 : 0))
    return 3;
  if (!SSL_in_before(ssl))
    return 4;
  *out = ssl;
  return 0;
}

/* The SSL's certificate verification result (X509_V_OK is 0) and its text: what Python puts
 * in SSLCertVerificationError.verify_code and .verify_message. */
long pyweft_ssl_verify_result(void *ssl, const char **message) {
  long v = SSL_get_verify_result((const SSL *)ssl);
  *message = X509_verify_cert_error_string(v);
  return v;
}
