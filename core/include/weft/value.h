/* Tagged values: what a future resolves to and what a queue carries.
 *
 * weft_value_t is one of the two kinds of public struct (the other being option structs):
 * a small value type passed by value, like libuv's uv_buf_t. A value owns its payload:
 * WEFT_VALUE_BYTES owns a malloc'd buffer, WEFT_VALUE_POINTER owns `ptr` when `free_fn` is
 * set, and an object value (a transport, a server... that a future of the core resolves
 * to) owns one reference to the object. Passing a value into the core moves it; the core
 * frees the payload when done with it. Values the core hands out are borrowed: valid while
 * their owner (the future, say) lives. */
#ifndef WEFT_VALUE_H
#define WEFT_VALUE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum weft_value_type {
  WEFT_VALUE_NONE = 0,
  WEFT_VALUE_INT = 1,
  WEFT_VALUE_DOUBLE = 2,
  WEFT_VALUE_BYTES = 3,
  WEFT_VALUE_POINTER = 4, /* a pointer of the caller's own (weft_value_pointer) */
  /* Objects of the core that futures resolve to; `ptr` is the object. Read them with
   * weft_value_object, which checks the type, rather than trusting `ptr`. */
  WEFT_VALUE_TRANSPORT = 5,     /* weft_transport_t * (connections, endpoints, pipes) */
  WEFT_VALUE_SERVER = 6,        /* weft_server_t * */
  WEFT_VALUE_STREAM_WRITER = 7, /* weft_stream_writer_t * (open_connection) */
  WEFT_VALUE_ADDRINFO = 8,      /* weft_addrinfo_t * (getaddrinfo) */
  WEFT_VALUE_NAMEINFO = 9,      /* weft_nameinfo_t * (getnameinfo) */
  WEFT_VALUE_FUTURE = 10,       /* weft_future_t * (as_completed's next input) */
} weft_value_type_t;

typedef struct weft_value_s {
  int32_t type;         /* a weft_value_type_t */
  int64_t i;            /* WEFT_VALUE_INT */
  double d;             /* WEFT_VALUE_DOUBLE */
  void *ptr;            /* WEFT_VALUE_BYTES (the data) and WEFT_VALUE_POINTER */
  size_t len;           /* WEFT_VALUE_BYTES */
  weft_free_fn free_fn; /* WEFT_VALUE_POINTER: called on ptr when the value is dropped */
} weft_value_t;

WEFT_API weft_value_t weft_value_none(void);
WEFT_API weft_value_t weft_value_int(int64_t i);
WEFT_API weft_value_t weft_value_double(double d);
/* A pointer value; free_fn (may be NULL) is called on ptr when the value is dropped. */
WEFT_API weft_value_t weft_value_pointer(void *ptr, weft_free_fn free_fn);
/* A bytes value holding a copy of data[0..len). Returns 0 or WEFT_ENOMEM. */
WEFT_API int weft_value_bytes(weft_value_t *out, const void *data, size_t len);
/* The object `value` holds if it is of `type` (a WEFT_VALUE_TRANSPORT... type), else NULL
 * (a NULL value too). Borrowed from the value. */
WEFT_API void *weft_value_object(const weft_value_t *value, int32_t type);
/* Frees what the value owns and sets it to none. */
WEFT_API void weft_value_clear(weft_value_t *value);

#ifdef __cplusplus
}
#endif
#endif
