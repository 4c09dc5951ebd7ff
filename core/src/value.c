/* Tagged values. */
#include "internal.h"

weft_value_t weft_value_none(void) {
  weft_value_t v = {0};
  return v;
}

weft_value_t weft_value_int(int64_t i) {
  weft_value_t v = {0};
  v.type = WEFT_VALUE_INT;
  v.i = i;
  return v;
}

weft_value_t weft_value_double(double d) {
  weft_value_t v = {0};
  v.type = WEFT_VALUE_DOUBLE;
  v.d = d;
  return v;
}

weft_value_t weft_value_pointer(void *ptr, weft_free_fn free_fn) {
  weft_value_t v = {0};
  v.type = WEFT_VALUE_POINTER;
  v.ptr = ptr;
  v.free_fn = free_fn;
  return v;
}

weft_value_t weft__value_object(int32_t type, void *object, weft_free_fn release) {
  weft_value_t v = {0};
  v.type = type;
  v.ptr = object;
  v.free_fn = release;
  return v;
}

void *weft_value_object(const weft_value_t *value, int32_t type) {
  if (value == NULL || type <= WEFT_VALUE_POINTER || value->type != type)
    return NULL;
  return value->ptr;
}

int weft_value_bytes(weft_value_t *out, const void *data, size_t len) {
  if (out == NULL || (data == NULL && len > 0))
    return WEFT_EINVAL;
  *out = weft_value_none();
  /* One spare byte so an empty value still owns a buffer and text can be NUL-terminated. */
  char *copy = malloc(len + 1);
  if (copy == NULL)
    return WEFT_ENOMEM;
  if (len > 0)
    memcpy(copy, data, len);
  copy[len] = '\0';
  out->type = WEFT_VALUE_BYTES;
  out->ptr = copy;
  out->len = len;
  return 0;
}

void weft_value_clear(weft_value_t *value) {
  if (value == NULL)
    return;
  if (value->type == WEFT_VALUE_BYTES)
    free(value->ptr);
  else if (value->type >= WEFT_VALUE_POINTER && value->free_fn != NULL)
    weft__call_free(value->free_fn, value->ptr); /* deferred inside a stackful task */
  *value = weft_value_none();
}
