/* The NULL sweep: every exported function called with NULL pointers, each in its own child
 * process. tests/null_sweep_gen.py writes the calls (sweep_cases); tests/null_sweep.c runs
 * them. */
#ifndef WEFT_NULL_SWEEP_H
#define WEFT_NULL_SWEEP_H

#include <stddef.h>

#include "weft.h"

typedef struct sweep_case_s {
  const char *name; /* the exported function */
  const char *call; /* the call, as written */
  int (*run)(void); /* makes the call; 0 if the result is the expected one */
} sweep_case_t;

extern const sweep_case_t sweep_cases[];
extern const size_t sweep_case_count;

/* Zeroed memory, aligned for any type and large enough for any result a call stores. */
void *sweep_scratch(void);

/* Each prints what it got to stderr and returns 1 when the result is not the one expected. */
int sweep_expect_int(long long got, int expected);
int sweep_expect_null(const void *got);
int sweep_expect_zero(long long got);
int sweep_expect_zero_double(double got);

#endif
