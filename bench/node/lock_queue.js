'use strict';
// Lock and Queue throughput against the npm packages async-mutex (Mutex) and p-queue
// (PQueue), in the same process, interleaved, median of 7 rounds or more (in turn
// first); ns per operation, wall-clock
// and the process's CPU time (user + system).
//   node bench/node/lock_queue.js [operations] [rounds]
// The peers come from bindings/node/dev (ci/deps.sh installs them).
const path = require('node:path');
const weft = require('../../bindings/node');

const dev = path.join(__dirname, '..', '..', 'bindings', 'node', 'dev', 'node_modules');
const { Mutex } = require(path.join(dev, 'async-mutex'));
const N = Number(process.argv[2] || 20000);
const ROUNDS = Number(process.argv[3] || 7);
const WORKERS = 10;

// [wall, cpu] nanoseconds per operation since `start`.
function measure() {
  return [process.hrtime.bigint(), process.cpuUsage()];
}
function since([t0, c0]) {
  const c = process.cpuUsage(c0);
  return [Number(process.hrtime.bigint() - t0) / N, ((c.user + c.system) * 1000) / N];
}

// A lock passed around by WORKERS contenders, each taking it N / WORKERS times.
async function lockRun(acquire, release) {
  const start = measure();
  let shared = 0;
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    for (let i = 0; i < N / WORKERS; i++) {
      await acquire();
      shared++;
      release();
    }
  }));
  if (shared !== N) throw new Error('lost an acquisition');
  return since(start);
}

// Producer/consumer hand-off of N items through a queue, WORKERS consumers.
async function weftQueueRun() {
  const q = new weft.Queue(100);
  const start = measure();
  let got = 0;
  const consumers = Array.from({ length: WORKERS }, async () => {
    for (;;) {
      try {
        await q.get();
      } catch (err) {
        if (err instanceof weft.QueueShutDown) return;
        throw err;
      }
      got++;
    }
  });
  for (let i = 0; i < N; i++) await q.put(i);
  q.shutdown();
  await Promise.all(consumers);
  if (got !== N) throw new Error('lost an item');
  return since(start);
}

// p-queue runs async jobs with a concurrency limit: N trivial jobs, WORKERS at a time,
// added under its back-pressure (onSizeLessThan) as a bounded queue would apply it.
async function pQueueRun(PQueue) {
  const q = new PQueue({ concurrency: WORKERS });
  const start = measure();
  let got = 0;
  for (let i = 0; i < N; i++) {
    if (q.size >= 100) await q.onSizeLessThan(100);
    q.add(async () => { got++; });
  }
  await q.onIdle();
  if (got !== N) throw new Error('lost a job');
  return since(start);
}

(async () => {
  const { default: PQueue } = await import(path.join(dev, 'p-queue', 'dist', 'index.js'));
  const wlock = new weft.Lock();
  const mutex = new Mutex();
  let releaseMutex;
  const peers = {
    'weft Lock (10 contenders)': () => lockRun(() => wlock.acquire(), () => wlock.release()),
    'async-mutex Mutex (10 contenders)': () =>
      lockRun(async () => { releaseMutex = await mutex.acquire(); }, () => releaseMutex()),
    // asyncio's hand-over, which weft's Lock keeps: the woken waiter goes on one loop
    // iteration after release(). async-mutex resumes it inside release(); this peer adds
    // that iteration (a setImmediate) to each acquisition, to show what it costs.
    'async-mutex + an iteration per hand-over': () =>
      lockRun(async () => {
        releaseMutex = await mutex.acquire();
        await new Promise(setImmediate);
      }, () => releaseMutex()),
    'weft Queue(100), 10 consumers': weftQueueRun,
    'p-queue, concurrency 10, 100 queued': () => pQueueRun(PQueue),
  };
  const results = {};
  // Each round starts one peer further on: a run pays part of the garbage of the run before
  // it (p-queue's most), so a fixed order would charge that to the same peer every time.
  const order = Object.entries(peers);
  for (let round = 0; round < ROUNDS; round++)
    for (let k = 0; k < order.length; k++) {
      const [name, run] = order[(round + k) % order.length];
      (results[name] ??= []).push(await run());
    }
  for (const [name, xs] of Object.entries(results)) {
    const median = (i) => xs.map((x) => x[i]).sort((a, b) => a - b)[ROUNDS >> 1];
    console.log(`${name.padEnd(40)} ${median(0).toFixed(0).padStart(7)} ns/op wall ` +
                `${median(1).toFixed(0).padStart(7)} ns/op cpu`);
  }
})();
