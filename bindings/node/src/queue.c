/* Queue, LifoQueue and PriorityQueue, as asyncio's (with 3.13's shutdown): the items are
 * JS values kept by reference inside the core's queue. A PriorityQueue takes an integer
 * priority with each put ({ priority } / putNowait(item, priority)); lowest first, FIFO
 * among equals. */
#include "weft_node.h"

static const napi_type_tag queue_tag = {0x77656674100c0006ULL, 0x5175657565000006ULL};

static void queue_free(void *queue) {
  weft_queue_release(queue);
}

static napi_value own_put(napi_env env, napi_callback_info info);
static napi_value own_put_nowait(napi_env env, napi_callback_info info);
static napi_value own_get(napi_env env, napi_callback_info info);
static napi_value own_get_nowait(napi_env env, napi_callback_info info);

static napi_value make(napi_env env, napi_callback_info info, int32_t kind) {
  static const wn_own_method_t own[] = {{"put", own_put},
                                        {"putNowait", own_put_nowait},
                                        {"get", own_get},
                                        {"getNowait", own_get_nowait}};
  napi_value self, argv[1];
  int64_t maxsize = 0;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_ctor_args(env, info, 1, argv, &self) != 0 ||
      (!wn_is_undefined(env, argv[0]) &&
       wn_get_int64(env, argv[0], "maxsize must be an integer", &maxsize) != 0))
    return NULL;
  weft_queue_t *queue;
  /* asyncio: maxsize <= 0 means unbounded. */
  int rc = weft_queue_new(st->loop, kind, maxsize < 0 ? 0 : (size_t)maxsize, &queue);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  if (wn_wrap(env, self, &queue_tag, queue, queue_free) == napi_ok &&
      wn_made_as(env, info, st->queue_class[kind]))
    wn_own_methods(env, self, weft_queue_retain(queue), queue_free, own, WN_COUNT(own));
  return NULL;
}

static napi_value fifo_new(napi_env env, napi_callback_info info) {
  return make(env, info, WEFT_QUEUE_FIFO);
}

static napi_value lifo_new(napi_env env, napi_callback_info info) {
  return make(env, info, WEFT_QUEUE_LIFO);
}

static napi_value priority_new(napi_env env, napi_callback_info info) {
  return make(env, info, WEFT_QUEUE_PRIORITY);
}

static weft_queue_t *queue_of(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  napi_value self;
  wn_state_t *st = NULL;
  if (wn_args(env, info, n, argv, &self) != 0)
    return NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || st == NULL || st->closing)
    return wn_unwrap(env, self, &queue_tag, "Queue");
  return wn_unwrap_recent(env, self, &queue_tag, "Queue", &st->recent_queue);
}

static int get_priority(napi_env env, napi_value options, int64_t *out) {
  napi_value v;
  *out = 0;
  if (wn_is_undefined(env, options))
    return 0;
  if (napi_get_named_property(env, options, "priority", &v) != napi_ok)
    return -1;
  return wn_is_undefined(env, v) ? 0 : wn_get_int64(env, v, "priority must be an integer", out);
}

/* put(item, { priority, signal }) */
static napi_value put_on(napi_env env, wn_state_t *st, weft_queue_t *queue, napi_value *argv) {
  napi_value signal;
  int64_t priority;
  if (wn_get_signal(env, argv[1], &signal) != 0 || get_priority(env, argv[1], &priority) != 0)
    return NULL;
  weft_value_t item;
  int rc = wn_value_from_js(env, argv[0], &item);
  weft_future_t *f;
  if (rc == 0)
    rc = weft_queue_put_priority(queue, priority, item, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

static napi_value put(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  wn_state_t *st = wn_state(env);
  weft_queue_t *queue = st == NULL ? NULL : queue_of(env, info, 2, argv);
  return queue == NULL ? NULL : put_on(env, st, queue, argv);
}

/* putNowait(item, priority) */
static napi_value put_nowait_on(napi_env env, weft_queue_t *queue, napi_value *argv) {
  int64_t priority = 0;
  if (!wn_is_undefined(env, argv[1]) &&
      wn_get_int64(env, argv[1], "priority must be an integer", &priority))
    return NULL;
  weft_value_t item;
  int rc = wn_value_from_js(env, argv[0], &item);
  if (rc == 0)
    rc = weft_queue_put_priority_nowait(queue, priority, item);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value put_nowait(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  weft_queue_t *queue = queue_of(env, info, 2, argv);
  return queue == NULL ? NULL : put_nowait_on(env, queue, argv);
}

static napi_status take(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  (void)arg;
  weft_value_t item = weft_value_none();
  int rc = weft_queue_take(future, &item, NULL);
  if (rc != 0) {
    wn_throw(env, rc, NULL);
    return napi_pending_exception;
  }
  napi_status s = wn_value_to_js(env, &item, out);
  weft_value_clear(&item); /* *out is held by the current handle scope */
  return s;
}

/* get({ signal }) */
static napi_value get_on(napi_env env, wn_state_t *st, void *queue, napi_value options) {
  napi_value signal;
  if (wn_get_signal(env, options, &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_queue_get(queue, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, take, NULL, NULL);
}

static napi_value get(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_state_t *st = wn_state(env);
  weft_queue_t *queue = st == NULL ? NULL : queue_of(env, info, 1, argv);
  return queue == NULL ? NULL : get_on(env, st, queue, argv[0]);
}

static napi_value get_nowait_on(napi_env env, weft_queue_t *queue) {
  weft_value_t item = weft_value_none();
  int rc = weft_queue_get_nowait(queue, &item, NULL);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  napi_value out;
  wn_value_to_js(env, &item, &out);
  weft_value_clear(&item);
  return out;
}

static napi_value get_nowait(napi_env env, napi_callback_info info) {
  weft_queue_t *queue = queue_of(env, info, 0, NULL);
  return queue == NULL ? NULL : get_nowait_on(env, queue);
}

/* A queue's own put, putNowait, get and getNowait (wn_own_methods). */
static napi_value own_put(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  wn_state_t *st = wn_state(env);
  weft_queue_t *queue = st == NULL ? NULL : wn_own_object(env, info, 2, argv);
  return wn_guard(env, queue == NULL ? NULL : put_on(env, st, queue, argv));
}

static napi_value own_put_nowait(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  weft_queue_t *queue = wn_own_object(env, info, 2, argv);
  return queue == NULL ? NULL : put_nowait_on(env, queue, argv);
}

static napi_value own_get(napi_env env, napi_callback_info info) {
  return wn_own_with_options(env, info, get_on);
}

static napi_value own_get_nowait(napi_env env, napi_callback_info info) {
  weft_queue_t *queue = wn_own_object(env, info, 0, NULL);
  return wn_guard(env, queue == NULL ? NULL : get_nowait_on(env, queue));
}

static napi_value join(napi_env env, napi_callback_info info) {
  napi_value argv[1], signal;
  wn_state_t *st = wn_state(env);
  weft_queue_t *queue = st == NULL ? NULL : queue_of(env, info, 1, argv);
  if (queue == NULL || wn_get_signal(env, argv[0], &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_queue_join(queue, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

static napi_value task_done(napi_env env, napi_callback_info info) {
  weft_queue_t *queue = queue_of(env, info, 0, NULL);
  int rc = queue == NULL ? 0 : weft_queue_task_done(queue);
  return rc != 0 ? wn_throw(env, rc, "taskDone() called too many times") : NULL;
}

/* shutdown(immediate = false) */
static napi_value queue_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool immediate = false;
  weft_queue_t *queue = queue_of(env, info, 1, argv);
  if (queue == NULL)
    return NULL;
  if (!wn_is_undefined(env, argv[0])) {
    napi_coerce_to_bool(env, argv[0], &argv[0]);
    napi_get_value_bool(env, argv[0], &immediate);
  }
  int rc = weft_queue_shutdown(queue, immediate);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

static napi_value number(napi_env env, napi_callback_info info,
                         size_t (*fn)(const weft_queue_t *)) {
  weft_queue_t *queue = queue_of(env, info, 0, NULL);
  napi_value out;
  if (queue == NULL)
    return NULL;
  napi_create_int64(env, (int64_t)fn(queue), &out);
  return out;
}

static napi_value flag(napi_env env, napi_callback_info info, int (*fn)(const weft_queue_t *)) {
  weft_queue_t *queue = queue_of(env, info, 0, NULL);
  napi_value out;
  if (queue == NULL)
    return NULL;
  napi_get_boolean(env, fn(queue), &out);
  return out;
}

static napi_value qsize(napi_env env, napi_callback_info info) {
  return number(env, info, weft_queue_qsize);
}

static napi_value maxsize(napi_env env, napi_callback_info info) {
  return number(env, info, weft_queue_maxsize);
}

static napi_value empty(napi_env env, napi_callback_info info) {
  return flag(env, info, weft_queue_empty);
}

static napi_value full(napi_env env, napi_callback_info info) {
  return flag(env, info, weft_queue_full);
}

static napi_value is_shutdown(napi_env env, napi_callback_info info) {
  return flag(env, info, weft_queue_is_shutdown);
}

napi_status wn_queue_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("put", put),
      WN_VOID_METHOD("putNowait", put_nowait),
      WN_METHOD("get", get),
      WN_METHOD("getNowait", get_nowait),
      WN_METHOD("join", join),
      WN_VOID_METHOD("taskDone", task_done),
      WN_VOID_METHOD("shutdown", queue_shutdown),
      WN_METHOD("qsize", qsize),
      WN_METHOD("empty", empty),
      WN_METHOD("full", full),
      WN_GETTER("maxsize", maxsize),
      WN_GETTER("isShutdown", is_shutdown),
  };
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return napi_generic_failure;
  napi_status s = wn_define(env, exports, "Queue", fifo_new, props, WN_COUNT(props),
                            &st->queue_class[WEFT_QUEUE_FIFO]);
  if (s == napi_ok)
    s = wn_define(env, exports, "LifoQueue", lifo_new, props, WN_COUNT(props),
                  &st->queue_class[WEFT_QUEUE_LIFO]);
  if (s == napi_ok)
    s = wn_define(env, exports, "PriorityQueue", priority_new, props, WN_COUNT(props),
                  &st->queue_class[WEFT_QUEUE_PRIORITY]);
  return s;
}
