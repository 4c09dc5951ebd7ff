/* weft._loopcore.SockCore and SockOp: add_reader/add_writer and the loop.sock_* operations.
 *
 * asyncio's sock_recv & co. are coroutines that try the system call once and, when the
 * socket is not ready, register a reader (or writer) whose callback tries again and
 * completes a future. Written in Python over add_reader, every operation that waits built a
 * Handle, a cffi cookie, closures and a done callback, and every one that did not still ran
 * several Python frames. Here the whole operation is one C object, SockOp: the awaitable the
 * loop's method returns (registered as a collections.abc.Coroutine, so create_task and
 * asyncio.iscoroutine accept it). Its first send tries the call; if the socket is not ready
 * it registers itself with the core's readiness watcher (weft_add_reader/weft_add_writer,
 * whose callback is on_op_ready below, no cffi crossing), makes an asyncio future and
 * delegates to that future's own __await__ iterator, exactly what `return await fut` does.
 *
 * SockCore, one per loop, keeps asyncio's table of one reader and one writer per descriptor
 * (fd -> Handle from add_reader, or SockOp), so that a sock_* operation and add_reader
 * replace each other as they do in asyncio's selector loop, and remove_reader removes either.
 *
 * Where asyncio would call sock.recv, sock.recv_into or sock.send on a plain socket.socket
 * with no timeout, the system call is made here directly on its descriptor: the same call
 * Python's socket module makes, minus the BlockingIOError it would build each time the socket
 * is not ready, and recv reads into a scratch buffer rather than allocating `n` bytes (256
 * KiB in a typical server) for every call. Any other socket object goes through its own
 * methods, as asyncio does. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/socket.h>

#include <weft.h>

#include "_native.h"

enum {
  K_RECV,
  K_RECV_INTO,
  K_RECVFROM,
  K_RECVFROM_INTO,
  K_SENDALL,
  K_SENDTO,
  K_CONNECT,
  K_ACCEPT,
  K_COUNT
};

enum { S_NEW, S_WAITING, S_DONE };

/* What each operation is called, its parameters (asyncio's names) and which watcher it
 * waits on. */
static const struct {
  const char *name;
  const char *params[3];
  int required, writer;
} kinds[K_COUNT] = {
    [K_RECV] = {"sock_recv", {"sock", "n"}, 2, 0},
    [K_RECV_INTO] = {"sock_recv_into", {"sock", "buf"}, 2, 0},
    [K_RECVFROM] = {"sock_recvfrom", {"sock", "bufsize"}, 2, 0},
    [K_RECVFROM_INTO] = {"sock_recvfrom_into", {"sock", "buf", "nbytes"}, 2, 0},
    [K_SENDALL] = {"sock_sendall", {"sock", "data"}, 2, 1},
    [K_SENDTO] = {"sock_sendto", {"sock", "data", "address"}, 3, 1},
    [K_CONNECT] = {"sock_connect", {"sock", "address"}, 2, 1},
    [K_ACCEPT] = {"sock_accept", {"sock"}, 1, 0},
};

static PyTypeObject *loopcore_type, *sockcore_type, *sockop_type;
static PyObject *socket_type;    /* socket.socket: the type whose calls are made here */
static PyObject *sslsocket_type; /* ssl.SSLSocket, or NULL without ssl */
static PyObject *error_from_code;
static PyObject *str_recv, *str_recv_into, *str_recvfrom, *str_recvfrom_into, *str_send,
    *str_sendto, *str_connect, *str_accept, *str_setblocking, *str_fileno, *str_gettimeout,
    *str_getsockopt, *str_create_future, *str_add_done_callback, *str_remove_done_callback,
    *str_set_result, *str_set_exception, *str_cancel, *str_done, *str_sockcore, *str_loop, *zero;

/* An int that must fit a C int (a descriptor). */
static int as_int(PyObject *obj) {
  long value = PyLong_AsLong(obj);
  if (value == -1 && PyErr_Occurred())
    return -1;
  if (value < INT_MIN || value > INT_MAX) {
    PyErr_SetString(PyExc_OverflowError, "file descriptor out of range");
    return -1;
  }
  return (int)value;
}

/* ---- Reading a socket.socket ---------------------------------------------------------- */

/* A plain socket.socket's descriptor and timeout are read from CPython's struct for
 * _socket.socket (Modules/socketmodule.h: PyObject_HEAD, the descriptor, family, type and
 * protocol as ints, an error-handler pointer, then the timeout in nanoseconds, negative for
 * none),
 * unchanged since Python 3.5; calling fileno() and gettimeout() instead cost more than the
 * rest of an operation that does not wait. The layout is checked once, on a socket made for
 * the purpose (check_layout); if any check fails, the methods are called instead. */
typedef struct {
  PyObject_HEAD int fd;
  int family, type, proto;
  PyObject *(*errorhandler)(void);
  int64_t timeout;
} socket_layout;

static int layout_ok;

static int read_socket(PyObject *sock, int *fd, int64_t *timeout) {
  if (!layout_ok)
    return -1;
  const socket_layout *s = (const socket_layout *)sock;
  *fd = s->fd;
  *timeout = s->timeout;
  return 0;
}

static int layout_matches(PyObject *sock, double timeout, int64_t nanoseconds) {
  PyObject *value = timeout < 0 ? Py_NewRef(Py_None) : PyFloat_FromDouble(timeout);
  PyObject *done = value ? PyObject_CallMethod(sock, "settimeout", "O", value) : NULL;
  Py_XDECREF(value);
  Py_XDECREF(done);
  PyObject *fileno = done ? PyObject_CallMethod(sock, "fileno", NULL) : NULL;
  long fd = fileno ? PyLong_AsLong(fileno) : -1;
  Py_XDECREF(fileno);
  const socket_layout *s = (const socket_layout *)sock;
  return done != NULL && fd >= 0 && s->fd == fd && s->family == AF_INET && s->type == SOCK_STREAM &&
         (nanoseconds < 0 ? s->timeout < 0 : s->timeout == nanoseconds);
}

static void check_layout(void) {
  if ((size_t)((PyTypeObject *)socket_type)->tp_basicsize < sizeof(socket_layout))
    return;
  PyObject *sock = PyObject_CallFunction(socket_type, "ii", AF_INET, SOCK_STREAM);
  if (sock == NULL) {
    PyErr_Clear(); /* no socket to check with: the methods will be called */
    return;
  }
  int ok = Py_IS_TYPE(sock, (PyTypeObject *)socket_type) && layout_matches(sock, -1, -1) &&
           layout_matches(sock, 0, 0) && layout_matches(sock, 2.5, 2500000000) &&
           layout_matches(sock, 0, 0);
  PyObject *closed = PyObject_CallMethod(sock, "close", NULL);
  ok = ok && closed != NULL && ((const socket_layout *)sock)->fd == -1;
  Py_XDECREF(closed);
  Py_DECREF(sock);
  PyErr_Clear();
  layout_ok = ok;
}

/* ---- The table of watchers ----------------------------------------------------------- */

typedef struct {
  PyObject_HEAD PyObject *loop; /* the weft.EventLoop (a LoopCore) */
  PyObject *tables[2];          /* readers, writers: fd -> Handle or SockOp */
} SockCore;

typedef struct {
  PyObject_HEAD SockCore *owner;
  PyObject *sock;
  PyObject *arg, *arg2;             /* n/buf/data/address, and sendto's address, nbytes */
  PyObject *fut, *waiter, *done_cb; /* while waiting: the future, its __await__, our callback */
  Py_buffer view;                   /* sendall, once it has to wait */
  Py_ssize_t pos;                   /* sendall: bytes of view sent */
  int fd;
  unsigned char kind, state, registered, has_view, direct;
} SockOp;

/* The core loop of a SockCore's loop, or NULL when it is closed or gone. */
static weft_loop_t *live_core(SockCore *sc) {
  weft_loop_t *core = weft_py_loop_core(sc->loop);
  return core != NULL && !weft_loop_is_closed(core) ? core : NULL;
}

static int raise_code(int rc) {
  if (error_from_code == NULL) {
    PyObject *module = PyImport_ImportModule("weft._core");
    if (module != NULL)
      error_from_code = PyObject_GetAttrString(module, "error_from_code");
    Py_XDECREF(module);
    if (error_from_code == NULL)
      return -1;
  }
  PyObject *exc = PyObject_CallFunction(error_from_code, "i", rc);
  if (exc != NULL) {
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  return -1;
}

/* A replaced or removed watcher: asyncio cancels its handle; an operation stops waiting
 * (its future stays pending, as asyncio's does once its handle is cancelled). */
static int forget(PyObject *entry) {
  if (Py_IS_TYPE(entry, sockop_type)) {
    ((SockOp *)entry)->registered = 0;
    return 0;
  }
  PyObject *done = PyObject_CallMethodNoArgs(entry, str_cancel);
  Py_XDECREF(done);
  return done != NULL ? 0 : -1;
}

static void on_op_ready(void *arg);
static void on_handle_ready(void *arg);

/* Makes `entry` the reader (writer) of fd, replacing the one there. */
static int watch(SockCore *sc, int writer, int fd, PyObject *entry) {
  weft_loop_t *core = live_core(sc);
  if (core == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
    return -1;
  }
  PyObject *key = PyLong_FromLong(fd);
  if (key == NULL)
    return -1;
  PyObject *old = PyDict_GetItemWithError(sc->tables[writer], key);
  Py_XINCREF(old);
  int rc = -1;
  if (old == NULL && PyErr_Occurred())
    goto out;
  weft_callback_fn cb = Py_IS_TYPE(entry, sockop_type) ? on_op_ready : on_handle_ready;
  int err = writer ? weft_add_writer(core, fd, cb, entry, NULL)
                   : weft_add_reader(core, fd, cb, entry, NULL);
  if (err < 0) {
    raise_code(err);
    goto out;
  }
  if (PyDict_SetItem(sc->tables[writer], key, entry) < 0) {
    /* The core must not keep calling with an entry nobody holds. */
    if (writer)
      weft_remove_writer(core, fd);
    else
      weft_remove_reader(core, fd);
    goto out;
  }
  rc = old != NULL ? forget(old) : 0;
out:
  Py_XDECREF(old);
  Py_DECREF(key);
  return rc;
}

/* Removes fd's reader (writer): 1 if there was one, 0 if not, -1 on error. `only`, when
 * given, must be the registered entry (an operation removes only its own watcher). */
static int unwatch(SockCore *sc, int writer, int fd, PyObject *only) {
  PyObject *key = PyLong_FromLong(fd);
  if (key == NULL)
    return -1;
  PyObject *entry = PyDict_GetItemWithError(sc->tables[writer], key);
  int rc = 0;
  if (entry == NULL || (only != NULL && entry != only)) {
    rc = PyErr_Occurred() ? -1 : 0;
    Py_DECREF(key);
    return rc;
  }
  Py_INCREF(entry);
  weft_loop_t *core = live_core(sc);
  if (core != NULL) {
    if (writer)
      weft_remove_writer(core, fd);
    else
      weft_remove_reader(core, fd);
  }
  rc = PyDict_DelItem(sc->tables[writer], key) < 0 || forget(entry) < 0 ? -1 : 1;
  Py_DECREF(entry);
  Py_DECREF(key);
  return rc;
}

/* ---- Calling the socket -------------------------------------------------------------- */

/* Room for what recv returns, so that a sock_recv(sock, 256 KiB) that gets 1 KiB, or
 * nothing yet, does not allocate 256 KiB each time. The GIL is held from the system call
 * to the copy, so one buffer serves every thread. */
#define SCRATCH_SIZE (256 * 1024)
static char scratch[SCRATCH_SIZE];

/* Outcome of one try: a result, "not ready" (no exception set), or an exception. */
#define NOT_READY ((PyObject *)&scratch) /* never a real object */

/* errno after a failed call on a non-blocking descriptor, as Python's socket module would
 * report it (EINTR: signal handlers run and, unless one raised, the call is retried). */
static PyObject *syscall_failed(int *retry) {
  *retry = 0;
  if (errno == EINTR) {
    if (PyErr_CheckSignals() < 0)
      return NULL;
    *retry = 1;
    return NULL;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    return NOT_READY;
  return PyErr_SetFromErrno(PyExc_OSError);
}

static PyObject *direct_recv(int fd, Py_ssize_t n) {
  PyObject *bytes = NULL;
  char *buf = scratch;
  if (n > SCRATCH_SIZE) {
    if ((bytes = PyBytes_FromStringAndSize(NULL, n)) == NULL)
      return NULL;
    buf = PyBytes_AS_STRING(bytes);
  }
  for (;;) {
    ssize_t got = recv(fd, buf, (size_t)n, MSG_DONTWAIT);
    if (got >= 0) {
      if (bytes == NULL)
        return PyBytes_FromStringAndSize(buf, got);
      if (got != n)
        _PyBytes_Resize(&bytes, got);
      return bytes;
    }
    int retry;
    PyObject *failed = syscall_failed(&retry);
    if (!retry) {
      Py_XDECREF(bytes);
      return failed;
    }
  }
}

/* recv_into/send on a buffer; NULL without an exception set: the object is not a buffer of
 * the right kind (the socket's own method then reports it in its own words). */
static PyObject *direct_buffer_call(int fd, PyObject *obj, int sending) {
  Py_buffer view;
  if (PyObject_GetBuffer(obj, &view, sending ? PyBUF_SIMPLE : PyBUF_WRITABLE) < 0) {
    PyErr_Clear();
    return NULL;
  }
  PyObject *result;
  for (;;) {
    ssize_t n = sending ? send(fd, view.buf, (size_t)view.len, MSG_DONTWAIT)
                        : recv(fd, view.buf, (size_t)view.len, MSG_DONTWAIT);
    if (n >= 0) {
      result = PyLong_FromSsize_t(n);
      break;
    }
    int retry;
    result = syscall_failed(&retry);
    if (!retry) {
      if (result == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_SystemError, "socket call failed");
      break;
    }
  }
  PyBuffer_Release(&view);
  return result;
}

static PyObject *call_method(PyObject *obj, PyObject *name, PyObject *a, PyObject *b) {
  PyObject *argv[] = {obj, a, b};
  size_t n = a == NULL ? 1 : b == NULL ? 2 : 3;
  return PyObject_VectorcallMethod(name, argv, n | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

/* Turns BlockingIOError and InterruptedError (asyncio's "try again later") into NOT_READY. */
static PyObject *not_ready_if_blocked(PyObject *result) {
  if (result == NULL && (PyErr_ExceptionMatches(PyExc_BlockingIOError) ||
                         PyErr_ExceptionMatches(PyExc_InterruptedError))) {
    PyErr_Clear();
    return NOT_READY;
  }
  return result;
}

static PyObject *send_rest(SockOp *op);

/* The connect that was started has finished: its outcome is in SO_ERROR. */
static PyObject *connect_outcome(SockOp *op) {
  PyObject *level = PyLong_FromLong(SOL_SOCKET), *name = PyLong_FromLong(SO_ERROR);
  PyObject *err = level && name ? call_method(op->sock, str_getsockopt, level, name) : NULL;
  Py_XDECREF(level);
  Py_XDECREF(name);
  if (err == NULL)
    return NULL;
  long code = PyLong_AsLong(err);
  Py_DECREF(err);
  if (code == -1 && PyErr_Occurred())
    return NULL;
  if (code == 0)
    Py_RETURN_NONE;
  PyObject *text = PyUnicode_FromFormat("Connect call failed %R", op->arg);
  PyObject *exc = text ? PyObject_CallFunction(PyExc_OSError, "lO", code, text) : NULL;
  Py_XDECREF(text);
  if (exc != NULL) {
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  return NULL;
}

static PyObject *accepted(PyObject *pair) {
  if (pair == NULL)
    return NULL;
  PyObject *tuple = PySequence_Tuple(pair);
  Py_DECREF(pair);
  if (tuple == NULL)
    return NULL;
  if (PyTuple_GET_SIZE(tuple) != 2) {
    PyErr_Format(PyExc_ValueError, "accept() returned %zd values, expected 2",
                 PyTuple_GET_SIZE(tuple));
    Py_DECREF(tuple);
    return NULL;
  }
  PyObject *done = call_method(PyTuple_GET_ITEM(tuple, 0), str_setblocking, Py_False, NULL);
  if (done == NULL) {
    Py_DECREF(tuple);
    return NULL;
  }
  Py_DECREF(done);
  return tuple;
}

/* One try of the operation: its result (a new reference), NOT_READY, or NULL with an
 * exception set. `first`: the try made when the operation starts. */
static PyObject *attempt(SockOp *op, int first) {
  PyObject *result = NULL;
  if (op->direct && !first) {
    /* Closed (or given a timeout) while it waited: from now on as Python would do it. */
    int fd;
    int64_t ns;
    if (read_socket(op->sock, &fd, &ns) < 0 || fd != op->fd || ns != 0)
      op->direct = 0;
  }
  switch (op->kind) {
  case K_RECV:
    if (op->direct) {
      Py_ssize_t n = PyLong_AsSsize_t(op->arg);
      if (n >= 0)
        return direct_recv(op->fd, n);
      PyErr_Clear(); /* the method raises asyncio's own error for it */
    }
    result = call_method(op->sock, str_recv, op->arg, NULL);
    break;
  case K_RECV_INTO:
    if (op->direct && (result = direct_buffer_call(op->fd, op->arg, 0)) != NULL)
      return result;
    if (PyErr_Occurred())
      return NULL;
    result = call_method(op->sock, str_recv_into, op->arg, NULL);
    break;
  case K_RECVFROM:
    result = call_method(op->sock, str_recvfrom, op->arg, NULL);
    break;
  case K_RECVFROM_INTO:
    result = call_method(op->sock, str_recvfrom_into, op->arg, op->arg2);
    break;
  case K_SENDTO:
    result = call_method(op->sock, str_sendto, op->arg, op->arg2);
    break;
  case K_SENDALL:
    return first ? NULL : send_rest(op); /* its first try is start_sendall's */
  case K_CONNECT:
    if (!first)
      return connect_outcome(op);
    result = call_method(op->sock, str_connect, op->arg, NULL);
    break;
  case K_ACCEPT:
    result = accepted(call_method(op->sock, str_accept, NULL, NULL));
    break;
  }
  return not_ready_if_blocked(result);
}

/* sendall: sends what is left of view; None once all of it went, else NOT_READY. */
static PyObject *send_rest(SockOp *op) {
  Py_ssize_t left = op->view.len - op->pos;
  PyObject *chunk = PyMemoryView_FromMemory((char *)op->view.buf + op->pos, left, PyBUF_READ);
  if (chunk == NULL)
    return NULL;
  PyObject *sent = op->direct ? direct_buffer_call(op->fd, chunk, 1) : NULL;
  if (sent == NULL && !PyErr_Occurred())
    sent = not_ready_if_blocked(call_method(op->sock, str_send, chunk, NULL));
  Py_DECREF(chunk);
  if (sent == NULL || sent == NOT_READY)
    return sent;
  Py_ssize_t n = PyLong_AsSsize_t(sent);
  Py_DECREF(sent);
  if (n < 0)
    return PyErr_Occurred() ? NULL : NOT_READY;
  op->pos += n < left ? n : left;
  if (op->pos < op->view.len)
    return NOT_READY;
  Py_RETURN_NONE;
}

/* sendall's first try sends `data` as it was given (as asyncio does: a wrong type fails in
 * send itself); only if some is left does it hold the buffer until the rest is sent. */
static PyObject *start_sendall(SockOp *op) {
  PyObject *sent = op->direct ? direct_buffer_call(op->fd, op->arg, 1) : NULL;
  if (sent == NULL && !PyErr_Occurred())
    sent = not_ready_if_blocked(call_method(op->sock, str_send, op->arg, NULL));
  if (sent == NULL)
    return NULL;
  Py_ssize_t n = 0;
  if (sent != NOT_READY) {
    n = PyLong_AsSsize_t(sent);
    Py_DECREF(sent);
    if (n == -1 && PyErr_Occurred())
      return NULL;
  }
  if (PyObject_GetBuffer(op->arg, &op->view, PyBUF_SIMPLE) < 0)
    return NULL;
  op->has_view = 1;
  op->pos = n < 0 ? 0 : n > op->view.len ? op->view.len : n;
  if (op->pos < op->view.len)
    return NOT_READY;
  Py_RETURN_NONE;
}

/* ---- SockOp -------------------------------------------------------------------------- */

static void op_release(SockOp *op) {
  op->state = S_DONE;
  Py_CLEAR(op->fut);
  Py_CLEAR(op->waiter);
  Py_CLEAR(op->done_cb);
  if (op->has_view) {
    op->has_view = 0;
    PyBuffer_Release(&op->view);
  }
}

/* Stops watching (if the watcher is still this operation's). */
static int op_unregister(SockOp *op) {
  if (!op->registered)
    return 0;
  return unwatch(op->owner, kinds[op->kind].writer, op->fd, (PyObject *)op) < 0 ? -1 : 0;
}

/* The future's done callback: asyncio's _sock_read_done/_sock_write_done. It matters when
 * the future was cancelled; an operation that completes itself removes it first. */
static PyObject *op_future_done(PyObject *self, PyObject *fut) {
  (void)fut;
  if (op_unregister((SockOp *)self) < 0)
    return NULL;
  Py_RETURN_NONE;
}

static PyMethodDef op_future_done_def = {"_sock_done", op_future_done, METH_O,
                                         "Removes the operation's watcher."};

/* The socket was not ready: watch it, and wait on a new future. */
static int op_wait(SockOp *op) {
  SockCore *sc = op->owner;
  PyObject *fut = PyObject_CallMethodNoArgs(sc->loop, str_create_future);
  if (fut == NULL)
    return -1;
  op->fut = fut;
  if (!op->direct && !(layout_ok && Py_IS_TYPE(op->sock, (PyTypeObject *)socket_type))) {
    PyObject *fileno = PyObject_CallMethodNoArgs(op->sock, str_fileno);
    if (fileno == NULL)
      return -1;
    op->fd = as_int(fileno);
    Py_DECREF(fileno);
    if (op->fd == -1 && PyErr_Occurred())
      return -1;
  }
  if (op->fd < 0) {
    PyErr_Format(PyExc_ValueError, "Invalid file descriptor: %d", op->fd);
    return -1;
  }
  if (watch(sc, kinds[op->kind].writer, op->fd, (PyObject *)op) < 0)
    return -1;
  op->registered = 1;
  if ((op->done_cb = PyCFunction_New(&op_future_done_def, (PyObject *)op)) == NULL)
    return -1;
  PyObject *added = call_method(fut, str_add_done_callback, op->done_cb, NULL);
  if (added == NULL)
    return -1;
  Py_DECREF(added);
  unaryfunc await = Py_TYPE(fut)->tp_as_async ? Py_TYPE(fut)->tp_as_async->am_await : NULL;
  op->waiter = await ? await(fut) : PyObject_CallMethod(fut, "__await__", NULL);
  if (op->waiter == NULL)
    return -1;
  op->state = S_WAITING;
  return 0;
}

/* Operation checks asyncio makes before the first try. */
static int op_check(SockOp *op) {
  /* A plain socket.socket is no SSLSocket (a subclass), which spares the isinstance. */
  int plain = Py_IS_TYPE(op->sock, (PyTypeObject *)socket_type);
  if (!plain && sslsocket_type != NULL) {
    int ssl = PyObject_IsInstance(op->sock, sslsocket_type);
    if (ssl < 0)
      return -1;
    if (ssl) {
      PyErr_SetString(PyExc_TypeError, "Socket cannot be of type SSLSocket");
      return -1;
    }
  }
  weft_loop_t *core = weft_py_loop_core(op->owner->loop);
  int debug = core != NULL && weft_loop_get_debug(core) > 0;
  int fd;
  int64_t ns;
  if (plain && read_socket(op->sock, &fd, &ns) == 0) {
    if (debug && ns != 0) {
      PyErr_SetString(PyExc_ValueError, "the socket must be non-blocking");
      return -1;
    }
    op->fd = fd;
    /* A closed socket (-1) goes through its methods, which raise what Python raises. */
    op->direct = ns == 0 && fd >= 0;
    return 0;
  }
  if (!debug && !plain)
    return 0;
  PyObject *timeout = PyObject_CallMethodNoArgs(op->sock, str_gettimeout);
  if (timeout == NULL)
    return -1;
  int nonblocking = PyFloat_Check(timeout) && PyFloat_AS_DOUBLE(timeout) == 0.0;
  if (!nonblocking && timeout != Py_None) {
    nonblocking = PyObject_RichCompareBool(timeout, zero, Py_EQ);
    if (nonblocking < 0) {
      Py_DECREF(timeout);
      return -1;
    }
  }
  Py_DECREF(timeout);
  if (debug && !nonblocking) {
    PyErr_SetString(PyExc_ValueError, "the socket must be non-blocking");
    return -1;
  }
  if (plain && nonblocking) {
    PyObject *fileno = PyObject_CallMethodNoArgs(op->sock, str_fileno);
    if (fileno == NULL)
      return -1;
    op->fd = as_int(fileno);
    Py_DECREF(fileno);
    if (op->fd == -1 && PyErr_Occurred())
      return -1;
    op->direct = op->fd >= 0;
  }
  return 0;
}

/* The first step: checks, the first try, and the wait if the socket was not ready. */
static int resolve_nbytes(SockOp *op) {
  /* asyncio: `if not nbytes: nbytes = len(buf)` */
  int empty = op->arg2 == NULL ? 1 : PyObject_Not(op->arg2);
  if (empty <= 0)
    return empty;
  Py_ssize_t len = PyObject_Size(op->arg);
  if (len < 0)
    return -1;
  Py_XSETREF(op->arg2, PyLong_FromSsize_t(len));
  return op->arg2 != NULL ? 0 : -1;
}

static PySendResult op_start(SockOp *op, PyObject **presult) {
  op->state = S_DONE; /* until it waits */
  if (op_check(op) < 0 || (op->kind == K_RECVFROM_INTO && resolve_nbytes(op) < 0))
    return PYGEN_ERROR;
  PyObject *result = op->kind == K_SENDALL ? start_sendall(op) : attempt(op, 1);
  if (result == NULL) {
    op_release(op);
    return PYGEN_ERROR;
  }
  if (result != NOT_READY) {
    op_release(op);
    *presult = result;
    return PYGEN_RETURN;
  }
  if (op_wait(op) < 0) {
    op_unregister(op);
    op_release(op);
    return PYGEN_ERROR;
  }
  return PYGEN_NEXT;
}

static PySendResult op_am_send(SockOp *op, PyObject *arg, PyObject **presult) {
  *presult = NULL;
  switch (op->state) {
  case S_NEW:
    if (arg != Py_None) {
      PyErr_SetString(PyExc_TypeError, "can't send non-None value to a just-started coroutine");
      return PYGEN_ERROR;
    }
    if (op_start(op, presult) != PYGEN_NEXT)
      return *presult != NULL ? PYGEN_RETURN : PYGEN_ERROR;
    arg = Py_None;
    break;
  case S_WAITING:
    break;
  default:
    PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
    return PYGEN_ERROR;
  }
  /* The future's own iterator: yields the future (marked blocking) to the task, and
   * returns its result or raises its exception once it is done. */
  PySendResult status = PyIter_Send(op->waiter, arg, presult);
  if (status != PYGEN_NEXT) {
    op_unregister(op);
    op_release(op);
  }
  return status;
}

/* A result as a generator's StopIteration carries it. */
static PyObject *stop_with(PySendResult status, PyObject *result) {
  if (status != PYGEN_RETURN)
    return status == PYGEN_NEXT ? result : NULL;
  if (result == Py_None) {
    Py_DECREF(result);
    PyErr_SetNone(PyExc_StopIteration);
    return NULL;
  }
  PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, result);
  Py_DECREF(result);
  if (stop != NULL) {
    PyErr_SetObject(PyExc_StopIteration, stop);
    Py_DECREF(stop);
  }
  return NULL;
}

static PyObject *op_iternext(SockOp *op) {
  PyObject *result;
  PySendResult status = op_am_send(op, Py_None, &result);
  return stop_with(status, result);
}

static PyObject *op_send(SockOp *op, PyObject *arg) {
  PyObject *result;
  PySendResult status = op_am_send(op, arg, &result);
  return stop_with(status, result);
}

/* Ends a wait from outside (throw, close): the future is cancelled, so that no data is
 * consumed for a caller who is gone, and its done callback removes the watcher. */
static int op_abandon(SockOp *op) {
  int rc = 0;
  if (op->state == S_WAITING && op->fut != NULL) {
    /* Once the loop is closed the future cannot schedule its callbacks (cancel raises);
     * removing the watcher is all there is left to do then, as when a pending task's
     * coroutine is closed after its loop. */
    PyObject *done = live_core(op->owner) != NULL ? PyObject_CallMethodNoArgs(op->fut, str_cancel)
                                                  : Py_NewRef(Py_None);
    rc = done != NULL ? 0 : -1;
    Py_XDECREF(done);
    if (op_unregister(op) < 0)
      rc = -1;
  }
  op_release(op);
  return rc;
}

static PyObject *op_throw(SockOp *op, PyObject *const *args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 3) {
    PyErr_Format(PyExc_TypeError, "throw expected 1 to 3 arguments, got %zd", nargs);
    return NULL;
  }
  PyObject *type = args[0], *value = nargs > 1 ? args[1] : NULL, *tb = nargs > 2 ? args[2] : NULL;
  if (value == Py_None)
    value = NULL;
  if (tb == Py_None)
    tb = NULL;
  if (tb != NULL && !PyTraceBack_Check(tb)) {
    PyErr_SetString(PyExc_TypeError, "throw() third argument must be a traceback");
    return NULL;
  }
  if (op_abandon(op) < 0)
    return NULL;
  Py_INCREF(type);
  Py_XINCREF(value);
  Py_XINCREF(tb);
  if (PyExceptionClass_Check(type)) {
    PyErr_NormalizeException(&type, &value, &tb);
  } else if (PyExceptionInstance_Check(type)) {
    if (value != NULL) {
      PyErr_SetString(PyExc_TypeError, "instance exception may not have a separate value");
      goto failed;
    }
    value = type;
    type = Py_NewRef(Py_TYPE(value));
    if (tb == NULL)
      tb = PyException_GetTraceback(value);
  } else {
    PyErr_Format(PyExc_TypeError,
                 "exceptions must be classes or instances deriving from BaseException, not %s",
                 Py_TYPE(type)->tp_name);
    goto failed;
  }
  PyErr_Restore(type, value, tb);
  return NULL;
failed:
  Py_DECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return NULL;
}

static PyObject *op_close(SockOp *op, PyObject *unused) {
  (void)unused;
  if (op_abandon(op) < 0)
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *op_await(SockOp *op) {
  return Py_NewRef(op);
}

static PyObject *op_name(SockOp *op, void *unused) {
  (void)unused;
  return PyUnicode_FromString(kinds[op->kind].name);
}

static int op_traverse(SockOp *op, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(op));
  Py_VISIT(op->owner);
  Py_VISIT(op->sock);
  Py_VISIT(op->arg);
  Py_VISIT(op->arg2);
  Py_VISIT(op->fut);
  Py_VISIT(op->waiter);
  Py_VISIT(op->done_cb);
  if (op->has_view)
    Py_VISIT(op->view.obj);
  return 0;
}

static int op_clear(SockOp *op) {
  op_release(op);
  Py_CLEAR(op->sock);
  Py_CLEAR(op->arg);
  Py_CLEAR(op->arg2);
  Py_CLEAR(op->owner);
  return 0;
}

/* An operation dropped before it ever ran was never awaited: warn as a coroutine does (a
 * closed one was stopped on purpose, and says nothing). */
static void op_finalize(SockOp *op) {
  if (op->state != S_NEW)
    return;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1, "coroutine '%s' was never awaited",
                       kinds[op->kind].name) < 0)
    PyErr_WriteUnraisable((PyObject *)op);
  PyErr_Restore(type, value, tb);
}

static void op_dealloc(SockOp *op) {
  PyTypeObject *type = Py_TYPE(op);
  if (PyObject_CallFinalizerFromDealloc((PyObject *)op) < 0)
    return; /* the warning's handler kept a reference to it */
  PyObject_GC_UnTrack(op);
  op_clear(op);
  type->tp_free((PyObject *)op);
  Py_DECREF(type);
}

static PyObject *op_repr(SockOp *op) {
  return PyUnicode_FromFormat("<%s %s>", kinds[op->kind].name,
                              op->state == S_NEW       ? "not started"
                              : op->state == S_WAITING ? "waiting"
                                                       : "done");
}

static PyMethodDef op_methods[] = {
    {"send", (PyCFunction)op_send, METH_O, "send(value): runs the operation a step."},
    {"throw", (PyCFunction)(void (*)(void))op_throw, METH_FASTCALL,
     "throw(type[, value[, tb]]): stops the operation and raises in it."},
    {"close", (PyCFunction)op_close, METH_NOARGS, "Stops the operation."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef op_getset[] = {
    {"__name__", (getter)op_name, NULL, "the loop method's name", NULL},
    {"__qualname__", (getter)op_name, NULL, "the loop method's name", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot op_slots[] = {
    {Py_tp_doc, "A loop.sock_* operation: the awaitable the loop method returns."},
    {Py_tp_dealloc, op_dealloc},
    {Py_tp_finalize, op_finalize},
    {Py_tp_traverse, op_traverse},
    {Py_tp_clear, op_clear},
    {Py_tp_repr, op_repr},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, op_iternext},
    {Py_tp_methods, op_methods},
    {Py_tp_getset, op_getset},
    {Py_am_await, op_await},
    {Py_am_send, op_am_send},
    {0, NULL},
};

static PyType_Spec op_spec = {
    .name = "weft._loopcore.SockOp",
    .basicsize = sizeof(SockOp),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = op_slots,
};

/* The operation's socket is ready: asyncio's _sock_recv & co. */
static void op_ready(SockOp *op) {
  PyObject *done = PyObject_CallMethodNoArgs(op->fut, str_done);
  int finished = done != NULL ? PyObject_IsTrue(done) : -1;
  Py_XDECREF(done);
  if (finished != 0) /* cancelled: its done callback removes the watcher */
    goto report;
  PyObject *result = attempt(op, 0);
  if (result == NOT_READY)
    return;
  PyObject *type = NULL, *value = NULL, *tb = NULL;
  if (result == NULL) {
    if (weft_py_interrupt_pending()) { /* as in asyncio, the future stays pending */
      weft_py_interrupt(op->owner->loop, NULL);
      return;
    }
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL)
      PyException_SetTraceback(value, tb);
  }
  /* Done here: the watcher goes now, and the done callback is not needed. */
  PyObject *fut = Py_NewRef(op->fut);
  PyObject *removed =
      op_unregister(op) == 0 ? call_method(fut, str_remove_done_callback, op->done_cb, NULL) : NULL;
  Py_XDECREF(removed);
  if (removed == NULL)
    PyErr_WriteUnraisable((PyObject *)op);
  done = result != NULL ? call_method(fut, str_set_result, result, NULL)
                        : call_method(fut, str_set_exception, value, NULL);
  Py_XDECREF(done);
  Py_XDECREF(result);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  Py_DECREF(fut);
report:
  if (PyErr_Occurred()) {
    if (weft_py_interrupt_pending())
      weft_py_interrupt(op->owner->loop, NULL);
    else
      PyErr_WriteUnraisable((PyObject *)op);
  }
}

static void on_op_ready(void *arg) {
  PyGILState_STATE gil = PyGILState_Ensure();
  SockOp *op = arg;
  Py_INCREF(op);
  if (op->state == S_WAITING)
    op_ready(op);
  Py_DECREF(op);
  PyGILState_Release(gil);
}

/* A reader or writer from add_reader/add_writer: its handle runs straight away. */
static void on_handle_ready(void *arg) {
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject *handle = Py_NewRef((PyObject *)arg);
  if (weft_py_run_handle(handle) < 0) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *loop = PyObject_GetAttr(handle, str_loop);
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    weft_py_interrupt(loop, NULL);
    Py_XDECREF(loop);
  }
  Py_DECREF(handle);
  PyGILState_Release(gil);
}

/* ---- The loop's methods -------------------------------------------------------------- */

static SockCore *sockcore_of(PyObject *loop) {
  PyObject *sc = weft_py_loop_sockcore(loop);
  if (sc == NULL || !Py_IS_TYPE(sc, sockcore_type)) {
    PyErr_SetString(PyExc_RuntimeError, "the loop has no SockCore (_sockcore)");
    return NULL;
  }
  return (SockCore *)Py_NewRef(sc);
}

static PyObject *make_op(int kind, PyObject *loop, PyObject *const *argv, Py_ssize_t nargs,
                         PyObject *kwnames) {
  const char *method = kinds[kind].name;
  PyObject *given[3] = {NULL, NULL, NULL};
  int count = 0;
  while (count < 3 && kinds[kind].params[count] != NULL)
    count++;
  if (nargs > count) {
    PyErr_Format(PyExc_TypeError, "%s() takes %d positional arguments but %zd were given", method,
                 count + 1, nargs + 1);
    return NULL;
  }
  for (Py_ssize_t i = 0; i < nargs; i++)
    given[i] = argv[i];
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t i = 0; i < nkw; i++) {
    PyObject *name = PyTuple_GET_ITEM(kwnames, i);
    int slot = -1;
    for (int k = 0; k < count && slot < 0; k++)
      if (PyUnicode_Check(name) &&
          PyUnicode_CompareWithASCIIString(name, kinds[kind].params[k]) == 0)
        slot = k;
    if (slot < 0) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'", method, name);
      return NULL;
    }
    if (given[slot] != NULL) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", method,
                   kinds[kind].params[slot]);
      return NULL;
    }
    given[slot] = argv[nargs + i];
  }
  for (int k = 0; k < kinds[kind].required; k++)
    if (given[k] == NULL) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", method,
                   kinds[kind].params[k]);
      return NULL;
    }
  SockCore *sc = sockcore_of(loop);
  if (sc == NULL)
    return NULL;
  SockOp *op = (SockOp *)sockop_type->tp_alloc(sockop_type, 0);
  if (op == NULL) {
    Py_DECREF(sc);
    return NULL;
  }
  op->owner = sc;
  op->kind = (unsigned char)kind;
  op->fd = -1;
  op->sock = Py_NewRef(given[0]);
  op->arg = Py_XNewRef(given[1]);
  op->arg2 = Py_XNewRef(given[2]);
  return (PyObject *)op;
}

#define OP_METHOD(fn, kind)                                                                        \
  static PyObject *fn(PyObject *loop, PyObject *const *argv, Py_ssize_t nargs, PyObject *kw) {     \
    return make_op(kind, loop, argv, nargs, kw);                                                   \
  }
OP_METHOD(loop_sock_recv, K_RECV)
OP_METHOD(loop_sock_recv_into, K_RECV_INTO)
OP_METHOD(loop_sock_recvfrom, K_RECVFROM)
OP_METHOD(loop_sock_recvfrom_into, K_RECVFROM_INTO)
OP_METHOD(loop_sock_sendall, K_SENDALL)
OP_METHOD(loop_sock_sendto, K_SENDTO)
OP_METHOD(loop_sock_connect, K_CONNECT)
OP_METHOD(loop_sock_accept, K_ACCEPT)

#define LOOP_METHOD(name, fn, doc)                                                                 \
  { name, (PyCFunction)(void (*)(void))fn, METH_FASTCALL | METH_KEYWORDS, doc }

static PyMethodDef loop_methods[] = {
    LOOP_METHOD("sock_recv", loop_sock_recv, "sock_recv(sock, n): up to n bytes from sock."),
    LOOP_METHOD("sock_recv_into", loop_sock_recv_into,
                "sock_recv_into(sock, buf): receives into buf; the number of bytes."),
    LOOP_METHOD("sock_recvfrom", loop_sock_recvfrom,
                "sock_recvfrom(sock, bufsize): a datagram and its sender's address."),
    LOOP_METHOD("sock_recvfrom_into", loop_sock_recvfrom_into,
                "sock_recvfrom_into(sock, buf, nbytes=0): (bytes received, address)."),
    LOOP_METHOD("sock_sendall", loop_sock_sendall, "sock_sendall(sock, data): sends all of data."),
    LOOP_METHOD("sock_sendto", loop_sock_sendto,
                "sock_sendto(sock, data, address): sends a datagram; the bytes sent."),
    LOOP_METHOD("_sock_connect", loop_sock_connect,
                "_sock_connect(sock, address): connects to a resolved address."),
    LOOP_METHOD("sock_accept", loop_sock_accept,
                "sock_accept(sock): (connection, address), the connection non-blocking."),
    {NULL, NULL, 0, NULL},
};

/* ---- SockCore ------------------------------------------------------------------------ */

static PyObject *sockcore_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  PyObject *loop;
  if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
    PyErr_SetString(PyExc_TypeError, "SockCore() takes no keyword arguments");
    return NULL;
  }
  if (!PyArg_ParseTuple(args, "O!:SockCore", loopcore_type, &loop))
    return NULL;
  SockCore *self = (SockCore *)type->tp_alloc(type, 0);
  if (self == NULL)
    return NULL;
  self->loop = Py_NewRef(loop);
  if ((self->tables[0] = PyDict_New()) == NULL || (self->tables[1] = PyDict_New()) == NULL) {
    Py_DECREF(self);
    return NULL;
  }
  return (PyObject *)self;
}

static int sockcore_traverse(SockCore *self, visitproc visit, void *arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->loop);
  Py_VISIT(self->tables[0]);
  Py_VISIT(self->tables[1]);
  return 0;
}

static int sockcore_clear(SockCore *self) {
  Py_CLEAR(self->loop);
  Py_CLEAR(self->tables[0]);
  Py_CLEAR(self->tables[1]);
  return 0;
}

static void sockcore_dealloc(SockCore *self) {
  PyTypeObject *type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  sockcore_clear(self);
  type->tp_free((PyObject *)self);
  Py_DECREF(type);
}

static int parse_direction_fd(PyObject *const *argv, Py_ssize_t nargs, Py_ssize_t want,
                              const char *method, int *writer, int *fd) {
  if (nargs != want) {
    PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments", method, want);
    return -1;
  }
  *writer = PyObject_IsTrue(argv[0]);
  *fd = as_int(argv[1]);
  if (*writer < 0 || (*fd == -1 && PyErr_Occurred()))
    return -1;
  if (*fd < 0) {
    PyErr_Format(PyExc_ValueError, "Invalid file descriptor: %d", *fd);
    return -1;
  }
  return 0;
}

static PyObject *sockcore_watch(SockCore *self, PyObject *const *argv, Py_ssize_t nargs) {
  int writer, fd;
  if (parse_direction_fd(argv, nargs, 3, "watch", &writer, &fd) < 0)
    return NULL;
  if (watch(self, writer, fd, argv[2]) < 0)
    return NULL;
  Py_RETURN_NONE;
}

static PyObject *sockcore_unwatch(SockCore *self, PyObject *const *argv, Py_ssize_t nargs) {
  int writer, fd;
  if (parse_direction_fd(argv, nargs, 2, "unwatch", &writer, &fd) < 0)
    return NULL;
  if (live_core(self) == NULL)
    Py_RETURN_FALSE; /* asyncio: nothing to remove once the loop is closed */
  int rc = unwatch(self, writer, fd, NULL);
  return rc < 0 ? NULL : PyBool_FromLong(rc);
}

static PyObject *sockcore_clear_all(SockCore *self, PyObject *unused) {
  (void)unused;
  for (int writer = 0; writer < 2; writer++) {
    PyObject *keys = PyDict_Keys(self->tables[writer]);
    if (keys == NULL)
      return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
      int fd = as_int(PyList_GET_ITEM(keys, i));
      if (unwatch(self, writer, fd, NULL) < 0) {
        Py_DECREF(keys);
        return NULL;
      }
    }
    Py_DECREF(keys);
  }
  Py_RETURN_NONE;
}

/* What watches fd, for tests and debugging: the Handle or the SockOp, or None. */
static PyObject *sockcore_entry(SockCore *self, PyObject *const *argv, Py_ssize_t nargs) {
  int writer, fd;
  if (parse_direction_fd(argv, nargs, 2, "entry", &writer, &fd) < 0)
    return NULL;
  PyObject *key = PyLong_FromLong(fd);
  if (key == NULL)
    return NULL;
  PyObject *entry = PyDict_GetItemWithError(self->tables[writer], key);
  Py_DECREF(key);
  if (entry == NULL)
    return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
  return Py_NewRef(entry);
}

static PyMethodDef sockcore_methods[] = {
    {"watch", (PyCFunction)(void (*)(void))sockcore_watch, METH_FASTCALL,
     "watch(writer, fd, handle): handle becomes fd's reader (writer), replacing the one there."},
    {"unwatch", (PyCFunction)(void (*)(void))sockcore_unwatch, METH_FASTCALL,
     "unwatch(writer, fd): removes fd's reader (writer); whether there was one."},
    {"clear", (PyCFunction)sockcore_clear_all, METH_NOARGS, "Removes every reader and writer."},
    {"entry", (PyCFunction)(void (*)(void))sockcore_entry, METH_FASTCALL,
     "entry(writer, fd): what watches fd (a Handle or a sock_* operation), or None."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot sockcore_slots[] = {
    {Py_tp_doc, "A loop's readers and writers, one of each per descriptor, as asyncio keeps."},
    {Py_tp_new, sockcore_new},
    {Py_tp_dealloc, sockcore_dealloc},
    {Py_tp_traverse, sockcore_traverse},
    {Py_tp_clear, sockcore_clear},
    {Py_tp_methods, sockcore_methods},
    {0, NULL},
};

static PyType_Spec sockcore_spec = {
    .name = "weft._loopcore.SockCore",
    .basicsize = sizeof(SockCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = sockcore_slots,
};

/* ---- Set-up -------------------------------------------------------------------------- */

int weft_py_add_sock_core(PyObject *module, PyObject *loop_type) {
  static struct {
    PyObject **slot;
    const char *text;
  } names[] = {
      {&str_recv, "recv"},
      {&str_recv_into, "recv_into"},
      {&str_recvfrom, "recvfrom"},
      {&str_recvfrom_into, "recvfrom_into"},
      {&str_send, "send"},
      {&str_sendto, "sendto"},
      {&str_connect, "connect"},
      {&str_accept, "accept"},
      {&str_setblocking, "setblocking"},
      {&str_fileno, "fileno"},
      {&str_gettimeout, "gettimeout"},
      {&str_getsockopt, "getsockopt"},
      {&str_create_future, "create_future"},
      {&str_add_done_callback, "add_done_callback"},
      {&str_remove_done_callback, "remove_done_callback"},
      {&str_set_result, "set_result"},
      {&str_set_exception, "set_exception"},
      {&str_cancel, "cancel"},
      {&str_done, "done"},
      {&str_sockcore, "_sockcore"},
      {&str_loop, "_loop"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL)
      return -1;
  if ((zero = PyLong_FromLong(0)) == NULL)
    return -1;
  if (!PyType_Check(loop_type)) {
    PyErr_SetString(PyExc_TypeError, "LoopCore is not a type");
    return -1;
  }
  loopcore_type = (PyTypeObject *)Py_NewRef(loop_type);
  PyObject *socket_module = PyImport_ImportModule("socket");
  if (socket_module == NULL)
    return -1;
  socket_type = PyObject_GetAttrString(socket_module, "socket");
  Py_DECREF(socket_module);
  if (socket_type == NULL)
    return -1;
  PyObject *ssl_module = PyImport_ImportModule("ssl");
  if (ssl_module == NULL)
    PyErr_Clear(); /* a Python without ssl has no SSLSocket to refuse */
  else if ((sslsocket_type = PyObject_GetAttrString(ssl_module, "SSLSocket")) == NULL)
    PyErr_Clear();
  Py_XDECREF(ssl_module);
  /* WEFT_PY_SOCKET_LAYOUT=unknown: as on a Python whose struct differs, every socket through
   * its methods (the tests run the operations that way too). */
  const char *layout = getenv("WEFT_PY_SOCKET_LAYOUT");
  if (layout == NULL || strcmp(layout, "unknown") != 0)
    check_layout();

  sockcore_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &sockcore_spec, NULL);
  sockop_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &op_spec, NULL);
  if (sockcore_type == NULL || sockop_type == NULL)
    return -1;
  if (PyModule_AddObjectRef(module, "SockCore", (PyObject *)sockcore_type) < 0 ||
      PyModule_AddIntConstant(module, "SOCKET_LAYOUT_OK", layout_ok) < 0 ||
      PyModule_AddObjectRef(module, "SockOp", (PyObject *)sockop_type) < 0)
    return -1;
  /* The loop's sock_* methods, as method descriptors of LoopCore: weft.EventLoop's class
   * takes them as its own, so `loop.sock_recv(...)` runs no Python frame. */
  PyObject *methods = PyDict_New();
  if (methods == NULL)
    return -1;
  for (PyMethodDef *def = loop_methods; def->ml_name != NULL; def++) {
    PyObject *descr = PyDescr_NewMethod(loopcore_type, def);
    if (descr == NULL || PyDict_SetItemString(methods, def->ml_name, descr) < 0) {
      Py_XDECREF(descr);
      Py_DECREF(methods);
      return -1;
    }
    Py_DECREF(descr);
  }
  int rc = PyModule_AddObjectRef(module, "sock_methods", methods);
  Py_DECREF(methods);
  return rc;
}
