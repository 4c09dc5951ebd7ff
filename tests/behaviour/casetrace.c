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

int casetrace_start_server(weft_loop_t *loop, weft_stream_client_fn client, void *arg,
                           const weft_stream_options_t *options, weft_server_t **out) {
  weft_stream_options_t so;
  if (options != NULL)
    so = *options;
  else
    weft_stream_options_init(&so);
  so.client_in_task = 1;
  weft_future_t *f;
  int rc = weft_start_server(loop, client, arg, NULL, "127.0.0.1", 0, &so, &f);
  if (rc < 0)
    return rc;
  rc = weft_await(f);
  const weft_value_t *v;
  if (rc == 0 && (rc = weft_future_result(f, &v)) == 0)
    *out = weft_server_retain(weft_value_object(v, WEFT_VALUE_SERVER));
  weft_future_release(f);
  return rc;
}

int casetrace_close_server(weft_server_t *server) {
  weft_future_t *f;
  weft_server_close(server);
  int rc = weft_server_wait_closed(server, &f);
  if (rc == 0) {
    rc = weft_await(f);
    weft_future_release(f);
  }
  weft_server_release(server);
  return rc;
}

int casetrace_close_writer(weft_stream_reader_t *reader, weft_stream_writer_t *writer) {
  int rc = 0;
  if (writer != NULL) {
    weft_stream_close(writer);
    rc = weft_stream_wait_closed_await(writer);
    weft_stream_writer_release(writer);
  }
  weft_stream_reader_release(reader);
  return rc;
}
