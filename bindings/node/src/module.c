/* The module: one set of exports per environment, and the argument and class helpers the
 * concepts' files share. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "weft_node.h"

/* NAPI_MODULE_INIT defines this without a prototype. */
NAPI_MODULE_EXPORT int32_t NODE_API_MODULE_GET_API_VERSION(void);

int wn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv,
            napi_value *self) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, self, NULL) != napi_ok)
    return -1;
  /* Missing arguments read as undefined (napi_get_cb_info fills them in). */
  return 0;
}

int wn_ctor_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv,
                 napi_value *self) {
  napi_value target = NULL;
  if (napi_get_new_target(env, info, &target) != napi_ok || target == NULL) {
    napi_throw_type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "the constructor needs `new`");
    return -1;
  }
  return wn_args(env, info, want, argv, self);
}

int wn_is_undefined(napi_env env, napi_value v) {
  napi_valuetype t;
  return v == NULL ||
         (napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined || t == napi_null));
}

int wn_get_double(napi_env env, napi_value v, const char *what, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_double(env, v, out) != napi_ok || isnan(*out)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return -1;
  }
  return 0;
}

int wn_get_int64(napi_env env, napi_value v, const char *what, int64_t *out) {
  double d;
  if (wn_get_double(env, v, what, &d) != 0)
    return -1;
  if (d != floor(d) || d < -9007199254740991.0 || d > 9007199254740991.0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what);
    return -1;
  }
  *out = (int64_t)d;
  return 0;
}

int wn_get_signal(napi_env env, napi_value options, napi_value *out) {
  *out = NULL;
  if (wn_is_undefined(env, options))
    return 0;
  napi_valuetype t;
  napi_typeof(env, options, &t);
  if (t != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options must be an object");
    return -1;
  }
  napi_value signal;
  if (napi_get_named_property(env, options, "signal", &signal) != napi_ok)
    return -1;
  if (wn_is_undefined(env, signal))
    return 0;
  napi_value add;
  napi_typeof(env, signal, &t);
  if (t == napi_object && napi_get_named_property(env, signal, "addEventListener", &add) == napi_ok)
    napi_typeof(env, add, &t);
  if (t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options.signal must be an AbortSignal");
    return -1;
  }
  *out = signal;
  return 0;
}

napi_value wn_guarded(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  return wn_guard(env, ((napi_callback)data)(env, info));
}

napi_value wn_guard(napi_env env, napi_value out) {
  if (out != NULL)
    return out;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending)
    return NULL;
  /* No result and no exception: a method that returns undefined, or one whose calls were
   * refused because the environment stops, which a call that may run JavaScript tells. */
  /* napi_coerce_to_bool is the cheapest such call (a type-tag check on the global object,
   * used before, cost a property lookup on every call of a method returning undefined). */
  napi_value probe;
  if (napi_get_undefined(env, &probe) != napi_ok ||
      napi_coerce_to_bool(env, probe, &probe) != napi_pending_exception)
    return NULL;
  wn_state_t *st = NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || st == NULL || st->never == NULL ||
      napi_get_reference_value(env, st->never, &out) != napi_ok)
    return NULL;
  return out;
}

/* The objects of the classes made with wn_wrap. napi_wrap holds an id (marker bit, slot
 * index, generation) rather than a pointer, so that a method finds its object with
 * napi_unwrap and a look at this table: the receiver's class is checked against the slot's
 * tag without a type-tag lookup on the object (the most expensive part of a cheap method
 * such as transport.write), and an object wrapped by anything else (another addon's
 * pointer, never odd, or a Task's) is refused without being read. The table goes with
 * whichever of the state and the last of its objects goes last: Node does not promise the
 * order of their finalizers. */
typedef struct {
  void *object; /* NULL: free */
  wn_release_fn release;
  const napi_type_tag *tag;
  uintptr_t generation;
  uint32_t next_free;
} wn_wrap_slot_t;

struct wn_wraps_s {
  wn_wrap_slot_t *slots;
  uint32_t nslots, free_slot, live;
  int orphaned; /* the state went first */
};

#define WN_WRAP_INDEX_BITS 24
#define WN_WRAP_GEN_MASK ((UINTPTR_MAX >> (WN_WRAP_INDEX_BITS + 1)))

static uintptr_t wrap_id(uint32_t index, uintptr_t generation) {
  return 1u | ((uintptr_t)index << 1) |
         ((generation & WN_WRAP_GEN_MASK) << (WN_WRAP_INDEX_BITS + 1));
}

static wn_wrap_slot_t *wrap_find(wn_wraps_t *w, uintptr_t id) {
  if (w == NULL || (id & 1u) == 0)
    return NULL;
  uint32_t index = (uint32_t)((id >> 1) & ((1u << WN_WRAP_INDEX_BITS) - 1));
  if (index >= w->nslots || w->slots[index].object == NULL ||
      (w->slots[index].generation & WN_WRAP_GEN_MASK) != id >> (WN_WRAP_INDEX_BITS + 1))
    return NULL;
  return &w->slots[index];
}

static void wraps_free(wn_wraps_t *w) {
  free(w->slots);
  free(w);
}

void wn_wraps_orphan(wn_wraps_t *w) {
  if (w == NULL)
    return;
  w->orphaned = 1;
  if (w->live == 0)
    wraps_free(w);
}

static void wrapped_free(napi_env env, void *data, void *hint) {
  (void)env;
  wn_wraps_t *w = hint;
  wn_wrap_slot_t *slot = wrap_find(w, (uintptr_t)data);
  if (slot == NULL)
    return;
  wn_release_fn release = slot->release;
  void *object = slot->object;
  slot->object = NULL;
  slot->generation++;
  slot->next_free = w->free_slot;
  w->free_slot = (uint32_t)(slot - w->slots);
  w->live--;
  release(object);
  if (w->orphaned && w->live == 0)
    wraps_free(w);
}

static int wrap_take(wn_state_t *st, void *object, wn_release_fn release, const napi_type_tag *tag,
                     uintptr_t *id) {
  if (st->wraps == NULL && (st->wraps = calloc(1, sizeof *st->wraps)) == NULL)
    return -1;
  wn_wraps_t *w = st->wraps;
  if (w->free_slot >= w->nslots) {
    uint32_t n = w->nslots ? w->nslots * 2 : 64;
    if (n > (1u << WN_WRAP_INDEX_BITS))
      return -1;
    wn_wrap_slot_t *grown = realloc(w->slots, n * sizeof *grown);
    if (grown == NULL)
      return -1;
    for (uint32_t i = w->nslots; i < n; i++)
      grown[i] = (wn_wrap_slot_t){NULL, NULL, NULL, 0, i + 1};
    w->slots = grown;
    w->free_slot = w->nslots;
    w->nslots = n;
  }
  uint32_t i = w->free_slot;
  wn_wrap_slot_t *slot = &w->slots[i];
  w->free_slot = slot->next_free;
  slot->object = object;
  slot->release = release;
  slot->tag = tag;
  w->live++;
  *id = wrap_id(i, slot->generation);
  return 0;
}

napi_status wn_wrap(napi_env env, napi_value self, const napi_type_tag *tag, void *object,
                    wn_release_fn release) {
  wn_state_t *st = NULL;
  uintptr_t id;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || st == NULL ||
      wrap_take(st, object, release, tag, &id) != 0) {
    release(object);
    return napi_generic_failure;
  }
  napi_status s = napi_wrap(env, self, (void *)id, wrapped_free, st->wraps, NULL);
  if (s != napi_ok) {
    wrapped_free(env, (void *)id, st->wraps);
    return s;
  }
  /* Tasks are told apart by their type tag (wn_unwrap_raw); these carry one too. */
  return napi_type_tag_object(env, self, tag);
}

void *wn_unwrap(napi_env env, napi_value self, const napi_type_tag *tag, const char *cls) {
  wn_state_t *st = NULL;
  void *id = NULL;
  wn_wrap_slot_t *slot = NULL;
  if (napi_get_instance_data(env, (void **)&st) == napi_ok && st != NULL &&
      napi_unwrap(env, self, &id) == napi_ok)
    slot = wrap_find(st->wraps, (uintptr_t)id);
  if (slot == NULL || slot->tag != tag) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    char message[96];
    snprintf(message, sizeof message, "the receiver is not a %s", cls);
    napi_throw_type_error(env, "ERR_INVALID_THIS", message);
    return NULL;
  }
  return slot->object;
}

void *wn_unwrap_recent(napi_env env, napi_value self, const napi_type_tag *tag, const char *cls,
                       wn_recent_t *recent) {
  napi_value last;
  bool same = false;
  /* A weak reference gives NULL once its object is collected, before the finalizer that
   * releases the core object runs: while it gives the object, `object` is alive. */
  if (recent->self != NULL && napi_get_reference_value(env, recent->self, &last) == napi_ok &&
      last != NULL && napi_strict_equals(env, last, self, &same) == napi_ok && same)
    return recent->object;
  void *object = wn_unwrap(env, self, tag, cls);
  if (object == NULL)
    return NULL;
  if (recent->self != NULL)
    napi_delete_reference(env, recent->self);
  if (napi_create_reference(env, self, 0, &recent->self) != napi_ok)
    recent->self = NULL;
  recent->object = object;
  return object;
}

void *wn_unwrap_raw(napi_env env, napi_value value, const napi_type_tag *tag) {
  bool ok = false;
  napi_valuetype t;
  void *w = NULL;
  if (napi_typeof(env, value, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, value, tag, &ok) != napi_ok || !ok)
    return NULL;
  /* Tasks wrap their own struct directly (the other classes an id: wn_wrap). */
  return napi_unwrap(env, value, &w) == napi_ok ? w : NULL;
}

napi_status wn_define(napi_env env, napi_value exports, const char *name, napi_callback ctor,
                      const napi_property_descriptor *props, size_t count, napi_ref *keep) {
  napi_value cls;
  napi_status s = napi_define_class(env, name, NAPI_AUTO_LENGTH, ctor, NULL, count, props, &cls);
  if (s == napi_ok && keep != NULL)
    s = napi_create_reference(env, cls, 1, keep);
  if (s == napi_ok)
    s = napi_set_named_property(env, exports, name, cls);
  return s;
}

int wn_made_as(napi_env env, napi_callback_info info, napi_ref cls) {
  napi_value target = NULL, value;
  bool same = false;
  return cls != NULL && napi_get_new_target(env, info, &target) == napi_ok && target != NULL &&
         napi_get_reference_value(env, cls, &value) == napi_ok &&
         napi_strict_equals(env, target, value, &same) == napi_ok && same;
}

/* The object the own functions of one instance share, and how many of them are alive. */
typedef struct {
  void *object;
  wn_release_fn release;
  size_t functions;
} wn_owner_t;

static void owner_drop(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  wn_owner_t *owner = hint;
  if (--owner->functions == 0) {
    owner->release(owner->object);
    free(owner);
  }
}

void wn_own_methods(napi_env env, napi_value self, void *object, wn_release_fn release,
                    const wn_own_method_t *methods, size_t count) {
  wn_owner_t *owner = malloc(sizeof *owner);
  if (owner == NULL) {
    release(object);
    return;
  }
  *owner = (wn_owner_t){object, release, 1};
  for (size_t i = 0; i < count; i++) {
    napi_value fn;
    if (napi_create_function(env, methods[i].name, NAPI_AUTO_LENGTH, methods[i].fn, object, &fn) !=
            napi_ok ||
        napi_add_finalizer(env, fn, NULL, owner_drop, owner, NULL) != napi_ok)
      break;
    owner->functions++;
    napi_property_descriptor own = {
        methods[i].name, NULL, NULL, NULL, NULL, fn, napi_writable | napi_configurable, NULL};
    napi_define_properties(env, self, 1, &own);
  }
  owner_drop(env, NULL, owner); /* this function's count */
}

void *wn_own_object(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  void *object = NULL;
  return napi_get_cb_info(env, info, &n, argv, NULL, &object) == napi_ok ? object : NULL;
}

napi_value wn_own_with_options(napi_env env, napi_callback_info info, wn_with_options_fn fn) {
  napi_value options;
  wn_state_t *st = wn_state(env);
  void *object = st == NULL ? NULL : wn_own_object(env, info, 1, &options);
  return wn_guard(env, object == NULL ? NULL : fn(env, st, object, options));
}

NAPI_MODULE_INIT() {
  napi_status (*inits[])(napi_env, napi_value) = {
      wn_loop_init,  wn_error_init,     wn_future_init,    wn_combinators_init,  wn_lock_init,
      wn_event_init, wn_condition_init, wn_semaphore_init, wn_barrier_init,      wn_queue_init,
      wn_task_init,  wn_taskgroup_init, wn_timeout_init,   wn_as_completed_init, wn_process_init,
      wn_net_init,   wn_stream_init,    wn_protocol_init,  wn_udp_init,
  };
  for (size_t i = 0; i < WN_COUNT(inits); i++) {
    if (inits[i](env, exports) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending)
        napi_throw_error(env, NULL, "weft: the addon could not be set up");
      return NULL;
    }
  }
  return exports;
}
