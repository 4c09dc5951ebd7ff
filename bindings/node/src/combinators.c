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

/* What waitFor and shield follow: the inner future and, when the input is a pending weft
 * Promise, the value that Promise is fulfilled with. Some operations keep their value
 * beside the future's result (a queue get's item is moved out by weft_queue_take, so the
 * core's combinators pass on no value): the Promise has the value in every case. */
typedef struct {
  weft_future_t *inner;
  weft_value_t value;
  int has_value;
  int refs; /* the outer Promise's, and the callback's on the input Promise */
} wn_follow_arg_t;

static void follow_arg_unref(wn_follow_arg_t *a) {
  if (--a->refs > 0)
    return;
  weft_future_release(a->inner);
  weft_value_clear(&a->value);
  free(a);
}

static void follow_arg_free(void *a) {
  follow_arg_unref(a);
}

static void follow_arg_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  follow_arg_unref(data);
}

static napi_value input_fulfilled(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wn_follow_arg_t *a = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&a);
  if (!a->has_value && argc == 1 && wn_value_from_js(env, argv[0], &a->value) == 0)
    a->has_value = 1;
  return NULL;
}

static napi_value input_rejected(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  return NULL; /* the core's future carries the error */
}

/* Records the value `input` (a pending weft Promise) is fulfilled with. Promise.prototype.then
 * itself is called, not the input's own then, which would tell a task it awaits the input. */
static void follow_input(napi_env env, napi_value input, wn_follow_arg_t *a) {
  napi_value global, ctor, proto, then, argv[2], ignored;
  if (napi_create_function(env, "fulfilled", NAPI_AUTO_LENGTH, input_fulfilled, a, &argv[0]) !=
          napi_ok ||
      napi_add_finalizer(env, argv[0], a, follow_arg_finalize, NULL, NULL) != napi_ok)
    return;
  a->refs++;
  if (napi_create_function(env, "rejected", NAPI_AUTO_LENGTH, input_rejected, NULL, &argv[1]) !=
          napi_ok ||
      napi_get_global(env, &global) != napi_ok ||
      napi_get_named_property(env, global, "Promise", &ctor) != napi_ok ||
      napi_get_named_property(env, ctor, "prototype", &proto) != napi_ok ||
      napi_get_named_property(env, proto, "then", &then) != napi_ok ||
      napi_call_function(env, input, then, 2, argv, &ignored) != napi_ok)
    napi_get_and_clear_last_exception(env, &ignored);
}

/* The outcome of the future a mirror follows: its JS value, whatever made it. */
static napi_status follow_result(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  (void)future;
  wn_follow_arg_t *a = arg;
  if (a->has_value)
    return wn_value_to_js(env, &a->value, out);
  const weft_value_t *value = NULL;
  weft_future_result(a->inner, &value);
  return wn_value_to_js(env, value, out);
}

/* The inner future of waitFor or shield, and what follows it; NULL with an exception. */
static wn_follow_arg_t *follow_of(napi_env env, wn_state_t *st, napi_value input) {
  wn_follow_arg_t *a = calloc(1, sizeof *a);
  if (a == NULL) {
    wn_throw(env, WEFT_ENOMEM, NULL);
    return NULL;
  }
  a->value = weft_value_none();
  a->refs = 1;
  weft_future_t *pending = wn_future_lookup(env, st, input);
  if (pending != NULL) {
    a->inner = pending;
    follow_input(env, input, a);
  } else if ((a->inner = wn_future_of(env, st, input)) == NULL) {
    free(a);
    return NULL;
  }
  return a;
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
  wn_follow_arg_t *a = follow_of(env, st, argv[0]);
  if (a == NULL)
    return NULL;
  weft_future_t *f;
  int rc = weft_wait_for(st->loop, a->inner, timeout, &f);
  if (rc != 0) {
    follow_arg_unref(a);
    return wn_throw(env, rc, NULL);
  }
  return wn_promise(env, st, f, signal, follow_result, a, follow_arg_free);
}

/* shield(awaitable, options): cancelling the result (its signal) leaves the inner running. */
static napi_value shield(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0 ||
      wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  wn_follow_arg_t *a = follow_of(env, st, argv[0]);
  if (a == NULL)
    return NULL;
  weft_future_t *f;
  int rc = weft_shield(a->inner, &f);
  if (rc != 0) {
    follow_arg_unref(a);
    return wn_throw(env, rc, NULL);
  }
  return wn_promise(env, st, f, signal, follow_result, a, follow_arg_free);
}

napi_status wn_combinators_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("sleep", sleep_),     WN_METHOD("gather", gather), WN_METHOD("wait", wait_),
      WN_METHOD("waitFor", wait_for), WN_METHOD("shield", shield),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
