/* asyncio's Event: a flag tasks can wait for. */
#include "sync_internal.h"

#include <stdlib.h>

struct weft_event_s {
  weft__prim_t p;
  int set;
};

int weft_event_new(weft_loop_t *loop, weft_event_t **out) {
  if (loop == NULL || out == NULL)
    return WEFT_EINVAL;
  weft_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL)
    return WEFT_ENOMEM;
  weft__prim_init(&ev->p, WEFT__PRIM_EVENT, loop);
  *out = ev;
  return 0;
}

weft_event_t *weft_event_retain(weft_event_t *event) {
  if (event != NULL)
    weft__prim_ref(&event->p);
  return event;
}

void weft_event_release(weft_event_t *event) {
  if (event != NULL)
    weft__prim_unref(&event->p);
}

static int event_begin(weft_event_t *ev, weft__waiter_t **wait_out) {
  *wait_out = NULL;
  if (ev->set)
    return 0;
  return weft__waiter_new(&ev->p, wait_out);
}

int weft_event_wait_await(weft_event_t *event) {
  if (event == NULL)
    return WEFT_EINVAL;
  if (!weft__in_task(event->p.loop))
    return weft__not_in_task(event->p.loop);
  weft__waiter_t *w;
  int rc = event_begin(event, &w);
  if (rc != 0 || w == NULL)
    return rc;
  rc = weft__waiter_await(w);
  weft__waiter_unref(w);
  return rc;
}

int weft_event_wait(weft_event_t *event, weft_future_t **out) {
  if (event == NULL || out == NULL)
    return WEFT_EINVAL;
  weft__waiter_t *w;
  int rc = event_begin(event, &w);
  if (rc != 0)
    return rc;
  return weft__waiter_to_future(&event->p, w, out);
}

int weft_event_set(weft_event_t *event) {
  if (event == NULL)
    return WEFT_EINVAL;
  if (event->set)
    return 0;
  event->set = 1;
  for (weft__wnode_t *n = event->p.waiters.head; n != NULL; n = n->next) {
    if (!weft_future_done(weft__waiter_of(n)->fut))
      weft_future_set_result(weft__waiter_of(n)->fut, weft_value_none());
  }
  return 0;
}

int weft_event_clear(weft_event_t *event) {
  if (event == NULL)
    return WEFT_EINVAL;
  event->set = 0;
  return 0;
}

int weft_event_is_set(const weft_event_t *event) {
  return event != NULL && event->set;
}
