/* timeout / timeoutAt: the core's timeout around a block of a Node task. Its expiry
 * cancels the task (the weft operation it awaits rejects with a CancelledError); the exit
 * turns that cancellation into ETIMEDOUT, as asyncio.timeout's __aexit__ does. */
#include <math.h>
#include <stdlib.h>

#include "weft_node.h"

static const napi_type_tag timeout_tag = {0x77656674100c0011ULL, 0x54696d656f757411ULL};

typedef struct {
  weft_timeout_t *timeout; /* NULL once exited */
} wn_timeout_t;

static void timeout_free(void *object) {
  wn_timeout_t *t = object;
  /* Collected without its exit (its environment went away mid-block). */
  if (t->timeout != NULL)
    weft_timeout_exit(t->timeout, 0);
  free(t);
}

static wn_timeout_t *timeout_arg(napi_env env, napi_value value) {
  wn_timeout_t *t = wn_unwrap(env, value, &timeout_tag, "Timeout handle");
  if (t != NULL && t->timeout == NULL) {
    wn_throw(env, WEFT_EINVALIDSTATE, "the timeout block is over");
    return NULL;
  }
  return t;
}

/* A deadline argument: a number, or null/undefined/Infinity for none. */
static int deadline_arg(napi_env env, napi_value v, double *out) {
  if (wn_is_undefined(env, v)) {
    *out = INFINITY;
    return 0;
  }
  return wn_get_double(env, v, "the deadline must be a number of seconds or null", out);
}

/* timeoutEnter(task, seconds, isAt): a handle; seconds is a delay, or a loop time if isAt. */
static napi_value enter(napi_env env, napi_callback_info info) {
  napi_value argv[3], handle;
  double seconds;
  bool at = false;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 3, argv, NULL) != 0 ||
      deadline_arg(env, argv[1], &seconds) != 0 ||
      napi_get_value_bool(env, argv[2], &at) != napi_ok)
    return NULL;
  weft_future_t *hold = wn_task_future_of(env, argv[0]);
  if (hold == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a weft Task");
    return NULL;
  }
  wn_timeout_t *t = calloc(1, sizeof *t);
  weft_task_t *task = weft_task_from_future(hold);
  int rc = t == NULL ? WEFT_ENOMEM
           : at      ? weft_timeout_enter_at(task, seconds, &t->timeout)
                     : weft_timeout_enter(task, seconds, &t->timeout);
  weft_future_release(hold);
  if (rc != 0) {
    free(t);
    return wn_throw(env, rc, NULL);
  }
  if (napi_create_object(env, &handle) != napi_ok ||
      wn_wrap(env, handle, &timeout_tag, t, timeout_free) != napi_ok)
    return NULL;
  return handle;
}

/* timeoutReschedule(handle, when) */
static napi_value reschedule(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  double when;
  wn_timeout_t *t;
  if (wn_args(env, info, 2, argv, NULL) != 0 || (t = timeout_arg(env, argv[0])) == NULL ||
      deadline_arg(env, argv[1], &when) != 0)
    return NULL;
  int rc = weft_timeout_reschedule(t->timeout, when);
  return rc != 0 ? wn_throw(env, rc,
                            rc == WEFT_EINVALIDSTATE ? "the timeout has already expired" : NULL)
                 : NULL;
}

/* timeoutWhen(handle): the deadline, null for none. */
static napi_value when(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  wn_timeout_t *t;
  if (wn_args(env, info, 1, argv, NULL) != 0 || (t = timeout_arg(env, argv[0])) == NULL)
    return NULL;
  double w = weft_timeout_when(t->timeout);
  if (isinf(w))
    napi_get_null(env, &out);
  else
    napi_create_double(env, w, &out);
  return out;
}

/* timeoutExpired(handle) */
static napi_value expired(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  wn_timeout_t *t;
  if (wn_args(env, info, 1, argv, NULL) != 0 || (t = timeout_arg(env, argv[0])) == NULL)
    return NULL;
  napi_get_boolean(env, weft_timeout_expired(t->timeout) != 0, &out);
  return out;
}

/* timeoutExit(handle, bodyErrno): the errno to propagate (0, the body's, or ETIMEDOUT). */
static napi_value exit_(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  int64_t body_rc;
  wn_timeout_t *t;
  if (wn_args(env, info, 2, argv, NULL) != 0 || (t = timeout_arg(env, argv[0])) == NULL ||
      wn_get_int64(env, argv[1], "the block's outcome must be an error number", &body_rc) != 0)
    return NULL;
  int rc = weft_timeout_exit(t->timeout, (int)body_rc);
  t->timeout = NULL;
  napi_create_int32(env, rc, &out);
  return out;
}

napi_status wn_timeout_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("timeoutEnter", enter), WN_METHOD("timeoutReschedule", reschedule),
      WN_METHOD("timeoutWhen", when),   WN_METHOD("timeoutExpired", expired),
      WN_METHOD("timeoutExit", exit_),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
