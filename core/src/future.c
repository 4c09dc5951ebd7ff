/* Futures, as asyncio.Future. Tasks embed one (task.c); combinators build on them. */
#include <stdio.h>

#include "internal.h"

/* ---- Life cycle ----------------------------------------------------------------------- */

void weft__future_init(weft_future_t *future, weft_loop_t *loop) {
  memset(future, 0, sizeof *future);
  future->refs = 1;
  future->loop = loop;
  future->callbacks = future->inline_callbacks;
  future->callbacks_cap = WEFT__INLINE_CALLBACKS;
  weft__loop_retain(loop);
}

int weft_future_new(weft_loop_t *loop, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (loop == NULL)
    return WEFT_EINVAL;
  int rc = weft__loop_check(loop);
  if (rc != 0)
    return rc;
  weft_future_t *f = loop->free_futures;
  if (f != NULL) {
    loop->free_futures = f->next_free;
  } else {
    f = malloc(sizeof *f);
    if (f == NULL)
      return WEFT_ENOMEM;
  }
  weft__future_init(f, loop);
  *out = f;
  return 0;
}

int weft__future_alloc(weft_loop_t *loop, size_t size, const weft__future_class_t *cls,
                       weft_future_t **out) {
  *out = NULL;
  int rc = weft__loop_check(loop);
  if (rc != 0)
    return rc;
  weft_future_t *f = calloc(1, size);
  if (f == NULL)
    return WEFT_ENOMEM;
  weft__future_init(f, loop);
  f->cls = cls;
  *out = f;
  return 0;
}

int weft__op_new(weft_loop_t *loop, size_t size, size_t future_offset, void **out) {
  *out = NULL;
  char *op = calloc(1, size);
  if (op == NULL)
    return WEFT_ENOMEM;
  weft_future_t *future;
  int rc = weft_future_new(loop, &future);
  if (rc != 0) {
    free(op);
    return rc;
  }
  memcpy(op + future_offset, &future, sizeof future);
  *out = op;
  return 0;
}

void weft__future_release_any(void *future) {
  weft_future_release(future);
}

weft_future_t *weft_future_retain(weft_future_t *future) {
  if (future != NULL)
    future->refs++;
  return future;
}

static void report_unretrieved(weft_future_t *f) {
  weft_error_context_t ctx = {
      .size = sizeof ctx,
      .message = f->is_task ? "Task exception was never retrieved"
                            : "Future exception was never retrieved",
      .error = f->error,
      .error_message = weft_future_error_message(f),
      .error_payload = weft_future_error_payload(f),
  };
  if (f->is_task)
    ctx.task = (weft_task_t *)f;
  else
    ctx.future = f;
  weft_loop_call_exception_handler(f->loop, &ctx);
}

static void future_free(weft_future_t *future);

static void future_free_deferred(void *future) {
  future_free(future);
}

/* Whether freeing calls registered code: the exception handler, a destructor. */
static bool free_calls_out(const weft_future_t *f) {
  return (f->state == WEFT__FINISHED && f->error != 0 && !f->error_retrieved) ||
         f->payload_free != NULL || (f->result.type == WEFT_VALUE_POINTER && f->result.free_fn);
}

void weft_future_release(weft_future_t *future) {
  if (future == NULL || --future->refs > 0)
    return;
  /* Released inside a stackful task: the report and the destructors wait for the loop's
   * stack, and the future (nobody's any more) with them. */
  if (weft__on_task_stack(future->loop) && free_calls_out(future) &&
      weft__defer(future->loop, future_free_deferred, future) == 0)
    return;
  future_free(future);
}

static void future_free(weft_future_t *future) {
  if (future->state == WEFT__FINISHED && future->error != 0 && !future->error_retrieved) {
    future->refs = 1; /* alive while the handler looks at it */
    future->error_retrieved = true;
    report_unretrieved(future);
    if (--future->refs > 0)
      return;
  }
  weft_loop_t *loop = future->loop;
  for (uint32_t i = 0; i < future->ncallbacks; i++) /* pending: never scheduled */
    if (future->callbacks[i].reserved)
      weft__loop_unreserve_ready(loop, 1);
  weft_value_clear(&future->result);
  free(future->message);
  if (future->payload_free != NULL) {
    weft__assert_loop_stack("a future's payload destructor");
    future->payload_free(future->payload);
  }
  if (future->detail != NULL) /* rare: only the core's own failed reads and sendfiles */
    free(future->detail);
  if (future->callbacks != future->inline_callbacks)
    free(future->callbacks);
  if (future->source != NULL)
    weft_future_release(future->source);
  if (future->cls != NULL) {
    future->cls->destroy(future);
  } else {
    future->next_free = loop->free_futures;
    loop->free_futures = future;
  }
  weft__loop_release(loop);
}

weft_loop_t *weft_future_loop(const weft_future_t *future) {
  return future == NULL ? NULL : future->loop;
}

/* ---- State ---------------------------------------------------------------------------- */

int weft_future_done(const weft_future_t *future) {
  return future != NULL && future->state != WEFT__PENDING;
}

int weft_future_cancelled(const weft_future_t *future) {
  return future != NULL && future->state == WEFT__CANCELLED;
}

/* Hands every done callback to the ready queue, in registration order. */
static int schedule_callbacks(weft_future_t *f) {
  int rc = 0;
  for (uint32_t i = 0; i < f->ncallbacks; i++) {
    weft__ready_t entry = {
        .fn.done = f->callbacks[i].cb, .arg = f->callbacks[i].arg, .future = weft_future_retain(f)};
    int pushed = f->callbacks[i].reserved ? weft__loop_push_reserved(f->loop, &entry)
                                          : weft__loop_push_ready(f->loop, &entry);
    if (pushed != 0) {
      f->refs--; /* never below one: the caller holds a reference */
      rc = pushed;
    }
  }
  f->ncallbacks = 0;
  return rc;
}

/* Calls the done callbacks of a future just completed, in registration order, in place of
 * their ready-queue entries. */
static void run_callbacks_now(weft_future_t *f) {
  uint32_t n = f->ncallbacks;
  /* Done now: a callback added meanwhile goes to the ready queue, a removal finds nothing,
   * and the array stays as it is until the future is freed (the caller holds it). */
  f->ncallbacks = 0;
  for (uint32_t i = 0; i < n; i++)
    if (f->callbacks[i].reserved)
      weft__loop_unreserve_ready(f->loop, 1);
  for (uint32_t i = 0; i < n; i++) {
    weft__assert_loop_stack("a done callback");
    f->callbacks[i].cb(f, f->callbacks[i].arg);
  }
}

static int finish(weft_future_t *f, int state, weft_value_t value, int error, const char *message,
                  void *payload, weft_free_fn payload_free, bool now) {
  if (f->state != WEFT__PENDING) {
    weft_value_clear(&value);
    weft__call_free(payload_free, payload);
    return WEFT_EINVALIDSTATE;
  }
  /* Completing never fails for want of memory: a future left pending would hang whoever
   * awaits it, so without memory for the message the outcome goes out without it. */
  char *copy = message != NULL ? weft__strdup(message) : NULL;
  f->state = (uint8_t)state;
  f->result = value;
  f->error = state == WEFT__CANCELLED ? WEFT_ECANCELLED : error;
  f->message = copy;
  f->payload = payload;
  f->payload_free = payload_free;
  weft_future_retain(f); /* callbacks may drop the last outside reference */
  int rc = 0;
  if (now && !weft__on_task_stack(f->loop))
    run_callbacks_now(f);
  else
    rc = schedule_callbacks(f);
  weft_future_release(f);
  return rc;
}

int weft__future_finish(weft_future_t *f, int state, weft_value_t value, int error,
                        const char *message, void *payload, weft_free_fn payload_free) {
  return finish(f, state, value, error, message, payload, payload_free, false);
}

int weft__future_finish_now(weft_future_t *f, weft_value_t value, int error) {
  return finish(f, WEFT__FINISHED, value, error, NULL, NULL, NULL, true);
}

int weft_future_set_result(weft_future_t *future, weft_value_t value) {
  if (future == NULL || future->is_task) {
    weft_value_clear(&value);
    return WEFT_EINVAL;
  }
  return weft__future_finish(future, WEFT__FINISHED, value, 0, NULL, NULL, NULL);
}

int weft_future_set_error(weft_future_t *future, int code, const char *message, void *payload,
                          weft_free_fn payload_free) {
  if (future == NULL || future->is_task || code >= 0) {
    weft__call_free(payload_free, payload);
    return WEFT_EINVAL;
  }
  if (code == WEFT_ECANCELLED) /* asyncio refuses set_exception(CancelledError()) too */
    return weft_future_cancel(future, message) == 1 ? 0 : WEFT_EINVALIDSTATE;
  return weft__future_finish(future, WEFT__FINISHED, weft_value_none(), code, message, payload,
                             payload_free);
}

int weft_future_cancel(weft_future_t *future, const char *message) {
  if (future == NULL)
    return WEFT_EINVAL;
  if (future->cls != NULL && future->cls->cancel != NULL)
    return future->cls->cancel(future, message);
  return weft__future_cancel_plain(future, message);
}

/* The plain-future half of cancellation; tasks and combinators add their own. */
int weft__future_cancel_plain(weft_future_t *f, const char *message) {
  if (f->state != WEFT__PENDING)
    return 0;
  weft__future_finish(f, WEFT__CANCELLED, weft_value_none(), 0, message, NULL, NULL);
  return 1;
}

/* ---- Outcome -------------------------------------------------------------------------- */

int weft_future_error(weft_future_t *future) {
  if (future == NULL)
    return WEFT_EINVAL;
  if (future->state == WEFT__PENDING)
    return WEFT_EINVALIDSTATE;
  future->error_retrieved = true;
  return future->error;
}

int weft_future_result(weft_future_t *future, const weft_value_t **out) {
  if (out != NULL)
    *out = NULL;
  int rc = weft_future_error(future);
  if (rc == 0 && out != NULL) {
    const weft_future_t *holder = future;
    while (holder->source != NULL)
      holder = holder->source;
    *out = &holder->result;
  }
  return rc;
}

const char *weft_future_error_message(const weft_future_t *future) {
  while (future != NULL && future->message == NULL && future->source != NULL)
    future = future->source;
  return future == NULL ? NULL : future->message;
}

void *weft_future_error_payload(const weft_future_t *future) {
  while (future != NULL && future->payload == NULL && future->source != NULL)
    future = future->source;
  return future == NULL ? NULL : future->payload;
}

int weft__future_copy_outcome(weft_future_t *dest, weft_future_t *src) {
  if (dest->state != WEFT__PENDING)
    return WEFT_EINVALIDSTATE;
  int code = weft_future_error(src); /* mirroring consumes the error */
  /* The mirror keeps the source alive and reads its result, message and payload through
   * it: payloads (a binding's exception object) cannot be copied, only shared. */
  dest->source = weft_future_retain(src);
  int state = src->state == WEFT__CANCELLED ? WEFT__CANCELLED : WEFT__FINISHED;
  return weft__future_finish(dest, state, weft_value_none(), code, NULL, NULL, NULL);
}

/* ---- Done callbacks ------------------------------------------------------------------- */

int weft__future_add_callback(weft_future_t *f, weft_future_cb cb, void *arg,
                              weft_future_t *awaiter) {
  if (f->state != WEFT__PENDING) {
    weft__ready_t entry = {.fn.done = cb, .arg = arg, .future = weft_future_retain(f)};
    int rc = weft__loop_push_ready(f->loop, &entry);
    if (rc != 0)
      f->refs--;
    return rc;
  }
  if (weft__loop_reserve_ready(f->loop) != 0)
    return WEFT_ENOMEM;
  if (f->ncallbacks == f->callbacks_cap) {
    uint32_t cap = f->callbacks_cap * 2;
    weft__done_cb_t *grown = malloc(cap * sizeof *grown);
    if (grown == NULL) {
      weft__loop_unreserve_ready(f->loop, 1);
      return WEFT_ENOMEM;
    }
    memcpy(grown, f->callbacks, f->ncallbacks * sizeof *grown);
    if (f->callbacks != f->inline_callbacks)
      free(f->callbacks);
    f->callbacks = grown;
    f->callbacks_cap = cap;
  }
  f->callbacks[f->ncallbacks++] = (weft__done_cb_t){cb, arg, awaiter, true};
  return 0;
}

void weft__future_watch(weft_future_t *future, weft_future_cb cb, void *arg) {
  if (future->state == WEFT__PENDING && future->ncallbacks < future->callbacks_cap) {
    /* Without a slot, completion tries to push it then (and only drops it if that fails). */
    bool reserved = weft__loop_reserve_ready(future->loop) == 0;
    future->callbacks[future->ncallbacks++] = (weft__done_cb_t){cb, arg, NULL, reserved};
    return;
  }
  if (weft__future_add_callback(future, cb, arg, NULL) != 0) {
    fputs("weft: out of memory registering an internal done callback\n", stderr);
    abort();
  }
}

static void op_watch_fire(weft_future_t *f, void *arg) {
  weft__op_watch_t *w = arg;
  weft__loop_untrack(&w->closable);
  w->cb(f, w->arg);
}

/* The loop closes with the operation unfinished: its future may never complete, or its
 * callback was scheduled and is about to be dropped with the ready queue. */
static void op_watch_close_now(weft__closable_t *c) {
  weft__op_watch_t *w = (weft__op_watch_t *)c;
  weft_future_remove_done_callback(w->future, op_watch_fire, w);
  w->cb(w->future, w->arg);
}

void weft__future_watch_op(weft__op_watch_t *w, weft_future_t *future, weft_future_cb cb,
                           void *arg) {
  *w = (weft__op_watch_t){{.close_now = op_watch_close_now}, future, cb, arg};
  weft__loop_track(future->loop, &w->closable);
  weft__future_watch(future, op_watch_fire, w);
}

int weft_future_add_done_callback(weft_future_t *future, weft_future_cb cb, void *arg) {
  if (future == NULL || cb == NULL)
    return WEFT_EINVAL;
  int rc = weft__loop_check(future->loop);
  if (rc != 0)
    return rc;
  return weft__future_add_callback(future, cb, arg, NULL);
}

int weft_future_remove_done_callback(weft_future_t *future, weft_future_cb cb, void *arg) {
  if (future == NULL)
    return WEFT_EINVAL;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < future->ncallbacks; i++) {
    if (future->callbacks[i].cb != cb || future->callbacks[i].arg != arg)
      future->callbacks[kept++] = future->callbacks[i];
    else if (future->callbacks[i].reserved)
      weft__loop_unreserve_ready(future->loop, 1);
  }
  int removed = (int)(future->ncallbacks - kept);
  future->ncallbacks = kept;
  return removed;
}

/* ---- Completion from other threads ---------------------------------------------------- */

typedef struct {
  weft_future_t *future;
  weft_value_t value;
  int code;
  char *message;
  void *payload;
  weft_free_fn payload_free;
} foreign_outcome_t;

static void foreign_outcome_drop(void *arg) {
  foreign_outcome_t *o = arg;
  weft_value_clear(&o->value);
  weft__call_free(o->payload_free, o->payload);
  free(o->message);
  weft_future_release(o->future);
  free(o);
}

static void foreign_outcome_apply(void *arg) {
  foreign_outcome_t *o = arg;
  if (o->future->state == WEFT__PENDING) {
    if (o->code == 0)
      weft__future_finish(o->future, WEFT__FINISHED, o->value, 0, NULL, NULL, NULL);
    else
      weft__future_finish(o->future, WEFT__FINISHED, weft_value_none(), o->code, o->message,
                          o->payload, o->payload_free);
    o->value = weft_value_none();
    o->payload_free = NULL;
  }
  foreign_outcome_drop(o);
}

static int post_outcome(weft_future_t *future, weft_value_t value, int code, const char *message,
                        void *payload, weft_free_fn payload_free) {
  foreign_outcome_t *o = NULL;
  if (future != NULL && !future->is_task && code <= 0)
    o = calloc(1, sizeof *o);
  if (o == NULL || (message != NULL && (o->message = weft__strdup(message)) == NULL)) {
    free(o);
    weft_value_clear(&value);
    weft__call_free(payload_free, payload);
    return future == NULL || future->is_task || code > 0 ? WEFT_EINVAL : WEFT_ENOMEM;
  }
  o->future = future;
  o->value = value;
  o->code = code;
  o->payload = payload;
  o->payload_free = payload_free;
  int rc = weft__loop_post(future->loop, foreign_outcome_apply, foreign_outcome_drop, o);
  if (rc != 0) {
    /* The loop is closed: the reference we were handed cannot be dropped from this thread,
     * so only what we allocated is freed. */
    weft_value_clear(&o->value);
    weft__call_free(o->payload_free, o->payload);
    free(o->message);
    free(o);
  }
  return rc;
}

int weft_future_set_result_threadsafe(weft_future_t *future, weft_value_t value) {
  return post_outcome(future, value, 0, NULL, NULL, NULL);
}

int weft_future_set_error_threadsafe(weft_future_t *future, int code, const char *message,
                                     void *payload, weft_free_fn payload_free) {
  if (code >= 0) {
    weft__call_free(payload_free, payload);
    return WEFT_EINVAL;
  }
  return post_outcome(future, weft_value_none(), code, message, payload, payload_free);
}

/* ---- Reports -------------------------------------------------------------------------- */

void weft__future_describe(const weft_future_t *f, char *buf, size_t cap) {
  const char *state = f->state == WEFT__PENDING     ? "pending"
                      : f->state == WEFT__CANCELLED ? "cancelled"
                                                    : "finished";
  char outcome[96] = "";
  if (f->state == WEFT__FINISHED && f->error != 0) {
    snprintf(outcome, sizeof outcome, " error=%s", weft_err_name(f->error));
  } else if (f->state == WEFT__FINISHED) {
    const weft_future_t *holder = f;
    while (holder->source != NULL)
      holder = holder->source;
    const weft_value_t *v = &holder->result;
    switch (v->type) {
    case WEFT_VALUE_INT:
      snprintf(outcome, sizeof outcome, " result=%lld", (long long)v->i);
      break;
    case WEFT_VALUE_DOUBLE:
      snprintf(outcome, sizeof outcome, " result=%g", v->d);
      break;
    case WEFT_VALUE_BYTES:
      snprintf(outcome, sizeof outcome, " result=<%zu bytes>", v->len);
      break;
    case WEFT_VALUE_NONE:
      snprintf(outcome, sizeof outcome, " result=none");
      break;
    default:
      snprintf(outcome, sizeof outcome, " result=%p", v->ptr);
    }
  }
  if (f->is_task)
    snprintf(buf, cap, "<Task %s name='%s' id=%p%s>", state, weft_task_name((const weft_task_t *)f),
             (const void *)f, outcome);
  else
    snprintf(buf, cap, "<%s %s id=%p%s>", f->cls != NULL ? f->cls->kind : "Future", state,
             (const void *)f, outcome);
}
