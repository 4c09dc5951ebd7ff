/* The environment's weft loop: adopted from Node's own libuv loop, never run or closed by
 * weft, and closed again from an async clean-up hook when the environment (the main thread
 * or a Worker) goes away. */
#include <stdlib.h>

#include "weft_node.h"

void wn_bridges_abandon(wn_state_t *st);
void wn_bridges_free(wn_state_t *st);
static void state_drop_refs(napi_env env, wn_state_t *st);

wn_state_t *wn_state(napi_env env) {
  wn_state_t *st = NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || st == NULL || st->closing) {
    napi_throw_error(env, "ECLOSED", "weft is not available in this environment");
    return NULL;
  }
  return st;
}

static void on_drained(uv_handle_t *handle) {
  wn_state_t *st = handle->data;
  napi_async_cleanup_hook_handle hook = st->cleanup;
  st->cleanup = NULL;
  /* Removing the hook lets the environment go on tearing down; the state itself goes with
   * the instance data, after every finalizer of the objects that point into the loop. */
  napi_remove_async_cleanup_hook(hook);
}

/* Two passes: the core's handles were closed in the hook, and libuv runs close callbacks
 * at the end of an iteration; after one full iteration more they have all run. */
static void on_drain(uv_idle_t *idle) {
  wn_state_t *st = idle->data;
  if (++st->drain_passes < 2)
    return;
  uv_idle_stop(idle);
  uv_close((uv_handle_t *)idle, on_drained);
}

/* The environment is going away, as a process exiting: the tasks still pending when it does
 * are not errors to report (Node drops pending Promises silently at exit), and nobody is
 * left to read a report. */
static void ignore_exception(weft_loop_t *loop, const weft_error_context_t *context, void *arg) {
  (void)loop;
  (void)context;
  (void)arg;
}

static void on_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  wn_state_t *st = arg;
  st->closing = 1;
  /* JavaScript may no longer run here (a terminated Worker): nothing below calls into it. */
  wn_bridges_abandon(st);
  wn_tasks_abandon(st);
  wn_net_abandon(st);
  state_drop_refs(st->env, st);
  uv_loop_t *uv = weft_loop_uv(st->loop);
  weft_loop_set_exception_handler(st->loop, ignore_exception, NULL, NULL);
  weft_loop_close(st->loop);
  uv_idle_init(uv, &st->drain);
  st->drain.data = st;
  uv_idle_start(&st->drain, on_drain);
}

/* The state's references go in the clean-up hook, while the environment is whole: by the
 * time the instance data is finalized, Node may have torn its references down. */
static void state_drop_refs(napi_env env, wn_state_t *st) {
  napi_ref *refs[] = {&st->make_error,       &st->promise_hook,       &st->cancel_hook,
                      &st->resource,         &st->future_key,         &st->never,
                      &st->recent_lock.self, &st->recent_queue.self,  &st->recent_conn.self,
                      &st->lock_class,       &st->queue_class[0],     &st->queue_class[1],
                      &st->queue_class[2],   &st->semaphore_class[0], &st->semaphore_class[1],
                      &st->resolved};
  for (size_t i = 0; i < WN_COUNT(refs); i++) {
    if (*refs[i] != NULL)
      napi_delete_reference(env, *refs[i]);
    *refs[i] = NULL;
  }
  if (st->async_context != NULL)
    napi_async_destroy(env, st->async_context);
  st->async_context = NULL;
}

static void state_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  wn_state_t *st = data;
  weft_loop_release(st->loop);
  wn_bridges_free(st);
  wn_wraps_orphan(st->wraps);
  free(st->net);
  free(st);
}

/* setErrorFactory(fn): index.js's function that builds the Error subclass for a code. */
static napi_value set_error_factory(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 1, argv, NULL) != 0)
    return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_function) {
    napi_throw_type_error(env, NULL, "the error factory must be a function");
    return NULL;
  }
  if (st->make_error != NULL)
    napi_delete_reference(env, st->make_error);
  napi_create_reference(env, argv[0], 1, &st->make_error);
  return NULL;
}

/* time(): the loop's clock in seconds, as loop.time(). */
static napi_value loop_time(napi_env env, napi_callback_info info) {
  (void)info;
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return NULL;
  napi_value out;
  napi_create_double(env, weft_loop_time(st->loop), &out);
  return out;
}

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, weft_version_string(), NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_status wn_loop_init(napi_env env, napi_value exports) {
  wn_state_t *st = calloc(1, sizeof *st);
  if (st == NULL)
    return napi_generic_failure;
  st->env = env;
  uv_loop_t *uv = NULL;
  napi_status s = napi_get_uv_event_loop(env, &uv);
  weft_loop_options_t options;
  weft_loop_options_init(&options);
  options.adopt = uv;
  if (s != napi_ok || weft_loop_new_ex(&options, &st->loop) != 0) {
    free(st);
    return napi_generic_failure;
  }
  napi_value resource, name, never;
  napi_deferred never_settled; /* never resolved: the Promise stays pending */
  if ((s = napi_create_promise(env, &never_settled, &never)) != napi_ok ||
      (s = napi_create_reference(env, never, 1, &st->never)) != napi_ok ||
      (s = napi_create_object(env, &resource)) != napi_ok ||
      (s = napi_create_string_utf8(env, "weft", NAPI_AUTO_LENGTH, &name)) != napi_ok ||
      (s = napi_create_reference(env, resource, 1, &st->resource)) != napi_ok ||
      (s = napi_async_init(env, resource, name, &st->async_context)) != napi_ok ||
      (s = napi_set_instance_data(env, st, state_free, NULL)) != napi_ok) {
    state_drop_refs(env, st);
    state_free(env, st, NULL);
    return s;
  }
  if ((s = napi_add_async_cleanup_hook(env, on_cleanup, st, &st->cleanup)) != napi_ok)
    return s;
  napi_property_descriptor props[] = {
      WN_METHOD("setErrorFactory", set_error_factory),
      WN_METHOD("time", loop_time),
      WN_METHOD("version", version),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
