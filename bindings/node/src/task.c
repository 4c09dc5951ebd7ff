/* Tasks: core step-driven tasks (weft_task_new_stepped) that drive a JS async function.
 *
 * V8 runs an async function by itself: nobody can resume it from outside, so the step
 * cannot hand it each awaited outcome as asyncio's Task.__step does. What the step does
 * instead (README.md, "Tasks"):
 *   - The first step calls the function (inside a callback scope, so that it runs up to
 *     its first await that is not ready, microtasks included).
 *   - The task then waits in the core on a future of its own, `wake`. When the function's
 *     Promise settles, the binding ends the core task with that outcome at once, between
 *     its steps (weft_task_return / weft_task_fail), in the iteration where asyncio's
 *     coroutine would have returned; so task results, errors and cancellation are the
 *     core's.
 *   - Every weft Promise the function awaits is reported here (index.js's then-hook,
 *     taskAwaits) and to the core (weft_task_set_awaiting): a cancellation of the task
 *     cancels that future at once, as asyncio's does, and its Promise then rejects with a
 *     CancelledError inside the function, in the next iteration; the function may catch it
 *     and go on (uncancel() as in asyncio). The core queues the task's step ahead of that
 *     rejection, and the step aborts the task's AbortSignal. When the function awaits
 *     something that is not weft's, the cancellation cancels `wake` instead and waits for
 *     its next weft await, the signal being aborted at the step for the APIs that take
 *     one. */
#include <stdlib.h>
#include <string.h>

#include "weft_node.h"

static const napi_type_tag task_tag = {0x77656674100c0007ULL, 0x5461736b00000007ULL};

typedef struct wn_task_s {
  wn_state_t *st;
  weft_task_t *task;
  napi_ref self;   /* the Task object, weak */
  napi_ref runner; /* until the first step calls it */
  weft_future_t *wake;
  int cancel_pending;
  char *cancel_message; /* for a pending cancellation: asyncio passes task.cancel(msg) on */
  int finished;         /* 1: fulfilled (result), 2: rejected (code, payload) */
  weft_value_t result;
  int code;
  void *payload;
  int refs;    /* the core's side (until the task is done) and the Task object's */
  int in_step; /* its step runs (perhaps with another task's nested in it): it ends it */
  struct wn_task_s *prev, *next;
} wn_task_t;

static void task_unlink(wn_task_t *t) {
  if (t->prev != NULL)
    t->prev->next = t->next;
  else if (t->st->tasks == t)
    t->st->tasks = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
}

/* Drops what the core side holds: the task is done, or the loop went first. */
static void task_retire(napi_env env, wn_task_t *t) {
  task_unlink(t);
  if (t->runner != NULL)
    napi_delete_reference(env, t->runner);
  t->runner = NULL;
  weft_future_release(t->wake);
  t->wake = NULL;
  free(t->cancel_message);
  t->cancel_message = NULL;
  weft_value_clear(&t->result);
  if (t->payload != NULL)
    wn_payload_free(t->payload);
  t->payload = NULL;
}

static void task_unref(napi_env env, wn_task_t *t) {
  if (--t->refs > 0)
    return;
  if (t->self != NULL)
    napi_delete_reference(env, t->self);
  weft_task_release(t->task);
  free(t->cancel_message);
  free(t);
}

static void task_object_free(napi_env env, void *data, void *hint) {
  (void)hint;
  task_unref(env, data);
}

void wn_tasks_abandon(wn_state_t *st) {
  while (st->tasks != NULL) {
    wn_task_t *t = st->tasks;
    task_retire(st->env, t);
    task_unref(st->env, t);
  }
}

static wn_task_t *task_of(napi_env env, napi_value value) {
  return wn_unwrap_raw(env, value, &task_tag);
}

weft_future_t *wn_task_future_of(napi_env env, napi_value value) {
  wn_task_t *t = task_of(env, value);
  return t == NULL ? NULL : weft_future_retain(weft_task_future(t->task));
}

/* Tells index.js that cancellation reached the task (it aborts the task's signal). */
static void call_cancel_hook(napi_env env, wn_task_t *t) {
  napi_value hook, self, global, ignored;
  if (t->st->cancel_hook == NULL ||
      napi_get_reference_value(env, t->st->cancel_hook, &hook) != napi_ok ||
      napi_get_reference_value(env, t->self, &self) != napi_ok || self == NULL)
    return;
  napi_get_global(env, &global);
  if (napi_call_function(env, global, hook, 1, &self, &ignored) != napi_ok)
    napi_get_and_clear_last_exception(env, &ignored);
}

static void route_cancel(napi_env env, wn_task_t *t) {
  /* uncancel() back to 0 before the cancellation got here withdrew it (asyncio 3.13 clears
   * _must_cancel then). */
  if (weft_task_cancelling(t->task) == 0)
    return;
  call_cancel_hook(env, t);
  /* The core cancels `wake` with the message given to the task's cancel(). */
  const char *message =
      t->wake != NULL && weft_future_cancelled(t->wake) ? weft_future_error_message(t->wake) : NULL;
  weft_future_t *awaited = weft_task_awaiting(t->task); /* in a step: what the function awaits */
  if (awaited != NULL && !weft_future_done(awaited)) {
    wn_cancel_now(env, t->st, awaited, message);
  } else {
    t->cancel_pending = 1;
    free(t->cancel_message);
    t->cancel_message = message != NULL ? strdup(message) : NULL;
  }
}

static napi_value on_fulfilled(napi_env env, napi_callback_info info);
static napi_value on_rejected(napi_env env, napi_callback_info info);

/* Calls the function; its Promise's settlement is reported to on_fulfilled/on_rejected. */
static void task_run(napi_env env, wn_task_t *t) {
  napi_value runner, global, promise, then, argv[2], ignored;
  napi_get_reference_value(env, t->runner, &runner);
  napi_delete_reference(env, t->runner);
  t->runner = NULL;
  napi_get_global(env, &global);
  if (napi_call_function(env, global, runner, 0, NULL, &promise) != napi_ok ||
      napi_create_function(env, "fulfilled", NAPI_AUTO_LENGTH, on_fulfilled, t, &argv[0]) !=
          napi_ok ||
      napi_create_function(env, "rejected", NAPI_AUTO_LENGTH, on_rejected, t, &argv[1]) !=
          napi_ok ||
      napi_get_named_property(env, promise, "then", &then) != napi_ok ||
      napi_call_function(env, promise, then, 2, argv, &ignored) != napi_ok) {
    /* index.js's runner always returns a Promise; anything else ends the task. */
    napi_value error = NULL;
    napi_get_and_clear_last_exception(env, &error);
    t->finished = 2;
    t->code = WEFT_EUNKNOWN;
    t->payload = error != NULL ? wn_payload_new(env, error) : NULL;
  }
}

static void task_step(weft_task_t *task, int throw_code, void *arg) {
  wn_task_t *t = arg;
  wn_state_t *st = t->st;
  napi_env env = st->env;
  napi_handle_scope hs;
  napi_callback_scope cs = NULL;
  napi_value resource;
  napi_open_handle_scope(env, &hs);
  if (napi_get_reference_value(env, st->resource, &resource) == napi_ok)
    napi_open_callback_scope(env, resource, st->async_context, &cs);
  wn_task_t *outer = st->stepping;
  st->stepping = t;
  t->in_step = 1;
  if (t->runner != NULL && throw_code == WEFT_ECANCELLED) {
    /* Cancelled before it started: the function never runs, as in asyncio. */
    napi_delete_reference(env, t->runner);
    t->runner = NULL;
    t->finished = 2;
    t->code = WEFT_ECANCELLED;
  } else if (t->runner != NULL)
    task_run(env, t);
  else if (!t->finished &&
           (throw_code == WEFT_ECANCELLED || (t->wake != NULL && weft_future_cancelled(t->wake))))
    route_cancel(env, t);
  else if (!t->finished && t->wake != NULL && !weft_future_done(t->wake) &&
           weft_task_cancelling(task) > 0)
    /* Woken early: the core cancelled the future the function awaits, whose rejection
     * follows this step. */
    call_cancel_hook(env, t);
  /* Closing the scope runs the microtasks: the function goes on up to its next wait. */
  if (cs != NULL)
    napi_close_callback_scope(env, cs);
  st->stepping = outer;
  t->in_step = 0;
  weft_future_release(t->wake);
  t->wake = NULL;
  if (t->finished == 1) {
    weft_value_t result = t->result;
    t->result = weft_value_none();
    weft_task_return(task, result);
  } else if (t->finished == 2) {
    void *payload = t->payload;
    t->payload = NULL;
    weft_task_fail(task, t->code, NULL, payload, payload != NULL ? wn_payload_free : NULL);
  } else {
    int rc = weft_future_new(st->loop, &t->wake);
    if (rc == 0)
      rc = weft_task_suspend(task, t->wake);
    if (rc != 0) {
      weft_task_fail(task, rc, "the task could not wait", NULL, NULL);
      t->finished = 2;
    }
  }
  if (t->finished) {
    task_retire(env, t);
    task_unref(env, t);
  }
  napi_close_handle_scope(env, hs);
}

/* The function settled. Inside its step, the step ends the core task; otherwise the task
 * ends now, between its steps, in the iteration where asyncio's coroutine would have
 * stopped. Only if the core cannot do that (no memory) does a step end it, one
 * iteration later. */
static void settled(napi_env env, wn_task_t *t) {
  if (t->in_step)
    return;
  int rc;
  if (t->finished == 1) {
    rc = weft_task_return(t->task, t->result);
    t->result = weft_value_none();
  } else {
    void *payload = t->payload;
    t->payload = NULL;
    rc = weft_task_fail(t->task, t->code, NULL, payload, payload != NULL ? wn_payload_free : NULL);
    rc = rc == t->code ? 0 : rc;
  }
  if (rc == 0) {
    task_retire(env, t);
    task_unref(env, t);
  } else {
    /* The outcome went with the failed call: the step ends the task with that error. */
    t->finished = 2;
    t->code = rc;
    if (t->wake != NULL && !weft_future_done(t->wake))
      weft_future_set_result(t->wake, weft_value_none());
  }
}

static napi_value on_fulfilled(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wn_task_t *t = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&t);
  if (t->finished || t->st->closing)
    return NULL;
  if (wn_value_from_js(env, argv[0], &t->result) != 0) {
    t->finished = 2;
    t->code = WEFT_ENOMEM;
  } else {
    t->finished = 1;
  }
  settled(env, t);
  return NULL;
}

static napi_value on_rejected(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  wn_task_t *t = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&t);
  if (t->finished || t->st->closing)
    return NULL;
  t->finished = 2;
  t->code = wn_error_code_of(env, argv[0]);
  /* A CancelledError ends the task cancelled; the error object is not kept for it. */
  t->payload = t->code == WEFT_ECANCELLED ? NULL : wn_payload_new(env, argv[0]);
  settled(env, t);
  return NULL;
}

/* taskStart(taskObject, name, runner): runner() calls the function and returns a Promise. */
static napi_value task_start(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 3, argv, NULL) != 0)
    return NULL;
  char name[256];
  size_t len = 0;
  int has_name = !wn_is_undefined(env, argv[1]);
  if (has_name && napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "the task name must be a string");
    return NULL;
  }
  wn_task_t *t = calloc(1, sizeof *t);
  if (t == NULL)
    return wn_throw(env, WEFT_ENOMEM, NULL);
  t->st = st;
  t->refs = 2;
  t->result = weft_value_none();
  weft_task_options_t options;
  weft_task_options_init(&options);
  options.name = has_name ? name : NULL;
  int rc = weft_task_new_stepped(st->loop, task_step, t, NULL, &options, &t->task);
  if (rc != 0) {
    free(t);
    return wn_throw(env, rc, NULL);
  }
  napi_create_reference(env, argv[2], 1, &t->runner);
  napi_create_reference(env, argv[0], 0, &t->self);
  t->next = st->tasks;
  if (t->next != NULL)
    t->next->prev = t;
  st->tasks = t;
  if (napi_wrap(env, argv[0], t, task_object_free, NULL, NULL) != napi_ok)
    t->refs--; /* the core side still runs it; nothing else can reach it */
  else
    napi_type_tag_object(env, argv[0], &task_tag);
  return NULL;
}

static wn_task_t *this_task(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  napi_value a[3];
  if (wn_args(env, info, n + 1, a, NULL) != 0)
    return NULL;
  for (size_t i = 0; i < n; i++)
    argv[i] = a[i + 1];
  wn_task_t *t = task_of(env, a[0]);
  if (t == NULL)
    napi_throw_type_error(env, "ERR_INVALID_THIS", "the receiver is not a Task");
  return t;
}

/* taskPromise(task): a Promise following the core task. */
static napi_value task_promise(napi_env env, napi_callback_info info) {
  wn_state_t *st = wn_state(env);
  wn_task_t *t = st == NULL ? NULL : this_task(env, info, 0, NULL);
  if (t == NULL)
    return NULL;
  weft_future_t *f = weft_future_retain(weft_task_future(t->task));
  return wn_promise(env, st, f, NULL, NULL, NULL, NULL);
}

/* taskAwaits(task, promise): the task's function awaits this weft Promise now. */
static napi_value task_awaits(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_state_t *st = wn_state(env);
  wn_task_t *t = st == NULL ? NULL : this_task(env, info, 1, argv);
  if (t == NULL || t->finished)
    return NULL;
  /* Only a pending weft Promise is something a cancellation can reach. */
  weft_future_t *f = wn_future_lookup(env, st, argv[0]);
  if (f == NULL)
    f = wn_task_future_of(env, argv[0]);
  if (f == NULL)
    return NULL;
  if (weft_task_set_awaiting(t->task, f) != 0) {
    weft_future_release(f);
    return NULL;
  }
  /* As asyncio 3.13's uncancel(): a cancellation not delivered yet is withdrawn once the
   * count is back to 0 (a timeout that expired while the body was between weft awaits
   * and that its exit has uncancelled). */
  if (t->cancel_pending && weft_task_cancelling(t->task) == 0) {
    t->cancel_pending = 0;
    free(t->cancel_message);
    t->cancel_message = NULL;
  }
  if (t->cancel_pending && !weft_future_done(f)) {
    t->cancel_pending = 0;
    weft_future_cancel(f, t->cancel_message);
    free(t->cancel_message);
    t->cancel_message = NULL;
  }
  weft_future_release(f);
  return NULL;
}

static napi_value task_cancel(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  wn_task_t *t = this_task(env, info, 1, argv);
  if (t == NULL)
    return NULL;
  char message[256];
  int has_message =
      !wn_is_undefined(env, argv[0]) &&
      napi_get_value_string_utf8(env, argv[0], message, sizeof message, NULL) == napi_ok;
  napi_get_boolean(env, weft_task_cancel(t->task, has_message ? message : NULL) == 1, &out);
  return out;
}

static napi_value task_cancelling(napi_env env, napi_callback_info info) {
  napi_value out;
  wn_task_t *t = this_task(env, info, 0, NULL);
  if (t == NULL)
    return NULL;
  napi_create_int32(env, weft_task_cancelling(t->task), &out);
  return out;
}

static napi_value task_uncancel(napi_env env, napi_callback_info info) {
  napi_value out;
  wn_task_t *t = this_task(env, info, 0, NULL);
  if (t == NULL)
    return NULL;
  napi_create_int32(env, weft_task_uncancel(t->task), &out);
  return out;
}

static napi_value task_name(napi_env env, napi_callback_info info) {
  napi_value out;
  wn_task_t *t = this_task(env, info, 0, NULL);
  if (t == NULL)
    return NULL;
  napi_create_string_utf8(env, weft_task_name(t->task), NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value task_state(napi_env env, napi_callback_info info) {
  napi_value out;
  wn_task_t *t = this_task(env, info, 0, NULL);
  if (t == NULL)
    return NULL;
  weft_future_t *f = weft_task_future(t->task);
  const char *state = !weft_future_done(f)       ? "pending"
                      : weft_future_cancelled(f) ? "cancelled"
                                                 : "finished";
  napi_create_string_utf8(env, state, NAPI_AUTO_LENGTH, &out);
  return out;
}

/* allTasks(): the Task objects of the tasks not done yet. */
static napi_value all_tasks(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  wn_state_t *st = wn_state(env);
  if (st == NULL)
    return NULL;
  napi_create_array(env, &out);
  uint32_t n = 0;
  for (wn_task_t *t = st->tasks; t != NULL; t = t->next) {
    napi_value self;
    if (!weft_future_done(weft_task_future(t->task)) &&
        napi_get_reference_value(env, t->self, &self) == napi_ok && self != NULL)
      napi_set_element(env, out, n++, self);
  }
  return out;
}

/* setTaskHooks(promiseMade, cancelRequested) */
static napi_value set_task_hooks(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0)
    return NULL;
  if (st->promise_hook != NULL)
    napi_delete_reference(env, st->promise_hook);
  if (st->cancel_hook != NULL)
    napi_delete_reference(env, st->cancel_hook);
  napi_create_reference(env, argv[0], 1, &st->promise_hook);
  napi_create_reference(env, argv[1], 1, &st->cancel_hook);
  return NULL;
}

int wn_promise_made(napi_env env, wn_state_t *st, napi_value promise, double id) {
  napi_value hook, global, argv[2], out;
  bool named = false;
  if (st->promise_hook == NULL || napi_get_reference_value(env, st->promise_hook, &hook) != napi_ok)
    return 0;
  napi_get_global(env, &global);
  argv[0] = promise;
  if (napi_create_double(env, id, &argv[1]) != napi_ok)
    return 0;
  if (napi_call_function(env, global, hook, 2, argv, &out) != napi_ok) {
    napi_get_and_clear_last_exception(env, &out);
    return 0;
  }
  return napi_get_value_bool(env, out, &named) == napi_ok && named;
}

napi_status wn_task_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("taskStart", task_start),
      WN_METHOD("taskPromise", task_promise),
      WN_METHOD("taskAwaits", task_awaits),
      WN_METHOD("taskCancel", task_cancel),
      WN_METHOD("taskCancelling", task_cancelling),
      WN_METHOD("taskUncancel", task_uncancel),
      WN_METHOD("taskName", task_name),
      WN_METHOD("taskState", task_state),
      WN_METHOD("allTasks", all_tasks),
      WN_METHOD("setTaskHooks", set_task_hooks),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
