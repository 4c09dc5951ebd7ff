'use strict';
// One kind of awaited operation, N times, and nothing else: the workload that
// callgrind_ops.sh counts instructions over (and `strace -c -e epoll_pwait` loop iterations).
//   node bench/node/op_loop.js KIND N [WIDTH]
// KIND: queue (a Queue.get() served at once by putNowait), sleep (weft.sleep(0)), immediate
// (`new Promise(setImmediate)`), lock / semaphore / mutex (10 contenders passing a weft Lock /
// a weft Semaphore(1) / an async-mutex Mutex; mutex_iter: async-mutex with one loop
// iteration added per hand-over, as asyncio's and weft's Lock take), queue100 (lock_queue.js's Queue(100) with 10 consumers),
// task_sleep (one weft task awaiting weft.sleep(0)). WIDTH: how many in flight for queue,
// sleep and immediate (1 by default).
const path = require('node:path');
const weft = require('../../bindings/node');

const [kind, nArg, widthArg] = process.argv.slice(2);
const N = Number(nArg);
const WIDTH = Number(widthArg || 1);
const CONTENDERS = 10;

const queue = new weft.Queue();
const single = {
  queue: () => {
    const p = queue.get();
    queue.putNowait(1);
    return p;
  },
  sleep: () => weft.sleep(0),
  immediate: () => new Promise(setImmediate),
};

async function contend(acquire, release) {
  await Promise.all(Array.from({ length: CONTENDERS }, async () => {
    for (let i = 0; i < N / CONTENDERS; i++) {
      await acquire();
      release();
    }
  }));
}

async function queue100() {
  const q = new weft.Queue(100);
  const consumers = Array.from({ length: CONTENDERS }, async () => {
    for (;;) {
      try {
        await q.get();
      } catch (err) {
        if (err instanceof weft.QueueShutDown) return;
        throw err;
      }
    }
  });
  for (let i = 0; i < N; i++) await q.put(i);
  q.shutdown();
  await Promise.all(consumers);
}

async function main() {
  if (kind === 'lock') {
    const lock = new weft.Lock();
    return contend(() => lock.acquire(), () => lock.release());
  }
  if (kind === 'semaphore') {
    const sem = new weft.Semaphore(1);
    return contend(() => sem.acquire(), () => sem.release());
  }
  if (kind === 'mutex' || kind === 'mutex_iter') {
    const dev = path.join(__dirname, '..', '..', 'bindings', 'node', 'dev', 'node_modules');
    const { Mutex } = require(path.join(dev, 'async-mutex'));
    const mutex = new Mutex();
    let release;
    if (kind === 'mutex_iter')
      return contend(async () => {
        release = await mutex.acquire();
        await new Promise(setImmediate);
      }, () => release());
    return contend(async () => { release = await mutex.acquire(); }, () => release());
  }
  if (kind === 'queue100') return queue100();
  if (kind === 'task_sleep')
    return weft.spawn(async () => {
      for (let i = 0; i < N; i++) await weft.sleep(0);
    });
  const make = single[kind];
  if (make === undefined) throw new Error(`unknown KIND ${kind}`);
  for (let r = 0; r < N / WIDTH; r++) {
    const ps = new Array(WIDTH);
    for (let i = 0; i < WIDTH; i++) ps[i] = make();
    await Promise.all(ps);
  }
}

main();
