/* asyncio's Barrier: `parties` tasks wait until all have arrived.
 *
 * asyncio's Barrier is a state (filling, draining, resetting, broken) and a count guarded by
 * a Condition; wait, reset and abort each run under its lock. The machine below follows
 * that code path by path, with the Condition's own wait as its only suspension besides the
 * lock. */
#include "sync_internal.h"

#include <stdint.h>
#include <stdlib.h>

enum barrier_state { B_FILLING, B_DRAINING, B_RESETTING, B_BROKEN };

enum barrier_pc {
  BP_ACQUIRE,
  BP_ACQUIRE_WAIT,
  BP_BLOCK, /* wait: let a draining or resetting barrier settle first */
  BP_BLOCK_WAIT,
  BP_WAIT, /* wait: wait for the barrier to fill */
  BP_WAIT_WAIT,
  BP_APPLY, /* reset / abort */
};

enum barrier_action { BA_WAIT, BA_RESET, BA_ABORT };

typedef struct barrier_op_s {
  weft_barrier_t *barrier;
  int action;
  int pc;
  int cancelled;
  int interrupt;
  int finished;
  weft__waiter_t *lockw;
  weft_future_t *cwait; /* a condition wait in progress */
  size_t index;
  int outcome;
} barrier_op_t;

int weft_barrier_new(weft_loop_t *loop, size_t parties, weft_barrier_t **out) {
  if (loop == NULL || out == NULL || parties < 1)
    return WEFT_EINVAL;
  weft_barrier_t *b = calloc(1, sizeof *b);
  if (b == NULL)
    return WEFT_ENOMEM;
  int rc = weft_condition_new(loop, NULL, &b->cond);
  if (rc != 0) {
    free(b);
    return rc;
  }
  weft__prim_init(&b->p, WEFT__PRIM_BARRIER, loop);
  b->parties = parties;
  b->state = B_FILLING;
  *out = b;
  return 0;
}

weft_barrier_t *weft_barrier_retain(weft_barrier_t *barrier) {
  if (barrier != NULL)
    weft__prim_ref(&barrier->p);
  return barrier;
}

void weft_barrier_release(weft_barrier_t *barrier) {
  if (barrier != NULL)
    weft__prim_unref(&barrier->p);
}

/* Leaves the barrier (count down, wake those waiting for it to drain) and the lock. */
static int barrier_exit(barrier_op_t *op, int outcome) {
  weft_barrier_t *b = op->barrier;
  b->count--;
  if (b->count == 0) {
    if (b->state == B_RESETTING || b->state == B_DRAINING)
      b->state = B_FILLING;
    weft__cond_notify(b->cond, SIZE_MAX);
  }
  weft_lock_unlock(b->cond->lock);
  op->outcome = outcome;
  return WEFT__OP_DONE;
}

static int barrier_leave_lock(barrier_op_t *op, int outcome) {
  weft_lock_unlock(op->barrier->cond->lock);
  op->outcome = outcome;
  return WEFT__OP_DONE;
}

/* A condition wait under way is finished once its task is done; a cancellation of ours is
 * passed to it, and it still re-acquires the lock before ending. */
static int barrier_cwait_pending(barrier_op_t *op, weft_future_t **awaiting) {
  if (weft_future_done(op->cwait))
    return 0;
  if (op->interrupt) {
    op->interrupt = 0;
    weft_task_t *t = weft_task_from_future(op->cwait);
    if (t != NULL && weft_task_cancelling(t) == 0)
      weft_task_cancel(t, NULL);
  }
  *awaiting = op->cwait;
  return 1;
}

static void barrier_cwait_end(barrier_op_t *op) {
  if (weft_future_error(op->cwait) != 0)
    op->cancelled = 1;
  weft_future_release(op->cwait);
  op->cwait = NULL;
}

static int barrier_run(barrier_op_t *op, weft_future_t **awaiting) {
  weft_barrier_t *b = op->barrier;
  int rc;
  for (;;) {
    switch (op->pc) {
    case BP_ACQUIRE:
      if (op->cancelled) {
        op->outcome = WEFT_ECANCELLED;
        return WEFT__OP_DONE;
      }
      rc = weft__lock_begin(b->cond->lock, &op->lockw);
      if (rc != 0) {
        op->outcome = rc;
        return WEFT__OP_DONE;
      }
      op->pc = op->lockw != NULL ? BP_ACQUIRE_WAIT : (op->action == BA_WAIT ? BP_BLOCK : BP_APPLY);
      break;
    case BP_ACQUIRE_WAIT:
      if (!weft_future_done(op->lockw->fut) && !op->interrupt) {
        *awaiting = op->lockw->fut;
        return WEFT__OP_SUSPEND;
      }
      if (!weft__lock_wait_finish(&op->lockw, &op->cancelled)) {
        op->outcome = WEFT_ECANCELLED;
        return WEFT__OP_DONE;
      }
      if (op->cancelled) /* granted, but cancelled before we could go on */
        return barrier_leave_lock(op, WEFT_ECANCELLED);
      op->pc = op->action == BA_WAIT ? BP_BLOCK : BP_APPLY;
      break;
    case BP_BLOCK:
      if (b->state == B_DRAINING || b->state == B_RESETTING) {
        rc = weft__cond_wait_start(b->cond, NULL, NULL, &op->cwait);
        if (rc != 0)
          return barrier_leave_lock(op, rc);
        op->pc = BP_BLOCK_WAIT;
        break;
      }
      if (b->state == B_BROKEN)
        return barrier_leave_lock(op, WEFT_EBROKENBARRIER);
      op->index = b->count++;
      if (op->index + 1 == b->parties) {
        b->state = B_DRAINING;
        weft__cond_notify(b->cond, SIZE_MAX);
        return barrier_exit(op, 0);
      }
      op->pc = BP_WAIT;
      break;
    case BP_BLOCK_WAIT:
      if (barrier_cwait_pending(op, awaiting))
        return WEFT__OP_SUSPEND;
      barrier_cwait_end(op);
      if (op->cancelled)
        return barrier_leave_lock(op, WEFT_ECANCELLED);
      op->pc = BP_BLOCK;
      break;
    case BP_WAIT:
      if (b->state == B_FILLING) {
        rc = weft__cond_wait_start(b->cond, NULL, NULL, &op->cwait);
        if (rc != 0)
          return barrier_exit(op, rc);
        op->pc = BP_WAIT_WAIT;
        break;
      }
      return barrier_exit(
          op, (b->state == B_BROKEN || b->state == B_RESETTING) ? WEFT_EBROKENBARRIER : 0);
    case BP_WAIT_WAIT:
      if (barrier_cwait_pending(op, awaiting))
        return WEFT__OP_SUSPEND;
      barrier_cwait_end(op);
      if (op->cancelled)
        return barrier_exit(op, WEFT_ECANCELLED);
      op->pc = BP_WAIT;
      break;
    case BP_APPLY:
      if (op->action == BA_RESET) {
        if (b->count > 0)
          b->state = B_RESETTING; /* the waiters break; the last one out refills */
        else
          b->state = B_FILLING;
      } else {
        b->state = B_BROKEN;
      }
      weft__cond_notify(b->cond, SIZE_MAX);
      return barrier_leave_lock(op, 0);
    }
  }
}

static void barrier_op_free(barrier_op_t *op) {
  if (op->lockw != NULL) {
    weft_future_cancel(op->lockw->fut, NULL);
    weft__waiter_unref(op->lockw);
  }
  if (op->cwait != NULL)
    weft_future_release(op->cwait);
  weft__prim_unref(&op->barrier->p);
  free(op);
}

static weft_value_t barrier_result(const barrier_op_t *op) {
  return op->action == BA_WAIT ? weft_value_int((int64_t)op->index) : weft_value_none();
}

static void barrier_step(weft_task_t *task, int throw_code, void *arg) {
  barrier_op_t *op = arg;
  op->interrupt = throw_code == WEFT_ECANCELLED;
  if (op->interrupt)
    op->cancelled = 1;
  weft_future_t *awaiting = NULL;
  if (!op->finished && barrier_run(op, &awaiting) == WEFT__OP_SUSPEND) {
    weft_task_suspend(task, awaiting);
    return;
  }
  if (op->outcome != 0)
    weft_task_fail(task, op->outcome, NULL, NULL, NULL);
  else
    weft_task_return(task, barrier_result(op));
  barrier_op_free(op);
}

/* Whether the operation will finish without suspending, so it needs no task. */
static int barrier_runs_through(const weft_barrier_t *b, int action) {
  if (!weft__lock_can_take(b->cond->lock))
    return 0;
  if (action != BA_WAIT || b->state == B_BROKEN)
    return 1;
  return b->state == B_FILLING && b->count + 1 == b->parties;
}

static int barrier_start(weft_barrier_t *b, int action, weft_future_t **out) {
  barrier_op_t *op = calloc(1, sizeof *op);
  if (op == NULL)
    return WEFT_ENOMEM;
  op->barrier = b;
  weft__prim_ref(&b->p);
  op->action = action;
  op->pc = BP_ACQUIRE;
  weft_future_t *awaiting = NULL;
  if (barrier_runs_through(b, action)) {
    barrier_run(op, &awaiting);
    int code = op->outcome;
    weft_value_t v = barrier_result(op);
    barrier_op_free(op);
    return weft__done_future(b->p.loop, code, v, out);
  }
  /* The task exists before anything changes, so failing to make it changes nothing. */
  weft_task_t *task;
  int rc = weft_task_new_stepped(b->p.loop, barrier_step, op, NULL, NULL, &task);
  if (rc != 0) {
    barrier_op_free(op);
    return rc;
  }
  if (barrier_run(op, &awaiting) == WEFT__OP_DONE)
    op->finished = 1;
  *out = weft_future_retain(weft_task_future(task));
  weft_task_release(task);
  return 0;
}

static int barrier_in_task(weft_barrier_t *b, int action, size_t *index_out) {
  if (b == NULL)
    return WEFT_EINVAL;
  if (!weft__in_task(b->p.loop))
    return weft__not_in_task(b->p.loop);
  weft_future_t *f;
  int rc = barrier_start(b, action, &f);
  if (rc != 0)
    return rc;
  rc = weft__await_done(f);
  if (rc == 0 && index_out != NULL) {
    const weft_value_t *v = NULL;
    if (weft_future_result(f, &v) == 0 && v != NULL)
      *index_out = (size_t)v->i;
  }
  weft_future_release(f);
  return rc;
}

int weft_barrier_wait_await(weft_barrier_t *barrier, size_t *index_out) {
  return barrier_in_task(barrier, BA_WAIT, index_out);
}

int weft_barrier_wait(weft_barrier_t *barrier, weft_future_t **out) {
  if (barrier == NULL || out == NULL)
    return WEFT_EINVAL;
  return barrier_start(barrier, BA_WAIT, out);
}

int weft_barrier_reset_await(weft_barrier_t *barrier) {
  return barrier_in_task(barrier, BA_RESET, NULL);
}

int weft_barrier_reset(weft_barrier_t *barrier, weft_future_t **out) {
  if (barrier == NULL || out == NULL)
    return WEFT_EINVAL;
  return barrier_start(barrier, BA_RESET, out);
}

int weft_barrier_abort_await(weft_barrier_t *barrier) {
  return barrier_in_task(barrier, BA_ABORT, NULL);
}

int weft_barrier_abort(weft_barrier_t *barrier, weft_future_t **out) {
  if (barrier == NULL || out == NULL)
    return WEFT_EINVAL;
  return barrier_start(barrier, BA_ABORT, out);
}

size_t weft_barrier_parties(const weft_barrier_t *barrier) {
  return barrier != NULL ? barrier->parties : 0;
}

size_t weft_barrier_n_waiting(const weft_barrier_t *barrier) {
  if (barrier == NULL || barrier->state != B_FILLING)
    return 0;
  return barrier->count;
}

int weft_barrier_broken(const weft_barrier_t *barrier) {
  return barrier != NULL && barrier->state == B_BROKEN;
}
