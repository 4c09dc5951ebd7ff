/* Subprocesses: the core's stream form (weft_create_subprocess_exec/shell). The pipes are
 * the core's streams: stdout and stderr readers with asyncio's read rules, a stdin writer,
 * each handed out as the same connection object the network streams use (stream.c), so
 * lib/process.js gives them the same StreamReader and StreamWriter. The core's process
 * handle is active while the child runs, so Node stays alive until it exits. */
#include <stdlib.h>
#include <string.h>

#include "weft_node.h"

static const napi_type_tag process_tag = {0x77656674100c0013ULL, 0x50726f6365730013ULL};

static void process_free(void *object) {
  weft_process_release(object);
}

static weft_process_t *process_arg(napi_env env, napi_value value) {
  return wn_unwrap(env, value, &process_tag, "Process handle");
}

/* A JS string as a malloc'd C string, or NULL with a TypeError thrown. */
static char *string_arg(napi_env env, napi_value v, const char *what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    wn_throw(env, WEFT_ENOMEM, NULL);
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* An array of strings as a NULL-terminated vector; *out NULL for undefined. */
static int strings_arg(napi_env env, napi_value v, const char *what, char ***out) {
  *out = NULL;
  if (wn_is_undefined(env, v))
    return 0;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return -1;
  }
  napi_get_array_length(env, v, &n);
  char **vec = calloc(n + 1, sizeof *vec);
  if (vec == NULL) {
    wn_throw(env, WEFT_ENOMEM, NULL);
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    if (napi_get_element(env, v, i, &element) != napi_ok ||
        (vec[i] = string_arg(env, element, what)) == NULL) {
      for (uint32_t j = 0; j < i; j++)
        free(vec[j]);
      free(vec);
      return -1;
    }
  }
  *out = vec;
  return 0;
}

static void strings_free(char **vec) {
  for (size_t i = 0; vec != NULL && vec[i] != NULL; i++)
    free(vec[i]);
  free(vec);
}

/* processSpawn(argvOrCommand, isShell, [stdin, stdout, stderr] modes, cwd, env, limit) */
static napi_value spawn(napi_env env, napi_callback_info info) {
  napi_value argv[6], handle;
  bool shell = false;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 6, argv, NULL) != 0 ||
      napi_get_value_bool(env, argv[1], &shell) != napi_ok)
    return NULL;
  weft_process_options_t options;
  weft_process_options_init(&options);
  for (uint32_t i = 0; i < 3; i++) {
    napi_value mode;
    int64_t m;
    if (napi_get_element(env, argv[2], i, &mode) != napi_ok ||
        wn_get_int64(env, mode, "a stdio mode must be a number", &m) != 0)
      return NULL;
    options.stdio[i].mode = (int)m;
  }
  double limit = 0;
  if (!wn_is_undefined(env, argv[5]) &&
      wn_get_double(env, argv[5], "limit must be a number of bytes", &limit) != 0)
    return NULL;
  options.limit = limit > 0 ? (size_t)limit : 0;
  char *cwd = NULL, *command = NULL, **args = NULL, **envp = NULL;
  int rc = 0;
  if ((!wn_is_undefined(env, argv[3]) &&
       (cwd = string_arg(env, argv[3], "cwd must be a string")) == NULL) ||
      strings_arg(env, argv[4], "env must be an array of NAME=value strings", &envp) != 0)
    rc = -1;
  else if (shell)
    rc = (command = string_arg(env, argv[0], "the command must be a string")) == NULL ? -1 : 0;
  else if (strings_arg(env, argv[0], "the program and its arguments must be strings", &args) != 0 ||
           args == NULL || args[0] == NULL) {
    if (args != NULL || !wn_is_undefined(env, argv[0]))
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "exec() needs a program");
    rc = -1;
  }
  weft_process_t *p = NULL;
  if (rc == 0) {
    options.cwd = cwd;
    options.env = (const char *const *)envp;
    rc = shell ? weft_create_subprocess_shell(st->loop, command, &options, &p)
               : weft_create_subprocess_exec(st->loop, (const char *const *)args, &options, &p);
    if (rc != 0)
      wn_throw(env, rc, NULL);
  }
  free(cwd);
  free(command);
  strings_free(args);
  strings_free(envp);
  if (rc != 0)
    return NULL;
  if (napi_create_object(env, &handle) != napi_ok ||
      wn_wrap(env, handle, &process_tag, p, process_free) != napi_ok)
    return NULL;
  return handle;
}

/* processInfo(handle): [pid, returncode or null] */
static napi_value info_(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  weft_process_t *p;
  if (wn_args(env, info, 1, argv, NULL) != 0 || (p = process_arg(env, argv[0])) == NULL)
    return NULL;
  int code;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, weft_process_pid(p), &v);
  napi_set_element(env, out, 0, v);
  if (weft_process_returncode(p, &code) == 0)
    napi_create_int32(env, code, &v);
  else
    napi_get_null(env, &v);
  napi_set_element(env, out, 1, v);
  return out;
}

/* processWait(handle, options): a Promise of the return code. */
static napi_value wait_(napi_env env, napi_callback_info info) {
  napi_value argv[2], signal;
  weft_process_t *p;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0 ||
      (p = process_arg(env, argv[0])) == NULL || wn_get_signal(env, argv[1], &signal) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_process_wait(p, &f);
  return rc != 0 ? wn_throw(env, rc, NULL) : wn_promise(env, st, f, signal, NULL, NULL, NULL);
}

/* processSignal(handle, signum) */
static napi_value signal_(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t signum;
  weft_process_t *p;
  if (wn_args(env, info, 2, argv, NULL) != 0 || (p = process_arg(env, argv[0])) == NULL ||
      wn_get_int64(env, argv[1], "the signal must be a number", &signum) != 0)
    return NULL;
  int rc = weft_process_send_signal(p, (int)signum);
  return rc != 0 ? wn_throw(env, rc, rc == WEFT_ESRCH ? "the process has exited" : NULL) : NULL;
}

/* communicate()'s result: [stdout, stderr] as Buffers (null for a fd that is no pipe). */
static napi_status outputs(napi_env env, weft_future_t *future, void *arg, napi_value *out) {
  (void)future;
  weft_process_t *p = arg;
  napi_status s = napi_create_array_with_length(env, 2, out);
  for (int fd = 1; s == napi_ok && fd <= 2; fd++) {
    const char *data = NULL;
    size_t len = 0;
    napi_value v;
    if (weft_process_get_pipe_transport(p, fd) == NULL)
      s = napi_get_null(env, &v);
    else {
      weft_process_output(p, fd, &data, &len);
      s = napi_create_buffer_copy(env, len, len > 0 ? data : "", NULL, &v);
    }
    if (s == napi_ok)
      s = napi_set_element(env, *out, (uint32_t)(fd - 1), v);
  }
  return s;
}

/* processCommunicate(handle, input Buffer or undefined, options) */
static napi_value communicate(napi_env env, napi_callback_info info) {
  napi_value argv[3], signal;
  weft_process_t *p;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 3, argv, NULL) != 0 ||
      (p = process_arg(env, argv[0])) == NULL || wn_get_signal(env, argv[2], &signal) != 0)
    return NULL;
  void *data = NULL;
  size_t len = 0;
  if (!wn_is_undefined(env, argv[1]) &&
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "input must be a Buffer");
    return NULL;
  }
  weft_future_t *f;
  int rc = weft_process_communicate(p, data, len, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, signal, outputs, weft_process_retain(p), process_free);
}

/* processStreams(handle): [stdin, stdout, stderr], each a stream connection (stream.c)
 * for a pipe, null otherwise; lib/process.js gives them the network streams' reader and
 * writer classes. Each keeps the process, whose last reference closes the pipes. */
static napi_value streams(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  weft_process_t *p;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 1, argv, NULL) != 0 ||
      (p = process_arg(env, argv[0])) == NULL ||
      napi_create_array_with_length(env, 3, &out) != napi_ok)
    return NULL;
  for (int fd = 0; fd <= 2; fd++) {
    weft_stream_writer_t *w = fd == 0 ? weft_process_stdin(p) : NULL;
    weft_stream_reader_t *r = fd == 1   ? weft_process_stdout(p)
                              : fd == 2 ? weft_process_stderr(p)
                                        : NULL;
    if (w == NULL && r == NULL)
      napi_get_null(env, &v);
    else if ((v = wn_conn_new(env, st, w, r, weft_process_retain(p), process_free)) == NULL)
      return NULL;
    if (napi_set_element(env, out, (uint32_t)fd, v) != napi_ok)
      return NULL;
  }
  return out;
}

napi_status wn_process_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("processSpawn", spawn),
      WN_METHOD("processInfo", info_),
      WN_METHOD("processWait", wait_),
      WN_METHOD("processSignal", signal_),
      WN_METHOD("processCommunicate", communicate),
      WN_METHOD("processStreams", streams),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
