/* TaskGroup: the core's group (weft_taskgroup_*) with a Node task as its parent. The body
 * is index.js's async function; its end is handed to the core's exit future, which the
 * parent awaits like any weft Promise, so that a cancellation of the parent while it waits
 * is the core's "cancelled in exit" case. Which child failed, and in which order, is the
 * core's record (weft_taskgroup_errors). */
#include <stdlib.h>

#include "weft_node.h"

static const napi_type_tag group_tag = {0x77656674100c0010ULL, 0x47726f7570000010ULL};

/* The group outlives its exit only until index.js frees it; a handle collected before that
 * (its environment went away mid-body) frees it then. */
typedef struct {
  weft_taskgroup_t *group;
} wn_group_t;

static void group_free(void *object) {
  wn_group_t *g = object;
  weft_taskgroup_free(g->group);
  free(g);
}

static wn_group_t *group_arg(napi_env env, napi_value value) {
  wn_group_t *g = wn_unwrap(env, value, &group_tag, "TaskGroup handle");
  if (g != NULL && g->group == NULL) {
    wn_throw(env, WEFT_EINVALIDSTATE, "the TaskGroup is finished");
    return NULL;
  }
  return g;
}

static weft_task_t *task_arg(napi_env env, napi_value value, weft_future_t **hold) {
  *hold = wn_task_future_of(env, value);
  if (*hold == NULL)
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a weft Task");
  return *hold == NULL ? NULL : weft_task_from_future(*hold);
}

/* taskgroupEnter(parentTask): a handle for the new group. */
static napi_value enter(napi_env env, napi_callback_info info) {
  napi_value argv[1], handle;
  weft_future_t *hold;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 1, argv, NULL) != 0)
    return NULL;
  weft_task_t *parent = task_arg(env, argv[0], &hold);
  if (parent == NULL)
    return NULL;
  wn_group_t *g = calloc(1, sizeof *g);
  int rc = g == NULL ? WEFT_ENOMEM : weft_taskgroup_enter(parent, &g->group);
  weft_future_release(hold);
  if (rc != 0) {
    free(g);
    return wn_throw(env, rc, NULL);
  }
  if (napi_create_object(env, &handle) != napi_ok ||
      wn_wrap(env, handle, &group_tag, g, group_free) != napi_ok)
    return NULL;
  return handle;
}

/* taskgroupAdd(handle, task) */
static napi_value add(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  weft_future_t *hold;
  wn_group_t *g;
  if (wn_args(env, info, 2, argv, NULL) != 0 || (g = group_arg(env, argv[0])) == NULL)
    return NULL;
  weft_task_t *task = task_arg(env, argv[1], &hold);
  if (task == NULL)
    return NULL;
  int rc = weft_taskgroup_add(g->group, task);
  weft_future_release(hold);
  return rc != 0
             ? wn_throw(env, rc, rc == WEFT_EINVALIDSTATE ? "the TaskGroup is shutting down" : NULL)
             : NULL;
}

/* taskgroupCancel(handle) */
static napi_value cancel(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_group_t *g;
  if (wn_args(env, info, 1, argv, NULL) != 0 || (g = group_arg(env, argv[0])) == NULL)
    return NULL;
  int rc = weft_taskgroup_cancel(g->group);
  return rc != 0 ? wn_throw(env, rc, NULL) : NULL;
}

/* taskgroupExit(handle, bodyErrno): the exit future as a Promise. */
static napi_value exit_(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t body_rc;
  wn_group_t *g;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 2, argv, NULL) != 0 ||
      (g = group_arg(env, argv[0])) == NULL ||
      wn_get_int64(env, argv[1], "the body's outcome must be an error number", &body_rc) != 0)
    return NULL;
  weft_future_t *f;
  int rc = weft_taskgroup_exit(g->group, (int)body_rc, &f);
  if (rc != 0)
    return wn_throw(env, rc, NULL);
  return wn_promise(env, st, f, NULL, NULL, NULL, NULL);
}

/* taskgroupErrors(handle): the failures in order, each a child's error, or null for the
 * body's own (index.js holds that one). */
static napi_value errors(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  wn_group_t *g;
  wn_state_t *st = wn_state(env);
  if (st == NULL || wn_args(env, info, 1, argv, NULL) != 0 || (g = group_arg(env, argv[0])) == NULL)
    return NULL;
  size_t n = weft_taskgroup_errors(g->group, NULL, 0);
  weft_future_t **items = malloc((n > 0 ? n : 1) * sizeof *items);
  if (items == NULL)
    return wn_throw(env, WEFT_ENOMEM, NULL);
  weft_taskgroup_errors(g->group, items, n);
  napi_create_array_with_length(env, n, &out);
  for (size_t i = 0; i < n; i++) {
    napi_value value;
    if (weft_task_from_future(items[i]) != NULL)
      value = wn_future_error_value(env, st, items[i]);
    else
      napi_get_null(env, &value);
    napi_set_element(env, out, (uint32_t)i, value);
  }
  free(items);
  return out;
}

/* taskgroupFree(handle): after the exit settled. */
static napi_value free_(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  wn_group_t *g;
  if (wn_args(env, info, 1, argv, NULL) != 0 || (g = group_arg(env, argv[0])) == NULL)
    return NULL;
  weft_taskgroup_free(g->group);
  g->group = NULL;
  return NULL;
}

napi_status wn_taskgroup_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      WN_METHOD("taskgroupEnter", enter),   WN_METHOD("taskgroupAdd", add),
      WN_METHOD("taskgroupCancel", cancel), WN_METHOD("taskgroupExit", exit_),
      WN_METHOD("taskgroupErrors", errors), WN_METHOD("taskgroupFree", free_),
  };
  return napi_define_properties(env, exports, WN_COUNT(props), props);
}
