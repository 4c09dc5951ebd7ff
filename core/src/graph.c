/* Call-graph introspection, as asyncio.capture_call_graph / format_call_graph.
 *
 * Edges come from done callbacks that name an awaiter: a task waiting on a future, a
 * gather or shield built on it, a TaskGroup's parent. Capturing walks them upwards from a
 * future to everything that waits on it. */
#include <stdio.h>
#include <unistd.h>

#include "internal.h"

#define WEFT__GRAPH_MAX_DEPTH 64

struct weft_graph_s {
  weft_future_t *future;
  weft_graph_t **awaited_by;
  size_t count;
};

static int capture(weft_future_t *f, int depth, weft_graph_t **out) {
  weft_graph_t *node = calloc(1, sizeof *node);
  if (node == NULL)
    return WEFT_ENOMEM;
  node->future = weft_future_retain(f);
  *out = node;
  if (depth >= WEFT__GRAPH_MAX_DEPTH) /* a cycle, or absurd nesting: stop here */
    return 0;
  size_t awaiters = 0;
  for (uint32_t i = 0; i < f->ncallbacks; i++)
    awaiters += f->callbacks[i].awaiter != NULL;
  if (awaiters == 0)
    return 0;
  node->awaited_by = calloc(awaiters, sizeof *node->awaited_by);
  if (node->awaited_by == NULL)
    return WEFT_ENOMEM;
  for (uint32_t i = 0; i < f->ncallbacks; i++) {
    if (f->callbacks[i].awaiter == NULL)
      continue;
    int rc = capture(f->callbacks[i].awaiter, depth + 1, &node->awaited_by[node->count++]);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int weft_graph_capture(weft_loop_t *loop, weft_future_t *future, weft_graph_t **out) {
  if (out == NULL)
    return WEFT_EINVAL;
  *out = NULL;
  if (future == NULL) {
    weft_task_t *current = weft_current_task(loop);
    if (current == NULL)
      return loop == NULL ? WEFT_EINVAL : WEFT_ENOTINTASK;
    future = weft_task_future(current);
  }
  int rc = capture(future, 0, out);
  if (rc != 0) {
    weft_graph_free(*out);
    *out = NULL;
  }
  return rc;
}

weft_future_t *weft_graph_future(const weft_graph_t *node) {
  return node == NULL ? NULL : node->future;
}

size_t weft_graph_awaited_by_count(const weft_graph_t *node) {
  return node == NULL ? 0 : node->count;
}

const weft_graph_t *weft_graph_awaited_by(const weft_graph_t *node, size_t index) {
  return node == NULL || index >= node->count ? NULL : node->awaited_by[index];
}

void weft_graph_free(weft_graph_t *graph) {
  if (graph == NULL)
    return;
  for (size_t i = 0; i < graph->count; i++)
    weft_graph_free(graph->awaited_by[i]);
  free(graph->awaited_by);
  weft_future_release(graph->future);
  free(graph);
}

/* ---- Formatting ----------------------------------------------------------------------- */

typedef struct {
  char *buf;
  size_t cap, len;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void put(text_t *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *at = t->len < t->cap ? t->buf + t->len : NULL;
  int n = vsnprintf(at, at != NULL ? t->cap - t->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0)
    t->len += (size_t)n;
}

static void describe_node(text_t *t, const weft_future_t *f) {
  const weft_task_t *task = f->is_task ? (const weft_task_t *)f : NULL;
  if (task != NULL)
    put(t, "Task(name='%s', id=%p)", weft_task_name(task), (const void *)f);
  else
    put(t, "%s(id=%p)", f->cls != NULL ? f->cls->kind : "Future", (const void *)f);
}

static void format_node(text_t *t, const weft_graph_t *node, int indent) {
  put(t, "%*s* ", indent, "");
  describe_node(t, node->future);
  put(t, "\n");
  const weft_task_t *task = weft_task_from_future(node->future);
  if (task != NULL && weft_task_awaiting(task) != NULL) {
    char desc[160];
    weft__future_describe(weft_task_awaiting(task), desc, sizeof desc);
    put(t, "%*s  + awaiting %s\n", indent, "", desc);
  }
  if (node->count > 0) {
    put(t, "%*s  + awaited by:\n", indent, "");
    for (size_t i = 0; i < node->count; i++)
      format_node(t, node->awaited_by[i], indent + 5);
  }
}

size_t weft_graph_format(const weft_graph_t *graph, char *buf, size_t capacity) {
  text_t t = {buf, buf != NULL ? capacity : 0, 0};
  if (t.cap > 0)
    buf[0] = '\0';
  if (graph != NULL)
    format_node(&t, graph, 0);
  return t.len;
}

int weft_graph_print(weft_loop_t *loop, weft_future_t *future, int fd) {
  weft_graph_t *graph;
  int rc = weft_graph_capture(loop, future, &graph);
  if (rc != 0)
    return rc;
  size_t need = weft_graph_format(graph, NULL, 0) + 1;
  char *text = malloc(need);
  if (text == NULL) {
    weft_graph_free(graph);
    return WEFT_ENOMEM;
  }
  weft_graph_format(graph, text, need);
  weft_graph_free(graph);
  size_t done = 0, len = need - 1;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0) {
      free(text);
      return WEFT_EIO;
    }
    done += (size_t)n;
  }
  free(text);
  return 0;
}
