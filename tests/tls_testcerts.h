/* Test certificates made at test time with OpenSSL's C API (nothing is checked in, nothing
 * expires): a CA, certificates it signed, and the wrong ones that verification must refuse.
 * For the TLS engine tests and, later, the TLS network tests. All keys are EC P-256. */
#ifndef WEFT_TLS_TESTCERTS_H
#define WEFT_TLS_TESTCERTS_H

#include <stddef.h>

typedef struct weft_testcert {
  char *cert_pem; /* NUL-terminated PEM; cert_len excludes the NUL */
  size_t cert_len;
  char *key_pem;
  size_t key_len;
} weft_testcert_t;

typedef struct weft_testcerts {
  weft_testcert_t ca;          /* "weft test CA", self-signed, the one clients trust */
  weft_testcert_t server;      /* CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1; by ca */
  weft_testcert_t wrong_host;  /* CN=wrong.example, SAN DNS:wrong.example; by ca */
  weft_testcert_t self_signed; /* CN=localhost, SAN DNS:localhost; signed by its own key */
  weft_testcert_t other_ca;    /* an unrelated CA nobody trusts */
  weft_testcert_t untrusted;   /* CN=localhost, SAN DNS:localhost; by other_ca */
  weft_testcert_t client;      /* CN=weft client, for client authentication; by ca */
} weft_testcerts_t;

/* Makes a fresh set; 0 on success, -1 on failure (printed to stderr). */
int weft_testcerts_make(weft_testcerts_t *out);
/* Frees a set made by weft_testcerts_make. */
void weft_testcerts_free(weft_testcerts_t *certs);
/* One set per process, made on first use and freed at exit; aborts when it cannot be made. */
const weft_testcerts_t *weft_testcerts(void);
/* Writes cert and key as <dir>/<name>.crt and <dir>/<name>.key (paths returned in
 * cert_path and key_path, each path_size bytes); 0 on success, -1 on failure. */
int weft_testcert_write(const weft_testcert_t *cert, const char *dir, const char *name,
                        char *cert_path, char *key_path, size_t path_size);

#endif
