/* Runs the NULL sweep's calls (null_sweep_gen.py), each in a forked child so that one crash
 * is one reported failure and the rest still run; a child's exit status tells a wrong
 * result (1) from a crash (a signal, or ASan's / valgrind's error exit). With arguments,
 * only the functions whose names start with one of them run.
 * The child exits with exit(), not _exit(), so LeakSanitizer and valgrind check that a
 * rejected call leaked nothing. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "null_sweep.h"

/* The case a child runs, for the messages. */
static const sweep_case_t *current;

void *sweep_scratch(void) {
  static _Alignas(max_align_t) unsigned char scratch[4096];
  memset(scratch, 0, sizeof scratch);
  return scratch;
}

int sweep_expect_int(long long got, int expected) {
  if (got == expected)
    return 0;
  fprintf(stderr, "FAIL %s: got %lld (%s), expected %d (%s)\n", current->call, got,
          got >= INT_MIN && got <= 0 ? weft_err_name((int)got) : "not an error code", expected,
          weft_err_name(expected));
  return 1;
}

int sweep_expect_null(const void *got) {
  if (got == NULL)
    return 0;
  fprintf(stderr, "FAIL %s: got %p, expected NULL\n", current->call, got);
  return 1;
}

int sweep_expect_zero(long long got) {
  if (got == 0)
    return 0;
  fprintf(stderr, "FAIL %s: got %lld, expected 0\n", current->call, got);
  return 1;
}

int sweep_expect_zero_double(double got) {
  if (got == 0.0)
    return 0;
  fprintf(stderr, "FAIL %s: got %g, expected 0.0\n", current->call, got);
  return 1;
}

static int selected(const char *name, int argc, char **argv) {
  if (argc < 2)
    return 1;
  for (int i = 1; i < argc; i++)
    if (strncmp(name, argv[i], strlen(argv[i])) == 0)
      return 1;
  return 0;
}

int main(int argc, char **argv) {
  size_t ran = 0, failed = 0;
  for (size_t i = 0; i < sweep_case_count; i++) {
    const sweep_case_t *c = &sweep_cases[i];
    if (!selected(c->name, argc, argv))
      continue;
    ran++;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 2;
    }
    if (pid == 0) {
      /* A call that blocks instead of failing is a failure too; the bound is far above
       * what any rejected call takes, even under valgrind. */
      alarm(300);
      current = c;
      exit(c->run() ? 1 : 0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
      ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      continue;
    failed++;
    if (WIFSIGNALED(status))
      fprintf(stderr, "FAIL %s: killed by signal %d (%s)\n", c->call, WTERMSIG(status),
              strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) != 1) /* 1: the child said what it got */
      fprintf(stderr, "FAIL %s: exit status %d (a sanitizer or valgrind error, above)\n", c->call,
              WEXITSTATUS(status));
  }
  printf("null sweep: %zu calls, %zu failed\n", ran, failed);
  return failed == 0 && ran > 0 ? 0 : 1;
}
