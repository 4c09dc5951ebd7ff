/* asCompleted: the core's as_completed iterator. Each next() is a Promise of the index of
 * the input that completed (index.js hands out the input itself, as asyncio does). */
#include <stdlib.h>

#include "weft_node.h"

static const napi_type_tag as_completed_tag = {0x77656674100c0012ULL, 0x4173436f6d700012ULL};

typedef struct {
  weft_as_completed_t *it; /* NULL once closed */
  weft_future_t **inputs;  /* to map a completed future back to its index */
  size_t count;
} wn_as_completed_t;

static void close_iterator(wn_as_completed_t *a) {
  weft_as_completed_free(a->it);
  a->it = NULL;
  for (size_t i = 0; i < a->count; i++)
    weft_future_release(a->inputs[i]);
  free(a->inputs);
  a->inputs = NULL;
  a->count = 0;
}

static void as_completed_free(void *object) {
  close_iterator(object);
  free(object);
}

/* asCompletedNew(array, timeout) */
static napi_value make(napi_env env, napi_callback_info info) {
  napi_value argv[2], handle;
  double timeout = -1;
  bool is_array = false;
  uint32_t n = 0;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0 ||
      wn_get_double(env, argv[1], "the timeout must be a number of seconds", &timeout) != 0)
    return NULL;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an array of awaitables");
    return NULL;
  }
  napi_get_array_length(env, argv[0], &n);
  wn_as_completed_t *a = calloc(1, sizeof *a);
  if (a == NULL || (a->inputs = calloc(n > 0 ? n : 1, sizeof *a->inputs)) == NULL) {
    free(a);
    return wn_throw(env, WEFT_ENOMEM, NULL);
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    if (napi_get_element(env, argv[0], i, &element) != napi_ok ||
        (a->inputs[i] = wn_future_of(env, st, element)) == NULL) {
      as_completed_free(a);
      return NULL;
    }
    a->count++;
  }
  int rc = weft_as_completed_new(st->loop, a->inputs, a->count, timeout, &a->it);
  if (rc != 0) {
    as_completed_free(a);
    return wn_throw(env, rc, NULL);
  }
  if (napi_create_object(env, &handle) != napi_ok ||
      wn_wrap(env, handle, &as_completed_tag, a, as_completed_free) != napi_ok)
    return NULL;
  return handle;
}

static napi_status index_of(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  wn_as_completed_t *a = arg;
  const weft_value_t *value = NULL;
  weft_future_result(future, &value);
  for (size_t i = 0; a->inputs != NULL && value != NULL && i < a->count; i++)
    if (value->type == WEFT_VALUE_FUTURE && value->ptr == a->inputs[i]) {
      /* Its outcome reaches the user through the input itself: retrieved. */
      weft_future_error(a->inputs[i]);
      return napi_create_uint32(env, (uint32_t)i, out);
    }
  /* Closed while a next() was pending: it was cancelled, so this is not reached. */
  return napi_get_undefined(env, out);
}

/* asCompletedNext(handle, options): a Promise of the next completed input's index. */
static napi_value next(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  wn_state_t *st = wn_state(env);
  wn_as_completed_t *a;
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0 ||
      (a = wn_unwrap(env, argv[0], &as_completed_tag, "asCompleted handle")) == NULL ||
      wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  if (a->it == NULL)
    return wn_throw(env, WEFT_EINVALIDSTATE, "the iterator is closed");
  weft_future_t *f;
  int rc = weft_as_completed_next(a->it, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  /* `a` stays alive while its handle is referenced by index.js's iterator, which awaits
   * this Promise before closing. */
  return wn_promise(env, st, f, signal, index_of, a, NULL);
}

/* asCompletedClose(handle) */
static napi_value close_(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_as_completed_t *a;
  if (wn_args(env, info, 1, argv, NULL) != 0 ||
      (a = wn_unwrap(env, argv[0], &as_completed_tag, "asCompleted handle")) == NULL)
    return NULL;
  close_iterator(a);
  return NULL;
}

napi_status wn_as_completed_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("asCompletedNew", make),
      WN_METHOD("asCompletedNext", next),
      WN_METHOD("asCompletedClose", close_),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
