/* The counters behind fault_alloc.h. Driven by the environment, so any test program runs
 * unchanged:
 *   WEFT_FAULT_FAIL_AT=N      the Nth allocation (from 1, counting the core's and libuv's)
 *                             fails once, as an allocator out of memory would; 0: none.
 *   WEFT_FAULT_COUNT_FILE=P   at exit, the number of allocations made is written to P, so
 *                             a runner knows which N a test reaches.
 *   WEFT_FAULT_TRACE=1        print the call stack of the allocation made to fail.
 *   WEFT_FAULT_LIBUV=1        count and fail libuv's allocations too. Off by default: libuv
 *                             1.44 aborts on some of its own allocation failures (in
 *                             uv_loop_init's signal set-up, for one), which no caller can
 *                             handle, so a sweep that includes them reports libuv's aborts. */
#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* This file is compiled with fault_alloc.h forced in like the rest of the core: the real
 * allocator is the one it calls. */
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup

static atomic_long g_count;
static long g_fail_at;
static int g_trace;

/* Counts one allocation; 1 when it is the one to fail. */
static int fault_now(void) {
  long n = atomic_fetch_add(&g_count, 1) + 1;
  if (g_fail_at <= 0 || n != g_fail_at)
    return 0;
  if (g_trace) {
    void *frames[32];
    fprintf(stderr, "weft fault: allocation %ld fails here:\n", n);
    backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
  }
  return 1;
}

void *weft__fault_malloc(size_t size) {
  return fault_now() ? NULL : malloc(size);
}

void *weft__fault_calloc(size_t count, size_t size) {
  return fault_now() ? NULL : calloc(count, size);
}

void *weft__fault_realloc(void *ptr, size_t size) {
  return fault_now() ? NULL : realloc(ptr, size);
}

char *weft__fault_strdup(const char *s) {
  return fault_now() ? NULL : strdup(s);
}

char *weft__fault_strndup(const char *s, size_t n) {
  return fault_now() ? NULL : strndup(s, n);
}

static const char *g_count_file;

static void write_count(void) {
  FILE *f = fopen(g_count_file, "w");
  if (f != NULL) {
    fprintf(f, "%ld\n", atomic_load(&g_count));
    fclose(f);
  }
}

__attribute__((constructor)) static void fault_init(void) {
  const char *at = getenv("WEFT_FAULT_FAIL_AT");
  g_fail_at = at != NULL ? atol(at) : 0;
  g_count_file = getenv("WEFT_FAULT_COUNT_FILE");
  g_trace = getenv("WEFT_FAULT_TRACE") != NULL;
  if (g_count_file != NULL)
    atexit(write_count);
  /* Before any libuv call, so that libuv's allocations count and fail like the core's. */
  const char *with_libuv = getenv("WEFT_FAULT_LIBUV");
  if (with_libuv != NULL && atoi(with_libuv) == 1)
    uv_replace_allocator(weft__fault_malloc, weft__fault_realloc, weft__fault_calloc, free);
}
