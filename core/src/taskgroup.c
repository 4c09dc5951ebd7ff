/* TaskGroup, as asyncio.TaskGroup: children that cannot outlive the block of their parent
 * task, where the first failure cancels the rest. */
#include "internal.h"

struct weft_taskgroup_s {
  weft_task_t *parent;
  bool exiting, aborting, parent_cancel_requested;
  weft_task_t **tasks; /* running children, each with a reference */
  size_t ntasks, tasks_cap;
  weft_future_t **errors; /* failed children, and the body's error */
  size_t nerrors, errors_cap;
  weft_future_t *on_completed; /* exit waits on it while children run */
  /* weft_taskgroup_exit, the future form: the future handed out, and what the exit's end
   * needs to know, kept across the calls. */
  weft_future_t *exit_future;
  int exit_body_rc;
  bool propagate_cancel, cancelled_while_waiting, finished;
};

static void finish_exit_future(weft_taskgroup_t *g);

static int append(void ***items, size_t *len, size_t *cap, void *item) {
  if (*len == *cap) {
    size_t grown_cap = *cap ? *cap * 2 : 8;
    void **grown = realloc(*items, grown_cap * sizeof *grown);
    if (grown == NULL)
      return WEFT_ENOMEM;
    *items = grown;
    *cap = grown_cap;
  }
  (*items)[(*len)++] = item;
  return 0;
}

int weft_taskgroup_enter(weft_task_t *parent, weft_taskgroup_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (parent == NULL)
    return WEFT_EINVAL;
  if (weft_future_done(weft_task_future(parent)))
    return WEFT_EINVALIDSTATE;
  weft_taskgroup_t *g = calloc(1, sizeof *g);
  if (g == NULL)
    return WEFT_ENOMEM;
  g->parent = weft_task_retain(parent);
  *out = g;
  return 0;
}

static void abort_children(weft_taskgroup_t *g) {
  g->aborting = true;
  for (size_t i = 0; i < g->ntasks; i++)
    weft_task_cancel(g->tasks[i], NULL);
}

static void remove_task(weft_taskgroup_t *g, weft_task_t *t) {
  for (size_t i = 0; i < g->ntasks; i++) {
    if (g->tasks[i] == t) {
      g->tasks[i] = g->tasks[--g->ntasks];
      weft_task_release(t);
      return;
    }
  }
}

static void on_child_done(weft_future_t *future, void *arg) {
  weft_taskgroup_t *g = arg;
  weft_task_t *t = weft_task_from_future(future);
  weft_future_retain(future);
  remove_task(g, t);
  if (g->on_completed != NULL && g->ntasks == 0 && !weft_future_done(g->on_completed))
    weft_future_set_result(g->on_completed, weft_value_none());
  int rc = weft_future_cancelled(future) ? 0 : weft_future_error(future);
  if (rc != 0 &&
      append((void ***)&g->errors, &g->nerrors, &g->errors_cap, weft_future_retain(future)) != 0)
    weft_future_release(future);
  if (rc != 0 && weft_future_done(weft_task_future(g->parent))) {
    weft_error_context_t ctx = {
        .size = sizeof ctx,
        .message = "a TaskGroup child failed after its parent task was already done",
        .error = rc,
        .error_message = weft_future_error_message(future),
        .task = t};
    weft_loop_call_exception_handler(future->loop, &ctx);
  } else if (rc != 0 && !g->aborting && !g->parent_cancel_requested) {
    /* Abort whatever the body is doing; exit withdraws this cancellation again. */
    abort_children(g);
    g->parent_cancel_requested = true;
    weft_task_cancel(g->parent, NULL);
  }
  /* Last, once this child's error is among the group's. */
  if (g->exit_future != NULL && g->ntasks == 0 && !g->finished && !weft_future_done(g->exit_future))
    finish_exit_future(g);
  weft_future_release(future);
}

int weft_taskgroup_add(weft_taskgroup_t *group, weft_task_t *task) {
  if (group == NULL || task == NULL)
    return WEFT_EINVAL;
  if ((group->exiting && group->ntasks == 0) || group->aborting)
    return WEFT_EINVALIDSTATE;
  int rc = append((void ***)&group->tasks, &group->ntasks, &group->tasks_cap, task);
  if (rc != 0)
    return rc;
  weft_task_retain(task);
  /* Registered even on a task that is already done, so its failure is seen in order. */
  rc = weft__future_add_callback(weft_task_future(task), on_child_done, group,
                                 weft_task_future(group->parent));
  if (rc != 0) {
    remove_task(group, task);
    return rc;
  }
  return 0;
}

int weft_taskgroup_spawn(weft_taskgroup_t *group, weft_task_fn fn, void *arg,
                         const weft_task_options_t *options, weft_task_t **out) {
  if (out != NULL)
    *out = NULL;
  if (group == NULL || fn == NULL)
    return WEFT_EINVAL;
  if ((group->exiting && group->ntasks == 0) || group->aborting)
    return WEFT_EINVALIDSTATE;
  weft_task_t *t;
  int rc = weft_task_spawn(weft_task_future(group->parent)->loop, fn, arg, options, &t);
  if (rc != 0)
    return rc;
  rc = weft_taskgroup_add(group, t);
  if (rc != 0) {
    weft_task_cancel(t, NULL);
    weft_task_release(t);
    return rc;
  }
  if (out != NULL)
    *out = t;
  else
    weft_task_release(t);
  return 0;
}

int weft_taskgroup_cancel(weft_taskgroup_t *group) {
  if (group == NULL)
    return WEFT_EINVAL;
  if (group->exiting && group->ntasks == 0)
    return 0;
  if (!group->aborting) {
    abort_children(group);
    if (!group->parent_cancel_requested) {
      group->parent_cancel_requested = true;
      weft_task_cancel(group->parent, NULL);
    }
  }
  return 0;
}

/* Records the body's own failure among the group's errors, keeping its message and payload
 * when it came from an awaited future. */
static void add_body_error(weft_taskgroup_t *g, int body_rc) {
  weft_loop_t *loop = weft_task_future(g->parent)->loop;
  weft_future_t *f;
  if (weft_future_new(loop, &f) != 0)
    return;
  weft_future_t *source = g->parent->last_error;
  if (source != NULL && source->error == body_rc)
    weft__future_copy_outcome(f, source);
  else
    weft_future_set_error(f, body_rc, "the TaskGroup's body failed", NULL, NULL);
  /* Delivered through the group's errors, as asyncio's ExceptionGroup: never reported as
   * an error nobody retrieved. */
  weft_future_error(f);
  if (append((void ***)&g->errors, &g->nerrors, &g->errors_cap, f) != 0)
    weft_future_release(f);
}

/* The end of exit, once no child runs: the outcome exit returns. */
static int finish(weft_taskgroup_t *group, int body_rc, bool propagate_cancel,
                  bool cancelled_while_waiting, bool rearm) {
  group->finished = true;
  if (group->parent_cancel_requested) {
    if (weft_task_uncancel(group->parent) == 0)
      propagate_cancel = false; /* the only cancellation was the group's own */
    else if (!propagate_cancel)
      propagate_cancel = cancelled_while_waiting;
  }
  if (propagate_cancel && group->nerrors == 0)
    return WEFT_ECANCELLED;
  if (body_rc != 0 && body_rc != WEFT_ECANCELLED)
    add_body_error(group, body_rc);
  if (group->nerrors > 0) {
    /* An outside cancellation stays requested, with a stable count. The parent of the
     * future form is not running: cancelling it again would cancel what it awaits, which
     * is the exit's future; the count stays as it is. */
    if (rearm && weft_task_cancelling(group->parent) > 0) {
      weft_task_uncancel(group->parent);
      weft_task_cancel(group->parent, NULL);
    }
    return WEFT_EGROUP;
  }
  return 0;
}

int weft_taskgroup_exit_await(weft_taskgroup_t *group, int body_rc) {
  if (group == NULL)
    return WEFT_EINVAL;
  weft_loop_t *loop = weft_task_future(group->parent)->loop;
  if (weft_current_task(loop) != group->parent)
    return WEFT_ENOTINTASK;
  if (group->exiting)
    return WEFT_EINVALIDSTATE;
  group->exiting = true;
  bool propagate_cancel = body_rc == WEFT_ECANCELLED;
  if (body_rc != 0 && !group->aborting)
    abort_children(group);

  bool cancelled_while_waiting = false;
  while (group->ntasks > 0) {
    int rc = weft_future_new(loop, &group->on_completed);
    if (rc == 0)
      rc = weft_await(group->on_completed);
    if (rc == WEFT_ECANCELLED) {
      cancelled_while_waiting = true;
      if (!group->aborting) {
        propagate_cancel = true;
        abort_children(group);
      }
    } else if (rc != 0) {
      /* Out of memory: go on cancelling until the children are gone. */
      abort_children(group);
      weft_sleep_await(loop, 0);
    }
    weft_future_release(group->on_completed);
    group->on_completed = NULL;
  }

  return finish(group, body_rc, propagate_cancel, cancelled_while_waiting, true);
}

static void finish_exit_future(weft_taskgroup_t *g) {
  int rc = finish(g, g->exit_body_rc, g->propagate_cancel, g->cancelled_while_waiting, false);
  if (rc == 0)
    weft_future_set_result(g->exit_future, weft_value_none());
  else if (rc == WEFT_ECANCELLED)
    weft_future_cancel(g->exit_future, NULL);
  else
    weft_future_set_error(g->exit_future, rc, "a TaskGroup's child or body failed", NULL, NULL);
}

int weft_taskgroup_exit(weft_taskgroup_t *group, int body_rc, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (group == NULL)
    return WEFT_EINVAL;
  bool again = group->exit_future != NULL;
  /* Called again: only once the parent's cancellation cancelled the previous future while
   * children ran. */
  if (again && (group->finished || !weft_future_cancelled(group->exit_future)))
    return WEFT_EINVALIDSTATE;
  if (!again && group->exiting)
    return WEFT_EINVALIDSTATE;
  weft_future_t *f;
  int rc = weft_future_new(weft_task_future(group->parent)->loop, &f);
  if (rc != 0)
    return rc;
  if (again) {
    /* As exit_await: a cancellation while waiting cancels the children, and exit goes on
     * waiting for them. */
    group->cancelled_while_waiting = true;
    if (!group->aborting) {
      group->propagate_cancel = true;
      abort_children(group);
    }
    weft_future_release(group->exit_future);
  } else {
    group->exiting = true;
    group->exit_body_rc = body_rc;
    group->propagate_cancel = body_rc == WEFT_ECANCELLED;
    if (body_rc != 0 && !group->aborting)
      abort_children(group);
  }
  group->exit_future = f;
  if (group->ntasks == 0)
    finish_exit_future(group);
  *out = weft_future_retain(f);
  return 0;
}

size_t weft_taskgroup_errors(const weft_taskgroup_t *group, weft_future_t **out, size_t capacity) {
  if (group == NULL)
    return 0;
  for (size_t i = 0; out != NULL && i < group->nerrors && i < capacity; i++)
    out[i] = group->errors[i];
  return group->nerrors;
}

void weft_taskgroup_free(weft_taskgroup_t *group) {
  if (group == NULL)
    return;
  /* Freed without exit (a misuse): the children must not outlive the group. */
  while (group->ntasks > 0) {
    weft_task_t *t = group->tasks[group->ntasks - 1];
    weft_future_remove_done_callback(weft_task_future(t), on_child_done, group);
    weft_task_cancel(t, NULL);
    remove_task(group, t);
  }
  if (group->exit_future != NULL) {
    /* Nobody waits for a group freed during exit any more. */
    weft_future_cancel(group->exit_future, NULL);
    weft_future_release(group->exit_future);
  }
  for (size_t i = 0; i < group->nerrors; i++)
    weft_future_release(group->errors[i]);
  free(group->errors);
  free(group->tasks);
  weft_task_release(group->parent);
  free(group);
}
