/* Condition, as asyncio.Condition: over a Lock given to the constructor or one of its own.
 * waitFor(predicate) is index.js's loop over wait(): the core's wait_for calls its
 * predicate from the loop's stack, and a JavaScript one cannot run there. */
#include "weft_node.h"

weft_lock_t *wn_lock_unwrap(napi_env env, napi_value value);

static const napi_type_tag condition_tag = {0x77656674100c0003ULL, 0x436f6e6400000003ULL};

static void condition_free(void *cond) {
  weft_condition_release(cond);
}

static napi_value condition_new(napi_env env, napi_callback_info info) {
  napi_value self, argv[1];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_ctor_args(env, info, 1, argv, &self) != 0)
    return NULL;
  weft_lock_t *lock = NULL;
  if (!wn_is_undefined(env, argv[0]) && (lock = wn_lock_unwrap(env, argv[0])) == NULL)
    return NULL;
  weft_condition_t *cond;
  int rc = weft_condition_new(st->loop, lock, &cond);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  wn_wrap(env, self, &condition_tag, cond, condition_free);
  return NULL;
}

static weft_condition_t *cond_of(napi_env env, napi_callback_info info, size_t n,
                                 napi_value *argv) {
  napi_value self;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  return wn_unwrap(env, self, &condition_tag, "Condition");
}

typedef int (*cond_op_fn)(weft_condition_t *, weft_future_t **);

static napi_value waiting(napi_env env, napi_callback_info info, cond_op_fn op) {
  napi_value argv[1], signal;
  wn_state_t *st = wn_state(env);
  weft_condition_t *cond = st == NULL ? NULL : cond_of(env, info, 1, argv);
  if (cond == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = op(cond, &f);
  if (rc != 0)
    return wn_throw(env, rc, rc == WEFT_EINVALIDSTATE ? "cannot wait on un-acquired lock" : NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

static napi_value acquire(napi_env env, napi_callback_info info) {
  return waiting(env, info, weft_condition_acquire);
}

static napi_value wait_(napi_env env, napi_callback_info info) {
  return waiting(env, info, weft_condition_wait);
}

static napi_value release(napi_env env, napi_callback_info info) {
  weft_condition_t *cond = cond_of(env, info, 0, NULL);
  int rc = cond == NULL ? 0 : weft_condition_unlock(cond);
  return rc != 0 ? wn_throw(env, rc, "Lock is not acquired.") : NULL;
}

static napi_value locked(napi_env env, napi_callback_info info) {
  weft_condition_t *cond = cond_of(env, info, 0, NULL);
  napi_value out;
  if (cond == NULL)
    return NULL;
  napi_get_boolean(env, weft_condition_locked(cond), &out);
  return out;
}

static napi_value notify(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t n = 1;
  weft_condition_t *cond = cond_of(env, info, 1, argv);
  if (cond == NULL ||
      (!wn_is_undefined(env, argv[0]) && wn_get_int64(env, argv[0], "n must be an integer", &n)))
    return NULL;
  int rc = weft_condition_notify(cond, n < 0 ? 0 : (size_t)n);
  return rc != 0 ? wn_throw(env, rc, "cannot notify on un-acquired lock") : NULL;
}

static napi_value notify_all(napi_env env, napi_callback_info info) {
  weft_condition_t *cond = cond_of(env, info, 0, NULL);
  int rc = cond == NULL ? 0 : weft_condition_notify_all(cond);
  return rc != 0 ? wn_throw(env, rc, "cannot notify on un-acquired lock") : NULL;
}

napi_status wn_condition_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("acquire", acquire),    WN_VOID_METHOD("release", release),
      WN_METHOD("locked", locked),      WN_METHOD("wait", wait_),
      WN_VOID_METHOD("notify", notify), WN_VOID_METHOD("notifyAll", notify_all),
  };
  return wn_define(env, exports, "Condition", condition_new, props, WN_COUNT(props), NULL);
}
