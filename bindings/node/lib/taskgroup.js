'use strict';
// TaskGroup, as asyncio.TaskGroup, on the core's group (src/taskgroup.c): the first child to
// fail cancels its siblings and the body; the block ends once every child is done, and
// fails with a TaskGroupError (an AggregateError) holding the failures in order.
const { inTask, errnoOf } = require('./structured.js');

module.exports = function taskGroupApi(ctx) {
  const { native } = ctx;
  const kHandle = Symbol('weft.taskGroupHandle');
  const kFinished = Symbol('weft.taskGroupFinished');

  class TaskGroupError extends AggregateError {
    constructor(errors, message = 'unhandled errors in a TaskGroup') {
      super(errors, `${message} (${errors.length} sub-error${errors.length === 1 ? '' : 's'})`);
      this.code = 'EGROUP';
      this.errno = ctx.codes.EGROUP;
    }
    get name() {
      return 'TaskGroupError';
    }
  }

  class TaskGroup {
    constructor() {
      throw new TypeError('TaskGroups are made by weft.taskGroup()');
    }

    /** Spawns fn(task) as a child of the group. */
    spawn(fn, options) {
      // Refused before a task is made for nothing (the core refuses too, once shutting down).
      if (this[kFinished]) throw new ctx.InvalidStateError('the TaskGroup is finished', 'EINVALIDSTATE');
      const task = ctx.spawn(fn, options);
      try {
        native.taskgroupAdd(this[kHandle], task);
      } catch (err) {
        task.cancel();
        throw err;
      }
      return task;
    }

    /** Cancels the children and the body; the block then ends without a CancelledError. */
    cancel() {
      native.taskgroupCancel(this[kHandle]);
    }
  }

  async function run(parent, body) {
    const handle = native.taskgroupEnter(parent);
    const group = Object.create(TaskGroup.prototype);
    group[kHandle] = handle;
    let result;
    let bodyError;
    let bodyErrno = 0;
    try {
      result = await body(group);
    } catch (err) {
      bodyError = err;
      bodyErrno = errnoOf(ctx, err);
    }
    try {
      await native.taskgroupExit(handle, bodyErrno);
    } catch (err) {
      if (err?.code !== 'EGROUP') throw err;
      const errors = native.taskgroupErrors(handle).map((e) => (e === null ? bodyError : e));
      throw new TaskGroupError(errors);
    } finally {
      group[kFinished] = true;
      native.taskgroupFree(handle);
    }
    // The body's own cancellation by the group (a group.cancel()) ends the block normally.
    return result;
  }

  /** Runs body(group) in the current task (or a new one) as asyncio's `async with TaskGroup()`. */
  function taskGroup(body) {
    if (typeof body !== 'function') throw new TypeError('taskGroup() needs a function');
    return inTask(ctx, (parent) => run(parent, body));
  }

  return { TaskGroup, TaskGroupError, taskGroup };
};
