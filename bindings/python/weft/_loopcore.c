/* weft._loopcore: the part of weft.EventLoop that runs once per callback, in C.
 *
 * Everything else in the binding calls the core through cffi, which costs a crossing per
 * call (~85 ns) and one per callback from C (~180 ns). Scheduling is the one place where
 * that cost is paid per operation, so LoopCore, the C base class of weft.EventLoop, holds
 * it: call_soon, call_soon_threadsafe, call_at and call_later create asyncio's own Handle
 * and TimerHandle objects (weft.handles' subclasses, filled through their slots, without
 * running Python code) and post an id into the core's ready queue or timer heap directly.
 * When the core reaches a run of those ids it calls on_batch() below, which runs the
 * handles in that exact order. create_task and create_future are here too, as the other
 * per-operation entry points. Debug mode, task factories, error reports and interruption go
 * back to the Python methods of weft.EventLoop, which keep asyncio's exact behaviour there.
 *
 * This file is compiled into the cffi extension weft._weft (one shared object, one copy of
 * the core); weft._loopcore is registered by _weft_loopcore_install(), which Python calls
 * once through cffi. It uses CPython's full C API, so the extension is not abi3. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#include <time.h>

#include <weft.h>

#include "_native.h"

enum { ID_SOON = 0, ID_THREADSAFE = 2 }; /* timers have odd ids */

/* ---- What LoopCore works with ------------------------------------------------------ */

/* The classes and functions configure() hands over, and the offsets of the __slots__ of
 * asyncio.Handle/TimerHandle and weft's subclasses, read from their member descriptors
 * then. */
static struct {
  PyTypeObject *handle_type, *timer_type;
  PyObject *futures_module, *tasks_module; /* asyncio.futures, asyncio.tasks */
  PyObject *error_from_code;               /* weft._core.error_from_code */
  PyObject *report_error;                  /* weft.handles.report_callback_error */
  Py_ssize_t callback, args, cancelled, loop, source_traceback, repr, context;
  Py_ssize_t scheduled, when, core, id;
  PyObject *c_task_type; /* asyncio.tasks.Task as configure() found it (asyncio's own) */
} slots;

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

static void slot_set(PyObject *obj, Py_ssize_t off, PyObject *value) {
  PyObject *old = SLOT(obj, off);
  Py_INCREF(value);
  SLOT(obj, off) = value;
  Py_XDECREF(old);
}

static int slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *out) {
  PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
  if (descr == NULL)
    return -1;
  int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
           ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
  if (ok)
    *out = ((PyMemberDescrObject *)descr)->d_member->offset;
  Py_DECREF(descr);
  if (!ok)
    PyErr_Format(PyExc_TypeError, "%s.%s is not a __slots__ field", type->tp_name, name);
  return ok ? 0 : -1;
}

static int read_slot_layout(PyTypeObject *handle_type, PyTypeObject *timer_type) {
  if (slot_offset(handle_type, "_callback", &slots.callback) ||
      slot_offset(handle_type, "_args", &slots.args) ||
      slot_offset(handle_type, "_cancelled", &slots.cancelled) ||
      slot_offset(handle_type, "_loop", &slots.loop) ||
      slot_offset(handle_type, "_source_traceback", &slots.source_traceback) ||
      slot_offset(handle_type, "_repr", &slots.repr) ||
      slot_offset(handle_type, "_context", &slots.context) ||
      slot_offset(timer_type, "_scheduled", &slots.scheduled) ||
      slot_offset(timer_type, "_when", &slots.when) ||
      slot_offset(timer_type, "_core", &slots.core) || slot_offset(timer_type, "_id", &slots.id))
    return -1;
  /* The Handle fields must sit at the same offsets in the timer type (both derive from
   * asyncio.Handle), or one setter could not serve both. */
  Py_ssize_t check;
  if (slot_offset(timer_type, "_callback", &check) || check != slots.callback) {
    if (!PyErr_Occurred())
      PyErr_SetString(PyExc_TypeError, "handle and timer handle layouts differ");
    return -1;
  }
  Py_XSETREF(slots.handle_type, (PyTypeObject *)Py_NewRef(handle_type));
  Py_XSETREF(slots.timer_type, (PyTypeObject *)Py_NewRef(timer_type));
  return 0;
}

/* ---- Spare handles ------------------------------------------------------------------- */

/* Most call_soon handles are made by futures and tasks, which drop them at once: once such a
 * handle has run, the loop holds the only reference. Allocating and deallocating it (a
 * generic heap-type dealloc that walks the class chain clearing slots) cost a few hundred
 * instructions, as much as the rest of scheduling it. So a plain Handle that has run with no other
 * reference and no weak reference is emptied and kept for the next call_soon: no one can tell it
 * from a new one. */
enum { SPARE_MAX = 128 };
static PyObject *spare[SPARE_MAX]; /* emptied, untracked, one reference each */
static size_t spare_len;

/* Whether something holds a weak reference to obj. CPython keeps the list of an object's
 * weak references at tp_weaklistoffset from the object: a positive offset into the
 * instance up to 3.11, and from 3.12 a negative one into the pre-header for the types whose
 * weak references it manages (Py_TPFLAGS_MANAGED_WEAKREF, as a class with __weakref__ in
 * __slots__ now is). The versions whose layout we know are read; on any other, a type that
 * can be weakly referenced counts as referenced, which only costs the spare. */
static int has_weakrefs(PyObject *obj) {
  Py_ssize_t offset = Py_TYPE(obj)->tp_weaklistoffset;
  if (offset == 0)
    return 0;
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
  return *(PyObject **)((char *)obj + offset) != NULL;
#else
  return 1;
#endif
}

/* Lets go of a handle that has run (or was skipped): kept as a spare when only the loop
 * holds it, else released. */
static void handle_release(PyObject *handle) {
  PyTypeObject *type = Py_TYPE(handle);
  if (Py_REFCNT(handle) != 1 || type != slots.handle_type || spare_len == SPARE_MAX ||
      has_weakrefs(handle)) {
    Py_DECREF(handle);
    return;
  }
  /* Untracked first: what the fields' own deallocation runs cannot reach it then. */
  PyObject_GC_UnTrack(handle);
  Py_ssize_t fields[] = {slots.callback, slots.args, slots.cancelled,       slots.loop,
                         slots.context,  slots.repr, slots.source_traceback};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    Py_CLEAR(SLOT(handle, fields[i]));
  if (spare_len < SPARE_MAX && Py_REFCNT(handle) == 1)
    spare[spare_len++] = handle;
  else
    Py_DECREF(handle);
}

/* A new handle of `type` with asyncio's fields; steals `args`. context NULL or None: a copy
 * of the current context, as asyncio.Handle does. */
static PyObject *handle_new(PyTypeObject *type, PyObject *callback, PyObject *args, PyObject *loop,
                            PyObject *context) {
  PyObject *handle;
  if (type == slots.handle_type && spare_len > 0) {
    handle = spare[--spare_len];
    PyObject_GC_Track(handle); /* as a freshly allocated one is */
  } else {
    handle = type->tp_alloc(type, 0);
  }
  if (handle == NULL) {
    Py_DECREF(args);
    return NULL;
  }
  PyObject *ctx =
      (context == NULL || context == Py_None) ? PyContext_CopyCurrent() : Py_NewRef(context);
  if (ctx == NULL) {
    Py_DECREF(args);
    Py_DECREF(handle);
    return NULL;
  }
  SLOT(handle, slots.context) = ctx;
  SLOT(handle, slots.args) = args;
  SLOT(handle, slots.callback) = Py_NewRef(callback);
  SLOT(handle, slots.cancelled) = Py_NewRef(Py_False);
  SLOT(handle, slots.loop) = Py_NewRef(loop);
  SLOT(handle, slots.source_traceback) = Py_NewRef(Py_None);
  SLOT(handle, slots.repr) = Py_NewRef(Py_None);
  return handle;
}

/* ---- Cancelling a handle ------------------------------------------------------------ */

/* asyncio.Handle.cancel and asyncio.TimerHandle.cancel (events.py) are Python, and cancel
 * asks loop.get_debug(): a timer cancelled per request (a keep-alive timeout re-armed by
 * every response) cost three Python frames. configure() installs these as the cancel
 * methods of weft's Handle and TimerHandle. They do what asyncio's do, in the same order,
 * through the same attributes (a loop that overrides get_debug or _timer_handle_cancelled
 * is still asked). */

static PyObject *str_get_debug, *str_timer_handle_cancelled;

/* A new reference to the handle's loop; NULL with AttributeError when it has none. */
static PyObject *handle_loop(PyObject *handle) {
  PyObject *loop = SLOT(handle, slots.loop);
  if (loop == NULL)
    PyErr_SetString(PyExc_AttributeError, "handle has no attribute '_loop'");
  return Py_XNewRef(loop);
}

/* A handle slot's truth value; -1 with AttributeError when the slot was never set. */
static int slot_true(PyObject *obj, Py_ssize_t off, const char *name) {
  PyObject *value = SLOT(obj, off);
  if (value == NULL) {
    PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%s'",
                 Py_TYPE(obj)->tp_name, name);
    return -1;
  }
  return value == Py_True ? 1 : value == Py_False ? 0 : PyObject_IsTrue(value);
}

static PyObject *handle_cancel(PyObject *self, PyObject *unused) {
  (void)unused;
  int cancelled = slot_true(self, slots.cancelled, "_cancelled");
  if (cancelled < 0)
    return NULL;
  if (cancelled)
    Py_RETURN_NONE;
  slot_set(self, slots.cancelled, Py_True);
  PyObject *loop = handle_loop(self);
  if (loop == NULL)
    return NULL;
  PyObject *debug = PyObject_CallMethodNoArgs(loop, str_get_debug);
  Py_DECREF(loop);
  int on = debug ? PyObject_IsTrue(debug) : -1;
  Py_XDECREF(debug);
  if (on < 0)
    return NULL;
  if (on) {
    /* Debug mode keeps the representation, callback included, for later reports. */
    PyObject *repr = PyObject_Repr(self);
    if (repr == NULL)
      return NULL;
    slot_set(self, slots.repr, repr);
    Py_DECREF(repr);
  }
  slot_set(self, slots.callback, Py_None);
  slot_set(self, slots.args, Py_None);
  Py_RETURN_NONE;
}

static PyObject *timer_handle_cancel(PyObject *self, PyObject *unused) {
  int cancelled = slot_true(self, slots.cancelled, "_cancelled");
  if (cancelled < 0)
    return NULL;
  if (!cancelled) {
    PyObject *loop = handle_loop(self);
    if (loop == NULL)
      return NULL;
    PyObject *done = PyObject_CallMethodOneArg(loop, str_timer_handle_cancelled, self);
    Py_DECREF(loop);
    if (done == NULL)
      return NULL;
    Py_DECREF(done);
  }
  return handle_cancel(self, unused);
}

static PyMethodDef handle_cancel_def = {
    "cancel", handle_cancel, METH_NOARGS,
    "Cancels the callback (asyncio.Handle.cancel); cancelling twice does nothing."};
static PyMethodDef timer_handle_cancel_def = {
    "cancel", timer_handle_cancel, METH_NOARGS,
    "Cancels the timer: the loop drops it at once (asyncio.TimerHandle.cancel)."};

/* Makes `def` the method `name` of `type`. */
static int install_method(PyTypeObject *type, PyMethodDef *def) {
  PyObject *descr = PyDescr_NewMethod(type, def);
  if (descr == NULL)
    return -1;
  int rc = PyObject_SetAttrString((PyObject *)type, def->ml_name, descr);
  Py_DECREF(descr);
  return rc;
}

/* ---- Custody: handles the loop holds are not tracked by the garbage collector ---------- */

/* A queued handle cannot be garbage: the loop references it. Yet every collection walks
 * every tracked object of its generation, and with many handles pending (a burst of
 * call_soon, a timer per connection) that walk was most of the cost of scheduling. So a
 * handle the loop holds is untracked, with the context copied for it, and tracked again as
 * it leaves the loop's hands (to run, cancelled, or dropped by close), before anything can
 * make it part of a garbage cycle. References from an untracked object count as external,
 * so what it references stays alive: untracking is never unsafe here, only cheaper. */
static void custody_enter(PyObject *handle) {
  PyObject *context = SLOT(handle, slots.context);
  /* Only a context no one else holds: the copy made for this handle. */
  if (context != NULL && Py_REFCNT(context) == 1 && PyObject_GC_IsTracked(context))
    PyObject_GC_UnTrack(context);
  if (PyObject_GC_IsTracked(handle))
    PyObject_GC_UnTrack(handle);
}

static void custody_leave(PyObject *handle) {
  if (!PyObject_GC_IsTracked(handle))
    PyObject_GC_Track(handle);
  PyObject *context = SLOT(handle, slots.context);
  if (context != NULL && PyObject_IS_GC(context) && !PyObject_GC_IsTracked(context))
    PyObject_GC_Track(context);
}

/* ---- A queue of handles ------------------------------------------------------------- */

typedef struct {
  PyObject **items;
  size_t head, len, cap; /* cap is a power of two */
} ring_t;

static int ring_push(ring_t *ring, PyObject *item) {
  if (ring->len == ring->cap) {
    size_t cap = ring->cap ? ring->cap * 2 : 256;
    PyObject **items = PyMem_Malloc(cap * sizeof *items);
    if (items == NULL) {
      PyErr_NoMemory();
      return -1;
    }
    for (size_t i = 0; i < ring->len; i++)
      items[i] = ring->items[(ring->head + i) & (ring->cap - 1)];
    PyMem_Free(ring->items);
    ring->items = items;
    ring->head = 0;
    ring->cap = cap;
  }
  ring->items[(ring->head + ring->len++) & (ring->cap - 1)] = Py_NewRef(item);
  custody_enter(item);
  return 0;
}

/* The oldest item (a new reference), or NULL when the ring is empty. */
static PyObject *ring_pop(ring_t *ring) {
  if (ring->len == 0)
    return NULL;
  PyObject *item = ring->items[ring->head];
  ring->head = (ring->head + 1) & (ring->cap - 1);
  ring->len--;
  custody_leave(item);
  return item;
}

/* The newest item (a new reference), or NULL when the ring is empty. */
static PyObject *ring_pop_back(ring_t *ring) {
  if (ring->len == 0)
    return NULL;
  PyObject *item = ring->items[(ring->head + --ring->len) & (ring->cap - 1)];
  custody_leave(item);
  return item;
}

static void ring_clear(ring_t *ring) {
  PyObject *item;
  while ((item = ring_pop(ring)) != NULL)
    Py_DECREF(item);
}

/* ---- Groups of thread-safe handles ---------------------------------------------------
 *
 * Thread-safe handles are run in groups, one marker in the core's ready queue per group, so
 * that a burst of calls wakes the loop once. asyncio keeps one queue for call_soon and
 * call_soon_threadsafe, so a group must end where a call_soon comes between two thread-safe
 * calls, or the later one would run with the earlier group, ahead of that call_soon. Each
 * marker runs the oldest group; this queue holds the groups' sizes, oldest first. */

typedef struct {
  size_t *sizes;
  size_t head, len, cap; /* cap is a power of two */
} groups_t;

static int groups_push(groups_t *g) {
  if (g->len == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 16;
    size_t *sizes = PyMem_Malloc(cap * sizeof *sizes);
    if (sizes == NULL) {
      PyErr_NoMemory();
      return -1;
    }
    for (size_t i = 0; i < g->len; i++)
      sizes[i] = g->sizes[(g->head + i) & (g->cap - 1)];
    PyMem_Free(g->sizes);
    g->sizes = sizes;
    g->head = 0;
    g->cap = cap;
  }
  g->sizes[(g->head + g->len++) & (g->cap - 1)] = 0;
  return 0;
}

static size_t *groups_back(groups_t *g) {
  return g->len ? &g->sizes[(g->head + g->len - 1) & (g->cap - 1)] : NULL;
}

/* The size of the oldest group (0 when there is none). */
static size_t groups_front(const groups_t *g) {
  return g->len ? g->sizes[g->head] : 0;
}

/* One handle of the oldest group has been taken; an emptied group goes. */
static void groups_take(groups_t *g) {
  if (g->len == 0)
    return;
  if (--g->sizes[g->head] == 0) {
    g->head = (g->head + 1) & (g->cap - 1);
    g->len--;
  }
}

static void groups_drop_back(groups_t *g) {
  if (g->len > 0 && *groups_back(g) == 0)
    g->len--;
}

static int ring_traverse(ring_t *ring, visitproc visit, void *arg) {
  for (size_t i = 0; i < ring->len; i++)
    Py_VISIT(ring->items[(ring->head + i) & (ring->cap - 1)]);
  return 0;
}

/* ---- LoopCore ----------------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD weft_loop_t *core;
  char closed;
  char debug;
  char wakeup_posted; /* the newest thread-safe group is open: its marker has not run */
  ring_t ready;       /* call_soon's handles, oldest first; one marker id 0 each */
  ring_t threadsafe;  /* call_soon_threadsafe's handles, run at marker id 2 */
  groups_t groups;    /* the sizes of the thread-safe groups, one marker each */
  PyObject *timers;   /* timer id -> TimerHandle, while the core's timer is pending */
  uintptr_t next_timer_id;
  PyObject *task_factory; /* set_task_factory's, or NULL */
  PyObject *sockcore;     /* _sockcore.c's SockCore (readers, writers), or NULL */
} LoopCore;

static PyObject *str_debug_handle, *str_run_batch_debug, *str_interrupted, *str_create_task,
    *str_future, *str_task, *str_name, *str_context, *kw_loop, *kw_loop_name_context;

static int raise_code(int rc) {
  PyObject *exc = PyObject_CallFunction(slots.error_from_code, "i", rc);
  if (exc != NULL) {
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  return -1;
}

static int check_open(LoopCore *self) {
  if (!self->closed && self->core != NULL)
    return 0;
  PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
  return -1;
}

/* Whether a keyword name is "context". Futures and tasks pass it with every callback they
 * schedule, as a string of their own (not interned), so the pointer test alone misses. */
static int is_context_keyword(PyObject *name) {
  if (name == str_context)
    return 1;
  return PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) == 7 &&
         PyUnicode_KIND(name) == PyUnicode_1BYTE_KIND &&
         memcmp(PyUnicode_1BYTE_DATA(name), "context", 7) == 0;
}

/* Splits a call_soon-style argument vector into callback, args tuple and context. */
static int parse_call(PyObject *const *argv, Py_ssize_t nargs, PyObject *kwnames, Py_ssize_t skip,
                      const char *method, PyObject **callback, PyObject **args,
                      PyObject **context) {
  *context = NULL;
  if (kwnames != NULL) {
    Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < nkw; i++) {
      PyObject *name = PyTuple_GET_ITEM(kwnames, i);
      if (!is_context_keyword(name)) {
        PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'", method, name);
        return -1;
      }
      *context = argv[nargs + i];
    }
  }
  if (nargs <= skip) {
    PyErr_Format(PyExc_TypeError, "%s() missing required argument 'callback'", method);
    return -1;
  }
  *callback = argv[skip];
  *args = PyTuple_New(nargs - skip - 1);
  if (*args == NULL)
    return -1;
  for (Py_ssize_t i = skip + 1; i < nargs; i++)
    PyTuple_SET_ITEM(*args, i - skip - 1, Py_NewRef(argv[i]));
  return 0;
}

/* Debug mode: EventLoop._debug_handle(method, callback, args, context, when) makes the
 * handle with asyncio's checks and source traceback. Steals args. */
static PyObject *debug_handle(LoopCore *self, const char *method, PyObject *callback,
                              PyObject *args, PyObject *context, PyObject *when) {
  PyObject *name = PyUnicode_FromString(method);
  if (name == NULL) {
    Py_DECREF(args);
    return NULL;
  }
  PyObject *handle =
      PyObject_CallMethodObjArgs((PyObject *)self, str_debug_handle, name, callback, args,
                                 context ? context : Py_None, when ? when : Py_None, NULL);
  Py_DECREF(name);
  Py_DECREF(args);
  return handle;
}

/* Queues a handle for the loop thread and wakes it: call_soon_threadsafe's path. Returns
 * the handle (the reference passed in), or NULL with it released. */
static PyObject *post_threadsafe(LoopCore *self, PyObject *handle) {
  /* While the newest group's marker is on its way, the handle joins that group and the loop
   * need not be woken again. The GIL orders the flag with the loop thread's resets of it. */
  int new_group = !self->wakeup_posted;
  if (new_group && groups_push(&self->groups) < 0) {
    Py_DECREF(handle);
    return NULL;
  }
  if (ring_push(&self->threadsafe, handle) < 0) {
    if (new_group)
      groups_drop_back(&self->groups);
    Py_DECREF(handle);
    return NULL;
  }
  ++*groups_back(&self->groups);
  if (new_group) {
    int rc = weft_call_soon_threadsafe_id(self->core, ID_THREADSAFE);
    if (rc < 0) {
      --*groups_back(&self->groups);
      groups_drop_back(&self->groups);
      Py_DECREF(ring_pop_back(&self->threadsafe));
      raise_code(rc);
      Py_DECREF(handle);
      return NULL;
    }
    self->wakeup_posted = 1;
  }
  return handle;
}

/* call_soon, call_later and call_at from another thread than the running loop's: asyncio
 * checks the thread in debug mode only (RuntimeError, which _debug_handle raises here too),
 * and without debug such a call works there, unsafely. Here the core refuses it
 * (WEFT_EWRONGTHREAD), and the handle goes the thread-safe way instead, so a program that
 * works on asyncio works here, safely. */

static PyObject *LoopCore_call_soon(LoopCore *self, PyObject *const *argv, Py_ssize_t nargs,
                                    PyObject *kwnames) {
  PyObject *callback, *args, *context, *handle;
  if (check_open(self) ||
      parse_call(argv, nargs, kwnames, 0, "call_soon", &callback, &args, &context))
    return NULL;
  if (self->debug)
    handle = debug_handle(self, "call_soon", callback, args, context, NULL);
  else
    handle = handle_new(slots.handle_type, callback, args, (PyObject *)self, context);
  if (handle == NULL)
    return NULL;
  int rc = weft_call_soon_id(self->core, ID_SOON, NULL);
  if (rc == WEFT_EWRONGTHREAD)
    return post_threadsafe(self, handle);
  if (rc < 0) {
    Py_DECREF(handle);
    raise_code(rc);
    return NULL;
  }
  if (ring_push(&self->ready, handle) < 0) {
    Py_DECREF(handle);
    return NULL;
  }
  /* A thread-safe call after this one runs after it: it starts a new group. */
  self->wakeup_posted = 0;
  return handle;
}

static PyObject *LoopCore_call_soon_threadsafe(LoopCore *self, PyObject *const *argv,
                                               Py_ssize_t nargs, PyObject *kwnames) {
  PyObject *callback, *args, *context, *handle;
  if (check_open(self) ||
      parse_call(argv, nargs, kwnames, 0, "call_soon_threadsafe", &callback, &args, &context))
    return NULL;
  if (self->debug)
    handle = debug_handle(self, "call_soon_threadsafe", callback, args, context, NULL);
  else
    handle = handle_new(slots.handle_type, callback, args, (PyObject *)self, context);
  if (handle == NULL)
    return NULL;
  return post_threadsafe(self, handle);
}

static double monotonic_now(void) {
  /* time.monotonic() reads the same clock, and so does the core (uv_hrtime). */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Starts the core's timer for a new TimerHandle. 0, or WEFT_EWRONGTHREAD (nothing done,
 * no exception), or -1 with an exception. */
static int arm_timer(LoopCore *self, PyObject *timer, PyObject *when, double deadline) {
  uintptr_t id = self->next_timer_id;
  weft_handle_t *core_handle = NULL;
  PyObject *key = PyLong_FromSize_t(id);
  PyObject *core_ref = NULL;
  int rc = key ? weft_call_at_id(self->core, deadline, id, &core_handle) : 0;
  if (rc == WEFT_EWRONGTHREAD) {
    Py_DECREF(key);
    return rc;
  }
  if (rc < 0)
    raise_code(rc);
  if (key == NULL || rc < 0 || (core_ref = PyLong_FromVoidPtr(core_handle)) == NULL)
    goto fail;
  self->next_timer_id += 2;
  slot_set(timer, slots.when, when);
  slot_set(timer, slots.scheduled, Py_True);
  slot_set(timer, slots.id, key);
  slot_set(timer, slots.core, core_ref);
  if (PyDict_SetItem(self->timers, key, timer) < 0)
    goto fail;
  custody_enter(timer);
  Py_DECREF(core_ref);
  Py_DECREF(key);
  return 0;
fail:
  if (core_handle != NULL)
    weft_handles_release(&core_handle, 1, 1);
  Py_XDECREF(core_ref);
  Py_XDECREF(key);
  return -1;
}

static PyObject *arm_timer_method; /* LoopCore._arm_timer, unbound */

/* A timer made on another thread: the TimerHandle is returned now, with its deadline and
 * no core timer yet (_id None: cancelling it now only marks it), and the loop thread arms
 * it through a thread-safe handle running _arm_timer. Steals timer. */
static PyObject *post_arming(LoopCore *self, PyObject *timer, PyObject *when) {
  slot_set(timer, slots.when, when);
  slot_set(timer, slots.scheduled, Py_False);
  slot_set(timer, slots.id, Py_None);
  slot_set(timer, slots.core, Py_None);
  PyObject *args = PyTuple_Pack(2, (PyObject *)self, timer);
  PyObject *arming =
      args ? handle_new(slots.handle_type, arm_timer_method, args, (PyObject *)self, NULL) : NULL;
  if (arming == NULL || post_threadsafe(self, arming) == NULL) {
    Py_DECREF(timer);
    return NULL;
  }
  return timer;
}

/* On the loop thread: arms a timer post_arming queued, unless it was cancelled since. */
static PyObject *LoopCore_arm_timer(LoopCore *self, PyObject *timer) {
  if (!PyObject_TypeCheck(timer, slots.timer_type)) {
    PyErr_SetString(PyExc_TypeError, "_arm_timer() takes a TimerHandle of this loop");
    return NULL;
  }
  int cancelled = slot_true(timer, slots.cancelled, "_cancelled");
  if (cancelled < 0)
    return NULL;
  if (cancelled || self->closed || self->core == NULL)
    Py_RETURN_NONE;
  PyObject *when = SLOT(timer, slots.when);
  double deadline = when ? PyFloat_AsDouble(when) : -1.0;
  if (when == NULL || (deadline == -1.0 && PyErr_Occurred()))
    return NULL;
  Py_INCREF(when);
  int rc = arm_timer(self, timer, when, deadline);
  Py_DECREF(when);
  if (rc == WEFT_EWRONGTHREAD)
    raise_code(rc);
  return rc < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *schedule_timer(LoopCore *self, PyObject *when, PyObject *const *argv,
                                Py_ssize_t nargs, PyObject *kwnames, Py_ssize_t skip,
                                const char *method) {
  PyObject *callback, *args, *context, *timer;
  double deadline = PyFloat_AsDouble(when);
  if (deadline == -1.0 && PyErr_Occurred())
    return NULL;
  if (check_open(self) ||
      parse_call(argv, nargs, kwnames, skip, method, &callback, &args, &context))
    return NULL;
  if (self->debug)
    timer = debug_handle(self, "call_at", callback, args, context, when);
  else
    timer = handle_new(slots.timer_type, callback, args, (PyObject *)self, context);
  if (timer == NULL)
    return NULL;
  int rc = arm_timer(self, timer, when, deadline);
  if (rc == WEFT_EWRONGTHREAD)
    return post_arming(self, timer, when);
  if (rc < 0) {
    Py_DECREF(timer);
    return NULL;
  }
  return timer;
}

static PyObject *LoopCore_call_at(LoopCore *self, PyObject *const *argv, Py_ssize_t nargs,
                                  PyObject *kwnames) {
  if (nargs < 1 || argv[0] == Py_None) {
    PyErr_SetString(PyExc_TypeError, "when cannot be None");
    return NULL;
  }
  return schedule_timer(self, argv[0], argv, nargs, kwnames, 1, "call_at");
}

static PyObject *LoopCore_call_later(LoopCore *self, PyObject *const *argv, Py_ssize_t nargs,
                                     PyObject *kwnames) {
  if (nargs < 1 || argv[0] == Py_None) {
    PyErr_SetString(PyExc_TypeError, "delay must not be None");
    return NULL;
  }
  double delay = PyFloat_AsDouble(argv[0]);
  if (delay == -1.0 && PyErr_Occurred())
    return NULL;
  PyObject *when = PyFloat_FromDouble(monotonic_now() + delay);
  if (when == NULL)
    return NULL;
  PyObject *timer = schedule_timer(self, when, argv, nargs, kwnames, 1, "call_later");
  Py_DECREF(when);
  return timer;
}

/* create_future and create_task: asyncio's Future and Task (looked up in their modules on
 * each call, as asyncio's loop does, so a replaced class is honoured). */
static PyObject *LoopCore_create_future(LoopCore *self, PyObject *unused) {
  (void)unused;
  PyObject *future_type = PyObject_GetAttr(slots.futures_module, str_future);
  if (future_type == NULL)
    return NULL;
  PyObject *argv[] = {(PyObject *)self};
  PyObject *future = PyObject_Vectorcall(future_type, argv, 0, kw_loop);
  Py_DECREF(future_type);
  return future;
}

static PyObject *LoopCore_create_task(LoopCore *self, PyObject *const *argv, Py_ssize_t nargs,
                                      PyObject *kwnames) {
  static const char *const names[] = {"coro", "name", "context"};
  PyObject *given[3] = {NULL, Py_None, Py_None};
  if (nargs != 1) {
    PyErr_Format(PyExc_TypeError, "create_task() takes 1 positional argument but %zd were given",
                 nargs);
    return NULL;
  }
  given[0] = argv[0];
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t i = 0; i < nkw; i++) {
    PyObject *name = PyTuple_GET_ITEM(kwnames, i);
    int slot = 0;
    if (name == str_name)
      slot = 1;
    else if (name == str_context)
      slot = 2;
    for (int k = 1; k < 3 && slot == 0; k++)
      if (PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, names[k]) == 0)
        slot = k;
    if (slot == 0) {
      PyErr_Format(PyExc_TypeError, "create_task() got an unexpected keyword argument '%S'", name);
      return NULL;
    }
    given[slot] = argv[nargs + i];
  }
  if (check_open(self))
    return NULL;
  if (self->debug || (self->task_factory != NULL && self->task_factory != Py_None)) {
    /* The task factory and the debug traceback: EventLoop._create_task. */
    return PyObject_CallMethodObjArgs((PyObject *)self, str_create_task, given[0], given[1],
                                      given[2], NULL);
  }
  PyObject *task_type = PyObject_GetAttr(slots.tasks_module, str_task);
  if (task_type == NULL)
    return NULL;
  PyObject *call[] = {given[0], (PyObject *)self, given[1], given[2]};
  /* asyncio's loop passes name and context even when they are None; for the C Task, which
   * gives None and absent the same meaning, leaving them out spares the call a larger
   * keyword dict (a replaced Task class gets all three, as from asyncio). */
  int plain = task_type == slots.c_task_type && given[1] == Py_None && given[2] == Py_None;
  PyObject *task = PyObject_Vectorcall(task_type, call, 1, plain ? kw_loop : kw_loop_name_context);
  Py_DECREF(task_type);
  return task;
}

/* Every asyncio Future and Task asks its loop get_debug() as it is made (a Task for each
 * request of an HTTP server, a Future for each wait): a Python method cost a frame each. */
static PyObject *LoopCore_get_debug(LoopCore *self, PyObject *unused) {
  (void)unused;
  return PyBool_FromLong(self->debug);
}

static PyObject *LoopCore_time(LoopCore *self, PyObject *unused) {
  (void)self;
  (void)unused;
  return PyFloat_FromDouble(monotonic_now());
}

/* Gives back the core's handle of a timer that fired (cancel 0) or was cancelled (1). */
static void timer_drop_core(PyObject *timer, int cancel) {
  PyObject *core_ref = SLOT(timer, slots.core);
  if (core_ref == NULL || core_ref == Py_None)
    return;
  weft_handle_t *core_handle = PyLong_AsVoidPtr(core_ref);
  if (core_handle != NULL)
    weft_handles_release(&core_handle, 1, cancel);
  slot_set(timer, slots.core, Py_None);
}

/* Removes timer `key` from the table: a new reference to its handle, or NULL. */
static PyObject *timers_take(LoopCore *self, PyObject *key) {
  PyObject *timer = PyDict_GetItemWithError(self->timers, key);
  if (timer == NULL)
    return NULL;
  Py_INCREF(timer);
  custody_leave(timer);
  if (PyDict_DelItem(self->timers, key) < 0) {
    Py_DECREF(timer);
    return NULL;
  }
  return timer;
}

static PyObject *LoopCore_timer_handle_cancelled(LoopCore *self, PyObject *timer) {
  if (!PyObject_TypeCheck(timer, slots.timer_type))
    Py_RETURN_NONE; /* a plain asyncio.TimerHandle this loop never scheduled */
  PyObject *key = SLOT(timer, slots.id);
  if (key == NULL || key == Py_None)
    Py_RETURN_NONE;
  PyObject *taken = timers_take(self, key);
  if (taken == NULL) {
    if (PyErr_Occurred())
      return NULL;
    Py_RETURN_NONE;
  }
  timer_drop_core(taken, 1);
  Py_DECREF(taken);
  Py_RETURN_NONE;
}

/* Drops everything scheduled: close() calls it. */
static PyObject *LoopCore_clear_scheduled(LoopCore *self, PyObject *unused) {
  (void)unused;
  ring_clear(&self->ready);
  ring_clear(&self->threadsafe);
  self->groups.len = 0;
  self->wakeup_posted = 0;
  PyObject *key, *timer;
  Py_ssize_t pos = 0;
  while (PyDict_Next(self->timers, &pos, &key, &timer)) {
    custody_leave(timer);
    timer_drop_core(timer, 1);
  }
  PyDict_Clear(self->timers);
  Py_RETURN_NONE;
}

/* ---- Running what the core hands back ----------------------------------------------- */

/* Runs one handle as asyncio.Handle._run does. Returns 0, or -1 with SystemExit or
 * KeyboardInterrupt set (the caller stops the loop with it). */
static int run_handle(PyObject *handle, PyObject *report_error) {
  if (SLOT(handle, slots.cancelled) == Py_True)
    return 0;
  PyObject *context = SLOT(handle, slots.context);
  PyObject *callback = SLOT(handle, slots.callback);
  PyObject *args = SLOT(handle, slots.args);
  PyObject *result;
  if (PyContext_CheckExact(context) && PyTuple_CheckExact(args)) {
    if (PyContext_Enter(context) < 0)
      goto failed;
    result = PyObject_Vectorcall(callback, &PyTuple_GET_ITEM(args, 0),
                                 (size_t)PyTuple_GET_SIZE(args), NULL);
    if (PyContext_Exit(context) < 0)
      Py_CLEAR(result);
  } else {
    /* Something other than a Context, or args not a tuple: asyncio's own spelling. */
    PyObject *run = PyObject_GetAttrString(context, "run");
    PyObject *call_args = run ? PySequence_Tuple(args) : NULL;
    PyObject *full = NULL;
    if (call_args != NULL) {
      Py_ssize_t n = PyTuple_GET_SIZE(call_args);
      full = PyTuple_New(n + 1);
      for (Py_ssize_t i = 0; full != NULL && i < n; i++)
        PyTuple_SET_ITEM(full, i + 1, Py_NewRef(PyTuple_GET_ITEM(call_args, i)));
      if (full != NULL)
        PyTuple_SET_ITEM(full, 0, Py_NewRef(callback));
    }
    result = full ? PyObject_Call(run, full, NULL) : NULL;
    Py_XDECREF(full);
    Py_XDECREF(call_args);
    Py_XDECREF(run);
  }
  if (result != NULL) {
    Py_DECREF(result);
    return 0;
  }
failed:
  if (PyErr_ExceptionMatches(PyExc_SystemExit) || PyErr_ExceptionMatches(PyExc_KeyboardInterrupt))
    return -1;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != NULL)
    PyException_SetTraceback(value, tb);
  PyObject *reported = PyObject_CallFunctionObjArgs(report_error, handle, value, NULL);
  if (reported == NULL)
    PyErr_WriteUnraisable(report_error);
  Py_XDECREF(reported);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return 0;
}

/* For _sockcore.c: a handle add_reader registered, run when its descriptor is ready. */
int weft_py_run_handle(PyObject *handle) {
  return run_handle(handle, slots.report_error);
}

static PyObject *ids_list(const uintptr_t *ids, size_t count) {
  PyObject *list = PyList_New((Py_ssize_t)count);
  for (size_t i = 0; list != NULL && i < count; i++) {
    PyObject *id = PyLong_FromSize_t(ids[i]);
    if (id == NULL)
      Py_CLEAR(list);
    else
      PyList_SET_ITEM(list, (Py_ssize_t)i, id);
  }
  return list;
}

int weft_py_interrupt_pending(void) {
  return PyErr_ExceptionMatches(PyExc_SystemExit) ||
         PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
}

void weft_py_interrupt(PyObject *loop, PyObject *rest) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != NULL)
    PyException_SetTraceback(value, tb);
  PyObject *ids = rest != NULL ? Py_NewRef(rest) : PyTuple_New(0);
  PyObject *done = loop != NULL && ids != NULL
                       ? PyObject_CallMethodObjArgs(loop, str_interrupted, value, ids, NULL)
                       : NULL;
  if (done == NULL)
    PyErr_WriteUnraisable(loop);
  Py_XDECREF(done);
  Py_XDECREF(ids);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}

/* SystemExit or KeyboardInterrupt is set while a batch runs: the ids not yet run go back
 * in the core's queue as the loop stops. */
static void interrupted(LoopCore *self, const uintptr_t *rest, size_t count) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb); /* ids_list must not run with the error set */
  PyObject *list = ids_list(rest, count);
  if (list == NULL)
    PyErr_WriteUnraisable((PyObject *)self);
  PyErr_Restore(type, value, tb);
  weft_py_interrupt((PyObject *)self, list);
  Py_XDECREF(list);
}

/* The handle an id stands for, taken out of its queue (a new reference), or NULL when it
 * has none any more (a cancelled timer, or a queue close() emptied). */
static PyObject *take_handle(LoopCore *self, uintptr_t id) {
  if (id == ID_SOON)
    return ring_pop(&self->ready);
  PyObject *key = PyLong_FromSize_t(id);
  if (key == NULL)
    return NULL;
  PyObject *timer = timers_take(self, key);
  Py_DECREF(key);
  if (timer != NULL)
    timer_drop_core(timer, 0);
  return timer;
}

/* Takes the oldest thread-safe handle (a new reference), or NULL. */
static PyObject *take_threadsafe(LoopCore *self) {
  PyObject *handle = ring_pop(&self->threadsafe);
  if (handle != NULL)
    groups_take(&self->groups);
  return handle;
}

/* Runs the oldest group of thread-safe handles; those queued while it runs make a new group
 * with a marker of its own. -1 when one raised SystemExit or KeyboardInterrupt: the rest of
 * the group stays the oldest, and gets a new marker. */
static int run_threadsafe(LoopCore *self) {
  self->wakeup_posted = 0;
  for (size_t n = groups_front(&self->groups); n > 0; n--) {
    PyObject *handle = take_threadsafe(self);
    if (handle == NULL)
      break;
    int rc = run_handle(handle, slots.report_error);
    handle_release(handle);
    if (rc < 0) {
      if (n > 1)
        weft_call_soon_threadsafe_id(self->core, ID_THREADSAFE);
      return -1;
    }
  }
  return 0;
}

static void run_batch(LoopCore *self, const uintptr_t *ids, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (ids[i] == ID_THREADSAFE) {
      if (run_threadsafe(self) < 0) {
        interrupted(self, ids + i + 1, count - i - 1);
        return;
      }
      continue;
    }
    PyObject *handle = take_handle(self, ids[i]);
    if (handle == NULL) {
      if (PyErr_Occurred())
        PyErr_WriteUnraisable((PyObject *)self);
      continue;
    }
    int rc = run_handle(handle, slots.report_error);
    handle_release(handle);
    if (rc < 0) {
      interrupted(self, ids + i + 1, count - i - 1);
      return;
    }
  }
}

static void on_batch(weft_loop_t *loop, const uintptr_t *ids, size_t count, void *arg) {
  (void)loop;
  LoopCore *self = arg;
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_INCREF(self);
  if (self->debug) {
    PyObject *list = ids_list(ids, count);
    PyObject *done =
        list ? PyObject_CallMethodObjArgs((PyObject *)self, str_run_batch_debug, list, NULL) : NULL;
    if (done == NULL)
      PyErr_WriteUnraisable((PyObject *)self);
    Py_XDECREF(done);
    Py_XDECREF(list);
  } else {
    run_batch(self, ids, count);
  }
  Py_DECREF(self);
  PyGILState_Release(gil);
}

/* For the debug-mode batch in Python: the handle of one id (for id 2, the oldest
 * thread-safe handle), or None. */
static PyObject *LoopCore_take_handle(LoopCore *self, PyObject *arg) {
  size_t id = PyLong_AsSize_t(arg);
  if (id == (size_t)-1 && PyErr_Occurred())
    return NULL;
  PyObject *handle = id == ID_THREADSAFE ? take_threadsafe(self) : take_handle(self, id);
  if (handle == NULL && !PyErr_Occurred())
    Py_RETURN_NONE;
  return handle;
}

/* For the debug-mode batch: a thread-safe marker is being run; how many handles it runs. */
static PyObject *LoopCore_begin_threadsafe(LoopCore *self, PyObject *unused) {
  (void)unused;
  self->wakeup_posted = 0;
  return PyLong_FromSize_t(groups_front(&self->groups));
}

/* ---- The type ----------------------------------------------------------------------- */

static PyObject *LoopCore_attach(LoopCore *self, PyObject *arg) {
  if (slots.handle_type == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "weft._loopcore.configure() has not been called");
    return NULL;
  }
  weft_loop_t *core = (weft_loop_t *)(uintptr_t)PyLong_AsUnsignedLongLong(arg);
  if (core == NULL && PyErr_Occurred())
    return NULL;
  int rc = weft_loop_set_batch_handler(core, on_batch, self, NULL);
  if (rc < 0) {
    PyErr_Format(PyExc_RuntimeError, "weft_loop_set_batch_handler: %s", weft_strerror(rc));
    return NULL;
  }
  self->core = core;
  Py_RETURN_NONE;
}

static PyObject *LoopCore_detach(LoopCore *self, PyObject *unused) {
  (void)unused;
  self->core = NULL;
  Py_RETURN_NONE;
}

/* For _sockcore.c: the core loop of a LoopCore, NULL once detached. */
weft_loop_t *weft_py_loop_core(PyObject *loop) {
  return ((LoopCore *)loop)->core;
}

/* For _sockcore.c: the loop's SockCore (borrowed), or NULL. */
PyObject *weft_py_loop_sockcore(PyObject *loop) {
  return ((LoopCore *)loop)->sockcore;
}

static PyObject *LoopCore_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  (void)args;
  (void)kwargs;
  LoopCore *self = (LoopCore *)type->tp_alloc(type, 0);
  if (self == NULL)
    return NULL;
  self->next_timer_id = 1;
  self->timers = PyDict_New();
  if (self->timers == NULL) {
    Py_DECREF(self);
    return NULL;
  }
  return (PyObject *)self;
}

static int LoopCore_traverse(LoopCore *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->timers);
  Py_VISIT(self->task_factory);
  Py_VISIT(self->sockcore);
  if (ring_traverse(&self->ready, visit, arg) || ring_traverse(&self->threadsafe, visit, arg))
    return -1;
  return 0;
}

static int LoopCore_clear(LoopCore *self) {
  ring_clear(&self->ready);
  ring_clear(&self->threadsafe);
  self->groups.len = 0;
  self->wakeup_posted = 0;
  if (self->timers != NULL) {
    PyObject *key, *timer;
    Py_ssize_t pos = 0;
    while (PyDict_Next(self->timers, &pos, &key, &timer))
      custody_leave(timer);
  }
  Py_CLEAR(self->timers);
  Py_CLEAR(self->task_factory);
  Py_CLEAR(self->sockcore);
  return 0;
}

static void LoopCore_dealloc(LoopCore *self) {
  PyTypeObject *type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  LoopCore_clear(self);
  PyMem_Free(self->ready.items);
  PyMem_Free(self->threadsafe.items);
  PyMem_Free(self->groups.sizes);
  type->tp_free((PyObject *)self);
  Py_DECREF(type);
}

static PyMethodDef LoopCore_methods[] = {
    {"call_soon", (PyCFunction)(void (*)(void))LoopCore_call_soon, METH_FASTCALL | METH_KEYWORDS,
     "call_soon(callback, *args, context=None): run callback in the next iteration."},
    {"call_soon_threadsafe", (PyCFunction)(void (*)(void))LoopCore_call_soon_threadsafe,
     METH_FASTCALL | METH_KEYWORDS, "call_soon from any thread; wakes the loop."},
    {"_arm_timer", (PyCFunction)LoopCore_arm_timer, METH_O,
     "Starts a timer call_at or call_later made on another thread (on the loop thread)."},
    {"call_at", (PyCFunction)(void (*)(void))LoopCore_call_at, METH_FASTCALL | METH_KEYWORDS,
     "call_at(when, callback, *args, context=None): run callback at loop time `when`."},
    {"call_later", (PyCFunction)(void (*)(void))LoopCore_call_later, METH_FASTCALL | METH_KEYWORDS,
     "call_later(delay, callback, *args, context=None): run callback in `delay` seconds."},
    {"time", (PyCFunction)LoopCore_time, METH_NOARGS, "The loop's clock: time.monotonic()."},
    {"get_debug", (PyCFunction)LoopCore_get_debug, METH_NOARGS, "True in debug mode."},
    {"_timer_handle_cancelled", (PyCFunction)LoopCore_timer_handle_cancelled, METH_O,
     "TimerHandle.cancel calls this: the core's timer is cancelled."},
    {"_clear_scheduled", (PyCFunction)LoopCore_clear_scheduled, METH_NOARGS,
     "Drops every scheduled callback and cancels every timer (close)."},
    {"_take_handle", (PyCFunction)LoopCore_take_handle, METH_O,
     "The handle of a batch id (debug-mode batches run in Python)."},
    {"_begin_threadsafe", (PyCFunction)LoopCore_begin_threadsafe, METH_NOARGS,
     "A thread-safe marker runs: the number of thread-safe handles queued."},
    {"create_future", (PyCFunction)LoopCore_create_future, METH_NOARGS,
     "A new asyncio.Future attached to this loop."},
    {"create_task", (PyCFunction)(void (*)(void))LoopCore_create_task,
     METH_FASTCALL | METH_KEYWORDS,
     "create_task(coro, *, name=None, context=None): schedule a coroutine as a Task."},
    {"_attach", (PyCFunction)LoopCore_attach, METH_O,
     "_attach(core_address): runs this loop's batches from now on."},
    {"_detach", (PyCFunction)LoopCore_detach, METH_NOARGS,
     "Forgets the core loop (it is being freed)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef LoopCore_members[] = {
    {"_closed", T_BOOL, offsetof(LoopCore, closed), 0, "close() has been called"},
    {"_debug", T_BOOL, offsetof(LoopCore, debug), 0, "debug mode"},
    {"_timers", T_OBJECT, offsetof(LoopCore, timers), READONLY, "pending timers by id"},
    {"_task_factory", T_OBJECT, offsetof(LoopCore, task_factory), 0,
     "set_task_factory's factory (None: asyncio.Task)"},
    {"_sockcore", T_OBJECT, offsetof(LoopCore, sockcore), 0, "the readers and writers (SockCore)"},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *LoopCore_get_ready_count(LoopCore *self, void *unused) {
  (void)unused;
  return PyLong_FromSize_t(self->ready.len + self->threadsafe.len);
}

static PyGetSetDef LoopCore_getset[] = {
    {"_ready_count", (getter)LoopCore_get_ready_count, NULL, "callbacks scheduled and not run yet",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot LoopCore_type_slots[] = {
    {Py_tp_doc, "The C part of weft.EventLoop: scheduling and running callbacks."},
    {Py_tp_new, LoopCore_new},
    {Py_tp_dealloc, LoopCore_dealloc},
    {Py_tp_traverse, LoopCore_traverse},
    {Py_tp_clear, LoopCore_clear},
    {Py_tp_methods, LoopCore_methods},
    {Py_tp_members, LoopCore_members},
    {Py_tp_getset, LoopCore_getset},
    {0, NULL},
};

static PyType_Spec LoopCore_spec = {
    .name = "weft._loopcore.LoopCore",
    .basicsize = sizeof(LoopCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = LoopCore_type_slots,
};

static PyObject *loopcore_configure(PyObject *module, PyObject *args) {
  (void)module;
  PyObject *handle_type, *timer_type, *futures_module, *tasks_module, *error_from_code,
      *report_error;
  if (!PyArg_ParseTuple(args, "O!O!OOOO:configure", &PyType_Type, &handle_type, &PyType_Type,
                        &timer_type, &futures_module, &tasks_module, &error_from_code,
                        &report_error))
    return NULL;
  if (read_slot_layout((PyTypeObject *)handle_type, (PyTypeObject *)timer_type) < 0 ||
      install_method((PyTypeObject *)handle_type, &handle_cancel_def) < 0 ||
      install_method((PyTypeObject *)timer_type, &timer_handle_cancel_def) < 0)
    return NULL;
  Py_XSETREF(slots.futures_module, Py_NewRef(futures_module));
  Py_XSETREF(slots.tasks_module, Py_NewRef(tasks_module));
  PyObject *task_type = PyObject_GetAttrString(tasks_module, "Task");
  if (task_type == NULL)
    return NULL;
  Py_XSETREF(slots.c_task_type, task_type);
  Py_XSETREF(slots.error_from_code, Py_NewRef(error_from_code));
  Py_XSETREF(slots.report_error, Py_NewRef(report_error));
  Py_RETURN_NONE;
}

static PyMethodDef loopcore_functions[] = {
    {"configure", loopcore_configure, METH_VARARGS,
     "configure(Handle, TimerHandle, asyncio.futures, asyncio.tasks, error_from_code, "
     "report_callback_error): the classes and functions LoopCore uses; called once."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef loopcore_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "weft._loopcore",
    .m_doc = "weft.EventLoop's scheduling hot path, in C.",
    .m_size = -1,
    .m_methods = loopcore_functions,
};

/* Creates weft._loopcore and puts it in sys.modules. Called from Python through cffi, which
 * has released the GIL around the call. 0 on success, -1 when it failed (Python then
 * raises ImportError when it imports the module). */
int _weft_loopcore_install(void) {
  PyGILState_STATE gil = PyGILState_Ensure();
  int rc = -1;
  PyObject *module = PyModule_Create(&loopcore_module);
  PyObject *type = module ? PyType_FromModuleAndSpec(module, &LoopCore_spec, NULL) : NULL;
  str_debug_handle = PyUnicode_InternFromString("_debug_handle");
  str_run_batch_debug = PyUnicode_InternFromString("_run_batch_debug");
  str_interrupted = PyUnicode_InternFromString("_interrupted");
  str_create_task = PyUnicode_InternFromString("_create_task");
  str_get_debug = PyUnicode_InternFromString("get_debug");
  str_timer_handle_cancelled = PyUnicode_InternFromString("_timer_handle_cancelled");
  str_future = PyUnicode_InternFromString("Future");
  str_task = PyUnicode_InternFromString("Task");
  str_name = PyUnicode_InternFromString("name");
  str_context = PyUnicode_InternFromString("context");
  /* Interned, as the names in calls from Python are: the callee's argument parser then
   * matches them by pointer instead of comparing strings. */
  PyObject *str_loop = PyUnicode_InternFromString("loop");
  kw_loop = str_loop ? PyTuple_Pack(1, str_loop) : NULL;
  kw_loop_name_context =
      str_loop && str_name && str_context ? PyTuple_Pack(3, str_loop, str_name, str_context) : NULL;
  Py_XDECREF(str_loop);
  arm_timer_method = type ? PyObject_GetAttrString(type, "_arm_timer") : NULL;
  if (type != NULL && arm_timer_method && str_debug_handle && str_run_batch_debug &&
      str_interrupted && str_create_task && str_get_debug && str_timer_handle_cancelled &&
      str_future && str_task && kw_loop && kw_loop_name_context &&
      PyModule_AddObjectRef(module, "LoopCore", type) == 0 &&
      PyModule_AddIntConstant(module, "THREADSAFE_ID", ID_THREADSAFE) == 0 &&
      weft_py_add_transport_core(module) == 0 && weft_py_add_sock_core(module, type) == 0 &&
      PyDict_SetItemString(PyImport_GetModuleDict(), "weft._loopcore", module) == 0)
    rc = 0;
  if (rc < 0)
    PyErr_Print();
  Py_XDECREF(type);
  Py_XDECREF(module);
  PyGILState_Release(gil);
  return rc;
}
