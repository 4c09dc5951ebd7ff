/* Event, as asyncio.Event. */
#include "weft_node.h"

static const napi_type_tag event_tag = {0x77656674100c0002ULL, 0x4576656e74000002ULL};

static void event_free(void *event) {
  weft_event_release(event);
}

static napi_value event_new(napi_env env, napi_callback_info info) {
  napi_value self;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_ctor_args(env, info, 0, NULL, &self) != 0)
    return NULL;
  weft_event_t *event;
  int rc = weft_event_new(st->loop, &event);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  wn_wrap(env, self, &event_tag, event, event_free);
  return NULL;
}

static weft_event_t *event_of(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  napi_value self;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  return wn_unwrap(env, self, &event_tag, "Event");
}

static napi_value wait_(napi_env env, napi_callback_info info) {
  napi_value argv[1], signal;
  wn_state_t *st = wn_state(env);
  weft_event_t *event = st == NULL ? NULL : event_of(env, info, 1, argv);
  if (event == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_event_wait(event, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

static napi_value set(napi_env env, napi_callback_info info) {
  weft_event_t *event = event_of(env, info, 0, NULL);
  int rc = event == NULL ? 0 : weft_event_set(event);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value clear(napi_env env, napi_callback_info info) {
  weft_event_t *event = event_of(env, info, 0, NULL);
  int rc = event == NULL ? 0 : weft_event_clear(event);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value is_set(napi_env env, napi_callback_info info) {
  weft_event_t *event = event_of(env, info, 0, NULL);
  napi_value out;
  if (event == NULL)
    return NULL;
  napi_get_boolean(env, weft_event_is_set(event), &out);
  return out;
}

napi_status wn_event_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("wait", wait_),
      WN_VOID_METHOD("set", set),
      WN_VOID_METHOD("clear", clear),
      WN_METHOD("isSet", is_set),
  };
  return wn_define(env, exports, "Event", event_new, props, WN_COUNT(props), NULL);
}
