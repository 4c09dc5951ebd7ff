/* Semaphore and BoundedSemaphore, as asyncio's: one class each over the core's one type. */
#include "weft_node.h"

static const napi_type_tag semaphore_tag = {0x77656674100c0004ULL, 0x53656d6100000004ULL};

static void semaphore_free(void *sem) {
  weft_semaphore_release(sem);
}

static napi_value own_acquire(napi_env env, napi_callback_info info);
static napi_value own_release(napi_env env, napi_callback_info info);

/* `bounded`: 1 for a BoundedSemaphore, the index of its class in st->semaphore_class. */
static napi_value make(napi_env env, napi_callback_info info, int bounded) {
  static const wn_own_method_t own[] = {{"acquire", own_acquire}, {"release", own_release}};
  napi_value self, argv[1];
  int64_t value = 1;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_ctor_args(env, info, 1, argv, &self) != 0 ||
      (!wn_is_undefined(env, argv[0]) &&
       wn_get_int64(env, argv[0], "the value must be an integer", &value) != 0))
    return NULL;
  weft_semaphore_t *sem;
  int rc = bounded ? weft_bounded_semaphore_new(st->loop, value, &sem)
                   : weft_semaphore_new(st->loop, value, &sem);
  if (rc != 0) {
    if (rc == WEFT_EINVAL) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "Semaphore initial value must be >= 0");
      return NULL;
    }
    return wn_throw(env, rc, NULL);
  }
  if (wn_wrap(env, self, &semaphore_tag, sem, semaphore_free) == napi_ok &&
      wn_made_as(env, info, st->semaphore_class[bounded]))
    wn_own_methods(env, self, weft_semaphore_retain(sem), semaphore_free, own, WN_COUNT(own));
  return NULL;
}

static napi_value semaphore_new(napi_env env, napi_callback_info info) {
  return make(env, info, 0);
}

static napi_value bounded_new(napi_env env, napi_callback_info info) {
  return make(env, info, 1);
}

static weft_semaphore_t *sem_of(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  napi_value self;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  return wn_unwrap(env, self, &semaphore_tag, "Semaphore");
}

static napi_value acquire_on(napi_env env, wn_state_t *st, void *sem, napi_value options) {
  napi_value signal;
  if (wn_get_signal(env, options, &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_semaphore_acquire(sem, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

static napi_value release_on(napi_env env, weft_semaphore_t *sem) {
  int rc = weft_semaphore_unlock(sem);
  if (rc != 0)
    return wn_throw(env, rc,
                    rc == WEFT_EINVALIDSTATE ? "BoundedSemaphore released too many times" : NULL);
  return NULL;
}

static napi_value acquire(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_state_t *st = wn_state(env);
  weft_semaphore_t *sem = st == NULL ? NULL : sem_of(env, info, 1, argv);
  return sem == NULL ? NULL : acquire_on(env, st, sem, argv[0]);
}

static napi_value release(napi_env env, napi_callback_info info) {
  weft_semaphore_t *sem = sem_of(env, info, 0, NULL);
  return sem == NULL ? NULL : release_on(env, sem);
}

/* A semaphore's own acquire and release (wn_own_methods). */
static napi_value own_acquire(napi_env env, napi_callback_info info) {
  return wn_own_with_options(env, info, acquire_on);
}

static napi_value own_release(napi_env env, napi_callback_info info) {
  weft_semaphore_t *sem = wn_own_object(env, info, 0, NULL);
  return sem == NULL ? NULL : release_on(env, sem);
}

static napi_value locked(napi_env env, napi_callback_info info) {
  weft_semaphore_t *sem = sem_of(env, info, 0, NULL);
  napi_value out;
  if (sem == NULL)
    return NULL;
  napi_get_boolean(env, weft_semaphore_locked(sem), &out);
  return out;
}

static napi_value value(napi_env env, napi_callback_info info) {
  weft_semaphore_t *sem = sem_of(env, info, 0, NULL);
  napi_value out;
  if (sem == NULL)
    return NULL;
  napi_create_int64(env, weft_semaphore_value(sem), &out);
  return out;
}

napi_status wn_semaphore_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("acquire", acquire),
      WN_VOID_METHOD("release", release),
      WN_METHOD("locked", locked),
      WN_GETTER("value", value),
  };
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return napi_generic_failure;
  napi_status s = wn_define(env, exports, "Semaphore", semaphore_new, props, WN_COUNT(props),
                            &st->semaphore_class[0]);
  if (s == napi_ok)
    s = wn_define(env, exports, "BoundedSemaphore", bounded_new, props, WN_COUNT(props),
                  &st->semaphore_class[1]);
  return s;
}
