/* The C half of the behaviour cases' trace format (README.md in this directory): one event
 * per line on stdout, tokens separated by single spaces, errors by their name in the core's
 * error table without the WEFT_ prefix, strings and bytes double-quoted with C escapes. */
#ifndef WEFT_CASETRACE_H
#define WEFT_CASETRACE_H

#include <stddef.h>

/* Prints one event: printf-formatted, followed by a newline. */
void casetrace_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The trace name of an error code: "ECANCELLED", "ECONNREFUSED", "EUNKNOWN" ... */
const char *casetrace_err(int code);
/* Writes `data` as one quoted token into `out` (truncated to `size`); returns `out`. A
 * buffer of 4 * len + 3 bytes always suffices. */
char *casetrace_q(char *out, size_t size, const void *data, size_t len);

#endif
