/* Call-graph introspection, as asyncio's graph module: who awaits whom.
 *
 * A captured graph is a tree rooted at a future or task: each node names the future it
 * stands for, what that task awaits now, and the nodes that await it (a task awaiting it,
 * a gather or shield built on it, a TaskGroup's parent). */
#ifndef WEFT_GRAPH_H
#define WEFT_GRAPH_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_graph_s weft_graph_t;

/* Captures the graph of `future`, or of the current task when future is NULL. */
WEFT_API int weft_graph_capture(weft_loop_t *loop, weft_future_t *future, weft_graph_t **out);
/* The node's future (borrowed from the graph, which holds a reference). */
WEFT_API weft_future_t *weft_graph_future(const weft_graph_t *node);
WEFT_API size_t weft_graph_awaited_by_count(const weft_graph_t *node);
WEFT_API const weft_graph_t *weft_graph_awaited_by(const weft_graph_t *node, size_t index);
/* Formats the tree as asyncio.format_call_graph does, into buf (always NUL-terminated when
 * capacity > 0). Returns the length the whole text needs, as snprintf. */
WEFT_API size_t weft_graph_format(const weft_graph_t *graph, char *buf, size_t capacity);
/* Writes the formatted graph of `future` (NULL: the current task) to a file descriptor. */
WEFT_API int weft_graph_print(weft_loop_t *loop, weft_future_t *future, int fd);
WEFT_API void weft_graph_free(weft_graph_t *graph);

#ifdef __cplusplus
}
#endif
#endif
