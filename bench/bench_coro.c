/* Micro-benchmark of the stackful coroutines (core/src/coro.c): the cost of a resume+yield
 * round trip, and of creating, running and freeing a coroutine from a warm pool.
 *
 * Stand-alone: cc -O2 -D_GNU_SOURCE -Icore/include -Icore/src bench/bench_coro.c \
 *   core/src/coro.c core/src/coro_switch_x86_64.S -o bench_coro && ./bench_coro */
#include "coro.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Nanoseconds on the monotonic clock. */
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Yields forever; a volatile counter keeps the loop from being optimised away. */
static void yield_forever(void *arg) {
  weft__coro_t **self = arg;
  volatile long n = 0;
  for (;;) {
    n++;
    weft__coro_yield(*self);
  }
}

/* Returns at once: what is measured is the coroutine's life around it. */
static void do_nothing(void *arg) {
  (void)arg;
}

/* Exits with a message when a coroutine call fails. */
static void check(int err, const char *what) {
  if (err != 0) {
    fprintf(stderr, "%s failed: %d\n", what, err);
    exit(1);
  }
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 10000000;
  weft__stack_pool_t *pool;
  check(weft__stack_pool_new(64, &pool), "weft__stack_pool_new");

  weft__coro_t *coro;
  check(weft__coro_new(pool, 0, yield_forever, &coro, &coro), "weft__coro_new");
  for (int i = 0; i < 1000; i++) /* warm up */
    weft__coro_resume(coro);
  double best_switch = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
      weft__coro_resume(coro);
    double ns = (now_ns() - t0) / (double)rounds;
    if (ns < best_switch)
      best_switch = ns;
  }
  weft__coro_free(coro); /* suspended: dropped without unwinding */

  long lives = rounds / 10;
  double best_life = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_ns();
    for (long i = 0; i < lives; i++) {
      weft__coro_t *c;
      check(weft__coro_new(pool, 0, do_nothing, NULL, &c), "weft__coro_new");
      weft__coro_resume(c);
      weft__coro_free(c);
    }
    double ns = (now_ns() - t0) / (double)lives;
    if (ns < best_life)
      best_life = ns;
  }
  weft__stack_pool_free(pool);

  printf("resume+yield round trip:           %6.1f ns (best of 5 x %ld)\n", best_switch, rounds);
  printf("create+run+free (warm pool):       %6.1f ns (best of 5 x %ld)\n", best_life, lives);
  return 0;
}
