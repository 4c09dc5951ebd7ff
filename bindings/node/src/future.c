/* The bridge: every core future is a Promise. A Promise made here settles from the
 * future's done callback, which the core runs from a libuv callback on Node's loop; it
 * settles inside a handle scope and a callback scope, so that closing the scope runs the
 * awaiting continuations at once, as they would run after Node's own I/O callbacks.
 *
 * The other way, any JS value or thenable becomes a core future (wn_future_of), so that
 * the core's combinators work on a mix of weft operations and other Promises. JS values
 * that cross into the core (results, errors' payloads, queue items) travel as a reference
 * (wn_jsref_t) the core frees with the value. */
#include <stdlib.h>
#include <string.h>

#include "weft_node.h"

struct wn_bridge_s {
  wn_state_t *st;
  uint32_t slot; /* in st->slots, or UINT32_MAX */
  weft_future_t *future;
  napi_deferred deferred;
  wn_convert_fn convert;
  void *arg;
  weft_free_fn arg_free;
  napi_ref signal;   /* the AbortSignal listened to, if any */
  napi_ref listener; /* and the listener, removed once the future is done */
  wn_bridge_t *prev, *next;
  /* Until a lookup names it (bridges_name), the Promise, held here and listed in
   * st->unnamed: see wn_promise. */
  napi_ref promise;
  wn_bridge_t *unnamed_prev, *unnamed_next;
};

typedef struct wn_slot_s {
  wn_bridge_t *bridge; /* NULL when free */
  uint32_t generation;
  uint32_t next_free;
} wn_slot_t;

#define WN_SLOT_BITS 24
/* Freed bridges kept for reuse: as many as a burst of operations in flight usually has. */
#define WN_BRIDGE_POOL 1024

/* The id of slot i: 2^24 slots and 2^29 generations, below 2^53. */
static double slot_id(const wn_state_t *st, uint32_t i) {
  return (double)(st->slots[i].generation & 0x1fffffffu) * (double)(1u << WN_SLOT_BITS) + (double)i;
}

/* A slot for a pending bridge; its id (generation and index) fits a JS number exactly. */
static int slot_take(wn_state_t *st, wn_bridge_t *b, double *id) {
  if (st->free_slot >= st->nslots) {
    uint32_t n = st->nslots ? st->nslots * 2 : 64;
    if (n > (1u << WN_SLOT_BITS))
      return WEFT_ENOMEM;
    wn_slot_t *grown = realloc(st->slots, n * sizeof *grown);
    if (grown == NULL)
      return WEFT_ENOMEM;
    for (uint32_t i = st->nslots; i < n; i++)
      grown[i] = (wn_slot_t){NULL, 0, i + 1};
    st->slots = grown;
    st->free_slot = st->nslots;
    st->nslots = n;
  }
  uint32_t i = st->free_slot;
  wn_slot_t *s = &st->slots[i];
  st->free_slot = s->next_free;
  s->bridge = b;
  b->slot = i;
  *id = slot_id(st, i);
  return 0;
}

/* The symbol under which a Promise names its slot. */
static napi_status future_key(napi_env env, wn_state_t *st, napi_value *out) {
  return napi_get_reference_value(env, st->future_key, out);
}

static void slot_give_back(wn_state_t *st, wn_bridge_t *b) {
  if (b->slot == UINT32_MAX)
    return;
  wn_slot_t *s = &st->slots[b->slot];
  s->bridge = NULL;
  s->generation++;
  s->next_free = st->free_slot;
  st->free_slot = b->slot;
  b->slot = UINT32_MAX;
}

static wn_bridge_t *slot_find(wn_state_t *st, double id) {
  if (!(id >= 0 && id < 9007199254740992.0))
    return NULL;
  uint64_t n = (uint64_t)id;
  uint32_t i = (uint32_t)(n & ((1u << WN_SLOT_BITS) - 1));
  uint32_t generation = (uint32_t)(n >> WN_SLOT_BITS);
  if (i >= st->nslots || st->slots[i].bridge == NULL ||
      (st->slots[i].generation & 0x1fffffffu) != generation)
    return NULL;
  return st->slots[i].bridge;
}

/* The slot table and the pool of freed bridges go with the state (loop.c). */
void wn_bridges_free(wn_state_t *st);
void wn_bridges_free(wn_state_t *st) {
  free(st->slots);
  st->slots = NULL;
  st->nslots = st->free_slot = 0;
  while (st->bridge_pool != NULL) {
    wn_bridge_t *b = st->bridge_pool;
    st->bridge_pool = b->next;
    free(b);
  }
  st->bridge_pool_len = 0;
}

/* N-API 8 makes references to objects only: other values are kept in a one-element array. */
typedef struct {
  napi_env env;
  napi_ref ref;
  int boxed;
} wn_jsref_t;

void wn_payload_free(void *ptr) {
  wn_jsref_t *r = ptr;
  napi_delete_reference(r->env, r->ref);
  free(r);
}

static wn_jsref_t *jsref_new(napi_env env, napi_value value) {
  wn_jsref_t *r = malloc(sizeof *r);
  if (r == NULL)
    return NULL;
  r->env = env;
  napi_valuetype t;
  napi_typeof(env, value, &t);
  r->boxed = t != napi_object && t != napi_function;
  napi_value held = value;
  if (r->boxed && (napi_create_array_with_length(env, 1, &held) != napi_ok ||
                   napi_set_element(env, held, 0, value) != napi_ok))
    held = NULL;
  if (held == NULL || napi_create_reference(env, held, 1, &r->ref) != napi_ok) {
    free(r);
    return NULL;
  }
  return r;
}

static napi_status jsref_value(napi_env env, const wn_jsref_t *r, napi_value *out) {
  napi_status s = napi_get_reference_value(env, r->ref, out);
  if (s == napi_ok && r->boxed)
    s = napi_get_element(env, *out, 0, out);
  return s;
}

void *wn_payload_new(napi_env env, napi_value value) {
  return jsref_new(env, value);
}

int wn_value_from_js(napi_env env, napi_value value, weft_value_t *out) {
  /* A number travels as itself (a double keeps every Number, -0 and NaN included): no
   * one-element array and reference to make and free for it. */
  napi_valuetype t;
  double d;
  if (napi_typeof(env, value, &t) == napi_ok && t == napi_number &&
      napi_get_value_double(env, value, &d) == napi_ok) {
    *out = weft_value_double(d);
    return 0;
  }
  wn_jsref_t *r = jsref_new(env, value);
  if (r == NULL)
    return WEFT_ENOMEM;
  *out = weft_value_pointer(r, wn_payload_free);
  return 0;
}

napi_status wn_value_to_js(napi_env env, const weft_value_t *value, napi_value *out) {
  if (value == NULL)
    return napi_get_undefined(env, out);
  switch (value->type) {
  case WEFT_VALUE_INT:
    if (value->i >= -9007199254740991LL && value->i <= 9007199254740991LL)
      return napi_create_int64(env, value->i, out);
    return napi_create_bigint_int64(env, value->i, out);
  case WEFT_VALUE_DOUBLE:
    return napi_create_double(env, value->d, out);
  case WEFT_VALUE_BYTES:
    return napi_create_buffer_copy(env, value->len, value->ptr, NULL, out);
  case WEFT_VALUE_POINTER:
    /* Every pointer value on this environment's loop was made by wn_value_from_js. */
    if (value->free_fn == wn_payload_free)
      return jsref_value(env, value->ptr, out);
    return napi_get_undefined(env, out);
  default:
    return napi_get_undefined(env, out);
  }
}

napi_value wn_future_error_value(napi_env env, wn_state_t *st, weft_future_t *future) {
  int code = weft_future_error(future);
  wn_jsref_t *payload = weft_future_error_payload(future);
  napi_value out;
  if (code != WEFT_ECANCELLED && payload != NULL && jsref_value(env, payload, &out) == napi_ok &&
      out != NULL)
    return out;
  out = wn_error(env, st, code, weft_future_error_message(future));
  wn_error_decorate(env, future, out);
  return out;
}

/* ---- Core future -> Promise ----------------------------------------------------------- */

/* Takes `b` off the list of bridges whose Promise is not named yet. */
static void unnamed_unlink(napi_env env, wn_bridge_t *b) {
  if (b->promise == NULL)
    return;
  napi_delete_reference(env, b->promise);
  b->promise = NULL;
  if (b->unnamed_prev != NULL)
    b->unnamed_prev->unnamed_next = b->unnamed_next;
  else
    b->st->unnamed = b->unnamed_next;
  if (b->unnamed_next != NULL)
    b->unnamed_next->unnamed_prev = b->unnamed_prev;
  b->unnamed_prev = b->unnamed_next = NULL;
}

static void bridge_unlink(wn_bridge_t *b) {
  unnamed_unlink(b->st->env, b);
  slot_give_back(b->st, b);
  if (b->prev != NULL)
    b->prev->next = b->next;
  else if (b->st->pending == b)
    b->st->pending = b->next;
  if (b->next != NULL)
    b->next->prev = b->prev;
  b->prev = b->next = NULL;
}

static void bridge_free(napi_env env, wn_bridge_t *b) {
  slot_give_back(b->st, b); /* taken for a Promise settled at once (wn_promise) */
  if (b->signal != NULL)
    napi_delete_reference(env, b->signal);
  if (b->listener != NULL)
    napi_delete_reference(env, b->listener);
  if (b->arg_free != NULL)
    b->arg_free(b->arg);
  weft_future_release(b->future);
  wn_state_t *st = b->st;
  if (st->bridge_pool_len < WN_BRIDGE_POOL) {
    b->next = st->bridge_pool;
    st->bridge_pool = b;
    st->bridge_pool_len++;
  } else {
    free(b);
  }
}

/* A bridge from the pool of freed ones, or a new one: one allocation less per operation. */
static wn_bridge_t *bridge_alloc(wn_state_t *st) {
  wn_bridge_t *b = st->bridge_pool;
  if (b == NULL)
    return calloc(1, sizeof *b);
  st->bridge_pool = b->next;
  st->bridge_pool_len--;
  memset(b, 0, sizeof *b);
  return b;
}

/* Stops listening to the signal: a long-lived signal (a task's) must not gather one
 * listener per operation. */
static void bridge_unlisten(napi_env env, wn_bridge_t *b) {
  if (b->signal == NULL)
    return;
  napi_value signal, listener, remove, argv[2];
  if (napi_get_reference_value(env, b->signal, &signal) == napi_ok &&
      napi_get_reference_value(env, b->listener, &listener) == napi_ok &&
      napi_get_named_property(env, signal, "removeEventListener", &remove) == napi_ok &&
      napi_create_string_utf8(env, "abort", NAPI_AUTO_LENGTH, &argv[0]) == napi_ok) {
    argv[1] = listener;
    napi_value ignored;
    if (napi_call_function(env, signal, remove, 2, argv, &ignored) != napi_ok)
      napi_get_and_clear_last_exception(env, &ignored);
  }
}

/* Settles the Promise from the finished future; leaves no exception pending. */
static void bridge_settle(napi_env env, wn_bridge_t *b) {
  bridge_unlisten(env, b);
  napi_value value = NULL;
  if (weft_future_error(b->future) != 0) {
    napi_reject_deferred(env, b->deferred, wn_future_error_value(env, b->st, b->future));
    return;
  }
  napi_status s;
  if (b->convert != NULL) {
    s = b->convert(env, b->future, b->arg, &value);
  } else {
    const weft_value_t *result = NULL;
    weft_future_result(b->future, &result);
    s = wn_value_to_js(env, result, &value);
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_get_and_clear_last_exception(env, &value);
    napi_reject_deferred(env, b->deferred, value);
  } else if (s != napi_ok || value == NULL) {
    napi_reject_deferred(env, b->deferred, wn_error(env, b->st, WEFT_ENOMEM, NULL));
  } else {
    napi_resolve_deferred(env, b->deferred, value);
  }
}

static void on_done(weft_future_t *future, void *arg) {
  (void)future;
  wn_bridge_t *b = arg;
  wn_state_t *st = b->st;
  napi_env env = st->env;
  bridge_unlink(b);
  napi_handle_scope hs;
  napi_callback_scope cs = NULL;
  napi_value resource;
  napi_open_handle_scope(env, &hs);
  if (napi_get_reference_value(env, st->resource, &resource) == napi_ok)
    napi_open_callback_scope(env, resource, st->async_context, &cs);
  bridge_settle(env, b);
  /* Closing the outermost callback scope runs the microtasks: the continuations. */
  if (cs != NULL)
    napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
  bridge_free(env, b);
}

/* Cancels `future` and, when it is the future of a pending bridge and the cancellation
 * finishes it at once, settles that bridge's Promise here rather than from the done
 * callback the cancellation would schedule: a task's step passing a cancellation on (see
 * task.c) delivers it in its own iteration, as asyncio's Task.cancel() wakes the coroutine
 * in the next one. Callers run inside a callback scope. */
int wn_cancel_now(napi_env env, wn_state_t *st, weft_future_t *future, const char *message) {
  wn_bridge_t *b = st->pending;
  while (b != NULL && b->future != future)
    b = b->next;
  if (b == NULL || weft_future_remove_done_callback(future, on_done, b) != 1)
    return weft_future_cancel(future, message);
  int rc = weft_future_cancel(future, message);
  if (weft_future_done(future)) {
    bridge_unlink(b);
    bridge_settle(env, b);
    bridge_free(env, b);
  } else if (weft_future_add_done_callback(future, on_done, b) != 0) {
    /* Kept pending for ever otherwise: reject it now. */
    bridge_unlink(b);
    bridge_unlisten(env, b);
    napi_reject_deferred(env, b->deferred, wn_error(env, st, WEFT_ENOMEM, NULL));
    bridge_free(env, b);
  }
  return rc;
}

void wn_bridges_abandon(wn_state_t *st);
/* The environment is going: the Promises still pending stay pending for ever (nothing
 * can await them any more). Their napi_deferred cannot be freed without settling, which
 * needs JavaScript; it is left to the isolate's teardown. */
void wn_bridges_abandon(wn_state_t *st) {
  while (st->pending != NULL) {
    wn_bridge_t *b = st->pending;
    bridge_unlink(b);
    weft_future_remove_done_callback(b->future, on_done, b);
    bridge_free(st->env, b);
  }
}

static napi_value on_abort(napi_env env, napi_callback_info info) {
  wn_bridge_t *b = NULL;
  napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&b);
  if (b != NULL)
    weft_future_cancel(b->future, NULL);
  return NULL;
}

/* Listens to `signal`: returns nonzero (and throws) on failure. */
static int bridge_listen(napi_env env, wn_bridge_t *b, napi_value signal) {
  napi_value aborted, listener, add, argv[2], ignored;
  bool is_aborted = false;
  if (napi_get_named_property(env, signal, "aborted", &aborted) != napi_ok ||
      napi_coerce_to_bool(env, aborted, &aborted) != napi_ok ||
      napi_get_value_bool(env, aborted, &is_aborted) != napi_ok)
    return -1;
  if (is_aborted) {
    weft_future_cancel(b->future, NULL);
    return 0;
  }
  if (napi_create_function(env, "onabort", NAPI_AUTO_LENGTH, on_abort, b, &listener) != napi_ok ||
      napi_get_named_property(env, signal, "addEventListener", &add) != napi_ok ||
      napi_create_string_utf8(env, "abort", NAPI_AUTO_LENGTH, &argv[0]) != napi_ok)
    return -1;
  argv[1] = listener;
  if (napi_call_function(env, signal, add, 2, argv, &ignored) != napi_ok)
    return -1;
  napi_create_reference(env, signal, 1, &b->signal);
  napi_create_reference(env, listener, 1, &b->listener);
  return 0;
}

/* Whether `future` is done at once with nothing for its Promise (a free lock, room in a
 * queue, a set event). */
static int done_with_nothing(weft_future_t *future) {
  const weft_value_t *result = NULL;
  return weft_future_done(future) && weft_future_error(future) == 0 &&
         weft_future_result(future, &result) == 0 &&
         (result == NULL || result->type == WEFT_VALUE_NONE);
}

napi_value wn_promise(napi_env env, wn_state_t *st, weft_future_t *future, napi_value signal,
                      wn_convert_fn convert, void *arg, weft_free_fn arg_free) {
  /* An operation done at once with nothing to give answers with the one Promise already
   * resolved with undefined: a Node-API Promise made and resolved costs about 1,800
   * instructions (a persistent handle for its deferred, a TryCatch each), a fifth of a
   * Queue(100)'s hand-over. The Promise is the same object for every such answer; nothing
   * can change its state. Inside a task every Promise goes through the task's hook (below),
   * which gives it a prototype of its own. */
  napi_value resolved;
  if (st->tasks == NULL && convert == NULL && st->resolved != NULL && done_with_nothing(future) &&
      wn_is_undefined(env, signal) &&
      napi_get_reference_value(env, st->resolved, &resolved) == napi_ok) {
    if (arg_free != NULL)
      arg_free(arg);
    weft_future_release(future);
    return resolved;
  }
  wn_bridge_t *b = bridge_alloc(st);
  napi_value promise;
  if (b == NULL) {
    if (arg_free != NULL)
      arg_free(arg);
    weft_future_release(future);
    return wn_throw(env, WEFT_ENOMEM, NULL);
  }
  b->st = st;
  b->slot = UINT32_MAX;
  b->future = future;
  b->convert = convert;
  b->arg = arg;
  b->arg_free = arg_free;
  if (napi_create_promise(env, &b->deferred, &promise) != napi_ok) {
    bridge_free(env, b);
    return NULL;
  }
  /* Inside a task, index.js's hook names the Promise itself: a property set from JS costs
   * a small part of one set from C (see below). */
  int named = 0;
  double id;
  if (st->tasks != NULL) {
    int slotted = slot_take(st, b, &id) == 0;
    named = wn_promise_made(env, st, promise, slotted ? id : -1) && slotted;
  }
  int rc = 0;
  if (!wn_is_undefined(env, signal) && bridge_listen(env, b, signal) != 0)
    rc = WEFT_EINVAL;
  if (rc == 0 && weft_future_done(future)) {
    /* Already done (a free lock, an item waiting): settle now; the continuation runs at
     * the next microtask checkpoint, with no trip around the loop. */
    bridge_settle(env, b);
    bridge_free(env, b);
    return promise;
  }
  if (rc == 0)
    rc = weft_future_add_done_callback(future, on_done, b);
  if (rc != 0) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    napi_value error;
    if (pending)
      napi_get_and_clear_last_exception(env, &error);
    else
      error = wn_error(env, st, rc, NULL);
    weft_future_cancel(future, NULL);
    bridge_unlisten(env, b);
    napi_reject_deferred(env, b->deferred, error);
    bridge_free(env, b);
    return promise;
  }
  b->next = st->pending;
  if (b->next != NULL)
    b->next->prev = b;
  st->pending = b;
  /* The combinators find the bridge of a Promise through a property naming its slot
   * (without it they still work, through a future following the Promise). Setting that
   * property from C costs more than the rest of the round trip's C side (a map transition
   * and a property array, through V8's generic path), and most Promises are only awaited;
   * so the bridge keeps its Promise (a reference costs a sixth of the property) and a
   * lookup names the Promises still pending then, each once (bridges_name). */
  if (named)
    return promise;
  if ((b->slot != UINT32_MAX || slot_take(st, b, &id) == 0) &&
      napi_create_reference(env, promise, 1, &b->promise) == napi_ok) {
    b->unnamed_next = st->unnamed;
    if (b->unnamed_next != NULL)
      b->unnamed_next->unnamed_prev = b;
    st->unnamed = b;
  }
  return promise;
}

/* ---- JS value -> core future ---------------------------------------------------------- */

typedef struct {
  weft_future_t *future;
  int refs; /* the two reaction functions */
} wn_follow_t;

static void follow_unref(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  wn_follow_t *f = data;
  if (--f->refs == 0) {
    weft_future_release(f->future);
    free(f);
  }
}

static napi_value on_fulfilled(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wn_follow_t *f = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&f);
  weft_value_t value;
  if (!weft_future_done(f->future) && wn_value_from_js(env, argv[0], &value) == 0)
    weft_future_set_result(f->future, value);
  return NULL;
}

int wn_error_code_of(napi_env env, napi_value error) {
  napi_valuetype t;
  napi_value errno_value;
  int32_t code;
  if (napi_typeof(env, error, &t) == napi_ok && t == napi_object &&
      napi_get_named_property(env, error, "errno", &errno_value) == napi_ok &&
      napi_get_value_int32(env, errno_value, &code) == napi_ok && code < 0)
    return code;
  napi_value ignored;
  napi_get_and_clear_last_exception(env, &ignored);
  return WEFT_EUNKNOWN;
}

static napi_value on_rejected(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wn_follow_t *f = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&f);
  if (weft_future_done(f->future))
    return NULL;
  /* A weft error keeps its code (a CancelledError cancels the future, as in asyncio); any
   * other error travels as the payload of an EUNKNOWN. */
  int code = wn_error_code_of(env, argv[0]);
  if (code == WEFT_ECANCELLED) {
    weft_future_cancel(f->future, NULL);
    return NULL;
  }
  wn_jsref_t *r = jsref_new(env, argv[0]);
  weft_future_set_error(f->future, code, NULL, r, r != NULL ? wn_payload_free : NULL);
  return NULL;
}

/* Names the Promise of every pending bridge that a lookup has not named yet. */
static void bridges_name(napi_env env, wn_state_t *st) {
  napi_value key, promise, number;
  if (st->unnamed == NULL || future_key(env, st, &key) != napi_ok)
    return;
  while (st->unnamed != NULL) {
    wn_bridge_t *b = st->unnamed;
    if (napi_get_reference_value(env, b->promise, &promise) == napi_ok && promise != NULL &&
        napi_create_double(env, slot_id(st, b->slot), &number) == napi_ok)
      napi_set_property(env, promise, key, number);
    unnamed_unlink(env, b);
  }
}

weft_future_t *wn_future_lookup(napi_env env, wn_state_t *st, napi_value value) {
  napi_valuetype t;
  napi_value key, number;
  double id;
  if (napi_typeof(env, value, &t) != napi_ok || t != napi_object)
    return NULL;
  bridges_name(env, st);
  if (future_key(env, st, &key) != napi_ok ||
      napi_get_property(env, value, key, &number) != napi_ok ||
      napi_get_value_double(env, number, &id) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return NULL;
  }
  wn_bridge_t *b = slot_find(st, id);
  return b == NULL ? NULL : weft_future_retain(b->future);
}

weft_future_t *wn_future_of(napi_env env, wn_state_t *st, napi_value value) {
  weft_future_t *held = wn_future_lookup(env, st, value);
  if (held != NULL)
    return held;
  if ((held = wn_task_future_of(env, value)) != NULL)
    return held;

  weft_future_t *future;
  int rc = weft_future_new(st->loop, &future);
  if (rc != 0) {
    wn_throw(env, rc, NULL);
    return NULL;
  }
  wn_follow_t *f = malloc(sizeof *f);
  if (f == NULL) {
    weft_future_release(future);
    wn_throw(env, WEFT_ENOMEM, NULL);
    return NULL;
  }
  f->future = weft_future_retain(future);
  f->refs = 2;
  /* Promise.resolve(value).then(fulfilled, rejected): thenables and plain values alike. */
  napi_value global, promise_ctor, resolve, then, argv[2], p;
  napi_status s =
      napi_create_function(env, "fulfilled", NAPI_AUTO_LENGTH, on_fulfilled, f, &argv[0]);
  if (s == napi_ok &&
      (s = napi_add_finalizer(env, argv[0], f, follow_unref, NULL, NULL)) != napi_ok)
    f->refs--;
  if (s == napi_ok)
    s = napi_create_function(env, "rejected", NAPI_AUTO_LENGTH, on_rejected, f, &argv[1]);
  if (s == napi_ok &&
      (s = napi_add_finalizer(env, argv[1], f, follow_unref, NULL, NULL)) != napi_ok)
    f->refs--;
  if (s != napi_ok) {
    for (int i = f->refs; i > 0; i--)
      follow_unref(env, f, NULL);
    weft_future_release(future);
    return NULL;
  }
  if (napi_get_global(env, &global) != napi_ok ||
      napi_get_named_property(env, global, "Promise", &promise_ctor) != napi_ok ||
      napi_get_named_property(env, promise_ctor, "resolve", &resolve) != napi_ok ||
      napi_call_function(env, promise_ctor, resolve, 1, &value, &p) != napi_ok ||
      napi_get_named_property(env, p, "then", &then) != napi_ok ||
      napi_call_function(env, p, then, 2, argv, &p) != napi_ok) {
    weft_future_release(future);
    return NULL;
  }
  return future;
}

/* isFuture(value): whether a value is a pending weft Promise (one naming a core future). */
static napi_value is_future(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 1, argv, NULL) != 0)
    return NULL;
  weft_future_t *f = wn_future_lookup(env, st, argv[0]);
  napi_get_boolean(env, f != NULL, &out);
  weft_future_release(f);
  return out;
}

napi_status wn_future_init(napi_env env, napi_value exports) {
  wn_state_t *st = NULL;
  napi_value description, key;
  napi_status s = napi_get_instance_data(env, (void **)&st);
  if (s == napi_ok && st != NULL &&
      (s = napi_create_string_utf8(env, "weft.future", NAPI_AUTO_LENGTH, &description)) ==
          napi_ok &&
      (s = napi_create_symbol(env, description, &key)) == napi_ok)
    s = napi_create_reference(env, key, 1, &st->future_key);
  /* For index.js's task hook (wn_promise_made). */
  if (s == napi_ok)
    s = napi_set_named_property(env, exports, "futureKey", key);
  napi_deferred deferred;
  napi_value resolved, undefined;
  if (s == napi_ok && (s = napi_create_promise(env, &deferred, &resolved)) == napi_ok &&
      (s = napi_get_undefined(env, &undefined)) == napi_ok &&
      (s = napi_resolve_deferred(env, deferred, undefined)) == napi_ok)
    s = napi_create_reference(env, resolved, 1, &st->resolved);
  if (s != napi_ok)
    return s;
  napi_property_descriptor props[] = {WN_METHOD("isFuture", is_future)};
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
