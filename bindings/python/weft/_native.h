/* Declarations shared by the binding's C files (_loopcore.c, _transportcore.c,
 * _sockcore.c, _sslhelper.c), which are
 * compiled into the cffi extension weft._weft beside the code cffi generates. */
#ifndef WEFT_PY_NATIVE_H
#define WEFT_PY_NATIVE_H

#include <Python.h>

#include <weft.h>

/* Adds TransportCore to the weft._loopcore module. */
int weft_py_add_transport_core(PyObject *module);

/* Adds SockCore, SockOp and the loop's sock_* methods (descriptors of loop_type, LoopCore)
 * to the weft._loopcore module. */
int weft_py_add_sock_core(PyObject *module, PyObject *loop_type);

/* _loopcore.c, for _sockcore.c: the core loop of a LoopCore (NULL once detached), its
 * SockCore (its _sockcore member, borrowed; NULL before it is set), and running a handle as
 * the loop runs its callbacks (-1: SystemExit/KeyboardInterrupt set). */
weft_loop_t *weft_py_loop_core(PyObject *loop);
PyObject *weft_py_loop_sockcore(PyObject *loop);
int weft_py_run_handle(PyObject *handle);

/* _loopcore.c: whether the error set is SystemExit or KeyboardInterrupt; and, with one set,
 * loop._interrupted(exc, rest): the loop stops and run_forever raises it (rest: the batch
 * ids not yet run, NULL for none). A failure is written as unraisable. */
int weft_py_interrupt_pending(void);
void weft_py_interrupt(PyObject *loop, PyObject *rest);

/* cffi's declarations: _build.py gives cffi everything from here to the end. */

/* Registers weft._loopcore in sys.modules; called once from Python through cffi. */
int _weft_loopcore_install(void);

/* The core's protocol callbacks for a TransportCore transport (its address is their arg). */
void _weft_tp_made(weft_transport_t *transport, void *arg);
void *_weft_tp_read_into(weft_transport_t *transport, size_t size, void *arg);
void _weft_tp_data(weft_transport_t *transport, const char *data, size_t len, void *arg);
void *_weft_tp_get_buffer(weft_transport_t *transport, size_t size_hint, size_t *len_out,
                          void *arg);
void _weft_tp_buffer_updated(weft_transport_t *transport, size_t nbytes, void *arg);
int _weft_tp_eof(weft_transport_t *transport, void *arg);
void _weft_tp_lost(weft_transport_t *transport, int error, void *arg);
void _weft_tp_datagram(weft_transport_t *transport, const char *data, size_t len,
                       const struct sockaddr *addr, void *arg);
void _weft_tp_error_received(weft_transport_t *transport, int error, void *arg);
void _weft_tp_pause_writing(weft_transport_t *transport, void *arg);
void _weft_tp_resume_writing(weft_transport_t *transport, void *arg);

/* _sslhelper.c: the SSL * of an ssl.SSLObject's _sslobj made from an ssl.SSLContext
 * (checked against OpenSSL; 0 or what failed), and an SSL's verification result. */
int pyweft_ssl_of(void *sslsocket, void *sslcontext, int server_side, void **out);
long pyweft_ssl_verify_result(void *ssl, const char **message);

#endif
