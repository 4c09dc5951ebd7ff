/* Error codes: names, texts, libuv translation, version. */
#include "weft_test.h"

#include <errno.h>
#include <netdb.h>
#include <uv.h>

WEFT_TEST(names_and_texts) {
  ASSERT_STREQ(weft_err_name(WEFT_ECANCELLED), "WEFT_ECANCELLED");
  ASSERT_STREQ(weft_err_name(WEFT_ECONNRESET), "WEFT_ECONNRESET");
  ASSERT_STREQ(weft_err_name(0), "WEFT_OK");
  ASSERT_STREQ(weft_strerror(WEFT_ETIMEDOUT), "timed out");
  /* An unknown code still gets text, never NULL. */
  ASSERT_STREQ(weft_err_name(-123456), "WEFT_EUNKNOWN");
  ASSERT_TRUE(weft_strerror(-123456) != NULL);
}

WEFT_TEST(from_uv) {
  ASSERT_CODE(weft_error_from_uv(UV_ECONNREFUSED), WEFT_ECONNREFUSED);
  ASSERT_CODE(weft_error_from_uv(UV_EAI_NONAME), WEFT_EAI_NONAME);
  ASSERT_CODE(weft_error_from_uv(UV_EOF), WEFT_EUNKNOWN);
  ASSERT_CODE(weft_error_from_uv(0), 0);
  ASSERT_CODE(weft_error_from_uv(UV_EMFILE), WEFT_EMFILE);
}

WEFT_TEST(version) {
  ASSERT_EQ(weft_version(), WEFT_VERSION_HEX);
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
           WEFT_VERSION_PATCH);
  ASSERT_STREQ(weft_version_string(), expected);
}

WEFT_TEST(values) {
  weft_value_t v;
  ASSERT_OK(weft_value_bytes(&v, "abc", 3));
  ASSERT_EQ(v.type, WEFT_VALUE_BYTES);
  ASSERT_EQ(v.len, 3);
  ASSERT_TRUE(memcmp(v.ptr, "abc", 3) == 0);
  weft_value_clear(&v);
  ASSERT_EQ(v.type, WEFT_VALUE_NONE);
  ASSERT_CODE(weft_value_bytes(NULL, "x", 1), WEFT_EINVAL);
  ASSERT_CODE(weft_value_bytes(&v, NULL, 1), WEFT_EINVAL);
  v = weft_value_pointer(malloc(10), free);
  weft_value_clear(&v); /* valgrind shows the free */
  ASSERT_EQ(weft_value_int(-5).i, -5);
  ASSERT_NEAR(weft_value_double(2.5).d, 2.5, 0);
}

WEFT_TEST(system_numbers) {
  /* The platform's own numbers, whatever the core's are. */
  ASSERT_EQ(weft_err_system(WEFT_ECONNRESET), ECONNRESET);
  ASSERT_EQ(weft_err_system(WEFT_EADDRINUSE), EADDRINUSE);
  ASSERT_EQ(weft_err_system(WEFT_ECHILD), ECHILD);
  ASSERT_EQ(weft_err_system(WEFT_EOPCANCELED), ECANCELED);
  ASSERT_EQ(weft_err_system(WEFT_EAI_NONAME), EAI_NONAME);
  ASSERT_EQ(weft_err_system(WEFT_EAI_AGAIN), EAI_AGAIN);
  /* Every operating-system and name-resolution code of the table has one. */
#define CHECK_SYSTEM(name, code, text)                                                             \
  if ((code) > -3000 && (code) != WEFT_EAI_BADHINTS && (code) != WEFT_EAI_PROTOCOL)                \
    ASSERT_TRUE(weft_err_system(code) != 0);
  WEFT_ERRNO_MAP(CHECK_SYSTEM)
#undef CHECK_SYSTEM
  /* weft's own codes, success and unknown ones have none. */
  ASSERT_EQ(weft_err_system(WEFT_ECANCELLED), 0);
  ASSERT_EQ(weft_err_system(WEFT_EUNKNOWN), 0);
  ASSERT_EQ(weft_err_system(0), 0);
  ASSERT_EQ(weft_err_system(5), 0);
  ASSERT_EQ(weft_err_system(-1999), 0);
  ASSERT_EQ(weft_err_system(-2999), 0);
}
