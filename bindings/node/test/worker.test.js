'use strict';
// Each Worker has its own weft on its own loop. Workers terminated while a weft sleep is
// pending exit cleanly (the async clean-up hook closes weft's handles), and so does node.
const test = require('node:test');
const assert = require('node:assert');
const { runScript, terminateWorkers } = require('./helpers.js');

test('two Workers using weft, terminated while a sleep and tasks are pending: clean exit', () => {
  terminateWorkers(`
    (async () => {
      await weft.sleep(0.001);
      const lock = new weft.Lock();
      await lock.acquire();
      lock.acquire(); // pending at termination too
      weft.spawn(async () => { await weft.sleep(3600); }, { name: 'sleeper' });
      weft.spawn(async () => { await new Promise(() => {}); }, { name: 'foreign' });
      weft.sleep(3600).then(() => parentPort.postMessage('woke'));
      ready();
    })();`);
});

test('Workers that finish their weft work exit on their own, in parallel with the main thread', () => {
  const r = runScript(`
    const { Worker } = require('node:worker_threads');
    const body = \`
      const { parentPort } = require('node:worker_threads');
      const weft = require(\${JSON.stringify(${JSON.stringify(require.resolve('..'))})});
      (async () => {
        const q = new weft.Queue();
        setTimeout(() => q.putNowait(41), 1);
        parentPort.postMessage((await q.get()) + 1);
        await weft.sleep(0.001);
      })();\`;
    const results = [];
    let exited = 0;
    (async () => { await weft.sleep(0.001); results.push('main'); })();
    for (let i = 0; i < 3; i++) {
      const w = new Worker(body, { eval: true });
      w.on('message', (m) => results.push(m));
      w.on('exit', (code) => {
        if (code !== 0) process.exitCode = 1;
        if (++exited === 3) console.log(results.sort().join(','));
      });
    }`);
  assert.strictEqual(r.signal, null, r.stderr);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, '42,42,42,main\n');
});

// Terminated while weft keeps them busy (a queue round trip on every iteration): Node-API
// refuses the methods' calls while a Worker stops, and a method that answered `undefined`
// let `for (;;) await q.get()` spin in microtasks, so the Worker never stopped (about one
// run in fifteen). Four at once, terminated 0-9 ms after they start, for 20 rounds.
test('busy Workers terminated right after they start always stop', () => {
  terminateWorkers(`
    for (let i = 0; i < 10; i++) weft.spawn(() => weft.sleep(3600));
    const a = new weft.Queue();
    const b = new weft.Queue();
    (async () => { for (;;) { a.putNowait(1); await b.get(); } })();
    (async () => { for (;;) { await a.get(); b.putNowait(1); } })();
    ready();`, { count: 4, pauses: Array.from({ length: 20 }, (_, round) => round % 10) });
});

// The same with operations done at once, which answer with one Promise resolved in advance
// (src/future.c, wn_promise) rather than through a Node-API call that a stopping Worker
// refuses.
test('Workers terminated while they take a free Lock and put into a Queue with room stop', () => {
  terminateWorkers(`
    const lock = new weft.Lock();
    const q = new weft.Queue(10);
    (async () => {
      for (let i = 0; ; i++) {
        await lock.acquire();
        lock.release();
        if (i % 100 === 0) await weft.sleep(0);
      }
    })();
    (async () => {
      for (let i = 0; ; i++) {
        await q.put(i);
        q.getNowait();
        if (i % 100 === 0) await weft.sleep(0);
      }
    })();
    ready();`, { count: 4, pauses: Array.from({ length: 20 }, (_, round) => round % 10) });
});
