/* Handles and timers: call_later / call_at, and the heap that orders them.
 *
 * Every pending timer sits in one binary heap ordered by (deadline, scheduling order); a
 * single libuv timer is armed for the earliest. Cancelling removes the timer from the
 * heap at once, so the heap only ever holds live timers. */
#include <math.h>

#include "internal.h"

/* ---- Handle objects ------------------------------------------------------------------- */

int weft__handle_new(weft_loop_t *loop, weft_callback_fn cb, void *arg, weft_handle_t **out) {
  weft_handle_t *h = loop->free_handles;
  if (h != NULL) {
    loop->free_handles = h->next_free;
  } else {
    h = malloc(sizeof *h);
    if (h == NULL)
      return WEFT_ENOMEM;
  }
  *h = (weft_handle_t){.refs = 1, .loop = loop, .cb = cb, .arg = arg, .heap_index = SIZE_MAX};
  weft__loop_retain(loop);
  *out = h;
  return 0;
}

weft_handle_t *weft_handle_retain(weft_handle_t *handle) {
  if (handle != NULL)
    handle->refs++;
  return handle;
}

void weft_handle_release(weft_handle_t *handle) {
  if (handle == NULL || --handle->refs > 0)
    return;
  weft_loop_t *loop = handle->loop;
  handle->next_free = loop->free_handles;
  loop->free_handles = handle;
  weft__loop_release(loop);
}

void weft__handles_free_pool(weft_loop_t *loop) {
  while (loop->free_handles != NULL) {
    weft_handle_t *h = loop->free_handles;
    loop->free_handles = h->next_free;
    free(h);
  }
}

void weft_handle_cancel(weft_handle_t *handle) {
  if (handle == NULL || handle->cancelled)
    return;
  handle->cancelled = true;
  if (handle->heap_index != SIZE_MAX) {
    weft__timer_unschedule(handle->loop, handle);
    weft_handle_release(handle); /* the heap's reference */
  }
}

void weft_handles_release(weft_handle_t *const *handles, size_t count, int cancel) {
  if (handles == NULL)
    return;
  for (size_t i = 0; i < count; i++) {
    if (cancel)
      weft_handle_cancel(handles[i]);
    weft_handle_release(handles[i]);
  }
}

int weft_handle_cancelled(const weft_handle_t *handle) {
  return handle != NULL && handle->cancelled;
}

double weft_handle_when(const weft_handle_t *handle) {
  if (handle == NULL)
    return 0.0;
  if (!handle->is_timer)
    return -1;
  return (double)handle->when_ns / 1e9;
}

/* ---- The heap ------------------------------------------------------------------------- */

static bool earlier(const weft_handle_t *a, const weft_handle_t *b) {
  return a->when_ns < b->when_ns || (a->when_ns == b->when_ns && a->seq < b->seq);
}

static void heap_place(weft_loop_t *loop, size_t i, weft_handle_t *h) {
  loop->heap[i] = h;
  h->heap_index = i;
}

static void sift_up(weft_loop_t *loop, size_t i) {
  weft_handle_t *h = loop->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(h, loop->heap[parent]))
      break;
    heap_place(loop, i, loop->heap[parent]);
    i = parent;
  }
  heap_place(loop, i, h);
}

static void sift_down(weft_loop_t *loop, size_t i) {
  weft_handle_t *h = loop->heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= loop->heap_len)
      break;
    if (child + 1 < loop->heap_len && earlier(loop->heap[child + 1], loop->heap[child]))
      child++;
    if (!earlier(loop->heap[child], h))
      break;
    heap_place(loop, i, loop->heap[child]);
    i = child;
  }
  heap_place(loop, i, h);
}

int weft__timer_schedule(weft_loop_t *loop, weft_handle_t *handle) {
  if (loop->heap_len == loop->heap_cap) {
    size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
    weft_handle_t **due = realloc(loop->due, cap * sizeof *due);
    if (due == NULL)
      return WEFT_ENOMEM;
    loop->due = due;
    weft_handle_t **grown = realloc(loop->heap, cap * sizeof *grown);
    if (grown == NULL)
      return WEFT_ENOMEM;
    loop->heap = grown;
    loop->heap_cap = cap;
  }
  handle->seq = loop->timer_seq++;
  loop->heap[loop->heap_len] = handle;
  sift_up(loop, loop->heap_len++);
  if (handle->heap_index == 0)
    weft__timers_arm(loop);
  return 0;
}

void weft__timer_unschedule(weft_loop_t *loop, weft_handle_t *handle) {
  size_t i = handle->heap_index;
  handle->heap_index = SIZE_MAX;
  weft_handle_t *last = loop->heap[--loop->heap_len];
  if (i == loop->heap_len)
    return;
  heap_place(loop, i, last);
  if (i > 0 && earlier(last, loop->heap[(i - 1) / 2]))
    sift_up(loop, i);
  else
    sift_down(loop, i);
  /* An earlier deadline never appears here, so the libuv timer may only fire early, which
   * the loop's check handle tolerates: no re-arm needed. */
}

/* The earliest timer is due: the loop's check handle runs it after this iteration's poll,
 * which must not block first. */
static void on_timer(uv_timer_t *timer) {
  weft__loop_timer_fired(timer->data);
}

void weft__timers_arm(weft_loop_t *loop) {
  if (loop->heap_len == 0) {
    uv_timer_stop(&loop->timer);
    return;
  }
  weft__loop_watch_timers(loop); /* pending timers keep the check handle running */
  /* libuv counts in whole milliseconds from its cached clock, which lags the real one:
   * aim at the millisecond after the deadline so the timer never fires before it. */
  uint64_t due_ms = (loop->heap[0]->when_ns + 999999) / 1000000;
  uint64_t now_ms = uv_now(loop->uv);
  uv_timer_start(&loop->timer, on_timer, due_ms > now_ms ? due_ms - now_ms : 0, 0);
}

size_t weft__timers_take_due(weft_loop_t *loop, uint64_t now_ns) {
  size_t n = 0;
  while (loop->heap_len > 0 && loop->heap[0]->when_ns <= now_ns) {
    weft_handle_t *h = loop->heap[0];
    weft__timer_unschedule(loop, h);
    loop->due[n++] = h;
  }
  /* Timers scheduled during this iteration (a deadline in the past) go back, with their
   * place in the order: the heap just had room for them. */
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    weft_handle_t *h = loop->due[i];
    if (h->seq < loop->timer_seq_limit) {
      loop->due[kept++] = h;
    } else {
      loop->heap[loop->heap_len] = h;
      sift_up(loop, loop->heap_len++);
    }
  }
  return kept;
}

void weft__timers_clear(weft_loop_t *loop) {
  while (loop->heap_len > 0) {
    weft_handle_t *h = loop->heap[--loop->heap_len];
    h->heap_index = SIZE_MAX;
    if (h->drop != NULL) /* may cancel other timers: the heap stays compact */
      h->drop(h->arg);
    weft_handle_release(h);
  }
  uv_timer_stop(&loop->timer);
}

/* ---- call_later / call_at ------------------------------------------------------------- */

/* A NULL cb makes a batched callback whose id is arg (weft_call_at_id). */
static int call_at_ns(weft_loop_t *loop, uint64_t when_ns, weft_callback_fn cb, void *arg,
                      weft_handle_t **handle_out) {
  if (handle_out != NULL)
    *handle_out = NULL;
  if (loop == NULL)
    return WEFT_EINVAL;
  int rc = weft__loop_check(loop);
  if (rc != 0)
    return rc;
  weft_handle_t *h;
  rc = weft__handle_new(loop, cb, arg, &h);
  if (rc != 0)
    return rc;
  h->is_timer = true;
  h->when_ns = when_ns;
  rc = weft__timer_schedule(loop, h);
  if (rc != 0) {
    weft_handle_release(h);
    return rc;
  }
  if (handle_out != NULL)
    *handle_out = weft_handle_retain(h);
  return 0;
}

int weft_call_at_id(weft_loop_t *loop, double when, uintptr_t id, weft_handle_t **handle_out) {
  if (isnan(when)) {
    if (handle_out != NULL)
      *handle_out = NULL;
    return WEFT_EINVAL;
  }
  return call_at_ns(loop, weft__seconds_to_ns(when), NULL, (void *)id, handle_out);
}

int weft_call_at(weft_loop_t *loop, double when, weft_callback_fn cb, void *arg,
                 weft_handle_t **handle_out) {
  if (isnan(when) || cb == NULL) {
    if (handle_out != NULL)
      *handle_out = NULL;
    return WEFT_EINVAL;
  }
  return call_at_ns(loop, weft__seconds_to_ns(when), cb, arg, handle_out);
}

int weft_call_later(weft_loop_t *loop, double delay, weft_callback_fn cb, void *arg,
                    weft_handle_t **handle_out) {
  if (isnan(delay) || cb == NULL) {
    if (handle_out != NULL)
      *handle_out = NULL;
    return WEFT_EINVAL;
  }
  return call_at_ns(loop, uv_hrtime() + weft__seconds_to_ns(delay), cb, arg, handle_out);
}
