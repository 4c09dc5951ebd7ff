/* Lock, as asyncio.Lock: acquire() is a Promise (with { signal }), release() unlocks. */
#include "weft_node.h"

static const napi_type_tag lock_tag = {0x77656674100c0001ULL, 0x4c6f636b00000001ULL};

static void lock_free(void *lock) {
  weft_lock_release(lock);
}

/* The core lock of a Lock object (for Condition), or NULL with a TypeError thrown. */
weft_lock_t *wn_lock_unwrap(napi_env env, napi_value value);
weft_lock_t *wn_lock_unwrap(napi_env env, napi_value value) {
  return wn_unwrap(env, value, &lock_tag, "Lock");
}

static weft_lock_t *lock_of(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  napi_value self;
  wn_state_t *st = NULL;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || st == NULL || st->closing)
    return wn_unwrap(env, self, &lock_tag, "Lock");
  return wn_unwrap_recent(env, self, &lock_tag, "Lock", &st->recent_lock);
}

static napi_value acquire_on(napi_env env, wn_state_t *st, void *lock, napi_value options) {
  napi_value signal;
  if (wn_get_signal(env, options, &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_lock_acquire(lock, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

static napi_value release_on(napi_env env, weft_lock_t *lock) {
  int rc = weft_lock_unlock(lock);
  if (rc != 0)
    return wn_throw(env, rc, rc == WEFT_EINVALIDSTATE ? "Lock is not acquired." : NULL);
  return NULL;
}

static napi_value acquire(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_state_t *st = wn_state(env);
  weft_lock_t *lock = st == NULL ? NULL : lock_of(env, info, 1, argv);
  return lock == NULL ? NULL : acquire_on(env, st, lock, argv[0]);
}

static napi_value release(napi_env env, napi_callback_info info) {
  weft_lock_t *lock = lock_of(env, info, 0, NULL);
  return lock == NULL ? NULL : release_on(env, lock);
}

static napi_value locked(napi_env env, napi_callback_info info) {
  weft_lock_t *lock = lock_of(env, info, 0, NULL);
  napi_value out;
  if (lock == NULL)
    return NULL;
  napi_get_boolean(env, weft_lock_locked(lock), &out);
  return out;
}

/* A Lock's own acquire and release (wn_own_methods). */
static napi_value own_acquire(napi_env env, napi_callback_info info) {
  return wn_own_with_options(env, info, acquire_on);
}

static napi_value own_release(napi_env env, napi_callback_info info) {
  weft_lock_t *lock = wn_own_object(env, info, 0, NULL);
  return lock == NULL ? NULL : release_on(env, lock);
}

static napi_value lock_new(napi_env env, napi_callback_info info) {
  static const wn_own_method_t own[] = {{"acquire", own_acquire}, {"release", own_release}};
  napi_value self;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_ctor_args(env, info, 0, NULL, &self) != 0)
    return NULL;
  weft_lock_t *lock;
  int rc = weft_lock_new(st->loop, &lock);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  if (wn_wrap(env, self, &lock_tag, lock, lock_free) == napi_ok &&
      wn_made_as(env, info, st->lock_class))
    wn_own_methods(env, self, weft_lock_retain(lock), lock_free, own, WN_COUNT(own));
  return NULL;
}

napi_status wn_lock_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("acquire", acquire),
      WN_VOID_METHOD("release", release),
      WN_METHOD("locked", locked),
  };
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return napi_generic_failure;
  return wn_define(env, exports, "Lock", lock_new, props, WN_COUNT(props), &st->lock_class);
}
