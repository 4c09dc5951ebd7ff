/* Errors: the core's error table, generated from WEFT_ERRNO_MAP at build time (no second
 * copy), and the JS Error objects made from a code. */
#include <stdio.h>

#include "weft_node.h"

static const struct {
  int code;
  const char *name;
  const char *text;
} codes[] = {
#define WN_CODE_ROW(name, code, text) {code, #name, text},
    WEFT_ERRNO_MAP(WN_CODE_ROW)
#undef WN_CODE_ROW
};

static const char *code_name(int code) {
  for (size_t i = 0; i < WN_COUNT(codes); i++)
    if (codes[i].code == code)
      return codes[i].name;
  return "EUNKNOWN";
}

napi_value wn_error(napi_env env, wn_state_t *st, int code, const char *message) {
  napi_value argv[3], fn, out = NULL;
  if (message == NULL)
    message = weft_strerror(code);
  napi_create_int32(env, code, &argv[0]);
  napi_create_string_utf8(env, code_name(code), NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[2]);
  if (st != NULL && st->make_error != NULL &&
      napi_get_reference_value(env, st->make_error, &fn) == napi_ok && fn != NULL) {
    napi_value global;
    napi_get_global(env, &global);
    if (napi_call_function(env, global, fn, 3, argv, &out) == napi_ok)
      return out;
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  /* Before index.js installed its factory, or when it failed: a plain Error with the code. */
  napi_create_error(env, argv[1], argv[2], &out);
  napi_set_named_property(env, out, "errno", argv[0]);
  return out;
}

napi_value wn_throw(napi_env env, int code, const char *message) {
  wn_state_t *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  if (code == WEFT_EINVAL && message != NULL) {
    napi_throw_type_error(env, "EINVAL", message);
    return NULL;
  }
  napi_value error = wn_error(env, st, code, message);
  if (error != NULL)
    napi_throw(env, error);
  return NULL;
}

/* codes: [[name, errno, description], ...], one row of the core's table each. */
napi_status wn_error_init(napi_env env, napi_value exports) {
  napi_value table;
  napi_status s = napi_create_array_with_length(env, WN_COUNT(codes), &table);
  for (size_t i = 0; s == napi_ok && i < WN_COUNT(codes); i++) {
    napi_value row, name, code, text;
    if ((s = napi_create_array_with_length(env, 3, &row)) != napi_ok ||
        (s = napi_create_string_utf8(env, codes[i].name, NAPI_AUTO_LENGTH, &name)) != napi_ok ||
        (s = napi_create_int32(env, codes[i].code, &code)) != napi_ok ||
        (s = napi_create_string_utf8(env, codes[i].text, NAPI_AUTO_LENGTH, &text)) != napi_ok ||
        (s = napi_set_element(env, row, 0, name)) != napi_ok ||
        (s = napi_set_element(env, row, 1, code)) != napi_ok ||
        (s = napi_set_element(env, row, 2, text)) != napi_ok)
      break;
    s = napi_set_element(env, table, (uint32_t)i, row);
  }
  if (s == napi_ok)
    s = napi_set_named_property(env, exports, "codes", table);
  return s;
}
