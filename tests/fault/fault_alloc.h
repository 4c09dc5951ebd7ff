/* Allocation-failure injection. In a build with WEFT_FAULT_INJECTION, every core source is
 * compiled with this header forced in first (-include), so the core's malloc, calloc,
 * realloc and strdup calls go through counters that can make one chosen allocation fail
 * (libuv's too on request: fault_alloc.c). The
 * system headers are included first, so the macros below never rename their declarations. */
#ifndef WEFT_FAULT_ALLOC_H
#define WEFT_FAULT_ALLOC_H

#include <stdlib.h>
#include <string.h>

void *weft__fault_malloc(size_t size);
void *weft__fault_calloc(size_t count, size_t size);
void *weft__fault_realloc(void *ptr, size_t size);
char *weft__fault_strdup(const char *s);
char *weft__fault_strndup(const char *s, size_t n);

#define malloc(size) weft__fault_malloc(size)
#define calloc(count, size) weft__fault_calloc(count, size)
#define realloc(ptr, size) weft__fault_realloc(ptr, size)
#define strdup(s) weft__fault_strdup(s)
#define strndup(s, n) weft__fault_strndup(s, n)

#endif
