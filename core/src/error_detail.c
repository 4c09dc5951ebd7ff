/* The core's own details of an error (partial reads, bytes sent), stored with the future
 * so that nothing has to recognise them inside a binding's opaque payload. */
#include <stdlib.h>

#include "internal.h"

int weft__future_fail_detail(weft_future_t *f, int code, const char *message,
                             weft__error_detail_t *detail) {
  if (f == NULL || f->is_task || code >= 0 || f->state != WEFT__PENDING || f->detail != NULL ||
      code == WEFT_ECANCELLED) {
    free(detail);
    return weft_future_set_error(f, code, message, NULL, NULL);
  }
  f->detail = detail;
  int rc = weft__future_finish(f, WEFT__FINISHED, weft_value_none(), code, message, NULL, NULL);
  if (f->state == WEFT__PENDING) { /* the message could not be copied */
    f->detail = NULL;
    free(detail);
  }
  return rc;
}

const weft__error_detail_t *weft__future_error_detail(const weft_future_t *f, int kind) {
  while (f != NULL && f->detail == NULL && f->source != NULL)
    f = f->source;
  if (f == NULL || f->detail == NULL || f->detail->kind != kind)
    return NULL;
  return f->detail;
}
