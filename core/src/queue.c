/* asyncio's Queue, LifoQueue and PriorityQueue, with Python 3.13's shutdown.
 *
 * A waiting get or put is an operation: the future handed to the caller, plus a waiter
 * future queued in the getters or putters list. As in asyncio, a wake-up only says "try
 * again": the woken operation retries in the waiter's done callback and queues up again at
 * the back if someone else took the item or the slot meanwhile. The waiter is a separate
 * future from the caller's so that a cancelled caller can pass on a wake-up it received
 * but will not use. */
#include "sync_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry_s {
  weft_value_t item;
  int64_t priority;
  uint64_t seq; /* put order: breaks priority ties, FIFO */
} entry_t;

struct weft_queue_s {
  int refs; /* the creator's handle and each pending operation */
  weft_loop_t *loop;
  int kind;
  size_t maxsize;
  /* FIFO: a ring from `head`; LIFO: a stack; PRIORITY: a binary min-heap. */
  entry_t *buf;
  size_t cap;
  size_t head;
  size_t count;
  uint64_t next_seq;
  weft__wlist_t getters;
  weft__wlist_t putters;
  size_t unfinished;
  weft_event_t *finished;
  int shutdown;
};

typedef struct qop_s {
  weft__wnode_t node; /* first: in the getters or putters list */
  weft_queue_t *queue;
  int is_put;
  int refs; /* one per done callback registered and not yet run */
  weft_future_t *result;
  weft_future_t *waiter;
  entry_t entry; /* put: the item still to be put */
  weft__op_watch_t result_watch, waiter_watch;
} qop_t;

/* What a get future's result points at, so weft_queue_take can move the item out. */
typedef struct box_s {
  entry_t entry;
  int taken;
} box_t;

/* ---- Storage ---- */

static int entry_before(const entry_t *a, const entry_t *b) {
  if (a->priority != b->priority)
    return a->priority < b->priority;
  return a->seq < b->seq;
}

static int store_reserve(weft_queue_t *q) {
  if (q->count < q->cap)
    return 0;
  size_t cap = q->cap ? q->cap * 2 : 8;
  entry_t *buf = malloc(cap * sizeof *buf);
  if (buf == NULL)
    return WEFT_ENOMEM;
  for (size_t i = 0; i < q->count; i++)
    buf[i] = q->buf[(q->head + i) % q->cap];
  free(q->buf);
  q->buf = buf;
  q->cap = cap;
  q->head = 0;
  return 0;
}

static void heap_up(weft_queue_t *q, size_t i) {
  entry_t e = q->buf[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!entry_before(&e, &q->buf[parent]))
      break;
    q->buf[i] = q->buf[parent];
    i = parent;
  }
  q->buf[i] = e;
}

static void heap_down(weft_queue_t *q, size_t i) {
  entry_t e = q->buf[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= q->count)
      break;
    if (child + 1 < q->count && entry_before(&q->buf[child + 1], &q->buf[child]))
      child++;
    if (!entry_before(&q->buf[child], &e))
      break;
    q->buf[i] = q->buf[child];
    i = child;
  }
  q->buf[i] = e;
}

/* Adds an entry where it belongs; `front` puts a FIFO entry back at the head (an item a
 * cancelled getter returns keeps its place). The entry's seq is already set. */
static int store_push(weft_queue_t *q, const entry_t *e, int front) {
  int rc = store_reserve(q);
  if (rc != 0)
    return rc;
  if (q->kind == WEFT_QUEUE_FIFO && front) {
    q->head = (q->head + q->cap - 1) % q->cap;
    q->buf[q->head] = *e;
    q->count++;
  } else if (q->kind == WEFT_QUEUE_FIFO) {
    q->buf[(q->head + q->count) % q->cap] = *e;
    q->count++;
  } else if (q->kind == WEFT_QUEUE_LIFO) {
    q->buf[q->count++] = *e;
  } else {
    q->buf[q->count++] = *e;
    heap_up(q, q->count - 1);
  }
  return 0;
}

static entry_t store_pop(weft_queue_t *q) {
  entry_t e;
  if (q->kind == WEFT_QUEUE_FIFO) {
    e = q->buf[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
  } else if (q->kind == WEFT_QUEUE_LIFO) {
    e = q->buf[--q->count];
  } else {
    e = q->buf[0];
    q->buf[0] = q->buf[--q->count];
    if (q->count > 0)
      heap_down(q, 0);
  }
  return e;
}

static int q_full(const weft_queue_t *q) {
  return q->maxsize > 0 && q->count >= q->maxsize;
}

/* Wakes the first waiter not woken or cancelled yet, dropping the others from the list. */
static void wakeup_next(weft__wlist_t *list) {
  while (list->head != NULL) {
    qop_t *op = (qop_t *)list->head;
    weft__wlist_unlink(list, &op->node);
    if (!weft_future_done(op->waiter)) {
      weft_future_set_result(op->waiter, weft_value_none());
      break;
    }
  }
}

/* asyncio's get_nowait. */
static int try_get(weft_queue_t *q, entry_t *out) {
  if (q->count == 0)
    return q->shutdown ? WEFT_EQUEUESHUTDOWN : WEFT_EQUEUEEMPTY;
  *out = store_pop(q);
  wakeup_next(&q->putters);
  return 0;
}

/* asyncio's put_nowait; on success the entry is the queue's. */
static int try_put(weft_queue_t *q, entry_t *e) {
  if (q->shutdown)
    return WEFT_EQUEUESHUTDOWN;
  if (q_full(q))
    return WEFT_EQUEUEFULL;
  e->seq = q->next_seq++;
  int rc = store_push(q, e, 0);
  if (rc != 0)
    return rc;
  q->unfinished++;
  weft_event_clear(q->finished);
  wakeup_next(&q->getters);
  return 0;
}

/* ---- Life ---- */

int weft_queue_new(weft_loop_t *loop, int32_t kind, size_t maxsize, weft_queue_t **out) {
  if (loop == NULL || out == NULL ||
      (kind != WEFT_QUEUE_FIFO && kind != WEFT_QUEUE_LIFO && kind != WEFT_QUEUE_PRIORITY))
    return WEFT_EINVAL;
  weft_queue_t *q = calloc(1, sizeof *q);
  if (q == NULL)
    return WEFT_ENOMEM;
  int rc = weft_event_new(loop, &q->finished);
  if (rc != 0) {
    free(q);
    return rc;
  }
  weft_event_set(q->finished);
  q->refs = 1;
  q->loop = loop;
  q->kind = kind;
  q->maxsize = maxsize;
  *out = q;
  return 0;
}

static void queue_unref(weft_queue_t *q) {
  if (--q->refs > 0)
    return;
  while (q->count > 0) {
    entry_t e = store_pop(q);
    weft_value_clear(&e.item);
  }
  free(q->buf);
  weft_event_release(q->finished);
  free(q);
}

weft_queue_t *weft_queue_retain(weft_queue_t *queue) {
  if (queue != NULL)
    queue->refs++;
  return queue;
}

void weft_queue_release(weft_queue_t *queue) {
  if (queue != NULL)
    queue_unref(queue);
}

/* ---- Waiting operations ---- */

static void box_free(void *ptr) {
  box_t *box = ptr;
  if (!box->taken)
    weft_value_clear(&box->entry.item);
  free(box);
}

/* Completes a get's future with the entry (moved in); `now`: from the retry, which runs
 * the future's callbacks at once (weft__future_finish_now). */
static void get_complete(weft_future_t *result, entry_t *e, int now) {
  box_t *box = malloc(sizeof *box);
  if (box == NULL) {
    weft_value_clear(&e->item);
    if (now)
      weft__future_finish_now(result, weft_value_none(), WEFT_ENOMEM);
    else
      weft_future_set_error(result, WEFT_ENOMEM, NULL, NULL, NULL);
    return;
  }
  box->entry = *e;
  box->taken = 0;
  weft_value_t value = weft_value_pointer(box, box_free);
  if (now)
    weft__future_finish_now(result, value, 0);
  else
    weft_future_set_result(result, value);
}

static void op_unref(qop_t *op) {
  if (--op->refs > 0)
    return;
  weft_queue_t *q = op->queue;
  weft__wlist_unlink(op->is_put ? &q->putters : &q->getters, &op->node);
  if (op->is_put)
    weft_value_clear(&op->entry.item);
  if (op->waiter != NULL)
    weft_future_release(op->waiter);
  weft_future_release(op->result);
  queue_unref(q);
  free(op);
}

static void op_waiter_cb(weft_future_t *waiter, void *arg);

/* Queues the operation at the back of its line with a fresh waiter. */
static int op_wait(qop_t *op) {
  weft_queue_t *q = op->queue;
  if (op->waiter != NULL) {
    weft_future_release(op->waiter);
    op->waiter = NULL;
  }
  int rc = weft_future_new(q->loop, &op->waiter);
  if (rc != 0)
    return rc;
  weft__future_watch_op(&op->waiter_watch, op->waiter, op_waiter_cb, op);
  op->refs++;
  weft__wlist_push(op->is_put ? &q->putters : &q->getters, &op->node);
  return 0;
}

static void op_fail(qop_t *op, int code) {
  if (op->is_put)
    weft_value_clear(&op->entry.item);
  weft_future_set_error(op->result, code, NULL, NULL, NULL);
}

static void op_waiter_cb(weft_future_t *waiter, void *arg) {
  qop_t *op = arg;
  weft_queue_t *q = op->queue;
  weft__wlist_unlink(op->is_put ? &q->putters : &q->getters, &op->node);
  if (!weft_future_done(waiter)) {
    op_unref(op); /* the loop's close: out of the line, nothing retried or completed */
    return;
  }
  if (weft_future_done(op->result)) {
    /* The caller gave up. A wake-up we got but cannot use goes to the next in line. */
    if (!weft_future_cancelled(waiter)) {
      if (op->is_put && !q_full(q))
        wakeup_next(&q->putters);
      else if (!op->is_put && q->count > 0)
        wakeup_next(&q->getters);
    }
    op_unref(op);
    return;
  }
  /* The retry's outcome reaches the caller's callbacks in this same iteration, as a task
   * that retries in its own step would go on at once (see weft__future_finish_now). */
  int rc;
  if (op->is_put) {
    rc = try_put(q, &op->entry);
    if (rc == 0) {
      op->entry.item = weft_value_none();
      weft__future_finish_now(op->result, weft_value_none(), 0);
    }
  } else {
    entry_t e;
    rc = try_get(q, &e);
    if (rc == 0)
      get_complete(op->result, &e, 1);
  }
  if (rc == WEFT_EQUEUEFULL || rc == WEFT_EQUEUEEMPTY)
    rc = op_wait(op); /* someone got there first: back of the line, as asyncio */
  if (rc != 0 && rc != WEFT_EQUEUEFULL && rc != WEFT_EQUEUEEMPTY)
    op_fail(op, rc);
  op_unref(op);
}

static void op_result_cb(weft_future_t *result, void *arg) {
  qop_t *op = arg;
  /* Cancelled by the caller: withdraw the waiter; its callback does the clean-up. */
  if (weft_future_cancelled(result) && op->waiter != NULL && !weft_future_done(op->waiter))
    weft_future_cancel(op->waiter, NULL);
  op_unref(op);
}

/* Starts a waiting operation; *out receives the caller's future. Takes the entry. */
static int op_start(weft_queue_t *q, int is_put, entry_t *e, weft_future_t **out) {
  qop_t *op = calloc(1, sizeof *op);
  int rc = op != NULL ? weft_future_new(q->loop, &op->result) : WEFT_ENOMEM;
  if (rc == 0)
    weft__future_watch_op(&op->result_watch, op->result, op_result_cb, op);
  if (rc != 0) {
    free(op);
    if (is_put)
      weft_value_clear(&e->item);
    return rc;
  }
  op->queue = q;
  q->refs++;
  op->is_put = is_put;
  op->refs = 1;
  if (is_put)
    op->entry = *e;
  rc = op_wait(op);
  if (rc != 0) {
    /* Through the normal path: the result's done callback drops the last reference. */
    op_fail(op, rc);
    return rc;
  }
  *out = weft_future_retain(op->result);
  return 0;
}

/* ---- Put ---- */

/* Puts at once (0 and *out NULL), fails, or starts a waiting put in *out. The item is taken
 * in every case. */
static int put_begin(weft_queue_t *q, int64_t priority, weft_value_t item, weft_future_t **out) {
  entry_t e = {item, priority, 0};
  *out = NULL;
  int rc = try_put(q, &e);
  if (rc == WEFT_EQUEUEFULL)
    return op_start(q, 1, &e, out);
  if (rc != 0)
    weft_value_clear(&e.item);
  return rc;
}

/* Stackful tasks wait as asyncio's Queue.put and Queue.get coroutines do: queue a waiter,
 * await it, and retry in the task itself. The task then resumes in the iteration after
 * the wake-up, as in asyncio; so do the callbacks of an operation of the future form,
 * whose retry runs in the waiter's callback and calls them at once. */
static int wait_turn(weft_queue_t *q, int is_put) {
  qop_t *op = calloc(1, sizeof *op);
  if (op == NULL)
    return WEFT_ENOMEM;
  int rc = weft_future_new(q->loop, &op->waiter);
  if (rc != 0) {
    free(op);
    return rc;
  }
  op->queue = q;
  op->is_put = is_put;
  q->refs++;
  weft__wlist_t *list = is_put ? &q->putters : &q->getters;
  weft__wlist_push(list, &op->node);
  rc = weft_await(op->waiter);
  weft__wlist_unlink(list, &op->node);
  if (rc != 0) {
    /* The task gave up. A wake-up it got but will not use goes to the next in line. */
    if (!weft_future_done(op->waiter))
      weft_future_cancel(op->waiter, NULL);
    else if (!weft_future_cancelled(op->waiter) && (is_put ? !q_full(q) : q->count > 0))
      wakeup_next(list);
  }
  weft_future_release(op->waiter);
  free(op);
  queue_unref(q);
  return rc;
}

static int put_in_task(weft_queue_t *q, int64_t priority, weft_value_t item) {
  if (q == NULL) {
    weft_value_clear(&item);
    return WEFT_EINVAL;
  }
  if (weft_current_task(q->loop) == NULL) {
    weft_value_clear(&item);
    return weft__not_in_task(q->loop);
  }
  entry_t e = {item, priority, 0};
  for (;;) {
    int rc = try_put(q, &e);
    if (rc == WEFT_EQUEUEFULL)
      rc = wait_turn(q, 1);
    else if (rc == 0)
      return 0;
    if (rc != 0) {
      weft_value_clear(&e.item);
      return rc;
    }
  }
}

static int put_future(weft_queue_t *q, int64_t priority, weft_value_t item, weft_future_t **out) {
  if (q == NULL || out == NULL) {
    weft_value_clear(&item);
    return WEFT_EINVAL;
  }
  weft_future_t *f;
  int rc = put_begin(q, priority, item, &f);
  if (rc == WEFT_EQUEUESHUTDOWN)
    return weft__done_future(q->loop, rc, weft_value_none(), out);
  if (rc != 0)
    return rc;
  if (f == NULL)
    return weft__done_future(q->loop, 0, weft_value_none(), out);
  *out = f;
  return 0;
}

static int put_nowait(weft_queue_t *q, int64_t priority, weft_value_t item) {
  if (q == NULL) {
    weft_value_clear(&item);
    return WEFT_EINVAL;
  }
  entry_t e = {item, priority, 0};
  int rc = try_put(q, &e);
  if (rc != 0)
    weft_value_clear(&e.item);
  return rc;
}

int weft_queue_put_await(weft_queue_t *queue, weft_value_t item) {
  return put_in_task(queue, 0, item);
}

int weft_queue_put(weft_queue_t *queue, weft_value_t item, weft_future_t **out) {
  return put_future(queue, 0, item, out);
}

int weft_queue_put_nowait(weft_queue_t *queue, weft_value_t item) {
  return put_nowait(queue, 0, item);
}

int weft_queue_put_priority_await(weft_queue_t *queue, int64_t priority, weft_value_t item) {
  return put_in_task(queue, priority, item);
}

int weft_queue_put_priority(weft_queue_t *queue, int64_t priority, weft_value_t item,
                            weft_future_t **out) {
  return put_future(queue, priority, item, out);
}

int weft_queue_put_priority_nowait(weft_queue_t *queue, int64_t priority, weft_value_t item) {
  return put_nowait(queue, priority, item);
}

/* ---- Get ---- */

static void entry_out(entry_t *e, weft_value_t *item_out, int64_t *priority_out) {
  *item_out = e->item;
  if (priority_out != NULL)
    *priority_out = e->priority;
}

int weft_queue_get_nowait(weft_queue_t *queue, weft_value_t *item_out, int64_t *priority_out) {
  if (queue == NULL || item_out == NULL)
    return WEFT_EINVAL;
  entry_t e;
  int rc = try_get(queue, &e);
  if (rc == 0)
    entry_out(&e, item_out, priority_out);
  return rc;
}

int weft_queue_get(weft_queue_t *queue, weft_future_t **out) {
  if (queue == NULL || out == NULL)
    return WEFT_EINVAL;
  entry_t e;
  int rc = try_get(queue, &e);
  if (rc == WEFT_EQUEUEEMPTY)
    return op_start(queue, 0, NULL, out);
  if (rc != 0)
    return weft__done_future(queue->loop, rc, weft_value_none(), out);
  int rc2 = weft_future_new(queue->loop, out);
  if (rc2 != 0) {
    /* Nobody can take it now: keep it at the head rather than lose it. */
    store_push(queue, &e, 1);
    return rc2;
  }
  get_complete(*out, &e, 0);
  return 0;
}

static box_t *get_box(weft_future_t *f, int *rc) {
  const weft_value_t *v = NULL;
  *rc = weft_future_result(f, &v);
  if (*rc != 0)
    return NULL;
  if (v == NULL || v->type != WEFT_VALUE_POINTER || v->free_fn != box_free) {
    *rc = WEFT_EINVAL;
    return NULL;
  }
  box_t *box = v->ptr;
  if (box->taken) {
    *rc = WEFT_EINVALIDSTATE;
    return NULL;
  }
  return box;
}

int weft_queue_take(weft_future_t *get_future, weft_value_t *item_out, int64_t *priority_out) {
  if (get_future == NULL || item_out == NULL)
    return WEFT_EINVAL;
  if (!weft_future_done(get_future))
    return WEFT_EINVALIDSTATE;
  int rc;
  box_t *box = get_box(get_future, &rc);
  if (box == NULL)
    return rc;
  entry_out(&box->entry, item_out, priority_out);
  box->taken = 1;
  return 0;
}

int weft_queue_get_await(weft_queue_t *queue, weft_value_t *item_out, int64_t *priority_out) {
  if (queue == NULL || item_out == NULL)
    return WEFT_EINVAL;
  if (weft_current_task(queue->loop) == NULL)
    return weft__not_in_task(queue->loop);
  for (;;) {
    entry_t e;
    int rc = try_get(queue, &e);
    if (rc == 0) {
      entry_out(&e, item_out, priority_out);
      return 0;
    }
    if (rc == WEFT_EQUEUEEMPTY)
      rc = wait_turn(queue, 0);
    if (rc != 0)
      return rc;
  }
}

/* ---- State ---- */

size_t weft_queue_qsize(const weft_queue_t *queue) {
  return queue != NULL ? queue->count : 0;
}

size_t weft_queue_maxsize(const weft_queue_t *queue) {
  return queue != NULL ? queue->maxsize : 0;
}

int weft_queue_empty(const weft_queue_t *queue) {
  return queue != NULL && queue->count == 0;
}

int weft_queue_full(const weft_queue_t *queue) {
  return queue != NULL && q_full(queue);
}

/* ---- task_done / join ---- */

int weft_queue_task_done(weft_queue_t *queue) {
  if (queue == NULL)
    return WEFT_EINVAL;
  if (queue->unfinished == 0)
    return WEFT_EINVALIDSTATE;
  if (--queue->unfinished == 0)
    weft_event_set(queue->finished);
  return 0;
}

int weft_queue_join(weft_queue_t *queue, weft_future_t **out) {
  if (queue == NULL || out == NULL)
    return WEFT_EINVAL;
  if (queue->unfinished == 0)
    return weft__done_future(queue->loop, 0, weft_value_none(), out);
  return weft_event_wait(queue->finished, out);
}

int weft_queue_join_await(weft_queue_t *queue) {
  if (queue == NULL)
    return WEFT_EINVAL;
  if (weft_current_task(queue->loop) == NULL)
    return weft__not_in_task(queue->loop);
  if (queue->unfinished == 0)
    return 0;
  return weft_event_wait_await(queue->finished);
}

/* ---- Shutdown ---- */

static void wake_all(weft__wlist_t *list) {
  while (list->head != NULL) {
    qop_t *op = (qop_t *)list->head;
    weft__wlist_unlink(list, &op->node);
    if (!weft_future_done(op->waiter))
      weft_future_set_result(op->waiter, weft_value_none());
  }
}

int weft_queue_shutdown(weft_queue_t *queue, int immediate) {
  if (queue == NULL)
    return WEFT_EINVAL;
  queue->shutdown = 1;
  if (immediate) {
    while (queue->count > 0) {
      entry_t e = store_pop(queue);
      weft_value_clear(&e.item);
      if (queue->unfinished > 0)
        queue->unfinished--;
    }
    if (queue->unfinished == 0)
      weft_event_set(queue->finished);
  }
  /* Everyone waiting re-checks and finds the queue shut down (getters: once it is empty). */
  wake_all(&queue->getters);
  wake_all(&queue->putters);
  return 0;
}

int weft_queue_is_shutdown(const weft_queue_t *queue) {
  return queue != NULL && queue->shutdown;
}
