/* asyncio's combinators from the core: sleep, gather, wait, waitFor, shield. Each takes
 * Promises (or any values), turns them into core futures (wn_future_of) and returns the
 * core combinator's future as a Promise; index.js reads the inputs' outcomes afterwards. */
#include <stdlib.h>

#include "weft_node.h"

/* sleep(seconds, options) */
static napi_value sleep_(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  double seconds;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0 ||
      wn_get_double(env, argv[0], "the delay must be a number of seconds", &seconds) != 0 ||
      wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_sleep(st->loop, seconds, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

typedef struct {
  weft_future_t **items;
  size_t count;
} wn_futures_t;

static void futures_clear(wn_futures_t *fs) {
  for (size_t i = 0; i < fs->count; i++)
    weft_future_release(fs->items[i]);
  free(fs->items);
  fs->items = NULL;
  fs->count = 0;
}

/* The core futures of an array's elements; nonzero (a JS exception pending) on failure. */
static int futures_of(napi_env env, wn_state_t *st, napi_value array, wn_futures_t *out) {
  bool is_array = false;
  uint32_t n = 0;
  out->items = NULL;
  out->count = 0;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an array of awaitables");
    return -1;
  }
  napi_get_array_length(env, array, &n);
  out->items = calloc(n > 0 ? n : 1, sizeof *out->items);
  if (out->items == NULL) {
    wn_throw(env, WEFT_ENOMEM, NULL);
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    if (napi_get_element(env, array, i, &element) != napi_ok ||
        (out->items[i] = wn_future_of(env, st, element)) == NULL) {
      futures_clear(out);
      return -1;
    }
    out->count++;
  }
  return 0;
}

static void futures_free(void *arg) {
  futures_clear(arg);
  free(arg);
}

/* wait()'s result: which inputs are done, as an array of booleans in input order. */
static napi_status done_flags(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  (void)future;
  wn_futures_t *fs = arg;
  napi_status s = napi_create_array_with_length(env, fs->count, out);
  for (size_t i = 0; s == napi_ok && i < fs->count; i++) {
    napi_value flag;
    if ((s = napi_get_boolean(env, weft_future_done(fs->items[i]), &flag)) == napi_ok)
      s = napi_set_element(env, *out, (uint32_t)i, flag);
  }
  return s;
}

/* gather(array, returnExceptions, options) */
static napi_value gather(napi_env env, napi_callback_info info) {
  napi_value argv[3], signal;
  bool return_exceptions = false;
  wn_futures_t fs;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 3, argv, NULL) != 0 ||
      napi_get_value_bool(env, argv[1], &return_exceptions) != napi_ok ||
      wn_get_signal(env, argv[2], &signal) != 0 || futures_of(env, st, argv[0], &fs) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_gather(st->loop, fs.items, fs.count, return_exceptions, &f);
  futures_clear(&fs);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

/* wait(array, returnWhen, timeout, options): resolves once the condition holds; the
 * inputs are never cancelled. */
static napi_value wait_(napi_env env, napi_callback_info info) {
  napi_value argv[4], signal;
  int64_t return_when;
  double timeout = -1;
  wn_futures_t fs;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 4, argv, NULL) != 0 ||
      wn_get_int64(env, argv[1],
                   "returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or "
                   "ALL_COMPLETED",
                   &return_when) != 0 ||
      (!wn_is_undefined(env, argv[2]) &&
       wn_get_double(env, argv[2], "the timeout must be a number of seconds", &timeout) != 0) ||
      wn_get_signal(env, argv[3], &signal) != 0 || futures_of(env, st, argv[0], &fs) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_wait(st->loop, fs.items, fs.count, (int)return_when, timeout, &f);
  wn_futures_t *held = rc == 0 ? malloc(sizeof *held) : NULL;
  if (rc == 0 && held == NULL) {
    weft_future_cancel(f, NULL);
    weft_future_release(f);
    rc = WEFT_ENOMEM;
  }
  if (rc != 0) {
    futures_clear(&fs);
    return wn_throw(env, rc,
                    rc == WEFT_EINVAL ? "wait() needs at least one awaitable and a "
                                        "valid returnWhen"
                                      : NULL);
  }
  *held = fs;
  return wn_promise(env, st, f, signal, done_flags, held, futures_free);
}

/* The outcome of the future a mirror follows: its JS value, whatever made it. */
static napi_status follow_result(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  (void)future;
  const weft_value_t *value = NULL;
  weft_future_result(arg, &value);
  return wn_value_to_js(env, value, out);
}

static void release_future(void *f) {
  weft_future_release(f);
}

/* waitFor(awaitable, timeout, options) */
static napi_value wait_for(napi_env env, napi_callback_info info) {
  napi_value argv[3], signal;
  double timeout = -1;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 3, argv, NULL) != 0 ||
      (!wn_is_undefined(env, argv[1]) &&
       wn_get_double(env, argv[1], "the timeout must be a number of seconds", &timeout) != 0) ||
      wn_get_signal(env, argv[2], &signal) != 0)
    return NULL;
  weft_future_t *inner = wn_future_of(env, st, argv[0]);
  if (inner == NULL)
    return NULL;
  weft_future_t *f;
  int rc = weft_wait_for(st->loop, inner, timeout, &f);
  if (rc != 0) {
    weft_future_release(inner);
    return wn_throw(env, rc, NULL);
  }
  return wn_promise(env, st, f, signal, follow_result, inner, release_future);
}

/* shield(awaitable, options): cancelling the result (its signal) leaves the inner running. */
static napi_value shield(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0 ||
      wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  weft_future_t *inner = wn_future_of(env, st, argv[0]);
  if (inner == NULL)
    return NULL;
  weft_future_t *f;
  int rc = weft_shield(inner, &f);
  if (rc != 0) {
    weft_future_release(inner);
    return wn_throw(env, rc, NULL);
  }
  return wn_promise(env, st, f, signal, follow_result, inner, release_future);
}

napi_status wn_combinators_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("sleep", sleep_),     WN_METHOD("gather", gather), WN_METHOD("wait", wait_),
      WN_METHOD("waitFor", wait_for), WN_METHOD("shield", shield),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
