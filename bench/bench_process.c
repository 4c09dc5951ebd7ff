/* Subprocess spawn + wait throughput: weft against a raw libuv program doing the same work
 * (uv_spawn, exit callback, close), in the same run. Each side spawns /bin/true N times,
 * one at a time and then `batch` at a time, and waits for each exit.
 *
 *   ./bench_process [N] [batch]      (defaults: 500 and 8) */
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *argv_true[] = {"/bin/true", NULL};

/* ---- raw libuv ------------------------------------------------------------------------ */

static int raw_running;

static void raw_closed(uv_handle_t *handle) {
  free(handle);
}

static void raw_exit(uv_process_t *proc, int64_t status, int term_signal) {
  if (status != 0 || term_signal != 0)
    fprintf(stderr, "raw: unexpected exit %lld/%d\n", (long long)status, term_signal);
  raw_running--;
  uv_close((uv_handle_t *)proc, raw_closed);
}

static double bench_raw(int n, int batch) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_stdio_container_t stdio[3];
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = i;
  }
  uv_process_options_t options = {0};
  options.exit_cb = raw_exit;
  options.file = argv_true[0];
  options.args = (char **)argv_true;
  options.stdio_count = 3;
  options.stdio = stdio;
  double t0 = now_s();
  for (int done = 0; done < n; done += batch) {
    for (int j = 0; j < batch && done + j < n; j++) {
      uv_process_t *proc = malloc(sizeof *proc);
      if (uv_spawn(&loop, proc, &options) != 0) {
        fprintf(stderr, "raw: uv_spawn failed\n");
        exit(1);
      }
      raw_running++;
    }
    while (raw_running > 0)
      uv_run(&loop, UV_RUN_ONCE);
  }
  double elapsed = now_s() - t0;
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return n / elapsed;
}

/* ---- weft ----------------------------------------------------------------------------- */

static double bench_weft(int n, int batch) {
  weft_loop_t *loop;
  if (weft_loop_new(&loop) != 0)
    exit(1);
  weft_process_t **procs = calloc((size_t)batch, sizeof *procs);
  weft_future_t **waits = calloc((size_t)batch, sizeof *waits);
  double t0 = now_s();
  for (int done = 0; done < n; done += batch) {
    int k = 0;
    for (; k < batch && done + k < n; k++) {
      if (weft_create_subprocess_exec(loop, argv_true, NULL, &procs[k]) != 0 ||
          weft_process_wait(procs[k], &waits[k]) != 0) {
        fprintf(stderr, "weft: spawn failed\n");
        exit(1);
      }
    }
    weft_future_t *all;
    weft_gather(loop, waits, (size_t)k, 0, &all);
    if (weft_loop_run_until_complete(loop, all) != 0)
      fprintf(stderr, "weft: wait failed\n");
    weft_future_release(all);
    for (int j = 0; j < k; j++) {
      weft_future_release(waits[j]);
      weft_process_release(procs[j]);
    }
  }
  double elapsed = now_s() - t0;
  weft_future_t *settle;
  weft_sleep(loop, 0.01, &settle);
  weft_loop_run_until_complete(loop, settle);
  weft_future_release(settle);
  weft_loop_close(loop);
  weft_loop_release(loop);
  free(procs);
  free(waits);
  return n / elapsed;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 500;
  int batch = argc > 2 ? atoi(argv[2]) : 8;
  if (n < 1 || batch < 1)
    return 2;
  int batches[2] = {1, batch};
  printf("spawn+wait of /bin/true, %d per run\n", n);
  for (int b = 0; b < 2; b++) {
    bench_raw(n / 10 + 1, batches[b]); /* warm-up */
    double raw = bench_raw(n, batches[b]);
    double weft = bench_weft(n, batches[b]);
    printf("  %2d at a time: raw libuv %8.0f/s   weft %8.0f/s   weft/raw %.3f\n", batches[b], raw,
           weft, weft / raw);
  }
  return 0;
}
