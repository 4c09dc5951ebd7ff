/* Barrier, as asyncio.Barrier: wait() resolves with the arrival index. */
#include "weft_node.h"

static const napi_type_tag barrier_tag = {0x77656674100c0005ULL, 0x4261727200000005ULL};

static void barrier_free(void *barrier) {
  weft_barrier_release(barrier);
}

static napi_value barrier_new(napi_env env, napi_callback_info info) {
  napi_value self, argv[1];
  int64_t parties;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_ctor_args(env, info, 1, argv, &self) != 0 ||
      wn_get_int64(env, argv[0], "parties must be an integer", &parties) != 0)
    return NULL;
  if (parties < 1) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "parties must be > 0");
    return NULL;
  }
  weft_barrier_t *barrier;
  int rc = weft_barrier_new(st->loop, (size_t)parties, &barrier);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  wn_wrap(env, self, &barrier_tag, barrier, barrier_free);
  return NULL;
}

static weft_barrier_t *barrier_of(napi_env env, napi_callback_info info, size_t n,
                                  napi_value *argv) {
  napi_value self;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  return wn_unwrap(env, self, &barrier_tag, "Barrier");
}

typedef int (*barrier_op_fn)(weft_barrier_t *, weft_future_t **);

static napi_value waiting(napi_env env, napi_callback_info info, barrier_op_fn op) {
  napi_value argv[1], signal;
  wn_state_t *st = wn_state(env);
  weft_barrier_t *barrier = st == NULL ? NULL : barrier_of(env, info, 1, argv);
  if (barrier == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = op(barrier, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

static napi_value wait_(napi_env env, napi_callback_info info) {
  return waiting(env, info, weft_barrier_wait);
}

static napi_value reset(napi_env env, napi_callback_info info) {
  return waiting(env, info, weft_barrier_reset);
}

static napi_value abort_(napi_env env, napi_callback_info info) {
  return waiting(env, info, weft_barrier_abort);
}

static napi_value parties(napi_env env, napi_callback_info info) {
  weft_barrier_t *barrier = barrier_of(env, info, 0, NULL);
  napi_value out;
  if (barrier == NULL)
    return NULL;
  napi_create_int64(env, (int64_t)weft_barrier_parties(barrier), &out);
  return out;
}

static napi_value n_waiting(napi_env env, napi_callback_info info) {
  weft_barrier_t *barrier = barrier_of(env, info, 0, NULL);
  napi_value out;
  if (barrier == NULL)
    return NULL;
  napi_create_int64(env, (int64_t)weft_barrier_n_waiting(barrier), &out);
  return out;
}

static napi_value broken(napi_env env, napi_callback_info info) {
  weft_barrier_t *barrier = barrier_of(env, info, 0, NULL);
  napi_value out;
  if (barrier == NULL)
    return NULL;
  napi_get_boolean(env, weft_barrier_broken(barrier), &out);
  return out;
}

napi_status wn_barrier_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("wait", wait_),      WN_METHOD("reset", reset),        WN_METHOD("abort", abort_),
      WN_GETTER("parties", parties), WN_GETTER("nWaiting", n_waiting), WN_GETTER("broken", broken),
  };
  return wn_define(env, exports, "Barrier", barrier_new, props, WN_COUNT(props), NULL);
}
