/* A small test harness: each WEFT_TEST is registered with ctest on its own and runs in its
 * own process (`test_binary name`), so one crash or hang fails one test. Assertions print
 * what differed and exit. */
#ifndef WEFT_TEST_H
#define WEFT_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

typedef void (*weft_test_fn)(void);
void weft_test_register(const char *name, weft_test_fn fn);

#define WEFT_TEST(name)                                                                            \
  static void test_##name(void);                                                                   \
  __attribute__((constructor)) static void register_##name(void) {                                 \
    weft_test_register(#name, test_##name);                                                        \
  }                                                                                                \
  static void test_##name(void)

#define WEFT_FAIL_AT(...)                                                                          \
  do {                                                                                             \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                                \
    fprintf(stderr, __VA_ARGS__);                                                                  \
    fputc('\n', stderr);                                                                           \
    exit(1);                                                                                       \
  } while (0)

#define ASSERT_TRUE(cond)                                                                          \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      WEFT_FAIL_AT("assertion failed: %s", #cond);                                                 \
  } while (0)

#define ASSERT_EQ(a, b)                                                                            \
  do {                                                                                             \
    long long weft_a_ = (long long)(a), weft_b_ = (long long)(b);                                  \
    if (weft_a_ != weft_b_)                                                                        \
      WEFT_FAIL_AT("%s == %s: %lld != %lld", #a, #b, weft_a_, weft_b_);                            \
  } while (0)

#define ASSERT_NE(a, b)                                                                            \
  do {                                                                                             \
    long long weft_a_ = (long long)(a), weft_b_ = (long long)(b);                                  \
    if (weft_a_ == weft_b_)                                                                        \
      WEFT_FAIL_AT("%s != %s: both %lld", #a, #b, weft_a_);                                        \
  } while (0)

#define ASSERT_PTR_EQ(a, b)                                                                        \
  do {                                                                                             \
    const void *weft_a_ = (a), *weft_b_ = (b);                                                     \
    if (weft_a_ != weft_b_)                                                                        \
      WEFT_FAIL_AT("%s == %s: %p != %p", #a, #b, weft_a_, weft_b_);                                \
  } while (0)

/* An error code compared by name, so a failure reads "WEFT_ECANCELLED != WEFT_OK". */
#define ASSERT_CODE(code, expected)                                                                \
  do {                                                                                             \
    int weft_c_ = (code), weft_e_ = (expected);                                                    \
    if (weft_c_ != weft_e_)                                                                        \
      WEFT_FAIL_AT("%s: got %s, expected %s", #code, weft_err_name(weft_c_),                       \
                   weft_err_name(weft_e_));                                                        \
  } while (0)

#define ASSERT_OK(code) ASSERT_CODE(code, 0)

#define ASSERT_STREQ(a, b)                                                                         \
  do {                                                                                             \
    const char *weft_a_ = (a), *weft_b_ = (b);                                                     \
    if (weft_a_ == NULL || weft_b_ == NULL || strcmp(weft_a_, weft_b_) != 0)                       \
      WEFT_FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, weft_a_ ? weft_a_ : "(null)",             \
                   weft_b_ ? weft_b_ : "(null)");                                                  \
  } while (0)

#define ASSERT_NEAR(a, b, tolerance)                                                               \
  do {                                                                                             \
    double weft_a_ = (a), weft_b_ = (b);                                                           \
    if (!(fabs(weft_a_ - weft_b_) <= (tolerance)))                                                 \
      WEFT_FAIL_AT("%s ~ %s: %g vs %g (tolerance %g)", #a, #b, weft_a_, weft_b_,                   \
                   (double)(tolerance));                                                           \
  } while (0)

/* Closes and frees a loop after checking that nothing was left scheduled or pending. */
void weft_test_close_loop(weft_loop_t *loop);
/* Runs fn(arg) as a stackful task named `name` (NULL: the default) on a fresh loop until
 * it is done, closes the loop as weft_test_close_loop does, and returns the outcome. */
int weft_test_run_task(weft_task_fn fn, void *arg, const char *name);
/* The loop a task runs on. */
weft_loop_t *weft_test_loop_of(weft_task_t *task);

#endif
