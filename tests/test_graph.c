/* Call graphs, as asyncio.capture_call_graph / format_call_graph / print_call_graph. */
#include "weft_test.h"

#include <unistd.h>

typedef struct {
  weft_future_t *gather;
  weft_task_t *parent;
  char text[2048];
  int checked;
} chain_t;

static int capturing_child(weft_task_t *self, void *arg) {
  chain_t *c = arg;
  /* Let the parent reach its await of the gather. */
  ASSERT_OK(weft_sleep_await(weft_test_loop_of(self), 0.01));
  weft_graph_t *graph;
  ASSERT_OK(weft_graph_capture(weft_test_loop_of(self), NULL, &graph));
  ASSERT_PTR_EQ(weft_graph_future(graph), weft_task_future(self));
  ASSERT_EQ(weft_graph_awaited_by_count(graph), 1);
  const weft_graph_t *by = weft_graph_awaited_by(graph, 0);
  ASSERT_PTR_EQ(weft_graph_future(by), c->gather);
  ASSERT_EQ(weft_graph_awaited_by_count(by), 1);
  const weft_graph_t *top = weft_graph_awaited_by(by, 0);
  ASSERT_PTR_EQ(weft_graph_future(top), weft_task_future(c->parent));
  ASSERT_EQ(weft_graph_awaited_by_count(top), 0);
  ASSERT_TRUE(weft_graph_awaited_by(top, 0) == NULL);
  size_t need = weft_graph_format(graph, c->text, sizeof c->text);
  ASSERT_TRUE(need > 0 && need < sizeof c->text);
  ASSERT_EQ(strlen(c->text), need);
  weft_graph_free(graph);
  c->checked++;
  return 0;
}

static int idle_child(weft_task_t *self, void *arg) {
  (void)arg;
  return weft_sleep_await(weft_test_loop_of(self), 0.05);
}

static int chain_main(weft_task_t *self, void *arg) {
  chain_t *c = arg;
  c->parent = self;
  weft_task_options_t a = {.size = sizeof a, .name = "child-a"};
  weft_task_options_t b = {.size = sizeof b, .name = "child-b"};
  weft_task_t *ta, *tb;
  ASSERT_OK(weft_task_spawn(weft_test_loop_of(self), capturing_child, c, &a, &ta));
  ASSERT_OK(weft_task_spawn(weft_test_loop_of(self), idle_child, NULL, &b, &tb));
  weft_future_t *fs[2] = {weft_task_future(ta), weft_task_future(tb)};
  ASSERT_OK(weft_gather(weft_test_loop_of(self), fs, 2, 0, &c->gather));
  ASSERT_OK(weft_await(c->gather));
  weft_future_release(c->gather);
  weft_task_release(ta);
  weft_task_release(tb);
  return 0;
}

/* A task awaiting a gather of two tasks: captured from a child, the graph goes child ->
 * gather -> parent, and the formatted text names the tasks. */
WEFT_TEST(gather_chain) {
  chain_t c = {0};
  ASSERT_OK(weft_test_run_task(chain_main, &c, "parent"));
  ASSERT_EQ(c.checked, 1);
  ASSERT_TRUE(strstr(c.text, "child-a") != NULL);
  ASSERT_TRUE(strstr(c.text, "parent") != NULL);
  ASSERT_TRUE(strstr(c.text, "gather") != NULL);
  ASSERT_TRUE(strstr(c.text, "awaited by") != NULL);
  /* The child comes before the gather, which comes before the parent. */
  ASSERT_TRUE(strstr(c.text, "child-a") < strstr(c.text, "gather"));
  ASSERT_TRUE(strstr(c.text, "gather") < strstr(c.text, "parent"));
}

static int waiter_main(weft_task_t *self, void *arg) {
  weft_future_t *f = arg;
  return weft_await(f);
}

static void capture_future_cb(void *arg) {
  weft_future_t *f = arg;
  weft_graph_t *graph;
  ASSERT_OK(weft_graph_capture(weft_future_loop(f), f, &graph));
  ASSERT_PTR_EQ(weft_graph_future(graph), f);
  ASSERT_EQ(weft_graph_awaited_by_count(graph), 1);
  weft_task_t *t = weft_task_from_future(weft_graph_future(weft_graph_awaited_by(graph, 0)));
  ASSERT_TRUE(t != NULL);
  ASSERT_STREQ(weft_task_name(t), "waiter");
  /* The formatted text says what the task awaits. */
  char text[1024];
  weft_graph_format(graph, text, sizeof text);
  ASSERT_TRUE(strstr(text, "waiter") != NULL);
  /* Truncated: always terminated, and the length needed is still returned. */
  char small[8];
  size_t need = weft_graph_format(graph, small, sizeof small);
  ASSERT_EQ(need, strlen(text));
  ASSERT_EQ(strlen(small), sizeof small - 1);
  ASSERT_EQ(weft_graph_format(graph, NULL, 0), need);
  weft_graph_free(graph);
  ASSERT_OK(weft_future_set_result(f, weft_value_none()));
}

/* Capturing a plain future shows the task that awaits it. */
WEFT_TEST(capture_future) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_future_t *f;
  ASSERT_OK(weft_future_new(loop, &f));
  weft_task_options_t options = {.size = sizeof options, .name = "waiter"};
  weft_task_t *task;
  ASSERT_OK(weft_task_spawn(loop, waiter_main, f, &options, &task));
  ASSERT_OK(weft_call_later(loop, 0.01, capture_future_cb, f, NULL));
  ASSERT_OK(weft_loop_run_until_complete(loop, weft_task_future(task)));
  weft_task_release(task);
  weft_future_release(f);
  weft_test_close_loop(loop);
}

/* capture_call_graph() with no future needs a current task. */
WEFT_TEST(capture_outside_task) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_graph_t *graph = (weft_graph_t *)&graph;
  ASSERT_CODE(weft_graph_capture(loop, NULL, &graph), WEFT_ENOTINTASK);
  ASSERT_TRUE(graph == NULL);
  ASSERT_CODE(weft_graph_print(loop, NULL, 2), WEFT_ENOTINTASK);
  weft_test_close_loop(loop);
}

static int print_main(weft_task_t *self, void *arg) {
  int *fds = arg;
  ASSERT_OK(weft_graph_print(weft_test_loop_of(self), NULL, fds[1]));
  return 0;
}

/* print_call_graph writes the formatted graph to a file descriptor. */
WEFT_TEST(print_to_pipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_OK(weft_test_run_task(print_main, fds, "printer"));
  close(fds[1]);
  char text[1024];
  ssize_t n = read(fds[0], text, sizeof text - 1);
  close(fds[0]);
  ASSERT_TRUE(n > 0);
  text[n] = '\0';
  ASSERT_TRUE(strstr(text, "printer") != NULL);
}

static int group_child(weft_task_t *self, void *arg) {
  char *text = arg;
  weft_graph_t *graph;
  ASSERT_OK(weft_graph_capture(weft_test_loop_of(self), NULL, &graph));
  ASSERT_EQ(weft_graph_awaited_by_count(graph), 1);
  weft_graph_format(graph, text, 1024);
  weft_graph_free(graph);
  return 0;
}

static int group_main(weft_task_t *self, void *arg) {
  weft_taskgroup_t *group;
  ASSERT_OK(weft_taskgroup_enter(self, &group));
  weft_task_options_t options = {.size = sizeof options, .name = "grouped"};
  ASSERT_OK(weft_taskgroup_spawn(group, group_child, arg, &options, NULL));
  ASSERT_OK(weft_taskgroup_exit_await(group, 0));
  weft_taskgroup_free(group);
  return 0;
}

/* A TaskGroup's child is awaited by the group's parent task. */
WEFT_TEST(taskgroup_child_awaited_by_parent) {
  char text[1024] = "";
  ASSERT_OK(weft_test_run_task(group_main, text, "owner"));
  ASSERT_TRUE(strstr(text, "grouped") != NULL);
  ASSERT_TRUE(strstr(text, "owner") != NULL);
}

WEFT_TEST(null_arguments) {
  weft_loop_t *loop;
  ASSERT_OK(weft_loop_new(&loop));
  weft_graph_t *graph = (weft_graph_t *)&graph;
  ASSERT_CODE(weft_graph_capture(NULL, NULL, &graph), WEFT_EINVAL);
  ASSERT_TRUE(graph == NULL);
  ASSERT_CODE(weft_graph_capture(loop, NULL, NULL), WEFT_EINVAL);
  ASSERT_TRUE(weft_graph_future(NULL) == NULL);
  ASSERT_EQ(weft_graph_awaited_by_count(NULL), 0);
  ASSERT_TRUE(weft_graph_awaited_by(NULL, 0) == NULL);
  char buf[4] = "xyz";
  ASSERT_EQ(weft_graph_format(NULL, buf, sizeof buf), 0);
  ASSERT_STREQ(buf, "");
  ASSERT_EQ(weft_graph_format(NULL, NULL, 0), 0);
  ASSERT_CODE(weft_graph_print(NULL, NULL, 2), WEFT_EINVAL);
  weft_graph_free(NULL);
  weft_test_close_loop(loop);
}
