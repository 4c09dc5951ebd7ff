/* The side table of per-loop module state. A short list under one mutex: a process has few
 * loops, and lookups happen on submissions and handler changes, not per callback. */
#include "loop_ext.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct ext_s {
  struct ext_s *next;
  weft_loop_t *loop;
  int key;
  void *value;
  weft_free_fn cleanup;
} ext_t;

static pthread_mutex_t ext_lock = PTHREAD_MUTEX_INITIALIZER;
static ext_t *ext_head;

void *weft__loop_ext_get(weft_loop_t *loop, int key) {
  void *value = NULL;
  pthread_mutex_lock(&ext_lock);
  for (ext_t *e = ext_head; e; e = e->next) {
    if (e->loop == loop && e->key == key) {
      value = e->value;
      break;
    }
  }
  pthread_mutex_unlock(&ext_lock);
  return value;
}

int weft__loop_ext_set(weft_loop_t *loop, int key, void *value, weft_free_fn cleanup) {
  pthread_mutex_lock(&ext_lock);
  ext_t **link = &ext_head;
  while (*link && !((*link)->loop == loop && (*link)->key == key))
    link = &(*link)->next;
  if (*link) {
    if (value) {
      (*link)->value = value;
      (*link)->cleanup = cleanup;
    } else {
      ext_t *gone = *link;
      *link = gone->next;
      free(gone);
    }
    pthread_mutex_unlock(&ext_lock);
    return 0;
  }
  if (!value) {
    pthread_mutex_unlock(&ext_lock);
    return 0;
  }
  ext_t *e = malloc(sizeof *e);
  if (!e) {
    pthread_mutex_unlock(&ext_lock);
    return WEFT_ENOMEM;
  }
  e->loop = loop;
  e->key = key;
  e->value = value;
  e->cleanup = cleanup;
  e->next = ext_head;
  ext_head = e;
  pthread_mutex_unlock(&ext_lock);
  return 0;
}

void weft__loop_ext_close(weft_loop_t *loop) {
  /* Unlink first and clean up outside the lock: a cleanup may call back into the table. */
  for (;;) {
    ext_t *found = NULL;
    pthread_mutex_lock(&ext_lock);
    for (ext_t **link = &ext_head; *link; link = &(*link)->next) {
      if ((*link)->loop == loop) {
        found = *link;
        *link = found->next;
        break;
      }
    }
    pthread_mutex_unlock(&ext_lock);
    if (!found)
      return;
    if (found->cleanup)
      found->cleanup(found->value);
    free(found);
  }
}
