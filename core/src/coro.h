/* Stackful coroutines: the machinery under weft's stackful tasks. Internal.
 *
 * A coroutine runs entry(arg) on its own stack. weft__coro_resume switches into it from
 * whatever context calls it (the loop, or another coroutine); weft__coro_yield, called
 * from inside, switches back to that caller. When entry returns, the coroutine is finished
 * and control goes back to the caller of the last resume.
 *
 * Stacks come from a pool: mmap'd with a PROT_NONE guard page below, reused once freed.
 * The switch is hand-written for x86-64 and aarch64, ucontext elsewhere; it keeps the
 * callee-saved registers and the floating-point control state (the MXCSR and x87 control
 * word on x86-64, the FPCR on aarch64), not the signal mask. AddressSanitizer is told
 * about every switch and valgrind about every stack. */
#ifndef WEFT_CORO_H
#define WEFT_CORO_H

#include <stddef.h>

typedef struct weft__coro_s weft__coro_t;
typedef struct weft__stack_pool_s weft__stack_pool_t;
typedef void (*weft__coro_entry_fn)(void *arg);

#define WEFT__CORO_DEFAULT_STACK (256 * 1024)

/* A pool keeping up to `max_cached` free stacks of the default size. 0 or WEFT_ENOMEM. */
int weft__stack_pool_new(size_t max_cached, weft__stack_pool_t **out);
/* Unmaps every cached stack. Coroutines made from the pool must be destroyed first. */
void weft__stack_pool_free(weft__stack_pool_t *pool);

/* Makes a coroutine (not started) with at least stack_size bytes of usable stack (0: the
 * default), rounded up to pages. 0, WEFT_ENOMEM, or WEFT_EINVAL. */
int weft__coro_new(weft__stack_pool_t *pool, size_t stack_size, weft__coro_entry_fn entry,
                   void *arg, weft__coro_t **out);
/* Runs the coroutine until it yields or finishes. Resuming a finished one does nothing. */
void weft__coro_resume(weft__coro_t *coro);
/* From inside `coro`: back to the context that resumed it. */
void weft__coro_yield(weft__coro_t *coro);
int weft__coro_finished(const weft__coro_t *coro);
/* Gives the stack back to the pool. A suspended coroutine is dropped without unwinding. */
void weft__coro_free(weft__coro_t *coro);

#endif
