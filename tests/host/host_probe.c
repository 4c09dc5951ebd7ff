/* A module with no Node-API in it, built from libweft_host.a with the whole archive pulled
 * in: check_symbols.sh reads its symbol tables. The calls below are never run (the module
 * only loads inside a host that supplies libuv and OpenSSL); they make the module a user of
 * the loop, timer and TLS code, as a real one is. */
#include <weft.h>

__attribute__((visibility("default"))) int weft_host_probe(struct uv_loop_s *host_loop);

static void noop(void *arg) {
  (void)arg;
}

int weft_host_probe(struct uv_loop_s *host_loop) {
  weft_loop_options_t options = {.size = sizeof options, .adopt = host_loop};
  weft_loop_t *loop;
  int rc = weft_loop_new_ex(&options, &loop);
  if (rc != 0)
    return rc;
  rc = weft_call_later(loop, 0.0, noop, NULL, NULL);
  weft_tls_context_t *ctx;
  if (rc == 0 && (rc = weft_tls_context_new(WEFT_TLS_CLIENT, &ctx)) == 0)
    weft_tls_context_release(ctx);
  weft_loop_release(loop);
  return rc;
}
