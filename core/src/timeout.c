/* Timeouts around a block of a task, as asyncio.Timeout: on expiry the task is cancelled,
 * and leaving the block turns that cancellation (and only that one) into WEFT_ETIMEDOUT. */
#include <math.h>

#include "internal.h"

enum { ENTERED, EXPIRING, EXPIRED };

struct weft_timeout_s {
  weft_task_t *task;
  int state;
  double when; /* INFINITY: no deadline */
  int cancelling_at_enter;
  weft_handle_t *timer;
};

static void drop_timer(weft_timeout_t *t) {
  if (t->timer != NULL) {
    weft_handle_cancel(t->timer);
    weft_handle_release(t->timer);
    t->timer = NULL;
  }
}

static void expire(void *arg) {
  weft_timeout_t *t = arg;
  weft_handle_release(t->timer);
  t->timer = NULL;
  t->state = EXPIRING;
  weft_task_cancel(t->task, NULL);
}

int weft_timeout_reschedule(weft_timeout_t *timeout, double when) {
  if (timeout == NULL || isnan(when))
    return WEFT_EINVAL;
  if (timeout->state != ENTERED)
    return WEFT_EINVALIDSTATE;
  drop_timer(timeout);
  timeout->when = when;
  if (isinf(when) && when > 0)
    return 0;
  weft_loop_t *loop = weft_task_future(timeout->task)->loop;
  /* A deadline already past still expires from the loop, never inside this call. */
  if (when <= weft_loop_time(loop))
    return weft_call_soon(loop, expire, timeout, &timeout->timer);
  return weft_call_at(loop, when, expire, timeout, &timeout->timer);
}

int weft_timeout_enter_at(weft_task_t *task, double when, weft_timeout_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (task == NULL || isnan(when))
    return WEFT_EINVAL;
  if (weft_future_done(weft_task_future(task)))
    return WEFT_EINVALIDSTATE;
  weft_timeout_t *t = calloc(1, sizeof *t);
  if (t == NULL)
    return WEFT_ENOMEM;
  t->task = weft_task_retain(task);
  t->state = ENTERED;
  t->cancelling_at_enter = weft_task_cancelling(task);
  int rc = weft_timeout_reschedule(t, when);
  if (rc != 0) {
    weft_task_release(t->task);
    free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int weft_timeout_enter(weft_task_t *task, double delay, weft_timeout_t **out) {
  if (task == NULL || isnan(delay)) {
    if (out != NULL)
      *out = NULL;
    return WEFT_EINVAL;
  }
  double when = isinf(delay) ? delay : weft_loop_time(weft_task_future(task)->loop) + delay;
  return weft_timeout_enter_at(task, when, out);
}

double weft_timeout_when(const weft_timeout_t *timeout) {
  return timeout == NULL ? 0.0 : timeout->when;
}

int weft_timeout_expired(const weft_timeout_t *timeout) {
  return timeout != NULL && (timeout->state == EXPIRING || timeout->state == EXPIRED);
}

int weft_timeout_exit(weft_timeout_t *timeout, int rc) {
  if (timeout == NULL)
    return WEFT_EINVAL;
  drop_timer(timeout);
  if (timeout->state == EXPIRING) {
    timeout->state = EXPIRED;
    /* Only a cancellation we caused becomes a timeout: if someone else cancelled the task
     * too, the count stays above what it was when the block was entered. */
    if (weft_task_uncancel(timeout->task) <= timeout->cancelling_at_enter && rc == WEFT_ECANCELLED)
      rc = WEFT_ETIMEDOUT;
  }
  weft_task_release(timeout->task);
  free(timeout);
  return rc;
}
