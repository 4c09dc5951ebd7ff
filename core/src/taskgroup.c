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
  /* The exit's state, shared by its await and future forms. */
  int body_rc;
  bool propagate_cancel, cancelled_while_waiting;
  weft_future_t *exit_future; /* the future form's, until it completes */
};

/* The future form of exit: a cancellation of it is a cancellation of the parent while it
 * waits, which cancels the children; it completes only once they are all done. */
typedef struct {
  weft_future_t future;
  weft_taskgroup_t *group; /* NULL once completed or the group was freed */
} exit_future_t;

static void exit_cancelled(weft_taskgroup_t *g);
static int exit_outcome(weft_taskgroup_t *g);
static void exit_future_complete(weft_taskgroup_t *g);

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
  bool last = g->exit_future != NULL && g->ntasks == 0;
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
  /* After the failure is recorded and the group's own cancellation requested, so that the
   * outcome counts both. */
  if (last)
    exit_future_complete(g);
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

static void exit_begin(weft_taskgroup_t *g, int body_rc) {
  g->exiting = true;
  g->body_rc = body_rc;
  g->propagate_cancel = body_rc == WEFT_ECANCELLED;
  if (body_rc != 0 && !g->aborting)
    abort_children(g);
}

/* The parent was cancelled while exit waits for the children. */
static void exit_cancelled(weft_taskgroup_t *g) {
  g->cancelled_while_waiting = true;
  if (!g->aborting) {
    g->propagate_cancel = true;
    abort_children(g);
  }
}

/* Once no child runs: what exit returns. */
static int exit_outcome(weft_taskgroup_t *g) {
  bool propagate_cancel = g->propagate_cancel;
  if (g->parent_cancel_requested) {
    if (weft_task_uncancel(g->parent) == 0)
      propagate_cancel = false; /* the only cancellation was the group's own */
    else if (!propagate_cancel)
      propagate_cancel = g->cancelled_while_waiting;
  }
  if (propagate_cancel && g->nerrors == 0)
    return WEFT_ECANCELLED;
  if (g->body_rc != 0 && g->body_rc != WEFT_ECANCELLED)
    add_body_error(g, g->body_rc);
  if (g->nerrors > 0) {
    /* An outside cancellation stays requested, with a stable count. */
    if (weft_task_cancelling(g->parent) > 0) {
      weft_task_uncancel(g->parent);
      weft_task_cancel(g->parent, NULL);
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
  exit_begin(group, body_rc);
  while (group->ntasks > 0) {
    int rc = weft_future_new(loop, &group->on_completed);
    if (rc == 0)
      rc = weft_await(group->on_completed);
    if (rc == WEFT_ECANCELLED) {
      exit_cancelled(group);
    } else if (rc != 0) {
      /* Out of memory: go on cancelling until the children are gone. */
      abort_children(group);
      weft_sleep_await(loop, 0);
    }
    weft_future_release(group->on_completed);
    group->on_completed = NULL;
  }
  return exit_outcome(group);
}

static int exit_future_cancel(weft_future_t *f, const char *message) {
  (void)message;
  exit_future_t *e = (exit_future_t *)f;
  if (f->state != WEFT__PENDING || e->group == NULL)
    return 0;
  exit_cancelled(e->group);
  return 1;
}

static void exit_future_destroy(weft_future_t *f) {
  free(f);
}

static const weft__future_class_t exit_future_class = {"taskgroup exit", exit_future_cancel,
                                                       exit_future_destroy};

static void exit_future_complete(weft_taskgroup_t *g) {
  weft_future_t *f = g->exit_future;
  g->exit_future = NULL;
  ((exit_future_t *)f)->group = NULL;
  int rc = exit_outcome(g);
  weft__future_finish(f, rc == WEFT_ECANCELLED ? WEFT__CANCELLED : WEFT__FINISHED,
                      weft_value_none(), rc, NULL, NULL, NULL);
  weft_future_release(f);
}

int weft_taskgroup_exit(weft_taskgroup_t *group, int body_rc, weft_future_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (group == NULL)
    return WEFT_EINVAL;
  if (group->exiting)
    return WEFT_EINVALIDSTATE;
  weft_future_t *f;
  int rc = weft__future_alloc(weft_task_future(group->parent)->loop, sizeof(exit_future_t),
                              &exit_future_class, &f);
  if (rc != 0)
    return rc;
  ((exit_future_t *)f)->group = group;
  group->exit_future = weft_future_retain(f); /* the group's until it completes */
  exit_begin(group, body_rc);
  if (group->ntasks == 0)
    exit_future_complete(group);
  *out = f;
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
  if (group->exit_future != NULL) {
    /* Freed while its exit waits (a misuse, or a binding going away): the exit ends
     * cancelled, since the children are cancelled below. */
    weft_future_t *f = group->exit_future;
    group->exit_future = NULL;
    ((exit_future_t *)f)->group = NULL;
    weft__future_finish(f, WEFT__CANCELLED, weft_value_none(), 0, NULL, NULL, NULL);
    weft_future_release(f);
  }
  if (group->on_completed != NULL) {
    /* exit_await never returned: the loop's close abandoned the parent's stack as it
     * waited, and its release of this future with it. */
    weft_future_release(group->on_completed);
    group->on_completed = NULL;
  }
  /* Freed without exit (a misuse): the children must not outlive the group. */
  while (group->ntasks > 0) {
    weft_task_t *t = group->tasks[group->ntasks - 1];
    weft_future_remove_done_callback(weft_task_future(t), on_child_done, group);
    weft_task_cancel(t, NULL);
    remove_task(group, t);
  }
  for (size_t i = 0; i < group->nerrors; i++)
    weft_future_release(group->errors[i]);
  free(group->errors);
  free(group->tasks);
  weft_task_release(group->parent);
  free(group);
}
