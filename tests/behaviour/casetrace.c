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

const char *casetrace_bool(int value) {
  return value ? "true" : "false";
}

char *casetrace_msg(char *out, size_t size, const char *message) {
  if (message == NULL) {
    snprintf(out, size, "none");
    return out;
  }
  return casetrace_q(out, size, message, strlen(message));
}

void casetrace_say(void *text) {
  casetrace_emit("%s", (const char *)text);
}

weft_loop_t *casetrace_loop(weft_task_t *task) {
  return weft_future_loop(weft_task_future(task));
}

int casetrace_steps(weft_loop_t *loop, int steps) {
  for (int i = 0; i < steps; i++) {
    int rc = weft_sleep_await(loop, 0);
    if (rc != 0)
      return rc;
  }
  return 0;
}

char *casetrace_group(char *out, size_t size, const weft_taskgroup_t *group) {
  weft_future_t *errors[16];
  size_t n = weft_taskgroup_errors(group, errors, 16);
  size_t used = (size_t)snprintf(out, size, "EGROUP[");
  for (size_t i = 0; i < n && i < 16 && used < size; i++)
    used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "",
                             casetrace_err(weft_future_error(errors[i])));
  if (used < size)
    snprintf(out + used, size - used, "]");
  return out;
}
