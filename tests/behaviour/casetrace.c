#include "casetrace.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <weft.h>

void casetrace_emit(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  /* A case that crashes still shows the events up to the crash. */
  fflush(stdout);
}

const char *casetrace_err(int code) {
  const char *name = weft_err_name(code);
  return strncmp(name, "WEFT_", 5) == 0 ? name + 5 : name;
}

char *casetrace_q(char *out, size_t size, const void *data, size_t len) {
  const unsigned char *p = data;
  size_t n = 0;
  char piece[8];
  if (size == 0)
    return out;
  out[0] = '\0';
  for (size_t i = 0; i <= len + 1; i++) {
    if (i == 0 || i == len + 1)
      strcpy(piece, "\"");
    else {
      unsigned char b = p[i - 1];
      switch (b) {
      case '\\':
        strcpy(piece, "\\\\");
        break;
      case '"':
        strcpy(piece, "\\\"");
        break;
      case '\n':
        strcpy(piece, "\\n");
        break;
      case '\r':
        strcpy(piece, "\\r");
        break;
      case '\t':
        strcpy(piece, "\\t");
        break;
      default:
        if (b >= 0x20 && b < 0x7f) {
          piece[0] = (char)b;
          piece[1] = '\0';
        } else
          snprintf(piece, sizeof piece, "\\x%02x", b);
      }
    }
    size_t k = strlen(piece);
    if (n + k + 1 > size)
      break;
    memcpy(out + n, piece, k + 1);
    n += k;
  }
  return out;
}
