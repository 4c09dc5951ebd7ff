/* weft._loopcore.StreamCore: the per-read and per-write path of weft's stream transports.
 *
 * A read on a TCP or Unix connection used to cross from the core into Python through a cffi
 * callback (~180 ns, plus a copy through ffi.buffer), and each transport.write back through
 * a cffi call (~85 ns and a GIL release). A StreamCore, owned by each
 * weft.transports.Transport (its `_stream`), holds that path: the core calls the C protocol
 * callbacks below with the StreamCore as their argument; data_received, get_buffer and
 * buffer_updated go straight to the Python protocol, and the transport's write, is_closing
 * and pause/resume_reading are StreamCore's methods, which call the core directly. The
 * rarer events (connection made, EOF, lost, pause/resume writing) call the transport's
 * Python methods _on_made, _on_eof, _on_lost, _on_pause_writing and _on_resume_writing, and
 * a protocol callback that raises goes to its _protocol_error(method, exc), so asyncio's
 * error handling stays in Python.
 *
 * StreamCore is composed into the transport rather than being its base class: asyncio's
 * Transport classes have __slots__, so a C base with fields of its own would conflict
 * with their layout. The transport is referenced by its loop (loop._transports) from before
 * the core's first callback until connection_lost, the core's last one, and it references
 * its StreamCore, so the borrowed pointer the core holds stays valid. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <weft.h>

#include "_native.h"

typedef struct {
  PyObject_HEAD weft_transport_t *core; /* retained; NULL before connection_made */
  PyObject *transport;                  /* the weft.transports.Transport this belongs to */
  PyObject *protocol;                   /* the transport's protocol */
  Py_buffer view;                       /* a BufferedProtocol's buffer while the core fills it */
  char has_view;
} StreamCore;

static PyObject *str_data_received, *str_get_buffer, *str_buffer_updated, *str_on_made, *str_on_eof,
    *str_on_lost, *str_on_pause, *str_on_resume, *str_protocol_error, *str_write_failed;

/* ---- Python methods ----------------------------------------------------------------- */

static PyObject *StreamCore_write(StreamCore *self, PyObject *data) {
  if (!PyBytes_Check(data) && !PyByteArray_Check(data) && !PyMemoryView_Check(data)) {
    PyErr_Format(PyExc_TypeError, "data argument must be a bytes-like object, not '%.100s'",
                 Py_TYPE(data)->tp_name);
    return NULL;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
    return NULL;
  int rc = 0;
  if (view.len > 0 && self->core != NULL)
    rc = weft_transport_write(self->core, view.buf, (size_t)view.len);
  PyBuffer_Release(&view);
  /* Writes after close are dropped, as asyncio does; other failures raise. */
  if (rc < 0 && rc != WEFT_ECLOSED) {
    PyObject *code = PyLong_FromLong(rc);
    PyObject *result =
        code ? PyObject_CallMethodOneArg(self->transport, str_write_failed, code) : NULL;
    Py_XDECREF(code);
    return result;
  }
  Py_RETURN_NONE;
}

static PyObject *StreamCore_is_closing(StreamCore *self, PyObject *unused) {
  (void)unused;
  return PyBool_FromLong(self->core == NULL || weft_transport_is_closing(self->core));
}

static PyObject *StreamCore_pause_reading(StreamCore *self, PyObject *unused) {
  (void)unused;
  if (self->core != NULL)
    weft_transport_pause_reading(self->core);
  Py_RETURN_NONE;
}

static PyObject *StreamCore_resume_reading(StreamCore *self, PyObject *unused) {
  (void)unused;
  if (self->core != NULL)
    weft_transport_resume_reading(self->core);
  Py_RETURN_NONE;
}

static PyObject *StreamCore_address(StreamCore *self, void *unused) {
  (void)unused;
  return PyLong_FromVoidPtr(self);
}

/* ---- The core's protocol callbacks ------------------------------------------------- */

/* A protocol method raised: the transport's _protocol_error reports it as asyncio does. */
static void protocol_failed(StreamCore *self, PyObject *method) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != NULL)
    PyException_SetTraceback(value, tb);
  PyObject *done =
      PyObject_CallMethodObjArgs(self->transport, str_protocol_error, method, value, NULL);
  if (done == NULL)
    PyErr_WriteUnraisable(self->transport);
  Py_XDECREF(done);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}

static void call_protocol(StreamCore *self, PyObject *method, PyObject *arg) {
  if (arg == NULL) {
    protocol_failed(self, method);
    return;
  }
  PyObject *protocol = self->protocol ? Py_NewRef(self->protocol) : Py_NewRef(Py_None);
  PyObject *result = PyObject_CallMethodOneArg(protocol, method, arg);
  Py_DECREF(protocol);
  Py_DECREF(arg);
  if (result == NULL)
    protocol_failed(self, method);
  Py_XDECREF(result);
}

/* Calls one of the transport's own _on_* methods; they report their protocol's errors. */
static PyObject *call_self(StreamCore *self, PyObject *method, PyObject *arg) {
  PyObject *transport = Py_NewRef(self->transport);
  PyObject *result = arg ? PyObject_CallMethodOneArg(transport, method, arg)
                         : PyObject_CallMethodNoArgs(transport, method);
  Py_XDECREF(arg);
  if (result == NULL)
    PyErr_WriteUnraisable(transport);
  Py_DECREF(transport);
  return result;
}

void _weft_stream_made(weft_transport_t *transport, void *arg) {
  PyGILState_STATE gil = PyGILState_Ensure();
  StreamCore *self = arg;
  if (self->core == NULL)
    self->core = weft_transport_retain(transport);
  Py_XDECREF(call_self(self, str_on_made, PyLong_FromVoidPtr(transport)));
  PyGILState_Release(gil);
}

void _weft_stream_data(weft_transport_t *transport, const char *data, size_t len, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  call_protocol(arg, str_data_received, PyBytes_FromStringAndSize(data, (Py_ssize_t)len));
  PyGILState_Release(gil);
}

void *_weft_stream_get_buffer(weft_transport_t *transport, size_t size_hint, size_t *len_out,
                              void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  StreamCore *self = arg;
  void *memory = NULL;
  *len_out = 0;
  if (self->has_view) {
    PyBuffer_Release(&self->view);
    self->has_view = 0;
  }
  PyObject *hint = PyLong_FromSize_t(size_hint);
  PyObject *buffer = hint ? PyObject_CallMethodOneArg(self->protocol, str_get_buffer, hint) : NULL;
  Py_XDECREF(hint);
  if (buffer != NULL && PyObject_GetBuffer(buffer, &self->view, PyBUF_WRITABLE) == 0) {
    self->has_view = 1;
    if (self->view.len > 0) {
      memory = self->view.buf;
      *len_out = (size_t)self->view.len;
    } else {
      PyBuffer_Release(&self->view);
      self->has_view = 0;
      PyErr_SetString(PyExc_RuntimeError, "get_buffer() returned an empty buffer");
    }
  }
  Py_XDECREF(buffer);
  if (memory == NULL)
    protocol_failed(self, str_get_buffer);
  PyGILState_Release(gil);
  return memory;
}

void _weft_stream_buffer_updated(weft_transport_t *transport, size_t nbytes, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  StreamCore *self = arg;
  if (self->has_view) {
    PyBuffer_Release(&self->view);
    self->has_view = 0;
  }
  call_protocol(self, str_buffer_updated, PyLong_FromSize_t(nbytes));
  PyGILState_Release(gil);
}

int _weft_stream_eof(weft_transport_t *transport, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  StreamCore *self = arg;
  PyObject *keep_open = call_self(self, str_on_eof, NULL);
  int rc = keep_open != NULL && PyObject_IsTrue(keep_open) == 1;
  if (PyErr_Occurred())
    PyErr_WriteUnraisable(self->transport);
  Py_XDECREF(keep_open);
  PyGILState_Release(gil);
  return rc;
}

void _weft_stream_lost(weft_transport_t *transport, int error, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  StreamCore *self = arg;
  if (self->has_view) {
    PyBuffer_Release(&self->view);
    self->has_view = 0;
  }
  /* The loop may drop its last reference to the transport in _on_lost. */
  Py_INCREF(self);
  Py_XDECREF(call_self(self, str_on_lost, PyLong_FromLong(error)));
  Py_DECREF(self);
  PyGILState_Release(gil);
}

void _weft_stream_pause_writing(weft_transport_t *transport, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_XDECREF(call_self(arg, str_on_pause, NULL));
  PyGILState_Release(gil);
}

void _weft_stream_resume_writing(weft_transport_t *transport, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_XDECREF(call_self(arg, str_on_resume, NULL));
  PyGILState_Release(gil);
}

/* ---- The type ----------------------------------------------------------------------- */

static PyObject *StreamCore_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  PyObject *transport;
  if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
    PyErr_SetString(PyExc_TypeError, "StreamCore() takes no keyword arguments");
    return NULL;
  }
  if (!PyArg_ParseTuple(args, "O:StreamCore", &transport))
    return NULL;
  StreamCore *self = (StreamCore *)type->tp_alloc(type, 0);
  if (self != NULL)
    self->transport = Py_NewRef(transport);
  return (PyObject *)self;
}

static int StreamCore_traverse(StreamCore *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->transport);
  Py_VISIT(self->protocol);
  if (self->has_view)
    Py_VISIT(self->view.obj);
  return 0;
}

static int StreamCore_clear(StreamCore *self) {
  Py_CLEAR(self->transport);
  Py_CLEAR(self->protocol);
  if (self->has_view) {
    PyBuffer_Release(&self->view);
    self->has_view = 0;
  }
  return 0;
}

static void StreamCore_dealloc(StreamCore *self) {
  PyTypeObject *type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  StreamCore_clear(self);
  if (self->core != NULL)
    weft_transport_release(self->core);
  type->tp_free((PyObject *)self);
  Py_DECREF(type);
}

static PyMethodDef StreamCore_methods[] = {
    {"write", (PyCFunction)StreamCore_write, METH_O,
     "Queues data to send; never blocks (flow control calls pause_writing)."},
    {"is_closing", (PyCFunction)StreamCore_is_closing, METH_NOARGS,
     "True once the transport is closing or closed."},
    {"pause_reading", (PyCFunction)StreamCore_pause_reading, METH_NOARGS,
     "Stops calling the protocol with data until resume_reading."},
    {"resume_reading", (PyCFunction)StreamCore_resume_reading, METH_NOARGS,
     "Starts calling the protocol with data again."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef StreamCore_members[] = {
    {"protocol", T_OBJECT, offsetof(StreamCore, protocol), 0, "the transport's protocol"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef StreamCore_getset[] = {
    {"address", (getter)StreamCore_address, NULL,
     "the argument the core's protocol callbacks get: this object's address", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot StreamCore_type_slots[] = {
    {Py_tp_doc, "StreamCore(transport): the C part of a weft stream transport: reads, writes "
                "and read flow control."},
    {Py_tp_new, StreamCore_new},
    {Py_tp_dealloc, StreamCore_dealloc},
    {Py_tp_traverse, StreamCore_traverse},
    {Py_tp_clear, StreamCore_clear},
    {Py_tp_methods, StreamCore_methods},
    {Py_tp_members, StreamCore_members},
    {Py_tp_getset, StreamCore_getset},
    {0, NULL},
};

static PyType_Spec StreamCore_spec = {
    .name = "weft._loopcore.StreamCore",
    .basicsize = sizeof(StreamCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = StreamCore_type_slots,
};

int weft_py_add_stream_core(PyObject *module) {
  static struct {
    PyObject **slot;
    const char *text;
  } names[] = {
      {&str_data_received, "data_received"},
      {&str_get_buffer, "get_buffer"},
      {&str_buffer_updated, "buffer_updated"},
      {&str_on_made, "_on_made"},
      {&str_on_eof, "_on_eof"},
      {&str_on_lost, "_on_lost"},
      {&str_on_pause, "_on_pause_writing"},
      {&str_on_resume, "_on_resume_writing"},
      {&str_protocol_error, "_protocol_error"},
      {&str_write_failed, "_write_failed"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL)
      return -1;
  PyObject *type = PyType_FromModuleAndSpec(module, &StreamCore_spec, NULL);
  if (type == NULL)
    return -1;
  int rc = PyModule_AddObjectRef(module, "StreamCore", type);
  Py_DECREF(type);
  return rc;
}
