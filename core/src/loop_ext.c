/* Per-loop state of modules outside loop.c (default executor, signal handlers, children),
 * kept in slots of the loop itself. The slots are guarded by the loop's cross-thread lock
 * because the executor reads them from its workers. */
#include "internal.h"
#include "loop_ext.h"

void *weft__loop_ext_get(weft_loop_t *loop, int key) {
  if (key <= 0 || key >= WEFT__EXT_SLOTS)
    return NULL;
  uv_mutex_lock(&loop->foreign_lock);
  void *value = loop->ext[key].value;
  uv_mutex_unlock(&loop->foreign_lock);
  return value;
}

int weft__loop_ext_set(weft_loop_t *loop, int key, void *value, weft_free_fn cleanup) {
  if (key <= 0 || key >= WEFT__EXT_SLOTS)
    return WEFT_EINVAL;
  uv_mutex_lock(&loop->foreign_lock);
  loop->ext[key].value = value;
  loop->ext[key].cleanup = value != NULL ? cleanup : NULL;
  uv_mutex_unlock(&loop->foreign_lock);
  return 0;
}

void weft__loop_ext_close(weft_loop_t *loop) {
  /* Each slot is emptied before its cleanup runs, outside the lock: a cleanup may come back
   * to the slots. */
  for (int key = 1; key < WEFT__EXT_SLOTS; key++) {
    uv_mutex_lock(&loop->foreign_lock);
    void *value = loop->ext[key].value;
    weft_free_fn cleanup = loop->ext[key].cleanup;
    loop->ext[key].value = NULL;
    loop->ext[key].cleanup = NULL;
    uv_mutex_unlock(&loop->foreign_lock);
    if (value != NULL && cleanup != NULL)
      cleanup(value);
  }
}
