/* Tasks, as asyncio.Task: a future driven by a coroutine, one step at a time.
 *
 * Both kinds run through task_step: a stackful task's step resumes its coroutine until the
 * body awaits or returns; a step-driven task's step calls the binding's step function. A
 * step starts either from the ready queue (first step, bare yield) or from the done
 * callback of the future the task waits on. Cancellation follows asyncio's Task: cancel()
 * cancels the awaited future if it can, otherwise the next step throws WEFT_ECANCELLED. */
#include <string.h>
#include <stdio.h>

#include "internal.h"

static void task_destroy(weft_future_t *future);
static int task_cancel(weft_future_t *future, const char *message);

static const weft__future_class_t task_class = {"Task", task_cancel, task_destroy};

/* ---- Creation ------------------------------------------------------------------------- */

static void link_task(weft_loop_t *loop, weft_task_t *t) {
  t->next = loop->tasks_head;
  if (loop->tasks_head != NULL)
    loop->tasks_head->prev = t;
  loop->tasks_head = t;
  loop->task_count++;
  t->linked = true;
}

static void unlink_task(weft_task_t *t) {
  if (!t->linked)
    return;
  weft_loop_t *loop = t->future.loop;
  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    loop->tasks_head = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
  loop->task_count--;
  t->linked = false;
}

static void task_destroy(weft_future_t *future) {
  weft_task_t *t = (weft_task_t *)future;
  unlink_task(t);
  /* The calls are guarded here, not only inside: a task ends on every spawn's path. */
  if (t->arg_free != NULL) /* a task that never stepped */
    weft__replace_arg(t->future.loop, &t->arg, &t->arg_free, NULL, NULL);
  if (t->coro != NULL)
    weft__coro_free(t->coro);
  weft_value_clear(&t->outcome_value);
  if (t->outcome_payload_free != NULL)
    weft__call_free(t->outcome_payload_free, t->outcome_payload);
  free(t->outcome_message);
  free(t->cancel_message);
  free(t->name);
  free(t);
}

static void step_entry(weft_future_t *future, void *arg);

/* Queues the task's next step; the queue entry holds a reference to the task. */
static int schedule_step(weft_task_t *t) {
  weft__ready_t entry = {.fn.done = step_entry, .future = weft_future_retain(&t->future)};
  int rc = weft__loop_push_ready(t->future.loop, &entry);
  if (rc != 0)
    t->future.refs--;
  return rc;
}

static int task_create(weft_loop_t *loop, const weft_task_options_t *options, weft_task_t **out) {
  if (loop == NULL)
    return WEFT_EINVAL;
  if (options != NULL && options->size < sizeof(size_t))
    return WEFT_EINVAL;
  int rc = weft__loop_check(loop);
  if (rc != 0)
    return rc;
  weft_task_t *t = calloc(1, sizeof *t);
  if (t == NULL)
    return WEFT_ENOMEM;
  const char *name = WEFT__OPTION(options, weft_task_options_t, name, NULL);
  if (name != NULL && (t->name = weft__strdup(name)) == NULL) {
    free(t);
    return WEFT_ENOMEM;
  }
  weft__future_init(&t->future, loop);
  t->future.is_task = true;
  t->future.cls = &task_class;
  t->id = ++loop->task_counter;
  *out = t;
  return 0;
}

static void eager_step(void *arg) {
  weft_task_t *t = arg;
  weft__task_step(t, 0);
  weft_future_release(&t->future);
}

static int defer_eager_step(weft_task_t *t) {
  int rc = weft__defer(t->future.loop, eager_step, weft_future_retain(&t->future));
  if (rc != 0)
    t->future.refs--;
  return rc;
}

/* Starts a created task: the loop takes its reference, then the first step is queued or,
 * for an eager task on a running loop, run at once. */
static int task_start(weft_task_t *t, const weft_task_options_t *options, weft_task_t **out) {
  weft_loop_t *loop = t->future.loop;
  link_task(loop, t);
  weft_future_retain(&t->future); /* the loop's: held until the task is done */
  int eager = WEFT__OPTION(options, weft_task_options_t, eager_start, 0);
  int rc = 0;
  if (eager && loop->running && !(t->coro == NULL && weft__on_task_stack(loop)))
    weft__task_step(t, 0);
  else if (eager && loop->running && defer_eager_step(t) == 0)
    ; /* a step function started from a stackful task: its first step waits for the loop's
         stack, ahead of everything queued */
  else
    rc = schedule_step(t);
  if (rc != 0) {
    t->arg_free = NULL; /* the call failed: arg stays the caller's */
    unlink_task(t);
    weft_future_release(&t->future);
    weft_future_release(&t->future);
    return rc;
  }
  if (out != NULL)
    *out = t;
  else
    weft_future_release(&t->future);
  return 0;
}

static void coro_body(void *arg) {
  weft_task_t *t = arg;
  /* Cancelled before its first step: like a coroutine thrown into before it started, the
   * body never runs. */
  if (t->resume_code == WEFT_ECANCELLED)
    t->body_rc = WEFT_ECANCELLED;
  else
    t->body_rc = t->fn(t, t->arg);
}

int weft_task_spawn(weft_loop_t *loop, weft_task_fn fn, void *arg,
                    const weft_task_options_t *options, weft_task_t **out) {
  if (out != NULL)
    *out = NULL;
  if (fn == NULL)
    return WEFT_EINVAL;
  weft_task_t *t;
  int rc = task_create(loop, options, &t);
  if (rc != 0)
    return rc;
  t->fn = fn;
  t->arg = arg;
  if (!atomic_load_explicit(&weft__stackful_tasks_exist, memory_order_relaxed))
    atomic_store(&weft__stackful_tasks_exist, true);
  size_t stack = WEFT__OPTION(options, weft_task_options_t, stack_size, 0);
  rc = weft__coro_new(loop->stacks, stack, coro_body, t, &t->coro);
  if (rc != 0) {
    weft_future_release(&t->future);
    return rc;
  }
  return task_start(t, options, out);
}

int weft_task_new_stepped(weft_loop_t *loop, weft_step_fn step, void *arg, weft_free_fn arg_free,
                          const weft_task_options_t *options, weft_task_t **out) {
  if (out != NULL)
    *out = NULL;
  if (step == NULL)
    return WEFT_EINVAL;
  weft_task_t *t;
  int rc = task_create(loop, options, &t);
  if (rc != 0)
    return rc;
  t->step = step;
  t->arg = arg;
  t->arg_free = arg_free;
  return task_start(t, options, out);
}

/* ---- Finishing ------------------------------------------------------------------------ */

static void task_complete(weft_task_t *t, int state, weft_value_t value, int error,
                          const char *message, void *payload, weft_free_fn payload_free) {
  if (state == WEFT__FINISHED && error == 0 && t->must_cancel) {
    /* Cancelled right before the coroutine stopped: asyncio turns the result into a
     * cancellation. */
    weft_value_clear(&value);
    state = WEFT__CANCELLED;
    message = t->cancel_message;
  } else if (state == WEFT__CANCELLED && message == NULL) {
    message = t->cancel_message;
  }
  t->must_cancel = false;
  weft__future_finish(&t->future, state, value, error, message, payload, payload_free);
}

/* Applies a stackful body's outcome once it has returned. */
static void finish_stackful(weft_task_t *t) {
  int rc = t->body_rc;
  if (t->has_outcome && t->outcome_error != 0) {
    int state = t->outcome_error == WEFT_ECANCELLED ? WEFT__CANCELLED : WEFT__FINISHED;
    task_complete(t, state, weft_value_none(), t->outcome_error, t->outcome_message,
                  t->outcome_payload, t->outcome_payload_free);
    t->outcome_payload_free = NULL;
  } else if (rc == 0) {
    task_complete(t, WEFT__FINISHED, t->outcome_value, 0, NULL, NULL, NULL);
    t->outcome_value = weft_value_none();
  } else if (rc == WEFT_ECANCELLED) {
    task_complete(t, WEFT__CANCELLED, weft_value_none(), 0, NULL, NULL, NULL);
  } else if (t->last_error != NULL && t->last_error->error == rc) {
    /* The body passed on the error of a future it awaited: keep that error's message and
     * payload, as an exception propagating out of a coroutine would. */
    t->future.source = weft_future_retain(t->last_error);
    task_complete(t, WEFT__FINISHED, weft_value_none(), rc, NULL, NULL, NULL);
  } else {
    task_complete(t, WEFT__FINISHED, weft_value_none(), rc < 0 ? rc : WEFT_EINVAL,
                  rc < 0 ? NULL : "task body returned a positive value", NULL, NULL);
  }
  weft__coro_free(t->coro);
  t->coro = NULL;
}

/* Called once the task is done: it leaves the loop's list and the loop drops it. */
static void retire(weft_task_t *t) {
  unlink_task(t);
  if (t->awaiting != NULL) {
    weft_future_release(t->awaiting);
    t->awaiting = NULL;
  }
  if (t->last_error != NULL) {
    weft_future_release(t->last_error);
    t->last_error = NULL;
  }
  if (t->body_awaiting != NULL) {
    weft_future_release(t->body_awaiting);
    t->body_awaiting = NULL;
  }
  weft_future_release(&t->future); /* the loop's reference */
}

/* ---- Stepping ------------------------------------------------------------------------- */

void weft__task_step(weft_task_t *t, int code) {
  if (t->future.state != WEFT__PENDING || t->in_step)
    return;
  weft_loop_t *loop = t->future.loop;
  weft_future_retain(&t->future);
  if (t->must_cancel) {
    code = WEFT_ECANCELLED;
    t->must_cancel = false;
  }
  if (t->coro == NULL && t->awaiting != NULL) {
    weft_future_release(t->awaiting);
    t->awaiting = NULL;
    t->cancel_sent = false; /* this step delivers it */
  }
  t->cancel_passed = false;
  weft_task_t *outer = loop->current_task;
  loop->current_task = t;
  t->in_step = true;
  t->step_ended = false;
  t->resume_code = code;
  if (t->coro != NULL) {
    bool nested = weft__task_stack_enter(loop);
    weft__coro_resume(t->coro);
    weft__task_stack_leave(loop, nested);
    if (!nested && loop->deferred_len > 0) {
      /* Back on the loop's stack: what the body deferred runs now, as if on the loop (no
       * current task, so none of it can await), before the body's outcome is applied. */
      loop->current_task = outer;
      weft__run_deferred(loop);
      loop->current_task = t;
    }
    if (weft__coro_finished(t->coro))
      finish_stackful(t);
  } else {
    weft__assert_loop_stack("a step function");
    t->step(t, code, t->arg);
    if (!t->step_ended)
      task_complete(t, WEFT__FINISHED, weft_value_none(), WEFT_EINVALIDSTATE,
                    "the step function neither suspended nor finished the task", NULL, NULL);
  }
  t->in_step = false;
  loop->current_task = outer;
  if (t->future.state != WEFT__PENDING && t->arg_free != NULL) /* no step after the last */
    weft__replace_arg(t->future.loop, &t->arg, &t->arg_free, NULL, NULL);
  if (t->future.state != WEFT__PENDING && t->linked)
    retire(t);
  weft_future_release(&t->future);
}

static void step_entry(weft_future_t *future, void *arg) {
  (void)arg;
  weft__task_step((weft_task_t *)future, 0);
}

/* The done callback a task registers on the future it waits for. */
static void wakeup(weft_future_t *awaited, void *arg) {
  (void)awaited;
  weft__task_step(arg, 0);
}

/* Registers the wake-up on `awaited`; a cancellation requested while the task ran goes
 * straight to the new awaited future, as asyncio's __step does. */
static int wait_on(weft_task_t *t, weft_future_t *awaited) {
  int rc = weft__future_add_callback(awaited, wakeup, t, &t->future);
  if (rc != 0)
    return rc;
  t->awaiting = weft_future_retain(awaited);
  if (t->must_cancel && weft_future_cancel(awaited, t->cancel_message) == 1) {
    t->must_cancel = false;
    t->cancel_sent = true;
  }
  return 0;
}

/* The running stackful task, or NULL when not inside one. */
static weft_task_t *running_stackful(weft_loop_t *loop) {
  weft_task_t *t = loop->current_task;
  return t != NULL && t->coro != NULL && t->in_step ? t : NULL;
}

/* An awaited future's outcome, remembering a failure so that it can propagate. */
static int outcome_of(weft_task_t *t, weft_future_t *f) {
  int rc = weft_future_error(f);
  if (rc < 0 && rc != WEFT_ECANCELLED && f != t->last_error) {
    if (t->last_error != NULL)
      weft_future_release(t->last_error);
    t->last_error = weft_future_retain(f);
  }
  return rc;
}

/* Switches from the task's coroutine back to whoever resumed it. */
static void suspend(weft_task_t *t) {
  weft__coro_yield(t->coro);
}

int weft_await(weft_future_t *future) {
  if (future == NULL)
    return WEFT_EINVAL;
  weft_task_t *t = running_stackful(future->loop);
  if (t == NULL) {
    /* A task of another loop: asyncio lets it have a done future's outcome, and fails the
     * await of a pending one (RuntimeError: "attached to a different loop"). */
    weft_loop_t *here = weft__running_loop();
    t = here != NULL && here != future->loop ? running_stackful(here) : NULL;
    if (t == NULL)
      return WEFT_ENOTINTASK;
    if (future->state == WEFT__PENDING)
      return WEFT_EWRONGLOOP;
  }
  if (future == &t->future)
    return WEFT_EINVAL; /* a task cannot await itself */
  if (future->state != WEFT__PENDING)
    return outcome_of(t, future);
  int rc = wait_on(t, future);
  if (rc != 0)
    return rc;
  suspend(t);
  weft_future_t *awaited = t->awaiting;
  t->awaiting = NULL;
  if (t->resume_code == WEFT_ECANCELLED) {
    weft_future_remove_done_callback(awaited, wakeup, t);
    weft_future_release(awaited);
    return WEFT_ECANCELLED;
  }
  rc = outcome_of(t, awaited);
  weft_future_release(awaited);
  return rc;
}

int weft__task_yield(weft_loop_t *loop) {
  weft_task_t *t = running_stackful(loop);
  if (t == NULL)
    return weft__not_in_task(loop);
  int rc = schedule_step(t);
  if (rc != 0)
    return rc;
  suspend(t);
  return t->resume_code;
}

int weft_task_suspend(weft_task_t *task, weft_future_t *awaited) {
  if (task == NULL || task->coro != NULL)
    return WEFT_EINVAL;
  if (!task->in_step || task->step_ended || task->future.state != WEFT__PENDING)
    return WEFT_EINVALIDSTATE;
  if (awaited == &task->future || (awaited != NULL && awaited->loop != task->future.loop))
    return WEFT_EINVAL;
  int rc = awaited == NULL ? schedule_step(task) : wait_on(task, awaited);
  if (rc == 0)
    task->step_ended = true;
  return rc;
}

/* ---- Results -------------------------------------------------------------------------- */

static void keep_alive_entry(weft_future_t *future, void *arg) {
  (void)future;
  (void)arg;
}

/* Whether a step-driven task may be ended between its steps. */
static int between_steps(const weft_task_t *t) {
  return t->coro == NULL && !t->in_step && t->future.state == WEFT__PENDING;
}

/* Ends a step-driven task between its steps, as if its coroutine had stopped in a step run
 * now: done callbacks go out in the same order, and a cancellation requested since its last
 * step (still to be delivered) turns the outcome into a cancellation, as in that step. */
static int end_between_steps(weft_task_t *t, int state, weft_value_t value, int error,
                             const char *message, void *payload, weft_free_fn payload_free) {
  int rc = weft__loop_check(t->future.loop);
  if (rc != 0) {
    weft_value_clear(&value);
    weft__call_free(payload_free, payload);
    return rc;
  }
  weft_future_t *awaited = t->awaiting;
  if (awaited != NULL && weft_future_remove_done_callback(awaited, wakeup, t) == 0) {
    /* Its wake-up is queued already and names the task without holding it: an entry
     * queued behind it keeps the task alive until the wake-up has run (and found it done). */
    weft__ready_t entry = {.fn.done = keep_alive_entry, .future = weft_future_retain(&t->future)};
    rc = weft__loop_push_ready(t->future.loop, &entry);
    if (rc != 0) {
      t->future.refs--;
      weft_value_clear(&value);
      weft__call_free(payload_free, payload);
      return rc;
    }
  }
  weft_future_retain(&t->future);
  if (t->cancel_sent || t->cancel_passed)
    t->must_cancel = true; /* the coroutine stopped before it could be told */
  t->cancel_sent = t->cancel_passed = false;
  task_complete(t, state, value, error, message, payload, payload_free);
  if (t->arg_free != NULL)
    weft__replace_arg(t->future.loop, &t->arg, &t->arg_free, NULL, NULL);
  retire(t);
  weft_future_release(&t->future);
  return 0;
}

int weft_task_return(weft_task_t *task, weft_value_t value) {
  if (task == NULL) {
    weft_value_clear(&value);
    return WEFT_EINVAL;
  }
  if (between_steps(task))
    return end_between_steps(task, WEFT__FINISHED, value, 0, NULL, NULL, NULL);
  if (!task->in_step || task->step_ended || task->future.state != WEFT__PENDING) {
    weft_value_clear(&value);
    return WEFT_EINVALIDSTATE;
  }
  if (task->coro != NULL) {
    weft_value_clear(&task->outcome_value);
    task->outcome_value = value;
    return 0;
  }
  task->step_ended = true;
  task_complete(task, WEFT__FINISHED, value, 0, NULL, NULL, NULL);
  return 0;
}

int weft_task_fail(weft_task_t *task, int code, const char *message, void *payload,
                   weft_free_fn payload_free) {
  int rc = 0;
  if (task == NULL || code >= 0)
    rc = WEFT_EINVAL;
  else if (!between_steps(task) &&
           (!task->in_step || task->step_ended || task->future.state != WEFT__PENDING))
    rc = WEFT_EINVALIDSTATE;
  if (rc != 0) {
    weft__call_free(payload_free, payload);
    return rc;
  }
  int state = code == WEFT_ECANCELLED ? WEFT__CANCELLED : WEFT__FINISHED;
  if (between_steps(task)) {
    rc = end_between_steps(task, state, weft_value_none(), state == WEFT__CANCELLED ? 0 : code,
                           message, payload, payload_free);
    return rc != 0 ? rc : code;
  }
  if (task->coro != NULL) {
    char *copy = message != NULL ? weft__strdup(message) : NULL;
    free(task->outcome_message);
    weft__call_free(task->outcome_payload_free, task->outcome_payload);
    task->has_outcome = true;
    task->outcome_error = code;
    task->outcome_message = copy;
    task->outcome_payload = payload;
    task->outcome_payload_free = payload_free;
    return code;
  }
  task->step_ended = true;
  task_complete(task, state, weft_value_none(), state == WEFT__CANCELLED ? 0 : code, message,
                payload, payload_free);
  return code;
}

/* ---- Cancellation --------------------------------------------------------------------- */

/* A step-driven task whose coroutine goes on by itself between steps awaits body_awaiting:
 * while the task waits, a cancellation goes to that future at once, as asyncio's Task.cancel()
 * cancels the future its coroutine awaits. The task's step is queued first, so that the
 * binding hears of it (throw_code 0, the future it suspended on still pending) before that
 * future's callbacks tell the coroutine. Returns whether the cancellation was taken care of. */
static bool pass_to_body(weft_task_t *t, const char *message) {
  weft_future_t *body = t->body_awaiting;
  if (t->cancel_passed) {
    /* A second request before the step: asyncio's cancels the future again, and is
     * otherwise delivered with the first (one CancelledError). */
    weft_future_cancel(body, message);
    return true;
  }
  weft_future_t *wake = t->awaiting;
  if (t->in_step || wake == NULL || wake->state != WEFT__PENDING || body->state != WEFT__PENDING)
    return false; /* a step is running or queued: it passes the cancellation on */
  if (schedule_step(t) != 0)
    return false;
  weft_future_remove_done_callback(wake, wakeup, t);
  t->awaiting = NULL;
  weft_future_release(wake);
  if (weft_future_cancel(body, message) == 1)
    t->cancel_passed = true;
  else
    t->must_cancel = true; /* the queued step throws it in */
  return true;
}

static int task_cancel(weft_future_t *future, const char *message) {
  weft_task_t *t = (weft_task_t *)future;
  if (future->state != WEFT__PENDING)
    return 0;
  t->num_cancels_requested++;
  char *copy = message != NULL ? weft__strdup(message) : NULL;
  free(t->cancel_message);
  t->cancel_message = copy;
  if (t->body_awaiting != NULL && pass_to_body(t, message))
    return 1;
  if (t->awaiting != NULL && weft_future_cancel(t->awaiting, message) == 1) {
    t->cancel_sent = true;
    return 1;
  }
  t->must_cancel = true;
  return 1;
}

int weft_task_cancel(weft_task_t *task, const char *message) {
  return task == NULL ? WEFT_EINVAL : task_cancel(&task->future, message);
}

int weft_task_cancelling(const weft_task_t *task) {
  return task == NULL ? WEFT_EINVAL : task->num_cancels_requested;
}

int weft_task_uncancel(weft_task_t *task) {
  if (task == NULL)
    return WEFT_EINVAL;
  if (task->num_cancels_requested > 0 && --task->num_cancels_requested == 0)
    task->must_cancel = task->cancel_sent = false;
  return task->num_cancels_requested;
}

/* ---- Introspection -------------------------------------------------------------------- */

weft_future_t *weft_task_future(weft_task_t *task) {
  return task == NULL ? NULL : &task->future;
}

weft_task_t *weft_task_from_future(weft_future_t *future) {
  return future != NULL && future->is_task ? (weft_task_t *)future : NULL;
}

weft_task_t *weft_task_retain(weft_task_t *task) {
  if (task != NULL)
    weft_future_retain(&task->future);
  return task;
}

void weft_task_release(weft_task_t *task) {
  if (task != NULL)
    weft_future_release(&task->future);
}

const char *weft_task_name(const weft_task_t *task) {
  if (task == NULL)
    return NULL;
  if (task->name == NULL) {
    /* asyncio numbers tasks at creation; the text is only made when someone asks. */
    char text[32];
    snprintf(text, sizeof text, "Task-%llu", (unsigned long long)task->id);
    ((weft_task_t *)task)->name = weft__strdup(text);
    if (task->name == NULL)
      return "Task";
  }
  return task->name;
}

int weft_task_set_name(weft_task_t *task, const char *name) {
  if (task == NULL || name == NULL)
    return WEFT_EINVAL;
  char *copy = weft__strdup(name);
  if (copy == NULL)
    return WEFT_ENOMEM;
  free(task->name);
  task->name = copy;
  return 0;
}

weft_future_t *weft_task_awaiting(const weft_task_t *task) {
  if (task == NULL)
    return NULL;
  return task->body_awaiting != NULL ? task->body_awaiting : task->awaiting;
}

int weft_task_set_awaiting(weft_task_t *task, weft_future_t *future) {
  if (task == NULL || task->coro != NULL || future == &task->future ||
      (future != NULL && future->loop != task->future.loop))
    return WEFT_EINVAL;
  if (task->future.state != WEFT__PENDING)
    return WEFT_EINVALIDSTATE;
  if (future != NULL)
    weft_future_retain(future);
  if (task->body_awaiting != NULL)
    weft_future_release(task->body_awaiting);
  task->body_awaiting = future;
  return 0;
}

weft_task_t *weft_current_task(weft_loop_t *loop) {
  return loop == NULL ? NULL : loop->current_task;
}

size_t weft_all_tasks(weft_loop_t *loop, weft_task_t **out, size_t capacity) {
  if (loop == NULL)
    return 0;
  size_t i = 0;
  for (weft_task_t *t = loop->tasks_head; t != NULL && out != NULL && i < capacity; t = t->next)
    out[i++] = t;
  return loop->task_count;
}

/* ---- Loop close ----------------------------------------------------------------------- */

void weft__tasks_abandon(weft_loop_t *loop) {
  while (loop->tasks_head != NULL) {
    weft_task_t *t = loop->tasks_head;
    weft_error_context_t ctx = {
        .size = sizeof ctx, .message = "Task was destroyed but it is pending!", .task = t};
    weft_loop_call_exception_handler(loop, &ctx);
    if (t->awaiting != NULL)
      weft_future_remove_done_callback(t->awaiting, wakeup, t);
    /* Its stack goes back without unwinding: whatever the body held on it is lost. */
    if (t->coro != NULL) {
      weft__coro_free(t->coro);
      t->coro = NULL;
    }
    retire(t);
  }
}

void weft_task_options_init(weft_task_options_t *options) {
  if (options == NULL)
    return;
  memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}
