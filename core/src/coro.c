/* Stackful coroutines and their stack pool (see coro.h).
 *
 * Each stack is one mapping: a PROT_NONE guard page at the low end, the stack above it, and
 * the coroutine object itself at the very top, so making a coroutine from a cached stack
 * allocates nothing and the first stack page touched is the one holding the object. The
 * pool caches free stacks of the default size, linked through their coroutine objects. A
 * pool and its coroutines belong to one thread (the loop's): nothing here takes a lock.
 *
 * A suspended coroutine is only a saved stack pointer: weft__coro_switch (the .S files)
 * pushes the callee-saved registers on the running stack, swaps stack pointers and pops
 * them from the other. Where there is no such switch, or with -DWEFT_CORO_UCONTEXT,
 * swapcontext does the job (slower: it makes a sigprocmask system call every switch). */
#include "coro.h"

#include "weft/error.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(WEFT_CORO_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define WEFT_CORO_UCONTEXT 1
#endif
#ifdef WEFT_CORO_UCONTEXT
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_CORO_ASAN 1
#endif
#endif
#ifdef WEFT_CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define WEFT_CORO_VALGRIND 1
#endif
#endif

struct weft__coro_s {
#ifdef WEFT_CORO_UCONTEXT
  ucontext_t ctx;         /* the coroutine's registers while it is suspended */
  ucontext_t *caller_ctx; /* the resumer's (on its stack: they are big) while it runs */
#else
  void *sp;        /* the coroutine's stack pointer while it is suspended */
  void *caller_sp; /* the resumer's while the coroutine runs */
#endif
  weft__coro_entry_fn entry;
  void *arg;
  weft__stack_pool_t *pool;
  char *map;               /* the whole mapping: guard page, stack, this object */
  size_t map_size;         /* which also tells whether the stack may go back to the cache */
  weft__coro_t *next_free; /* the pool's cache list */
  unsigned char finished;
  unsigned char running;
#ifdef WEFT_CORO_ASAN
  /* ASan must hear of every switch: before it, which stack comes next and where to keep the
   * leaving context's fake frames; after it, those frames back and which stack was left.
   * The resumer's bounds are learnt anew on every resume, since nesting changes them. */
  void *fake_stack;        /* ASan's fake frames of the coroutine while it is suspended */
  void *caller_fake_stack; /* the resumer's while the coroutine runs */
  const void *caller_bottom;
  size_t caller_size;
#endif
#ifdef WEFT_CORO_VALGRIND
  unsigned valgrind_id;
#endif
};

struct weft__stack_pool_s {
  weft__coro_t *cached; /* free default-size stacks, most recently freed first (warmest) */
  size_t ncached;
  size_t max_cached;
  size_t page;
  size_t default_map_size;
};

/* The top of each mapping holds the coroutine object; a cache line keeps the stack below
 * it aligned for any ABI. */
#define CORO_HEADER (((sizeof(weft__coro_t) + 63) / 64) * 64)

#ifndef WEFT_CORO_UCONTEXT
/* In the .S file: saves the running context's registers on its stack and its stack pointer
 * in *save_sp, then continues the context whose stack pointer is load_sp. */
__attribute__((visibility("hidden"))) void weft__coro_switch(void **save_sp, void *load_sp);
/* In the .S file: where a new coroutine first "returns" to; calls weft__coro_boot. */
__attribute__((visibility("hidden"))) void weft__coro_trampoline(void);
/* Runs a coroutine's entry on its own stack; called once, from weft__coro_trampoline. */
__attribute__((visibility("hidden"), noreturn)) void weft__coro_boot(weft__coro_t *coro);
#else
static void weft__coro_boot(weft__coro_t *coro) __attribute__((noreturn));
#endif

/* The lowest usable byte of the coroutine's stack (just above the guard page). */
static inline char *stack_low(const weft__coro_t *coro) {
  return coro->map + coro->pool->page;
}

/* The usable stack bytes: from the guard page up to the coroutine object. */
static inline size_t stack_bytes(const weft__coro_t *coro) {
  return (size_t)((const char *)coro - stack_low(coro));
}

/* From the resumer's context into the coroutine's. */
static inline void switch_in(weft__coro_t *coro) {
#ifdef WEFT_CORO_UCONTEXT
  ucontext_t caller;
  coro->caller_ctx = &caller;
  swapcontext(&caller, &coro->ctx);
#else
  weft__coro_switch(&coro->caller_sp, coro->sp);
#endif
}

/* From the coroutine's context back to its resumer's. */
static inline void switch_out(weft__coro_t *coro) {
#ifdef WEFT_CORO_UCONTEXT
  swapcontext(&coro->ctx, coro->caller_ctx);
#else
  weft__coro_switch(&coro->sp, coro->caller_sp);
#endif
}

/* Runs entry(arg), then hands control back to the resumer for good. */
void weft__coro_boot(weft__coro_t *coro) {
#ifdef WEFT_CORO_ASAN
  __sanitizer_finish_switch_fiber(NULL, &coro->caller_bottom, &coro->caller_size);
#endif
  coro->entry(coro->arg);
  coro->finished = 1;
  for (;;) {
#ifdef WEFT_CORO_ASAN
    __sanitizer_start_switch_fiber(NULL, coro->caller_bottom, coro->caller_size);
#endif
    switch_out(coro);
  }
}

#ifdef WEFT_CORO_UCONTEXT
/* makecontext passes only ints: the coroutine pointer arrives in two halves. */
static void ucontext_entry(unsigned hi, unsigned lo) {
  uintptr_t bits = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
  weft__coro_boot((weft__coro_t *)bits);
}
#endif

/* Sets the coroutine up so that its first resume starts weft__coro_boot on its stack. */
static int prepare_context(weft__coro_t *coro) {
#ifdef WEFT_CORO_UCONTEXT
  if (getcontext(&coro->ctx) != 0)
    return WEFT_ENOMEM;
  coro->ctx.uc_stack.ss_sp = stack_low(coro);
  coro->ctx.uc_stack.ss_size = stack_bytes(coro);
  coro->ctx.uc_link = NULL;
  uintptr_t bits = (uintptr_t)coro;
  makecontext(&coro->ctx, (void (*)(void))ucontext_entry, 2, (unsigned)(bits >> 16 >> 16),
              (unsigned)bits);
#elif defined(__x86_64__)
  /* The frame weft__coro_switch pops (see coro_switch_x86_64.S); the top is 64-aligned, so
   * the trampoline starts with rsp 16-aligned as a call needs. The floating-point control
   * state is inherited from the creator, as a thread inherits it. */
  void **frame = (void **)coro - 8;
  uint32_t mxcsr;
  uint16_t fpucw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fpucw));
  frame[0] = (void *)(uintptr_t)(mxcsr | ((uint64_t)fpucw << 32));
  frame[1] = frame[2] = frame[3] = frame[4] = NULL; /* r15 r14 r13 r12 */
  frame[5] = coro;                                  /* rbx: the trampoline's argument */
  frame[6] = NULL;                                  /* rbp: ends frame-pointer walks */
  frame[7] = (void *)weft__coro_trampoline;
  coro->sp = frame;
#elif defined(__aarch64__)
  /* The frame weft__coro_switch loads (see coro_switch_aarch64.S); the FPCR is inherited
   * from the creator, as a thread inherits it. */
  void **frame = (void **)coro - 22;
  uint64_t fpcr;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  memset(frame, 0, 22 * sizeof(void *));
  frame[0] = coro;                           /* x19: the trampoline's argument */
  frame[11] = (void *)weft__coro_trampoline; /* x30; x29 = 0 ends frame-pointer walks */
  frame[20] = (void *)(uintptr_t)fpcr;
  coro->sp = frame;
#endif
  return 0;
}

/* Maps a stack of map_size bytes (guard page included) with its coroutine object on top. */
static weft__coro_t *map_stack(weft__stack_pool_t *pool, size_t map_size) {
  char *map =
      mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (map == MAP_FAILED)
    return NULL;
  if (mprotect(map, pool->page, PROT_NONE) != 0) {
    munmap(map, map_size);
    return NULL;
  }
  weft__coro_t *coro = (weft__coro_t *)(map + map_size - CORO_HEADER);
  coro->map = map;
  coro->map_size = map_size;
  coro->pool = pool;
#ifdef WEFT_CORO_VALGRIND
  coro->valgrind_id = VALGRIND_STACK_REGISTER(stack_low(coro), (char *)coro);
#endif
  return coro;
}

/* Returns a stack to the system. */
static void unmap_stack(weft__coro_t *coro) {
  char *map = coro->map;
  size_t map_size = coro->map_size;
#ifdef WEFT_CORO_VALGRIND
  VALGRIND_STACK_DEREGISTER(coro->valgrind_id);
#endif
#ifdef WEFT_CORO_ASAN
  /* The same addresses may come back from a later mmap; leave no stale redzones there. */
  ASAN_UNPOISON_MEMORY_REGION(map, map_size);
#endif
  munmap(map, map_size);
}

/* The least usable stack given, whatever the request: a signal frame (several KiB with
 * AVX-512 state), the lazy binder's register save area or a sanitizer's report would
 * overflow anything much smaller. */
#define CORO_MIN_STACK (16 * 1024)

/* The mapping size for a request of stack_size usable bytes; 0 when it is absurdly large. */
static size_t map_size_for(const weft__stack_pool_t *pool, size_t stack_size) {
  if (stack_size > SIZE_MAX / 4)
    return 0;
  if (stack_size < CORO_MIN_STACK)
    stack_size = CORO_MIN_STACK;
  size_t bytes = stack_size + CORO_HEADER;
  return pool->page + (bytes + pool->page - 1) / pool->page * pool->page;
}

int weft__stack_pool_new(size_t max_cached, weft__stack_pool_t **out) {
  weft__stack_pool_t *pool = malloc(sizeof(*pool));
  if (pool == NULL)
    return WEFT_ENOMEM;
  long page = sysconf(_SC_PAGESIZE);
  pool->cached = NULL;
  pool->ncached = 0;
  pool->max_cached = max_cached;
  pool->page = page > 0 ? (size_t)page : 4096;
  pool->default_map_size = map_size_for(pool, WEFT__CORO_DEFAULT_STACK);
  *out = pool;
  return 0;
}

void weft__stack_pool_free(weft__stack_pool_t *pool) {
  if (pool == NULL)
    return;
  while (pool->cached != NULL) {
    weft__coro_t *coro = pool->cached;
    pool->cached = coro->next_free;
    unmap_stack(coro);
  }
  free(pool);
}

int weft__coro_new(weft__stack_pool_t *pool, size_t stack_size, weft__coro_entry_fn entry,
                   void *arg, weft__coro_t **out) {
  if (pool == NULL || entry == NULL)
    return WEFT_EINVAL;
  size_t map_size = map_size_for(pool, stack_size ? stack_size : WEFT__CORO_DEFAULT_STACK);
  if (map_size == 0)
    return WEFT_EINVAL;
  weft__coro_t *coro;
  if (map_size == pool->default_map_size && pool->cached != NULL) {
    coro = pool->cached;
    pool->cached = coro->next_free;
    pool->ncached--;
#ifdef WEFT_CORO_ASAN
    /* A coroutine freed while suspended left its frames' redzones poisoned. */
    ASAN_UNPOISON_MEMORY_REGION(stack_low(coro), stack_bytes(coro));
#endif
  } else {
    coro = map_stack(pool, map_size);
    if (coro == NULL)
      return WEFT_ENOMEM;
  }
  coro->entry = entry;
  coro->arg = arg;
  coro->next_free = NULL;
  coro->finished = 0;
  coro->running = 0;
#ifdef WEFT_CORO_ASAN
  coro->fake_stack = NULL;
  coro->caller_fake_stack = NULL;
  coro->caller_bottom = NULL;
  coro->caller_size = 0;
#endif
  int err = prepare_context(coro);
  if (err != 0) {
    unmap_stack(coro);
    return err;
  }
  *out = coro;
  return 0;
}

void weft__coro_resume(weft__coro_t *coro) {
  if (coro->finished)
    return;
  assert(!coro->running && "a running coroutine cannot be resumed");
  coro->running = 1;
#ifdef WEFT_CORO_ASAN
  __sanitizer_start_switch_fiber(&coro->caller_fake_stack, stack_low(coro), stack_bytes(coro));
#endif
  switch_in(coro);
#ifdef WEFT_CORO_ASAN
  __sanitizer_finish_switch_fiber(coro->caller_fake_stack, NULL, NULL);
#endif
  coro->running = 0;
}

void weft__coro_yield(weft__coro_t *coro) {
  assert(coro->running && "only the running coroutine can yield");
#ifdef WEFT_CORO_ASAN
  __sanitizer_start_switch_fiber(&coro->fake_stack, coro->caller_bottom, coro->caller_size);
#endif
  switch_out(coro);
#ifdef WEFT_CORO_ASAN
  __sanitizer_finish_switch_fiber(coro->fake_stack, &coro->caller_bottom, &coro->caller_size);
#endif
}

int weft__coro_finished(const weft__coro_t *coro) {
  return coro->finished;
}

void weft__coro_free(weft__coro_t *coro) {
  if (coro == NULL)
    return;
  assert(!coro->running && "a running coroutine cannot be freed");
  weft__stack_pool_t *pool = coro->pool;
  if (coro->map_size == pool->default_map_size && pool->ncached < pool->max_cached) {
    coro->next_free = pool->cached;
    pool->cached = coro;
    pool->ncached++;
  } else {
    unmap_stack(coro);
  }
}
