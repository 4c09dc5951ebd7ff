/* weft._loopcore.TransportCore: the per-event path of weft's transports, in C.
 *
 * A read used to cross from the core into Python through a cffi callback (~180 ns, plus a
 * copy through ffi.buffer), and each write back through a cffi call (~85 ns and a GIL
 * release). Every transport of the binding (streams, pipes, datagrams) now owns a
 * TransportCore (its `_core`), whose address is the argument of the core's protocol
 * callbacks below: data_received, get_buffer/buffer_updated and datagram_received go
 * straight to the Python protocol, and write, is_closing and pause/resume_reading are
 * TransportCore methods that call the core directly. The rarer events (connection made,
 * EOF, lost, pause/resume writing, error_received) call the transport's Python methods
 * (_on_made, _on_eof, ... in weft/bridge.py), and a protocol callback that raises goes to
 * the transport's _protocol_error(method, exc), so asyncio's error handling stays Python.
 *
 * TransportCore is composed into the transport rather than being its base class: asyncio's
 * Transport classes have __slots__, so a C base with fields of its own would conflict with
 * their layout. The loop references the transport (loop._transports) from before the core's
 * first callback until connection_lost, the core's last one, and the transport references
 * its TransportCore, so the borrowed pointer the core holds stays valid. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <string.h>
#include <sys/socket.h>

#include <weft.h>

#include "_native.h"

typedef struct {
  PyObject_HEAD weft_transport_t *core; /* retained; NULL before connection_made */
  PyObject *transport;                  /* the weft.transports.Transport this belongs to */
  PyObject *protocol;                   /* the transport's protocol */
  Py_buffer view;                       /* a BufferedProtocol's buffer while the core fills it */
  char has_view;
  char sendfile_active;  /* loop.sendfile owns the connection: write() raises meanwhile */
  int family;            /* a datagram endpoint's address family, for sendto */
  PyObject *remote;      /* a datagram endpoint's remote_addr: sendto's only destination */
  char remote_connected; /* the socket has a peer (remote_addr's, or a connected sock=):
                          * sendto passes no address */
  PyObject *incoming;    /* the bytes object the core is reading into (read_into), if any */
  /* The contextvars.Context the protocol's callbacks run in (asyncio runs them in a copy of
   * the context where the transport or its server was made); NULL: the caller's. */
  PyObject *context;
  char in_context; /* a callback is running in it: a nested one must not enter it again */
} TransportCore;

static PyObject *str_data_received, *str_datagram_received, *str_on_error_received, *str_get_buffer,
    *str_buffer_updated, *str_on_made, *str_on_eof, *str_on_lost, *str_on_pause, *str_on_resume,
    *str_protocol_error, *str_write_failed, *str_encode, *str_loop, *str_join, *empty_bytes;

/* ---- Python methods ----------------------------------------------------------------- */

static PyObject *TransportCore_write(TransportCore *self, PyObject *data) {
  if (!PyBytes_Check(data) && !PyByteArray_Check(data) && !PyMemoryView_Check(data)) {
    PyErr_Format(PyExc_TypeError, "data argument must be a bytes-like object, not '%.100s'",
                 Py_TYPE(data)->tp_name);
    return NULL;
  }
  if (self->sendfile_active) {
    PyErr_SetString(PyExc_RuntimeError, "unable to write; sendfile is in progress");
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

/* asyncio's writelines is write(b"".join(list_of_data)); the join is bytes.join itself, so
 * what it accepts and the errors it raises are the same, with no Python frame. */
static PyObject *TransportCore_writelines(TransportCore *self, PyObject *list_of_data) {
  PyObject *joined = PyObject_CallMethodOneArg(empty_bytes, str_join, list_of_data);
  if (joined == NULL)
    return NULL;
  PyObject *result = TransportCore_write(self, joined);
  Py_DECREF(joined);
  return result;
}

/* Fills *out with `addr`, a (host, port[, flowinfo[, scope_id]]) tuple with a numeric host
 * of `family`, encoded by the core. 1 when done, 0 when the address is not of that simple
 * form: the Python path takes it. */
static int encode_numeric(int family, PyObject *addr, struct sockaddr_storage *out,
                          socklen_t *len) {
  Py_ssize_t size = PyTuple_Check(addr) ? PyTuple_GET_SIZE(addr) : 0;
  if (size < 2 || size > (family == AF_INET6 ? 4 : 2) ||
      !PyUnicode_Check(PyTuple_GET_ITEM(addr, 0)))
    return 0;
  for (Py_ssize_t i = 1; i < size; i++)
    if (!PyLong_Check(PyTuple_GET_ITEM(addr, i)))
      return 0;
  const char *host = PyUnicode_AsUTF8(PyTuple_GET_ITEM(addr, 0));
  long port = PyLong_AsLong(PyTuple_GET_ITEM(addr, 1));
  if (host == NULL || port < 0 || port > 65535) {
    /* The Python path words the error as the socket module does, and reports it as
     * asyncio's sendto does (a fatal error, not an exception to the caller). */
    PyErr_Clear();
    return 0;
  }
  unsigned long ids[2] = {0, 0}; /* flowinfo, scope_id */
  for (Py_ssize_t i = 2; i < size; i++) {
    ids[i - 2] = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(addr, i));
    if (PyErr_Occurred() || ids[i - 2] > UINT32_MAX) {
      PyErr_Clear(); /* out of range: the Python path words the error */
      return 0;
    }
  }
  int rc = weft_sockaddr_ip(family, host, (int)port, (unsigned)ids[0], (unsigned)ids[1],
                            (struct sockaddr *)out, sizeof *out);
  if (rc < 0)
    return 0; /* a name, or a scope the core does not know: the Python path resolves it */
  *len = (socklen_t)rc;
  return 1;
}

/* sendto(data, addr=None) of a datagram endpoint. A numeric address is encoded here; any
 * other goes through the transport's _encode (which resolves it, as asyncio's sendto does).
 * An endpoint made with remote_addr takes no other address. */
static PyObject *TransportCore_sendto(TransportCore *self, PyObject *const *args, Py_ssize_t nargs,
                                      PyObject *kwnames) {
  /* asyncio's signature, sendto(data, addr=None): either may be given by keyword. */
  PyObject *data = nargs > 0 ? args[0] : NULL, *addr = nargs > 1 ? args[1] : NULL;
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  if (nargs > 2) {
    PyErr_Format(PyExc_TypeError, "sendto() takes at most 2 arguments (%zd given)", nargs);
    return NULL;
  }
  for (Py_ssize_t i = 0; i < nkw; i++) {
    PyObject *name = PyTuple_GET_ITEM(kwnames, i);
    PyObject **slot =
        PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "addr") == 0   ? &addr
        : PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "data") == 0 ? &data
                                                                                       : NULL;
    if (slot == NULL) {
      PyErr_Format(PyExc_TypeError, "sendto() got an unexpected keyword argument '%S'", name);
      return NULL;
    }
    if (*slot != NULL) {
      PyErr_Format(PyExc_TypeError, "sendto() got multiple values for argument '%S'", name);
      return NULL;
    }
    *slot = args[nargs + i];
  }
  if (data == NULL) {
    PyErr_SetString(PyExc_TypeError, "sendto() missing required argument 'data'");
    return NULL;
  }
  if (addr == NULL)
    addr = Py_None;
  if (!PyBytes_Check(data) && !PyByteArray_Check(data) && !PyMemoryView_Check(data)) {
    PyErr_Format(PyExc_TypeError, "data argument must be a bytes-like object, not '%.100s'",
                 Py_TYPE(data)->tp_name);
    return NULL;
  }
#if PY_VERSION_HEX < 0x030D0000
  /* asyncio sends an empty datagram from 3.13 on; before, sendto(b"") did nothing. */
  if (PyObject_Length(data) == 0)
    Py_RETURN_NONE;
#endif
  if (self->remote != NULL && self->remote != Py_None) {
    if (addr != Py_None) {
      int same = PyObject_RichCompareBool(addr, self->remote, Py_EQ);
      if (same < 0)
        return NULL;
      if (!same) {
        PyErr_Format(PyExc_ValueError, "Invalid address: must be None or %R", self->remote);
        return NULL;
      }
    }
    addr = self->remote;
  }
  if (self->remote_connected)
    addr = Py_None; /* asyncio's sendto uses send() on a socket with a peer: no address */
  if (self->core == NULL)
    Py_RETURN_NONE; /* connection_lost has run */
  struct sockaddr_storage storage;
  const struct sockaddr *target = NULL;
  socklen_t target_len = 0;
  PyObject *encoded = NULL; /* bytes from _encode, alive until the call returns */
  /* No address for an endpoint with no peer: _encode reports it as asyncio's sendto does
   * (the socket module's TypeError, as a fatal error). */
  if (addr != Py_None || !self->remote_connected) {
    if (addr != Py_None && encode_numeric(self->family, addr, &storage, &target_len)) {
      target = (const struct sockaddr *)&storage;
    } else {
      encoded =
          self->transport ? PyObject_CallMethodOneArg(self->transport, str_encode, addr) : NULL;
      if (encoded == NULL) {
        if (!PyErr_Occurred())
          Py_RETURN_NONE;
        return NULL;
      }
      if (encoded == Py_None) { /* _encode reported the address's error as asyncio would */
        Py_DECREF(encoded);
        Py_RETURN_NONE;
      }
      if (!PyBytes_Check(encoded) || (size_t)PyBytes_GET_SIZE(encoded) < sizeof(struct sockaddr)) {
        Py_DECREF(encoded);
        PyErr_SetString(PyExc_TypeError, "_encode() must return a socket address as bytes");
        return NULL;
      }
      target = (const struct sockaddr *)PyBytes_AS_STRING(encoded);
    }
  }
  /* Closing, the datagram is dropped; the address was still checked first, as asyncio's
   * sendto checks it until connection_lost. */
  if (self->core == NULL || weft_transport_is_closing(self->core)) {
    Py_XDECREF(encoded);
    Py_RETURN_NONE;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
    Py_XDECREF(encoded);
    return NULL;
  }
  int rc = weft_transport_sendto(self->core, view.buf, (size_t)view.len, target);
  PyBuffer_Release(&view);
  Py_XDECREF(encoded);
  if (rc < 0 && rc != WEFT_ECLOSED && self->transport != NULL) {
    PyObject *code = PyLong_FromLong(rc);
    PyObject *result =
        code ? PyObject_CallMethodOneArg(self->transport, str_write_failed, code) : NULL;
    Py_XDECREF(code);
    return result;
  }
  Py_RETURN_NONE;
}

static PyObject *TransportCore_is_closing(TransportCore *self, PyObject *unused) {
  (void)unused;
  return PyBool_FromLong(self->core == NULL || weft_transport_is_closing(self->core));
}

static PyObject *TransportCore_pause_reading(TransportCore *self, PyObject *unused) {
  (void)unused;
  if (self->core != NULL)
    weft_transport_pause_reading(self->core);
  Py_RETURN_NONE;
}

static PyObject *TransportCore_resume_reading(TransportCore *self, PyObject *unused) {
  (void)unused;
  if (self->core != NULL)
    weft_transport_resume_reading(self->core);
  Py_RETURN_NONE;
}

static PyObject *TransportCore_address(TransportCore *self, void *unused) {
  (void)unused;
  return PyLong_FromVoidPtr(self);
}

/* Gives back a BufferedProtocol's buffer the core was filling. */
static void drop_view(TransportCore *self) {
  if (self->has_view) {
    PyBuffer_Release(&self->view);
    self->has_view = 0;
  }
}

/* The core calls no more (connection_lost has run, or the connection was never made).
 * Letting go of the transport (which references this object: a cycle), of the protocol
 * (asyncio's transports drop theirs at connection_lost too) and of the core transport frees
 * the connection by reference counting instead of waiting for the collector. is_closing()
 * is true from then on, and writes are dropped. */
static void let_go(TransportCore *self) {
  Py_CLEAR(self->transport);
  Py_CLEAR(self->context);
  Py_CLEAR(self->protocol);
  Py_CLEAR(self->incoming);
  drop_view(self);
  if (self->core != NULL) {
    weft_transport_release(self->core);
    self->core = NULL;
  }
}

static PyObject *TransportCore_release(TransportCore *self, PyObject *unused) {
  (void)unused;
  let_go(self);
  Py_RETURN_NONE;
}

/* ---- The core's protocol callbacks ------------------------------------------------- */

/* One of the transport's own methods raised (they catch what their protocol raises, so
 * this is what escaped before their own handling began). A signal's KeyboardInterrupt lands
 * at whatever bytecode runs when it arrives, often the first of such a method: it must stop
 * the loop (run_forever re-raises it), as in asyncio, not be printed and dropped. */
static void transport_method_failed(PyObject *transport) {
  if (transport == NULL || !weft_py_interrupt_pending()) {
    PyErr_WriteUnraisable(transport);
    return;
  }
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyObject *loop = PyObject_GetAttr(transport, str_loop);
  if (loop == NULL)
    PyErr_WriteUnraisable(transport);
  PyErr_Restore(type, value, tb);
  weft_py_interrupt(loop, NULL);
  Py_XDECREF(loop);
}

/* A protocol method raised: the transport's _protocol_error reports it as asyncio does. */
static void protocol_failed(TransportCore *self, PyObject *method) {
  PyObject *type, *value, *tb;
  if (self->transport == NULL) {
    PyErr_WriteUnraisable(method);
    return;
  }
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != NULL)
    PyException_SetTraceback(value, tb);
  PyObject *done =
      PyObject_CallMethodObjArgs(self->transport, str_protocol_error, method, value, NULL);
  if (done == NULL)
    transport_method_failed(self->transport);
  Py_XDECREF(done);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}

static void call_protocol(TransportCore *self, PyObject *method, PyObject *arg) {
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
static PyObject *call_self(TransportCore *self, PyObject *method, PyObject *arg) {
  if (self->transport == NULL) { /* after connection_lost: nothing is listening */
    Py_XDECREF(arg);
    return NULL;
  }
  PyObject *transport = Py_NewRef(self->transport);
  PyObject *result = arg ? PyObject_CallMethodOneArg(transport, method, arg)
                         : PyObject_CallMethodNoArgs(transport, method);
  Py_XDECREF(arg);
  if (result == NULL)
    transport_method_failed(transport);
  Py_DECREF(transport);
  return result;
}

/* Enters the transport's context for one protocol callback and returns it (a new reference,
 * for leave()), or NULL when there is none or it is entered already: a callback the core runs
 * at once inside a protocol's own call finds it so. The reference is needed: PyContext_Exit
 * drops the thread state's reference before it last writes to the context, and the
 * transport may have let go of its own meanwhile (at connection_lost). */
static PyObject *enter(TransportCore *self) {
  if (self->context == NULL || self->context == Py_None || self->in_context)
    return NULL;
  PyObject *context = Py_NewRef(self->context);
  if (PyContext_Enter(context) < 0) {
    PyErr_WriteUnraisable(context);
    Py_DECREF(context);
    return NULL;
  }
  self->in_context = 1;
  return context;
}

static void leave(TransportCore *self, PyObject *context) {
  if (context == NULL)
    return;
  self->in_context = 0;
  if (PyContext_Exit(context) < 0) /* the callback left another context entered */
    PyErr_WriteUnraisable(context);
  Py_DECREF(context);
}

void _weft_tp_made(weft_transport_t *transport, void *arg) {
  PyGILState_STATE gil = PyGILState_Ensure();
  TransportCore *self = arg;
  if (self->core == NULL)
    self->core = weft_transport_retain(transport);
  PyObject *context = enter(self);
  Py_XDECREF(call_self(self, str_on_made, PyLong_FromVoidPtr(transport)));
  leave(self, context);
  PyGILState_Release(gil);
}

/* ---- Reads for a plain Protocol --------------------------------------------------
 * data_received takes a bytes object. Copying a read from the core's shared buffer into a
 * new bytes object costs about 2.5 us for a 100 KiB message, a tenth of what an echo server
 * spends on it (kernel included), so the table also has read_into: when the core knows the
 * size of a read beforehand (a large read on a socket or pipe, a layer's plaintext), it reads
 * straight into a bytes object of that size. */

/* read_into: a new bytes object of `size` bytes, kept in self->incoming until
 * data_received; NULL (the core then reads into its shared buffer) without memory. */
void *_weft_tp_read_into(weft_transport_t *transport, size_t size, void *arg) {
  (void)transport;
  TransportCore *self = arg;
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_CLEAR(self->incoming); /* left from a read that found nothing */
  self->incoming = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
  char *memory = NULL;
  if (self->incoming != NULL)
    memory = PyBytes_AS_STRING(self->incoming);
  else
    PyErr_Clear();
  PyGILState_Release(gil);
  return memory;
}

/* data_received with the bytes read: the bytes object read_into gave, if the data is in it,
 * else a copy of the core's buffer. */
void _weft_tp_data(weft_transport_t *transport, const char *data, size_t len, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  TransportCore *self = arg;
  PyObject *bytes = self->incoming;
  self->incoming = NULL;
  if (bytes == NULL || PyBytes_AS_STRING(bytes) != data) {
    Py_XDECREF(bytes);
    bytes = PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
  } else if ((size_t)PyBytes_GET_SIZE(bytes) != len) {
    _PyBytes_Resize(&bytes, (Py_ssize_t)len); /* shrinks in place; NULL on failure */
  }
  PyObject *context = enter(self);
  call_protocol(self, str_data_received, bytes);
  leave(self, context);
  PyGILState_Release(gil);
}

void *_weft_tp_get_buffer(weft_transport_t *transport, size_t size_hint, size_t *len_out,
                          void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  TransportCore *self = arg;
  void *memory = NULL;
  *len_out = 0;
  drop_view(self);
  PyObject *context = enter(self);
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
  leave(self, context);
  PyGILState_Release(gil);
  return memory;
}

void _weft_tp_buffer_updated(weft_transport_t *transport, size_t nbytes, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  TransportCore *self = arg;
  drop_view(self);
  PyObject *context = enter(self);
  call_protocol(self, str_buffer_updated, PyLong_FromSize_t(nbytes));
  leave(self, context);
  PyGILState_Release(gil);
}

/* A socket address as the socket module gives it (the core takes it apart): (host, port) for
 * IPv4, (host, port, flowinfo, scope_id) for IPv6, a str path or an abstract name as bytes for
 * Unix; None for NULL or another family. */
static PyObject *address_to_python(const struct sockaddr *addr) {
  weft_sockaddr_parts_t p;
  if (addr == NULL || weft_sockaddr_decode(addr, 0, &p) != 0)
    Py_RETURN_NONE;
  if (p.family == AF_INET)
    return Py_BuildValue("(si)", p.host, p.port);
  if (p.family == AF_INET6)
    return Py_BuildValue("(siII)", p.host, p.port, p.flowinfo, p.scope_id);
  if (p.path_len > 0 && p.path[0] == '\0')
    return PyBytes_FromStringAndSize(p.path, (Py_ssize_t)p.path_len);
  return PyUnicode_DecodeFSDefaultAndSize(p.path, (Py_ssize_t)p.path_len);
}

/* decode_sockaddr(address): the Python form of the struct sockaddr at an integer address
 * (weft.sockaddr.decode's, for the addresses cffi hands it). */
static PyObject *decode_sockaddr(PyObject *module, PyObject *address) {
  (void)module;
  void *addr = PyLong_AsVoidPtr(address);
  if (addr == NULL && PyErr_Occurred())
    return NULL;
  return address_to_python(addr);
}

static PyMethodDef decode_sockaddr_def = {
    "decode_sockaddr", decode_sockaddr, METH_O,
    "decode_sockaddr(address): the socket module's form of the struct sockaddr at address."};

void _weft_tp_datagram(weft_transport_t *transport, const char *data, size_t len,
                       const struct sockaddr *addr, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  TransportCore *self = arg;
  PyObject *bytes = PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
  PyObject *address = bytes ? address_to_python(addr) : NULL;
  PyObject *result = NULL;
  PyObject *context = enter(self);
  if (address != NULL) {
    PyObject *protocol = self->protocol ? Py_NewRef(self->protocol) : Py_NewRef(Py_None);
    PyObject *argv[] = {protocol, bytes, address};
    result = PyObject_VectorcallMethod(str_datagram_received, argv, 3, NULL);
    Py_DECREF(protocol);
  }
  if (result == NULL)
    protocol_failed(self, str_datagram_received);
  leave(self, context);
  Py_XDECREF(result);
  Py_XDECREF(address);
  Py_XDECREF(bytes);
  PyGILState_Release(gil);
}

void _weft_tp_error_received(weft_transport_t *transport, int error, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *context = enter(arg);
  Py_XDECREF(call_self(arg, str_on_error_received, PyLong_FromLong(error)));
  leave(arg, context);
  PyGILState_Release(gil);
}

int _weft_tp_eof(weft_transport_t *transport, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  TransportCore *self = arg;
  PyObject *context = enter(self);
  PyObject *keep_open = call_self(self, str_on_eof, NULL);
  int rc = keep_open != NULL && PyObject_IsTrue(keep_open) == 1;
  if (PyErr_Occurred())
    transport_method_failed(self->transport);
  leave(self, context);
  Py_XDECREF(keep_open);
  PyGILState_Release(gil);
  return rc;
}

void _weft_tp_lost(weft_transport_t *transport, int error, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  TransportCore *self = arg;
  /* The loop may drop its last reference to the transport in _on_lost. */
  Py_INCREF(self);
  PyObject *context = enter(self);
  /* _on_lost lets go (TransportCore.release) once the protocol had connection_lost, which
   * it puts off to the next iteration as asyncio does. */
  PyObject *result = call_self(self, str_on_lost, PyLong_FromLong(error));
  if (result == NULL)
    let_go(self); /* it failed (reported): nothing else will */
  Py_XDECREF(result);
  leave(self, context);
  Py_DECREF(self);
  PyGILState_Release(gil);
}

void _weft_tp_pause_writing(weft_transport_t *transport, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *context = enter(arg);
  Py_XDECREF(call_self(arg, str_on_pause, NULL));
  leave(arg, context);
  PyGILState_Release(gil);
}

void _weft_tp_resume_writing(weft_transport_t *transport, void *arg) {
  (void)transport;
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *context = enter(arg);
  Py_XDECREF(call_self(arg, str_on_resume, NULL));
  leave(arg, context);
  PyGILState_Release(gil);
}

/* ---- The type ----------------------------------------------------------------------- */

static PyObject *TransportCore_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  PyObject *transport;
  if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
    PyErr_SetString(PyExc_TypeError, "TransportCore() takes no keyword arguments");
    return NULL;
  }
  if (!PyArg_ParseTuple(args, "O:TransportCore", &transport))
    return NULL;
  TransportCore *self = (TransportCore *)type->tp_alloc(type, 0);
  if (self != NULL)
    self->transport = Py_NewRef(transport);
  return (PyObject *)self;
}

static int TransportCore_traverse(TransportCore *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->transport);
  Py_VISIT(self->protocol);
  Py_VISIT(self->remote);
  Py_VISIT(self->context);
  if (self->has_view)
    Py_VISIT(self->view.obj);
  return 0;
}

static int TransportCore_clear(TransportCore *self) {
  Py_CLEAR(self->transport);
  Py_CLEAR(self->protocol);
  Py_CLEAR(self->remote);
  Py_CLEAR(self->context);
  Py_CLEAR(self->incoming);
  drop_view(self);
  return 0;
}

static void TransportCore_dealloc(TransportCore *self) {
  PyTypeObject *type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  TransportCore_clear(self);
  if (self->core != NULL)
    weft_transport_release(self->core);
  type->tp_free((PyObject *)self);
  Py_DECREF(type);
}

static PyMethodDef TransportCore_methods[] = {
    {"write", (PyCFunction)TransportCore_write, METH_O,
     "Queues data to send; never blocks (flow control calls pause_writing)."},
    {"writelines", (PyCFunction)TransportCore_writelines, METH_O,
     "Queues the concatenation of an iterable of bytes-like objects."},
    {"release", (PyCFunction)TransportCore_release, METH_NOARGS,
     "The core will not call again (the connection was never made): let go of everything."},
    {"sendto", (PyCFunction)(void (*)(void))TransportCore_sendto, METH_FASTCALL | METH_KEYWORDS,
     "sendto(data, addr=None): a datagram to addr (unconnected endpoints)."},
    {"is_closing", (PyCFunction)TransportCore_is_closing, METH_NOARGS,
     "True once the transport is closing or closed."},
    {"pause_reading", (PyCFunction)TransportCore_pause_reading, METH_NOARGS,
     "Stops calling the protocol with data until resume_reading."},
    {"resume_reading", (PyCFunction)TransportCore_resume_reading, METH_NOARGS,
     "Starts calling the protocol with data again."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef TransportCore_members[] = {
    {"protocol", T_OBJECT, offsetof(TransportCore, protocol), 0, "the transport's protocol"},
    {"context", T_OBJECT, offsetof(TransportCore, context), 0,
     "the contextvars.Context the protocol's callbacks run in (None: the loop's own)"},
    {"family", T_INT, offsetof(TransportCore, family), 0,
     "a datagram endpoint's address family (sendto encodes numeric addresses for it)"},
    {"remote", T_OBJECT, offsetof(TransportCore, remote), 0,
     "a datagram endpoint's remote_addr, its only destination (None: any)"},
    {"remote_connected", T_BOOL, offsetof(TransportCore, remote_connected), 0,
     "the endpoint's socket is connected to remote: sendto passes no address"},
    {"sendfile_active", T_BOOL, offsetof(TransportCore, sendfile_active), 0,
     "loop.sendfile is sending through the transport; write() raises meanwhile"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef TransportCore_getset[] = {
    {"address", (getter)TransportCore_address, NULL,
     "the argument the core's protocol callbacks get: this object's address", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot TransportCore_type_slots[] = {
    {Py_tp_doc, "TransportCore(transport): the C part of a weft transport: its reads, writes and "
                "read flow control."},
    {Py_tp_new, TransportCore_new},
    {Py_tp_dealloc, TransportCore_dealloc},
    {Py_tp_traverse, TransportCore_traverse},
    {Py_tp_clear, TransportCore_clear},
    {Py_tp_methods, TransportCore_methods},
    {Py_tp_members, TransportCore_members},
    {Py_tp_getset, TransportCore_getset},
    {0, NULL},
};

static PyType_Spec TransportCore_spec = {
    .name = "weft._loopcore.TransportCore",
    .basicsize = sizeof(TransportCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = TransportCore_type_slots,
};

int weft_py_add_transport_core(PyObject *module) {
  static struct {
    PyObject **slot;
    const char *text;
  } names[] = {
      {&str_data_received, "data_received"},
      {&str_datagram_received, "datagram_received"},
      {&str_on_error_received, "_on_error_received"},
      {&str_get_buffer, "get_buffer"},
      {&str_buffer_updated, "buffer_updated"},
      {&str_on_made, "_on_made"},
      {&str_on_eof, "_on_eof"},
      {&str_on_lost, "_on_lost"},
      {&str_on_pause, "_on_pause_writing"},
      {&str_on_resume, "_on_resume_writing"},
      {&str_protocol_error, "_protocol_error"},
      {&str_write_failed, "_write_failed"},
      {&str_encode, "_encode"},
      {&str_loop, "_loop"},
      {&str_join, "join"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL)
      return -1;
  if (empty_bytes == NULL && (empty_bytes = PyBytes_FromStringAndSize(NULL, 0)) == NULL)
    return -1;
  PyObject *decode = PyCFunction_New(&decode_sockaddr_def, NULL);
  if (decode == NULL)
    return -1;
  int added = PyModule_AddObjectRef(module, decode_sockaddr_def.ml_name, decode);
  Py_DECREF(decode);
  if (added < 0)
    return -1;
  PyObject *type = PyType_FromModuleAndSpec(module, &TransportCore_spec, NULL);
  if (type == NULL)
    return -1;
  int rc = PyModule_AddObjectRef(module, "TransportCore", type);
  Py_DECREF(type);
  return rc;
}
