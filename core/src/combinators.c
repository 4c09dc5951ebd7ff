/* asyncio's combinators over futures: sleep, gather, wait, wait_for, shield, as_completed.
 *
 * Each combinator is a future embedded in a small struct. While it has done callbacks
 * registered on its inputs it holds a reference to itself, so a caller may drop its own
 * reference at once without leaving those callbacks pointing at freed memory. For as long
 * it is also on the loop's list of what weft_loop_close closes (`closable`): an input may
 * never complete, or its callback may be dropped unrun with the ready queue, and the close
 * then takes the callbacks off the inputs and lets go of their references itself,
 * completing nothing. */
#include <math.h>

#include "internal.h"

#define COMBINATOR_OF(type, c) ((type *)(void *)((char *)(c)-offsetof(type, closable)))

static int check_inputs(weft_loop_t *loop, weft_future_t *const *futures, size_t count) {
  if (loop == NULL || (futures == NULL && count > 0))
    return WEFT_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (futures[i] == NULL || futures[i]->loop != loop)
      return WEFT_EINVAL;
  return weft__loop_check(loop);
}

/* Copies the input array, taking a reference to each input. */
static int hold_inputs(weft_future_t *const *futures, size_t count, weft_future_t ***out) {
  *out = NULL;
  if (count == 0)
    return 0;
  weft_future_t **held = malloc(count * sizeof *held);
  if (held == NULL)
    return WEFT_ENOMEM;
  for (size_t i = 0; i < count; i++)
    held[i] = weft_future_retain(futures[i]);
  *out = held;
  return 0;
}

static void drop_inputs(weft_future_t **held, size_t count) {
  for (size_t i = 0; i < count; i++)
    weft_future_release(held[i]);
  free(held);
}

/* ---- sleep ---------------------------------------------------------------------------- */

typedef struct {
  weft_future_t future;
  weft_handle_t *timer;
} sleep_t;

static void sleep_destroy(weft_future_t *f) {
  weft_handle_release(((sleep_t *)f)->timer);
  free(f);
}

static int sleep_cancel(weft_future_t *f, const char *message) {
  sleep_t *s = (sleep_t *)f;
  if (f->state != WEFT__PENDING)
    return 0;
  weft_handle_cancel(s->timer);
  weft_future_release(f); /* the timer's reference: it will never fire */
  return weft__future_cancel_plain(f, message);
}

static const weft__future_class_t sleep_class = {"sleep", sleep_cancel, sleep_destroy};

static void sleep_fire(void *arg) {
  weft_future_t *f = arg;
  weft__future_finish(f, WEFT__FINISHED, weft_value_none(), 0, NULL, NULL, NULL);
  weft_future_release(f);
}

/* sleep(0) is asyncio's bare yield: what waits on it goes on in the iteration after the
 * call, so its callbacks run at once rather than one iteration later. (A timer's sleep
 * keeps asyncio's extra iteration: its future's callbacks are scheduled when it fires.) */
static void yield_fire(void *arg) {
  weft_future_t *f = arg;
  weft__future_finish_now(f, weft_value_none(), 0);
  weft_future_release(f);
}

int weft_sleep(weft_loop_t *loop, double seconds, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (loop == NULL || isnan(seconds))
    return WEFT_EINVAL;
  weft_future_t *f;
  int rc = weft__future_alloc(loop, sizeof(sleep_t), &sleep_class, &f);
  if (rc != 0)
    return rc;
  weft_future_retain(f); /* the timer's */
  /* asyncio's sleep(0) only yields: the ready queue, not a timer, which libuv would round up
   * to the next millisecond (a 1.3 ms sleep(0) from Node, against 5 us). */
  weft_handle_t **timer = &((sleep_t *)f)->timer;
  rc = seconds <= 0 ? weft_call_soon(loop, yield_fire, f, timer)
                    : weft_call_later(loop, seconds, sleep_fire, f, timer);
  if (rc != 0) {
    weft_future_release(f);
    weft_future_release(f);
    return rc;
  }
  (*timer)->drop = weft__future_release_any; /* the loop may close first */
  *out = f;
  return 0;
}

int weft_sleep_await(weft_loop_t *loop, double seconds) {
  if (loop == NULL || isnan(seconds))
    return WEFT_EINVAL;
  if (seconds <= 0)
    return weft__task_yield(loop);
  if (weft_current_task(loop) == NULL)
    return weft__not_in_task(loop);
  weft_future_t *f;
  int rc = weft_sleep(loop, seconds, &f);
  if (rc != 0)
    return rc;
  rc = weft_await(f);
  weft_future_release(f);
  return rc;
}

/* ---- gather --------------------------------------------------------------------------- */

typedef struct {
  weft_future_t future;
  weft__closable_t closable;
  weft_future_t **inputs;
  size_t count, finished;
  bool return_exceptions;
} gather_t;

static void gather_destroy(weft_future_t *f) {
  gather_t *g = (gather_t *)f;
  drop_inputs(g->inputs, g->count);
  free(g);
}

static int gather_cancel(weft_future_t *f, const char *message) {
  gather_t *g = (gather_t *)f;
  if (f->state != WEFT__PENDING)
    return 0;
  int any = 0;
  for (size_t i = 0; i < g->count; i++)
    if (weft_future_cancel(g->inputs[i], message) == 1)
      any = 1;
  /* The gather completes once the cancelled inputs report back, as asyncio's does. */
  if (any)
    f->cancel_requested = true;
  return any;
}

static const weft__future_class_t gather_class = {"gather", gather_cancel, gather_destroy};

static void gather_input_done(weft_future_t *input, void *arg) {
  gather_t *g = arg;
  weft_future_t *outer = &g->future;
  g->finished++;
  bool last = g->finished == g->count;
  if (outer->state != WEFT__PENDING) {
    if (!weft_future_cancelled(input))
      weft_future_error(input); /* the gather already failed: this error is not lost, only moot */
  } else if (!g->return_exceptions && weft_future_cancelled(input)) {
    weft__future_finish(outer, WEFT__FINISHED, weft_value_none(), WEFT_ECANCELLED,
                        weft_future_error_message(input), NULL, NULL);
  } else if (!g->return_exceptions && weft_future_error(input) != 0) {
    weft__future_copy_outcome(outer, input);
  } else if (last) {
    for (size_t i = 0; i < g->count; i++)
      if (!weft_future_cancelled(g->inputs[i]))
        weft_future_error(g->inputs[i]); /* reported through the gather, so retrieved */
    if (outer->cancel_requested)
      weft__future_finish(outer, WEFT__FINISHED, weft_value_none(), WEFT_ECANCELLED, NULL, NULL,
                          NULL);
    else
      weft__future_finish(outer, WEFT__FINISHED, weft_value_none(), 0, NULL, NULL, NULL);
  }
  if (last) {
    weft__loop_untrack(&g->closable);
    weft_future_release(outer); /* no callback of ours is left on any input */
  }
}

/* Callbacks not on an input any more wait in the ready queue, which the close drops. */
static void gather_close_now(weft__closable_t *c) {
  gather_t *g = COMBINATOR_OF(gather_t, c);
  for (size_t i = 0; i < g->count; i++)
    weft_future_remove_done_callback(g->inputs[i], gather_input_done, g);
  g->finished = g->count;
  weft_future_release(&g->future);
}

int weft_gather(weft_loop_t *loop, weft_future_t *const *futures, size_t count,
                int return_exceptions, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  int rc = check_inputs(loop, futures, count);
  if (rc != 0)
    return rc;
  weft_future_t *f;
  rc = weft__future_alloc(loop, sizeof(gather_t), &gather_class, &f);
  if (rc != 0)
    return rc;
  gather_t *g = (gather_t *)f;
  g->return_exceptions = return_exceptions != 0;
  rc = hold_inputs(futures, count, &g->inputs);
  if (rc != 0) {
    weft_future_release(f);
    return rc;
  }
  g->count = count;
  if (count == 0) {
    weft__future_finish(f, WEFT__FINISHED, weft_value_none(), 0, NULL, NULL, NULL);
    *out = f;
    return 0;
  }
  weft_future_retain(f); /* held while callbacks are registered on inputs */
  for (size_t i = 0; i < count; i++) {
    rc = weft__future_add_callback(g->inputs[i], gather_input_done, g, f);
    if (rc != 0) {
      /* Out of memory half-way: unregister what was registered and give up. */
      for (size_t j = 0; j < i; j++)
        weft_future_remove_done_callback(g->inputs[j], gather_input_done, g);
      weft_future_release(f);
      weft_future_release(f);
      return rc;
    }
  }
  g->closable.close_now = gather_close_now;
  weft__loop_track(loop, &g->closable);
  *out = f;
  return 0;
}

/* ---- wait ----------------------------------------------------------------------------- */

typedef struct {
  weft_future_t future;
  weft__closable_t closable;
  weft_future_t **inputs;
  size_t count, pending;
  size_t watching; /* callbacks registered and not run yet, each holding a reference */
  int return_when;
  weft_handle_t *timer;
  bool registered;
  bool closed; /* the loop's close let go of the reference wait_finish drops */
} wait_t;

static void wait_destroy(weft_future_t *f) {
  wait_t *w = (wait_t *)f;
  weft_handle_release(w->timer);
  drop_inputs(w->inputs, w->count);
  free(w);
}

static void wait_input_done(weft_future_t *input, void *arg);

/* Finishes the wait: no timer, no callback on any input, no self-reference. */
static void wait_finish(wait_t *w, bool cancelled, const char *message) {
  weft_future_t *f = &w->future;
  if (w->timer != NULL)
    weft_handle_cancel(w->timer);
  if (w->registered) {
    /* Each callback removed here will never run: drop the reference it held. */
    for (size_t i = 0; i < w->count; i++)
      for (int n = weft_future_remove_done_callback(w->inputs[i], wait_input_done, w); n > 0; n--) {
        w->watching--;
        weft_future_release(f);
      }
    w->registered = false;
  }
  if (cancelled)
    weft__future_cancel_plain(f, message);
  else
    weft__future_finish(f, WEFT__FINISHED, weft_value_none(), 0, NULL, NULL, NULL);
  if (w->watching == 0)
    weft__loop_untrack(&w->closable);
  weft_future_release(f);
}

static int wait_cancel(weft_future_t *f, const char *message) {
  if (f->state != WEFT__PENDING)
    return 0;
  if (((wait_t *)f)->closed)
    return weft__future_cancel_plain(f, message);
  wait_finish((wait_t *)f, true, message);
  return 1;
}

static const weft__future_class_t wait_class = {"wait", wait_cancel, wait_destroy};

static bool failed(const weft_future_t *f) {
  return f->state == WEFT__FINISHED && f->error != 0;
}

/* Each registration holds a reference to the wait: a callback already scheduled when the
 * wait finishes cannot be removed any more and still runs. */
static void wait_input_done(weft_future_t *input, void *arg) {
  wait_t *w = arg;
  w->watching--;
  if (w->future.state == WEFT__PENDING) {
    w->pending--;
    if (w->pending == 0 || w->return_when == WEFT_FIRST_COMPLETED ||
        (w->return_when == WEFT_FIRST_EXCEPTION && failed(input)))
      wait_finish(w, false, NULL);
  } else if (w->watching == 0) {
    weft__loop_untrack(&w->closable);
  }
  weft_future_release(&w->future); /* this callback's reference */
}

/* The wait stays pending; its callbacks still on an input come off, the others wait in the
 * ready queue, which the close drops. */
static void wait_close_now(weft__closable_t *c) {
  wait_t *w = COMBINATOR_OF(wait_t, c);
  if (w->timer != NULL)
    weft_handle_cancel(w->timer);
  for (size_t i = 0; w->registered && i < w->count; i++)
    weft_future_remove_done_callback(w->inputs[i], wait_input_done, w);
  size_t refs = w->watching + (w->future.state == WEFT__PENDING ? 1 : 0);
  w->watching = 0;
  w->registered = false;
  w->closed = true;
  while (refs-- > 0)
    weft_future_release(&w->future); /* the last one may free w */
}

static void wait_timeout(void *arg) {
  wait_t *w = arg;
  if (w->future.state == WEFT__PENDING)
    wait_finish(w, false, NULL);
}

int weft_wait(weft_loop_t *loop, weft_future_t *const *futures, size_t count, int return_when,
              double timeout, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (count == 0 || isnan(timeout) ||
      (return_when != WEFT_FIRST_COMPLETED && return_when != WEFT_FIRST_EXCEPTION &&
       return_when != WEFT_ALL_COMPLETED))
    return WEFT_EINVAL;
  int rc = check_inputs(loop, futures, count);
  if (rc != 0)
    return rc;
  weft_future_t *f;
  rc = weft__future_alloc(loop, sizeof(wait_t), &wait_class, &f);
  if (rc != 0)
    return rc;
  wait_t *w = (wait_t *)f;
  w->return_when = return_when;
  rc = hold_inputs(futures, count, &w->inputs);
  if (rc != 0) {
    weft_future_release(f);
    return rc;
  }
  w->count = count;
  bool satisfied = false;
  for (size_t i = 0; i < count; i++) {
    if (!weft_future_done(futures[i]))
      w->pending++;
    else if (return_when == WEFT_FIRST_COMPLETED ||
             (return_when == WEFT_FIRST_EXCEPTION && failed(futures[i])))
      satisfied = true;
  }
  weft_future_retain(f); /* dropped by wait_finish */
  if (satisfied || w->pending == 0) {
    wait_finish(w, false, NULL);
    *out = f;
    return 0;
  }
  w->registered = true;
  w->closable.close_now = wait_close_now;
  weft__loop_track(loop, &w->closable);
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (!weft_future_done(w->inputs[i])) {
      rc = weft__future_add_callback(w->inputs[i], wait_input_done, w, f);
      if (rc == 0) {
        w->watching++;
        weft_future_retain(f); /* the callback's */
      }
    }
  }
  if (rc == 0 && timeout >= 0)
    rc = weft_call_later(loop, timeout, wait_timeout, w, &w->timer);
  if (rc != 0) {
    wait_finish(w, true, NULL);
    weft_future_release(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* ---- wait_for ------------------------------------------------------------------------- */

typedef struct {
  weft_future_t future;
  weft__closable_t closable;
  weft_future_t *inner;
  weft_handle_t *timer;
  bool timed_out;
} wait_for_t;

static void wait_for_destroy(weft_future_t *f) {
  wait_for_t *w = (wait_for_t *)f;
  weft_handle_release(w->timer);
  weft_future_release(w->inner);
  free(w);
}

static int wait_for_cancel(weft_future_t *f, const char *message) {
  wait_for_t *w = (wait_for_t *)f;
  if (f->state != WEFT__PENDING)
    return 0;
  f->cancel_requested = true;
  if (weft_future_cancel(w->inner, message) == 1)
    return 1; /* completes, cancelled, once the inner future reports back */
  return weft__future_cancel_plain(f, message);
}

static const weft__future_class_t wait_for_class = {"wait_for", wait_for_cancel, wait_for_destroy};

static void wait_for_inner_done(weft_future_t *inner, void *arg) {
  wait_for_t *w = arg;
  weft_future_t *f = &w->future;
  weft__loop_untrack(&w->closable);
  if (w->timer != NULL)
    weft_handle_cancel(w->timer);
  if (f->state == WEFT__PENDING) {
    if (weft_future_cancelled(inner) && w->timed_out && !f->cancel_requested)
      weft__future_finish(f, WEFT__FINISHED, weft_value_none(), WEFT_ETIMEDOUT, NULL, NULL, NULL);
    else if (weft_future_cancelled(inner) && f->cancel_requested)
      weft__future_cancel_plain(f, weft_future_error_message(inner));
    else
      weft__future_copy_outcome(f, inner);
  } else if (!weft_future_cancelled(inner)) {
    weft_future_error(inner);
  }
  weft_future_release(f); /* the inner callback's reference */
}

/* The callback, off the inner future or about to be dropped with the ready queue, never
 * runs: the wait_for stays pending. */
static void wait_for_close_now(weft__closable_t *c) {
  wait_for_t *w = COMBINATOR_OF(wait_for_t, c);
  if (w->timer != NULL)
    weft_handle_cancel(w->timer);
  weft_future_remove_done_callback(w->inner, wait_for_inner_done, w);
  weft_future_release(&w->future);
}

static void wait_for_expire(void *arg) {
  wait_for_t *w = arg;
  w->timed_out = true;
  if (!weft_future_done(w->inner)) {
    weft_future_cancel(w->inner, NULL);
    return;
  }
  /* Done, but its callback has not run yet: asyncio (3.12 on) lets the timeout win here, as
   * its cancellation reaches the waiting task before the task's wake-up. The future keeps
   * its outcome. */
  if (w->future.state == WEFT__PENDING)
    weft__future_finish(&w->future, WEFT__FINISHED, weft_value_none(), WEFT_ETIMEDOUT, NULL, NULL,
                        NULL);
}

int weft_wait_for(weft_loop_t *loop, weft_future_t *future, double timeout, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (future == NULL || isnan(timeout))
    return WEFT_EINVAL;
  weft_future_t *const inputs[1] = {future};
  int rc = check_inputs(loop, inputs, 1);
  if (rc != 0)
    return rc;
  weft_future_t *f;
  rc = weft__future_alloc(loop, sizeof(wait_for_t), &wait_for_class, &f);
  if (rc != 0)
    return rc;
  wait_for_t *w = (wait_for_t *)f;
  w->inner = weft_future_retain(future);
  weft_future_retain(f); /* the inner callback's */
  rc = weft__future_add_callback(future, wait_for_inner_done, w, f);
  if (rc == 0 && timeout == 0 && !weft_future_done(future)) {
    /* No time at all: cancel now and report the timeout once the future is done. */
    w->timed_out = true;
    weft_future_cancel(future, NULL);
  } else if (rc == 0 && timeout > 0) {
    rc = weft_call_later(loop, timeout, wait_for_expire, w, &w->timer);
    if (rc != 0)
      weft_future_remove_done_callback(future, wait_for_inner_done, w);
  }
  if (rc != 0) {
    weft_future_release(f);
    weft_future_release(f);
    return rc;
  }
  w->closable.close_now = wait_for_close_now;
  weft__loop_track(loop, &w->closable);
  *out = f;
  return 0;
}

/* ---- shield --------------------------------------------------------------------------- */

typedef struct {
  weft_future_t future;
  weft__closable_t closable;
  weft_future_t *inner;
} shield_t;

static void shield_destroy(weft_future_t *f) {
  weft_future_release(((shield_t *)f)->inner);
  free(f);
}

static const weft__future_class_t shield_class = {"shield", NULL, shield_destroy};

static void shield_inner_done(weft_future_t *inner, void *arg) {
  shield_t *s = arg;
  weft__loop_untrack(&s->closable);
  if (s->future.state == WEFT__PENDING)
    weft__future_copy_outcome(&s->future, inner);
  else if (!weft_future_cancelled(inner))
    weft_future_error(inner); /* the outer was cancelled: nobody else will look */
  weft_future_release(&s->future);
}

static void shield_close_now(weft__closable_t *c) {
  shield_t *s = COMBINATOR_OF(shield_t, c);
  weft_future_remove_done_callback(s->inner, shield_inner_done, s);
  weft_future_release(&s->future);
}

int weft_shield(weft_future_t *inner, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (inner == NULL)
    return WEFT_EINVAL;
  weft_future_t *f;
  int rc = weft__future_alloc(inner->loop, sizeof(shield_t), &shield_class, &f);
  if (rc != 0)
    return rc;
  shield_t *s = (shield_t *)f;
  s->inner = weft_future_retain(inner);
  if (weft_future_done(inner)) {
    weft__future_copy_outcome(f, inner);
  } else {
    weft_future_retain(f); /* the inner callback's */
    rc = weft__future_add_callback(inner, shield_inner_done, s, f);
    if (rc != 0) {
      weft_future_release(f);
      weft_future_release(f);
      return rc;
    }
    s->closable.close_now = shield_close_now;
    weft__loop_track(inner->loop, &s->closable);
  }
  *out = f;
  return 0;
}

/* ---- as_completed --------------------------------------------------------------------- */

struct weft_as_completed_s {
  weft__closable_t closable;
  weft_loop_t *loop;
  weft_future_t **inputs;
  size_t count;
  size_t handed_out;
  weft_future_t **done; /* inputs in completion order, not yet handed to a waiter */
  size_t done_head, done_len;
  weft_future_t **waiters; /* futures given out by next(), not yet resolved */
  size_t waiters_head, waiters_len;
  weft_handle_t *timer;
  bool timed_out;
  /* Callbacks registered on an input and not run yet: one already scheduled when the
   * caller frees the iterator still runs, and must find it. */
  size_t watching;
  bool freed;
};

/* One callback fewer; the memory goes with the last of them once the caller freed it. */
static void as_completed_unwatch(weft_as_completed_t *it, size_t n) {
  it->watching -= n;
  if (it->watching > 0)
    return;
  weft__loop_untrack(&it->closable);
  if (it->freed)
    free(it);
}

static void resolve_waiter(weft_future_t *waiter, weft_future_t *input) {
  weft__future_finish(
      waiter, WEFT__FINISHED,
      weft__value_object(WEFT_VALUE_FUTURE, weft_future_retain(input), weft__future_release_any), 0,
      NULL, NULL, NULL);
  weft_future_release(waiter);
}

static void as_completed_input_done(weft_future_t *input, void *arg) {
  weft_as_completed_t *it = arg;
  bool freed = it->freed;
  as_completed_unwatch(it, 1); /* frees a freed iterator with its last callback */
  if (freed)
    return;
  /* asyncio stops listening to the inputs once the timeout has passed: what completes
   * later is never handed out, every later next() times out. */
  if (it->timed_out)
    return;
  if (it->waiters_len > 0) {
    weft_future_t *waiter = it->waiters[it->waiters_head++];
    it->waiters_len--;
    resolve_waiter(waiter, input);
  } else {
    it->done[it->done_head + it->done_len++] = input;
  }
}

/* Callbacks still on an input come off, the others wait in the ready queue, which the close
 * drops; a next() waiting stays pending until the caller frees the iterator. */
static void as_completed_close_now(weft__closable_t *c) {
  weft_as_completed_t *it = COMBINATOR_OF(weft_as_completed_t, c);
  for (size_t i = 0; it->inputs != NULL && i < it->count; i++)
    weft_future_remove_done_callback(it->inputs[i], as_completed_input_done, it);
  as_completed_unwatch(it, it->watching);
}

static void as_completed_timeout(void *arg) {
  weft_as_completed_t *it = arg;
  it->timed_out = true;
  while (it->waiters_len > 0) {
    weft_future_t *waiter = it->waiters[it->waiters_head++];
    it->waiters_len--;
    weft__future_finish(waiter, WEFT__FINISHED, weft_value_none(), WEFT_ETIMEDOUT, NULL, NULL,
                        NULL);
    weft_future_release(waiter);
  }
}

int weft_as_completed_new(weft_loop_t *loop, weft_future_t *const *futures, size_t count,
                          double timeout, weft_as_completed_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (isnan(timeout))
    return WEFT_EINVAL;
  int rc = check_inputs(loop, futures, count);
  if (rc != 0)
    return rc;
  weft_as_completed_t *it = calloc(1, sizeof *it);
  if (it == NULL)
    return WEFT_ENOMEM;
  it->loop = loop;
  it->count = count;
  it->closable.close_now = as_completed_close_now;
  size_t slots = count > 0 ? count : 1;
  it->done = malloc(slots * sizeof *it->done);
  it->waiters = malloc(slots * sizeof *it->waiters);
  rc = it->done == NULL || it->waiters == NULL ? WEFT_ENOMEM
                                               : hold_inputs(futures, count, &it->inputs);
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (weft_future_done(it->inputs[i]))
      it->done[it->done_len++] = it->inputs[i];
    else
      rc = weft__future_add_callback(it->inputs[i], as_completed_input_done, it, NULL);
    if (rc == 0 && !weft_future_done(it->inputs[i]))
      it->watching++;
  }
  if (it->watching > 0)
    weft__loop_track(loop, &it->closable);
  if (rc == 0 && timeout >= 0 && count > 0)
    rc = weft_call_later(loop, timeout, as_completed_timeout, it, &it->timer);
  if (rc != 0) {
    weft_as_completed_free(it);
    return rc;
  }
  *out = it;
  return 0;
}

int weft_as_completed_next(weft_as_completed_t *it, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (it == NULL)
    return WEFT_EINVAL;
  if (it->handed_out == it->count)
    return WEFT_EEOF;
  weft_future_t *waiter;
  int rc = weft_future_new(it->loop, &waiter);
  if (rc != 0)
    return rc;
  it->handed_out++;
  if (it->done_len > 0) {
    weft_future_t *input = it->done[it->done_head++];
    it->done_len--;
    weft_future_retain(waiter);
    resolve_waiter(waiter, input);
  } else if (it->timed_out) {
    weft__future_finish(waiter, WEFT__FINISHED, weft_value_none(), WEFT_ETIMEDOUT, NULL, NULL,
                        NULL);
  } else {
    it->waiters[it->waiters_head + it->waiters_len++] = weft_future_retain(waiter);
  }
  *out = waiter;
  return 0;
}

void weft_as_completed_free(weft_as_completed_t *it) {
  if (it == NULL)
    return;
  if (it->timer != NULL) {
    weft_handle_cancel(it->timer);
    weft_handle_release(it->timer);
  }
  size_t removed = 0;
  for (size_t i = 0; it->inputs != NULL && i < it->count; i++)
    removed += (size_t)weft_future_remove_done_callback(it->inputs[i], as_completed_input_done, it);
  while (it->waiters_len > 0) {
    weft_future_t *waiter = it->waiters[it->waiters_head++];
    it->waiters_len--;
    weft_future_cancel(waiter, "as_completed iterator freed");
    weft_future_release(waiter);
  }
  if (it->inputs != NULL)
    drop_inputs(it->inputs, it->count);
  free(it->done);
  free(it->waiters);
  it->inputs = NULL;
  it->done = it->waiters = NULL;
  it->freed = true;
  as_completed_unwatch(it, removed);
}
