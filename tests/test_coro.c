/* The stackful coroutines under weft's tasks (core/src/coro.c), tested directly. The same
 * tests also run against the ucontext fallback (test_coro_ucontext, built with
 * -DWEFT_CORO_UCONTEXT). */
#include "weft_test.h"

#include "coro.h"

#include <fenv.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* A pool, failing the test if it cannot be made. */
static weft__stack_pool_t *new_pool(size_t max_cached) {
  weft__stack_pool_t *pool = NULL;
  ASSERT_OK(weft__stack_pool_new(max_cached, &pool));
  ASSERT_TRUE(pool != NULL);
  return pool;
}

/* A coroutine, failing the test if it cannot be made. */
static weft__coro_t *new_coro(weft__stack_pool_t *pool, size_t stack_size,
                              weft__coro_entry_fn entry, void *arg) {
  weft__coro_t *coro = NULL;
  ASSERT_OK(weft__coro_new(pool, stack_size, entry, arg, &coro));
  ASSERT_TRUE(coro != NULL);
  return coro;
}

/* Counts its runs. */
static void count_entry(void *arg) {
  (*(int *)arg)++;
}

WEFT_TEST(run_to_finish) {
  weft__stack_pool_t *pool = new_pool(4);
  int runs = 0;
  weft__coro_t *coro = new_coro(pool, 0, count_entry, &runs);
  ASSERT_EQ(weft__coro_finished(coro), 0);
  ASSERT_EQ(runs, 0); /* made, not started */
  weft__coro_resume(coro);
  ASSERT_EQ(runs, 1);
  ASSERT_TRUE(weft__coro_finished(coro));
  weft__coro_resume(coro); /* finished: nothing happens */
  ASSERT_EQ(runs, 1);
  ASSERT_TRUE(weft__coro_finished(coro));
  weft__coro_free(coro);
  weft__stack_pool_free(pool);
}

WEFT_TEST(bad_arguments) {
  weft__stack_pool_t *pool = new_pool(1);
  weft__coro_t *coro = NULL;
  int runs = 0;
  ASSERT_CODE(weft__coro_new(NULL, 0, count_entry, &runs, &coro), WEFT_EINVAL);
  ASSERT_CODE(weft__coro_new(pool, 0, NULL, &runs, &coro), WEFT_EINVAL);
  ASSERT_CODE(weft__coro_new(pool, SIZE_MAX - 100, count_entry, &runs, &coro), WEFT_EINVAL);
  weft__coro_free(NULL);
  weft__stack_pool_free(pool);
  weft__stack_pool_free(NULL);
}

struct yielder {
  weft__coro_t *coro;
  long count; /* bumped by the coroutine before each yield */
  long limit;
};

/* Yields `limit` times, counting in a local as well so its stack frame is checked too. */
static void yield_entry(void *arg) {
  struct yielder *y = arg;
  long local = 0;
  for (long i = 0; i < y->limit; i++) {
    y->count++;
    local++;
    weft__coro_yield(y->coro);
    if (local != y->count)
      abort();
  }
}

WEFT_TEST(many_yields) {
  weft__stack_pool_t *pool = new_pool(4);
  struct yielder y = {NULL, 0, 100000};
  y.coro = new_coro(pool, 0, yield_entry, &y);
  for (long i = 1; i <= y.limit; i++) {
    weft__coro_resume(y.coro);
    ASSERT_EQ(y.count, i);
    ASSERT_EQ(weft__coro_finished(y.coro), 0);
  }
  weft__coro_resume(y.coro);
  ASSERT_TRUE(weft__coro_finished(y.coro));
  ASSERT_EQ(y.count, y.limit);
  weft__coro_free(y.coro);
  weft__stack_pool_free(pool);
}

struct channel {
  weft__coro_t *coro;
  long in;  /* written by the resumer */
  long out; /* written by the coroutine */
  int done;
};

/* Answers each value with its square plus a running sum kept in locals across yields. */
static void square_entry(void *arg) {
  struct channel *ch = arg;
  long sum = 0;
  double dsum = 0.5; /* kept in a callee-saved FP register where the compiler likes */
  while (ch->in >= 0) {
    sum += ch->in;
    dsum += (double)ch->in;
    ch->out = ch->in * ch->in + sum * 1000000;
    weft__coro_yield(ch->coro);
    if (dsum != (double)sum + 0.5)
      abort();
  }
  ch->done = 1;
}

WEFT_TEST(values_across_switches) {
  weft__stack_pool_t *pool = new_pool(4);
  struct channel ch = {NULL, 0, 0, 0};
  ch.coro = new_coro(pool, 0, square_entry, &ch);
  long sum = 0;
  for (long v = 0; v < 1000; v++) {
    ch.in = v;
    sum += v;
    weft__coro_resume(ch.coro);
    ASSERT_EQ(ch.out, v * v + sum * 1000000);
  }
  ch.in = -1;
  weft__coro_resume(ch.coro);
  ASSERT_TRUE(ch.done);
  ASSERT_TRUE(weft__coro_finished(ch.coro));
  weft__coro_free(ch.coro);
  weft__stack_pool_free(pool);
}

struct trace {
  char log[64];
  int len;
  weft__coro_t *outer;
  weft__coro_t *inner;
};

/* Appends one character to the trace. */
static void note(struct trace *t, char c) {
  if (t->len < (int)sizeof(t->log) - 1)
    t->log[t->len++] = c;
  t->log[t->len] = '\0';
}

/* Yields twice, noting each step; its yields go to whoever resumed it. */
static void inner_entry(void *arg) {
  struct trace *t = arg;
  note(t, 'a');
  weft__coro_yield(t->inner);
  note(t, 'b');
  weft__coro_yield(t->inner);
  note(t, 'c');
}

/* Resumes the inner coroutine from inside a coroutine, yielding between. */
static void outer_entry(void *arg) {
  struct trace *t = arg;
  note(t, '1');
  weft__coro_resume(t->inner); /* a */
  note(t, '2');
  weft__coro_yield(t->outer);
  note(t, '3');
  weft__coro_resume(t->inner); /* b */
  note(t, '4');
}

WEFT_TEST(nesting) {
  weft__stack_pool_t *pool = new_pool(4);
  struct trace t = {{0}, 0, NULL, NULL};
  t.outer = new_coro(pool, 0, outer_entry, &t);
  t.inner = new_coro(pool, 0, inner_entry, &t);
  weft__coro_resume(t.outer);
  ASSERT_STREQ(t.log, "1a2");
  weft__coro_resume(t.outer);
  ASSERT_STREQ(t.log, "1a23b4");
  ASSERT_TRUE(weft__coro_finished(t.outer));
  ASSERT_EQ(weft__coro_finished(t.inner), 0);
  /* The inner one, first resumed from inside the outer, now resumed from the top. */
  weft__coro_resume(t.inner);
  ASSERT_STREQ(t.log, "1a23b4c");
  ASSERT_TRUE(weft__coro_finished(t.inner));
  weft__coro_free(t.outer);
  weft__coro_free(t.inner);
  weft__stack_pool_free(pool);
}

struct chain {
  weft__coro_t *coros[64];
  int depth;
  int reached;
};

/* Each level resumes the next one, so 64 coroutine stacks are live and nested at once. */
static void chain_entry(void *arg) {
  struct chain *c = arg;
  int level = c->reached++;
  if (level + 1 < c->depth) {
    weft__coro_resume(c->coros[level + 1]);
    weft__coro_resume(c->coros[level + 1]);
  } else {
    weft__coro_yield(c->coros[level]);
  }
}

WEFT_TEST(deep_nesting) {
  weft__stack_pool_t *pool = new_pool(8);
  struct chain c = {{NULL}, 64, 0};
  for (int i = 0; i < c.depth; i++)
    c.coros[i] = new_coro(pool, 0, chain_entry, &c);
  weft__coro_resume(c.coros[0]);
  ASSERT_EQ(c.reached, c.depth);
  for (int i = 0; i < c.depth; i++) {
    ASSERT_TRUE(weft__coro_finished(c.coros[i]));
    weft__coro_free(c.coros[i]);
  }
  weft__stack_pool_free(pool);
}

struct fp_probe {
  weft__coro_t *coro;
  int round_inside;
  double kept;
#if defined(__x86_64__)
  uint16_t fpucw_inside;
#endif
};

#if defined(__x86_64__)
/* The x87 control word of the running context. */
static uint16_t get_fpucw(void) {
  uint16_t cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  return cw;
}
#endif

/* Changes the rounding mode inside (both MXCSR and the x87 control word on x86-64), then
 * checks it survives a yield. */
static void fp_entry(void *arg) {
  struct fp_probe *p = arg;
  volatile double third = 1.0 / 3.0;
  fesetround(FE_TOWARDZERO);
  weft__coro_yield(p->coro);
  p->round_inside = fegetround();
#if defined(__x86_64__)
  p->fpucw_inside = get_fpucw();
#endif
  p->kept = third;
}

WEFT_TEST(floating_point_state) {
  weft__stack_pool_t *pool = new_pool(4);
  struct fp_probe p;
  memset(&p, 0, sizeof(p));
  p.coro = new_coro(pool, 0, fp_entry, &p);
  ASSERT_EQ(fegetround(), FE_TONEAREST);
#if defined(__x86_64__)
  uint16_t cw = get_fpucw();
#endif
  weft__coro_resume(p.coro);
  /* The coroutine's modes must not leak out to its resumer. */
  ASSERT_EQ(fegetround(), FE_TONEAREST);
#if defined(__x86_64__)
  ASSERT_EQ(get_fpucw(), cw);
#endif
  volatile double x = 1.0, y = 3.0;
  ASSERT_TRUE(x / y == 1.0 / 3.0);
  weft__coro_resume(p.coro);
  ASSERT_TRUE(weft__coro_finished(p.coro));
  ASSERT_EQ(p.round_inside, FE_TOWARDZERO);
#if defined(__x86_64__)
  ASSERT_EQ(p.fpucw_inside & 0x0C00, 0x0C00); /* x87 rounding: toward zero */
  ASSERT_EQ(get_fpucw(), cw);
#endif
  ASSERT_TRUE(p.kept == 1.0 / 3.0);
  ASSERT_EQ(fegetround(), FE_TONEAREST);
  weft__coro_free(p.coro);
  weft__stack_pool_free(pool);
}

struct member {
  weft__coro_t *coro;
  long id;
  long steps;
};

/* Yields three times, checking its own identity in a local each time. */
static void member_entry(void *arg) {
  struct member *m = arg;
  long id = m->id;
  for (int i = 0; i < 3; i++) {
    m->steps++;
    weft__coro_yield(m->coro);
    if (id != m->id)
      abort();
  }
}

WEFT_TEST(many_alive) {
  enum { N = 1000 };
  weft__stack_pool_t *pool = new_pool(16);
  struct member *members = calloc(N, sizeof(*members));
  ASSERT_TRUE(members != NULL);
  for (long i = 0; i < N; i++) {
    members[i].id = i;
    members[i].coro = new_coro(pool, 0, member_entry, &members[i]);
  }
  for (int round = 1; round <= 4; round++) {
    for (long i = 0; i < N; i++) {
      weft__coro_resume(members[i].coro);
      ASSERT_EQ(members[i].steps, round < 4 ? round : 3);
    }
  }
  for (long i = 0; i < N; i++) {
    ASSERT_TRUE(weft__coro_finished(members[i].coro));
    weft__coro_free(members[i].coro);
  }
  free(members);
  weft__stack_pool_free(pool);
}

struct depth {
  char *top;     /* an address near the top of the coroutine's stack */
  size_t target; /* how many bytes below it to reach */
  long levels;
};

/* Recurses until `target` bytes of stack are in use; the array keeps every frame real, and
 * not inlining keeps every frame below the caller's. */
__attribute__((noinline)) static long recurse(struct depth *d, long level) {
  volatile char pad[128];
  pad[0] = (char)level;
  if ((size_t)(d->top - (char *)__builtin_frame_address(0)) < d->target)
    return recurse(d, level + 1) + pad[0] - (char)level;
  d->levels = level;
  return 0;
}

/* Uses three quarters of the default stack. */
static void deep_entry(void *arg) {
  struct depth *d = arg;
  d->top = __builtin_frame_address(0); /* not a local's address: ASan may move locals */
  if (recurse(d, 1) != 0)
    abort();
}

WEFT_TEST(deep_recursion) {
  weft__stack_pool_t *pool = new_pool(4);
  struct depth d = {NULL, WEFT__CORO_DEFAULT_STACK / 4 * 3, 0};
  weft__coro_t *coro = new_coro(pool, 0, deep_entry, &d);
  weft__coro_resume(coro);
  ASSERT_TRUE(weft__coro_finished(coro));
  ASSERT_TRUE(d.levels > 100);
  weft__coro_free(coro);
  weft__stack_pool_free(pool);
}

WEFT_TEST(pool_reuse) {
  weft__stack_pool_t *pool = new_pool(2);
  int runs = 0;
  weft__coro_t *a = new_coro(pool, 0, count_entry, &runs);
  weft__coro_resume(a);
  weft__coro_free(a);
  /* The freed stack is cached and comes back, along with the object living on it. */
  weft__coro_t *b = new_coro(pool, WEFT__CORO_DEFAULT_STACK, count_entry, &runs);
  ASSERT_PTR_EQ(b, a);
  ASSERT_EQ(weft__coro_finished(b), 0);
  weft__coro_resume(b);
  ASSERT_EQ(runs, 2);
  /* Cache two, then a third is unmapped: the cache stays within max_cached. */
  weft__coro_t *c = new_coro(pool, 0, count_entry, &runs);
  weft__coro_t *d = new_coro(pool, 0, count_entry, &runs);
  weft__coro_free(b);
  weft__coro_free(c);
  weft__coro_free(d);
  weft__coro_t *e = new_coro(pool, 0, count_entry, &runs);
  weft__coro_t *f = new_coro(pool, 0, count_entry, &runs);
  ASSERT_TRUE((e == c || e == b) && (f == c || f == b) && e != f);
  weft__coro_free(e);
  weft__coro_free(f);
  weft__stack_pool_free(pool);
}

struct mapping {
  uintptr_t lo, hi;
  char perms[5];
};

/* Finds the /proc/self/maps entry holding addr, or the one ending at it (`ending`). */
static int find_mapping(uintptr_t addr, int ending, struct mapping *out) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (f == NULL)
    return 0;
  char line[512];
  int found = 0;
  while (!found && fgets(line, sizeof(line), f) != NULL) {
    unsigned long lo, hi;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3)
      continue;
    if (ending ? hi == addr : (lo <= addr && addr < hi)) {
      out->lo = lo;
      out->hi = hi;
      memcpy(out->perms, perms, sizeof(perms));
      found = 1;
    }
  }
  fclose(f);
  return found;
}

struct layout {
  struct mapping stack, guard;
  int found_stack, found_guard;
};

/* Looks up its own stack's mapping and the one just below it. */
static void layout_entry(void *arg) {
  struct layout *l = arg;
  l->found_stack = find_mapping((uintptr_t)__builtin_frame_address(0), 0, &l->stack);
  if (l->found_stack)
    l->found_guard = find_mapping(l->stack.lo, 1, &l->guard);
}

WEFT_TEST(stack_size_rounded) {
  weft__stack_pool_t *pool = new_pool(4);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  /* The smallest request still gets a stack big enough for stdio (and a sanitizer). */
  struct layout tiny_layout;
  memset(&tiny_layout, 0, sizeof(tiny_layout));
  weft__coro_t *tiny = new_coro(pool, 1, layout_entry, &tiny_layout);
  weft__coro_resume(tiny);
  ASSERT_TRUE(weft__coro_finished(tiny));
  ASSERT_TRUE(tiny_layout.found_stack && tiny_layout.found_guard);
  ASSERT_TRUE(tiny_layout.stack.hi - tiny_layout.stack.lo >= 4 * page);
  weft__coro_free(tiny);
  /* Above that floor, a request is rounded up to whole pages. */
  size_t requests[] = {20000, 6 * page, 7 * page + 1, WEFT__CORO_DEFAULT_STACK + 1, 1 << 20};
  for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
    struct layout l;
    memset(&l, 0, sizeof(l));
    weft__coro_t *coro = new_coro(pool, requests[i], layout_entry, &l);
    weft__coro_resume(coro);
    ASSERT_TRUE(weft__coro_finished(coro));
    ASSERT_TRUE(l.found_stack);
    size_t bytes = l.stack.hi - l.stack.lo;
    ASSERT_EQ(bytes % page, 0);
    ASSERT_TRUE(bytes >= requests[i]);
    /* Rounded up, not blown up: the mapping also holds the coroutine object, which with
     * ucontext (a few KiB on aarch64) can take pages of its own. */
    ASSERT_TRUE(bytes < requests[i] + 16 * 1024);
    ASSERT_STREQ(l.stack.perms, "rw-p");
    /* One inaccessible guard page right below. */
    ASSERT_TRUE(l.found_guard);
    ASSERT_STREQ(l.guard.perms, "---p");
    ASSERT_EQ(l.guard.hi - l.guard.lo, page);
    weft__coro_free(coro);
  }
  weft__stack_pool_free(pool);
}

/* Never reached; volatile so the compiler cannot see the recursion below is endless. */
static volatile long overflow_limit = LONG_MAX;

/* Recurses without end: only the guard page stops it. */
__attribute__((noinline)) static long overflow(long level) {
  volatile char pad[256];
  pad[0] = (char)level;
  if (level == overflow_limit)
    return 0;
  return overflow(level + 1) + pad[0];
}

/* Runs off the bottom of its stack. */
static void overflow_entry(void *arg) {
  *(long *)arg = overflow(1);
}

WEFT_TEST(guard_page) {
  fflush(NULL);
  pid_t pid = fork();
  ASSERT_TRUE(pid >= 0);
  if (pid == 0) {
    /* Die of the fault itself: no core file, no sanitizer's handler turning it into exit 1. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGSEGV, SIG_DFL);
    alarm(30);
    weft__stack_pool_t *pool = NULL;
    weft__coro_t *coro = NULL;
    long result = 0;
    if (weft__stack_pool_new(1, &pool) != 0 ||
        weft__coro_new(pool, 64 * 1024, overflow_entry, &result, &coro) != 0)
      _exit(3);
    weft__coro_resume(coro);
    _exit(4); /* not reached: the overflow must fault */
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  if (!WIFSIGNALED(status))
    WEFT_FAIL_AT("child exited with %d instead of dying of SIGSEGV",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  ASSERT_EQ(WTERMSIG(status), SIGSEGV);
}

struct dropped {
  weft__coro_t *coro;
  long depth;
};

/* Fills a good part of its stack with frames, then yields from the bottom of them. */
__attribute__((noinline)) static long dig(struct dropped *d, long level) {
  volatile char pad[512];
  memset((char *)pad, (int)level, sizeof(pad));
  if (level < d->depth)
    return dig(d, level + 1) + pad[7];
  weft__coro_yield(d->coro);
  return pad[7];
}

/* The entry of a coroutine that will be freed while suspended deep down. */
static void dig_entry(void *arg) {
  struct dropped *d = arg;
  dig(d, 0);
}

WEFT_TEST(free_suspended) {
  weft__stack_pool_t *pool = new_pool(1);
  struct dropped d = {NULL, 200};
  d.coro = new_coro(pool, 0, dig_entry, &d);
  weft__coro_resume(d.coro);
  ASSERT_EQ(weft__coro_finished(d.coro), 0);
  weft__coro_free(d.coro); /* dropped without unwinding */
  /* The same stack again: the dead frames must not trouble the new coroutine. */
  struct depth deep = {NULL, WEFT__CORO_DEFAULT_STACK / 2, 0};
  weft__coro_t *coro = new_coro(pool, 0, deep_entry, &deep);
  ASSERT_PTR_EQ(coro, d.coro);
  weft__coro_resume(coro);
  ASSERT_TRUE(weft__coro_finished(coro));
  weft__coro_free(coro);
  weft__stack_pool_free(pool);
}
