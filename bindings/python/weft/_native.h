/* Declarations shared by the binding's C files (_loopcore.c, _streamcore.c), which are
 * compiled into the cffi extension weft._weft beside the code cffi generates. */
#ifndef WEFT_PY_NATIVE_H
#define WEFT_PY_NATIVE_H

#include <Python.h>

#include <weft.h>

/* Adds StreamCore to the weft._loopcore module. */
int weft_py_add_stream_core(PyObject *module);

/* cffi's declarations: _build.py gives cffi everything from here to the end. */

/* Registers weft._loopcore in sys.modules; called once from Python through cffi. */
int _weft_loopcore_install(void);

/* The core's protocol callbacks for a StreamCore transport (its address is their arg). */
void _weft_stream_made(weft_transport_t *transport, void *arg);
void _weft_stream_data(weft_transport_t *transport, const char *data, size_t len, void *arg);
void *_weft_stream_get_buffer(weft_transport_t *transport, size_t size_hint, size_t *len_out,
                              void *arg);
void _weft_stream_buffer_updated(weft_transport_t *transport, size_t nbytes, void *arg);
int _weft_stream_eof(weft_transport_t *transport, void *arg);
void _weft_stream_lost(weft_transport_t *transport, int error, void *arg);
void _weft_stream_pause_writing(weft_transport_t *transport, void *arg);
void _weft_stream_resume_writing(weft_transport_t *transport, void *arg);

#endif
