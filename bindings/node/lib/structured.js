'use strict';
// What lib/taskgroup.js and lib/timeout.js share: a block runs in the current task, or in
// a task of its own when called outside any (the core's group and timeout belong to a
// task, as asyncio's do).
function inTask(ctx, block) {
  const parent = ctx.currentTask();
  if (parent !== null) return block(parent);
  const task = ctx.spawn(() => block(ctx.currentTask()));
  return new Promise((resolve, reject) => task.then(resolve, reject));
}

// The core errno a thrown value stands for: a weft or system error's, else EUNKNOWN.
function errnoOf(ctx, err) {
  const n = err?.errno;
  return Number.isInteger(n) && n < 0 ? n : ctx.codes.EUNKNOWN;
}

module.exports = { inTask, errnoOf };
