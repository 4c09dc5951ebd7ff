/* Micro-benchmark of the TLS engine (core/src/tls.c) in memory, with no transport: full
 * handshakes per second (client and server engines on one core, certificate and host-name
 * verification on), and bulk throughput (one side encrypts, the other decrypts).
 *
 * Stand-alone: cc -O2 -D_GNU_SOURCE -Icore/include -Icore/src -Itests bench/bench_tls.c \
 *   core/src/tls.c tests/tls_testcerts.c -lssl -lcrypto -o bench_tls && ./bench_tls */
#include "tls_engine.h"
#include "tls_testcerts.h"

#include "weft/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_tls: %s failed (%d)\n", what, rc);
  exit(1);
}

static uint8_t scratch[1 << 18];
static uint8_t sink[1 << 16];

/* Moves from's ciphertext into to and reads whatever plaintext it yields; returns the bytes
 * of plaintext read. */
static size_t move(weft__tls_engine_t *from, weft__tls_engine_t *to) {
  size_t plain = 0;
  while (weft__tls_out_pending(from) > 0) {
    size_t n = weft__tls_out_read(from, scratch, sizeof scratch), off = 0;
    while (off < n) {
      size_t used;
      int rc = weft__tls_feed(to, scratch + off, n - off, &used);
      if (rc != 0)
        die("feed", rc);
      off += used;
      for (;;) {
        size_t got;
        rc = weft__tls_read(to, sink, sizeof sink, &got);
        if (rc == WEFT_EAGAIN)
          break;
        if (rc != 0)
          die("read", rc);
        plain += got;
      }
    }
  }
  return plain;
}

static void handshake(weft_tls_context_t *cctx, weft_tls_context_t *sctx, weft__tls_engine_t **c,
                      weft__tls_engine_t **s) {
  int rc;
  if ((rc = weft__tls_engine_new(cctx, "localhost", 0, c)) != 0 ||
      (rc = weft__tls_engine_new(sctx, NULL, 0, s)) != 0)
    die("engine_new", rc);
  weft__tls_handshake(*c);
  while (weft__tls_out_pending(*c) || weft__tls_out_pending(*s)) {
    move(*c, *s);
    move(*s, *c);
  }
  if (weft__tls_state(*c) != WEFT__TLS_WRAPPED || weft__tls_state(*s) != WEFT__TLS_WRAPPED)
    die("handshake", weft__tls_error_code(*c));
}

static void bench_handshakes(weft_tls_context_t *cctx, weft_tls_context_t *sctx) {
  long n = 0;
  double start = now_s(), elapsed;
  do {
    weft__tls_engine_t *c, *s;
    handshake(cctx, sctx, &c, &s);
    weft__tls_engine_free(c);
    weft__tls_engine_free(s);
    n++;
  } while ((elapsed = now_s() - start) < 2.0);
  printf("handshakes (TLS 1.3, X25519, ECDSA P-256, verified): %.0f per second\n", n / elapsed);
}

static void bench_bulk(weft_tls_context_t *cctx, weft_tls_context_t *sctx, size_t write_size) {
  weft__tls_engine_t *c, *s;
  handshake(cctx, sctx, &c, &s);
  uint8_t *data = calloc(1, write_size);
  size_t total = (size_t)256 << 20, sent = 0, received = 0;
  double start = now_s();
  while (sent < total) {
    size_t off = 0;
    while (off < write_size) {
      size_t used;
      int rc = weft__tls_write(c, data + off, write_size - off, &used);
      if (rc != 0)
        die("write", rc);
      off += used;
      received += move(c, s);
    }
    sent += write_size;
  }
  double elapsed = now_s() - start;
  if (received != sent)
    die("bulk transfer", -1);
  printf("bulk, %6zu-byte writes, encrypt+decrypt (%s): %.0f MiB/s\n", write_size,
         weft_tls_conn_cipher(c, NULL), (double)sent / (1 << 20) / elapsed);
  free(data);
  weft__tls_engine_free(c);
  weft__tls_engine_free(s);
}

int main(void) {
  const weft_testcerts_t *certs = weft_testcerts();
  weft_tls_context_t *cctx, *sctx;
  int rc;
  if ((rc = weft_tls_context_new(WEFT_TLS_CLIENT, &cctx)) != 0 ||
      (rc = weft_tls_context_load_verify_pem(cctx, certs->ca.cert_pem, certs->ca.cert_len)) != 0 ||
      (rc = weft_tls_context_new(WEFT_TLS_SERVER, &sctx)) != 0 ||
      (rc = weft_tls_context_load_cert_chain_pem(sctx, certs->server.cert_pem,
                                                 certs->server.cert_len, certs->server.key_pem,
                                                 certs->server.key_len, NULL)) != 0)
    die("context setup", rc);
  bench_handshakes(cctx, sctx);
  bench_bulk(cctx, sctx, 1024);
  bench_bulk(cctx, sctx, 16384);
  bench_bulk(cctx, sctx, 65536);
  weft_tls_context_release(cctx);
  weft_tls_context_release(sctx);
  return 0;
}
