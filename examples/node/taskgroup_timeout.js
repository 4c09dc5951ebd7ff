'use strict';
// Structured concurrency with weft in Node: a TaskGroup of workers fed by a Queue, each job
// under its own timeout, the whole run under an overall deadline; a job that fails brings
// the group down and its error comes out in a TaskGroupError.
//   WEFT_NODE_ADDON=build/dev/bindings/node/weft.node node examples/node/taskgroup_timeout.js
const weft = require('../../bindings/node');

// A job "takes" `cost` seconds; a negative cost fails.
async function runJob(name, cost) {
  if (cost < 0) throw new Error(`job ${name} is broken`);
  await weft.sleep(cost);
  return `${name} done`;
}

async function worker(id, jobs, results) {
  for (;;) {
    let job;
    try {
      job = await jobs.get();
    } catch (err) {
      if (err instanceof weft.QueueShutDown) return; // no more jobs
      throw err;
    }
    try {
      // Each job gets 50 ms; a slow one is reported, and the worker goes on.
      results.push(await weft.timeout(0.05, () => runJob(job.name, job.cost)));
    } catch (err) {
      if (!(err instanceof weft.TimeoutError)) throw err;
      results.push(`${job.name} timed out`);
    } finally {
      jobs.taskDone();
    }
  }
}

async function runBatch(title, batch) {
  const jobs = new weft.Queue();
  for (const job of batch) jobs.putNowait(job);
  jobs.shutdown(); // the workers drain what is queued, then stop
  const results = [];
  try {
    await weft.timeout(5, () => weft.taskGroup(async (group) => {
      for (let id = 0; id < 3; id++) group.spawn(() => worker(id, jobs, results), { name: `worker-${id}` });
    }));
    console.log(`${title}: ${results.sort().join(', ')}`);
  } catch (err) {
    if (!(err instanceof weft.TaskGroupError)) throw err;
    console.log(`${title}: the group failed with ${err.errors.map((e) => e.message).join('; ')}`);
    console.log(`${title}: finished before the failure: ${results.sort().join(', ') || 'none'}`);
  }
}

(async () => {
  await runBatch('batch 1', [
    { name: 'a', cost: 0.001 }, { name: 'b', cost: 0.002 }, { name: 'slow', cost: 3600 },
    { name: 'c', cost: 0 },
  ]);
  await runBatch('batch 2', [{ name: 'x', cost: 3600 }, { name: 'broken', cost: -1 }]);
  console.log(`tasks left: ${weft.allTasks().length}`);
})();
