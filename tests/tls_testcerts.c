/* Test certificates, made with OpenSSL's C API at test time (see tls_testcerts.h). */
#include "tls_testcerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static EVP_PKEY *new_key(void) {
  return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value) {
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
  if (ext == NULL)
    return -1;
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok ? 0 : -1;
}

static char *bio_text(BIO *b, size_t *len) {
  char *data;
  long n = BIO_get_mem_data(b, &data);
  char *s = malloc((size_t)n + 1);
  if (s) {
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    *len = (size_t)n;
  }
  return s;
}

/* Makes a certificate for cn with key; signed by issuer/issuer_key, or self-signed when
 * issuer is NULL. san may be NULL; is_ca makes a CA certificate. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *san, int is_ca, long serial) {
  X509 *cert = X509_new();
  if (cert == NULL)
    return NULL;
  int ok = X509_set_version(cert, X509_VERSION_3) &&
           ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) &&
           X509_gmtime_adj(X509_getm_notBefore(cert), -3600) &&
           X509_gmtime_adj(X509_getm_notAfter(cert), 7L * 24 * 3600) && X509_set_pubkey(cert, key);
  X509_NAME *name = X509_get_subject_name(cert);
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"weft", -1, -1,
                                  0) &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  ok = ok && X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  if (!ok) {
    X509_free(cert);
    return NULL;
  }
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? issuer : cert, cert, NULL, NULL, 0);
  int rc = add_ext(cert, &v3, NID_subject_key_identifier, "hash");
  if (issuer)
    rc |= add_ext(cert, &v3, NID_authority_key_identifier, "keyid:always");
  if (is_ca) {
    rc |= add_ext(cert, &v3, NID_basic_constraints, "critical,CA:TRUE");
    rc |= add_ext(cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    rc |= add_ext(cert, &v3, NID_basic_constraints, "critical,CA:FALSE");
    rc |= add_ext(cert, &v3, NID_key_usage, "critical,digitalSignature");
    rc |= add_ext(cert, &v3, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (san)
    rc |= add_ext(cert, &v3, NID_subject_alt_name, san);
  if (rc != 0 || X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
    X509_free(cert);
    return NULL;
  }
  return cert;
}

static int to_pem(X509 *cert, EVP_PKEY *key, weft_testcert_t *out) {
  BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
  int rc = -1;
  if (cb && kb && PEM_write_bio_X509(cb, cert) &&
      PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL)) {
    out->cert_pem = bio_text(cb, &out->cert_len);
    out->key_pem = bio_text(kb, &out->key_len);
    if (out->cert_pem && out->key_pem)
      rc = 0;
  }
  BIO_free(cb);
  BIO_free(kb);
  return rc;
}

/* Makes one certificate (and its key) into out; keeps the X509 and key when the caller
 * asks for them (to sign others). */
static int make_one(weft_testcert_t *out, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                    const char *san, int is_ca, long serial, X509 **keep_cert,
                    EVP_PKEY **keep_key) {
  EVP_PKEY *key = new_key();
  X509 *cert = key ? make_cert(cn, key, issuer, issuer_key, san, is_ca, serial) : NULL;
  int rc = cert ? to_pem(cert, key, out) : -1;
  if (rc == 0 && keep_cert) {
    *keep_cert = cert;
    *keep_key = key;
  } else {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  return rc;
}

int weft_testcerts_make(weft_testcerts_t *out) {
  memset(out, 0, sizeof *out);
  X509 *ca = NULL, *other = NULL;
  EVP_PKEY *ca_key = NULL, *other_key = NULL;
  int rc = make_one(&out->ca, "weft test CA", NULL, NULL, NULL, 1, 1, &ca, &ca_key);
  rc = rc ? rc
          : make_one(&out->other_ca, "weft other CA", NULL, NULL, NULL, 1, 2, &other, &other_key);
  rc = rc ? rc
          : make_one(&out->server, "localhost", ca, ca_key,
                     "DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1", 0, 3, NULL, NULL);
  rc = rc ? rc
          : make_one(&out->wrong_host, "wrong.example", ca, ca_key, "DNS:wrong.example", 0, 4, NULL,
                     NULL);
  rc = rc ? rc
          : make_one(&out->self_signed, "localhost", NULL, NULL, "DNS:localhost", 0, 5, NULL, NULL);
  rc = rc ? rc
          : make_one(&out->untrusted, "localhost", other, other_key, "DNS:localhost", 0, 6, NULL,
                     NULL);
  rc = rc ? rc : make_one(&out->client, "weft client", ca, ca_key, NULL, 0, 7, NULL, NULL);
  X509_free(ca);
  X509_free(other);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(other_key);
  if (rc != 0) {
    ERR_print_errors_fp(stderr);
    fprintf(stderr, "tls_testcerts: could not make the test certificates\n");
    weft_testcerts_free(out);
    return -1;
  }
  return 0;
}

static void free_one(weft_testcert_t *c) {
  free(c->cert_pem);
  free(c->key_pem);
  memset(c, 0, sizeof *c);
}

void weft_testcerts_free(weft_testcerts_t *certs) {
  free_one(&certs->ca);
  free_one(&certs->server);
  free_one(&certs->wrong_host);
  free_one(&certs->self_signed);
  free_one(&certs->other_ca);
  free_one(&certs->untrusted);
  free_one(&certs->client);
}

static weft_testcerts_t shared;
static int shared_made;

static void free_shared(void) {
  weft_testcerts_free(&shared);
}

const weft_testcerts_t *weft_testcerts(void) {
  if (!shared_made) {
    if (weft_testcerts_make(&shared) != 0)
      abort();
    shared_made = 1;
    atexit(free_shared); /* so leak checkers see a clean exit */
  }
  return &shared;
}

static int write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    return -1;
  size_t n = fwrite(data, 1, len, f);
  return (fclose(f) == 0 && n == len) ? 0 : -1;
}

int weft_testcert_write(const weft_testcert_t *cert, const char *dir, const char *name,
                        char *cert_path, char *key_path, size_t path_size) {
  int a = snprintf(cert_path, path_size, "%s/%s.crt", dir, name);
  int b = snprintf(key_path, path_size, "%s/%s.key", dir, name);
  if (a < 0 || b < 0 || (size_t)a >= path_size || (size_t)b >= path_size)
    return -1;
  if (write_file(cert_path, cert->cert_pem, cert->cert_len) != 0 ||
      write_file(key_path, cert->key_pem, cert->key_len) != 0)
    return -1;
  return 0;
}
