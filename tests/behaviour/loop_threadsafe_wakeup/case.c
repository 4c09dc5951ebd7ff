/* call_soon_threadsafe from another thread wakes a loop that is waiting with nothing to do
 * and no timer, and the callback runs on the loop's thread. */
#include <casetrace.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

typedef struct {
  weft_loop_t *loop;
  weft_future_t *fut;
  pthread_t loop_thread;
  sem_t started;
} shared_t;

static void on_loop(void *arg) {
  shared_t *s = arg;
  casetrace_emit("callback from-thread %s",
                 casetrace_bool(pthread_equal(pthread_self(), s->loop_thread)));
  weft_future_set_result(s->fut, weft_value_pointer("from-thread", NULL));
}

static void *worker(void *arg) {
  shared_t *s = arg;
  sem_wait(&s->started);
  /* Let the loop block in its poll first. */
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, NULL);
  weft_call_soon_threadsafe(s->loop, on_loop, s);
  return NULL;
}

static void set_started(void *arg) {
  sem_post(&((shared_t *)arg)->started);
}

static int main_task(weft_task_t *self, void *arg) {
  (void)arg;
  shared_t s = {.loop = casetrace_loop(self), .loop_thread = pthread_self()};
  int rc = weft_future_new(s.loop, &s.fut);
  if (rc < 0)
    return rc;
  sem_init(&s.started, 0, 0);
  pthread_t th;
  if (pthread_create(&th, NULL, worker, &s) != 0)
    return WEFT_EAGAIN;
  weft_call_soon(s.loop, set_started, &s, NULL);
  casetrace_emit("waiting");
  rc = weft_await(s.fut);
  const weft_value_t *value;
  if (rc == 0 && weft_future_result(s.fut, &value) == 0)
    casetrace_emit("woken %s", (const char *)value->ptr);
  pthread_join(th, NULL);
  sem_destroy(&s.started);
  weft_future_release(s.fut);
  return rc;
}

int main(void) {
  return weft_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
