'use strict';
// Each Worker has its own weft on its own loop. Workers terminated while a weft sleep is
// pending exit cleanly (the async clean-up hook closes weft's handles), and so does node.
const test = require('node:test');
const assert = require('node:assert');
const { runScript } = require('./helpers.js');

test('two Workers using weft, terminated while a sleep and tasks are pending: clean exit', () => {
  const r = runScript(`
    const { Worker } = require('node:worker_threads');
    const body = \`
      const { parentPort } = require('node:worker_threads');
      const weft = require(\${JSON.stringify(require.resolve(${JSON.stringify(require.resolve('..'))}))});
      (async () => {
        await weft.sleep(0.001);
        const lock = new weft.Lock();
        await lock.acquire();
        lock.acquire(); // pending at termination too
        weft.spawn(async () => { await weft.sleep(3600); }, { name: 'sleeper' });
        weft.spawn(async () => { await new Promise(() => {}); }, { name: 'foreign' });
        weft.sleep(3600).then(() => parentPort.postMessage('woke'));
        parentPort.postMessage('sleeping');
      })();\`;
    const workers = [new Worker(body, { eval: true }), new Worker(body, { eval: true })];
    let exited = 0;
    for (const w of workers) {
      w.on('error', (e) => { console.log('error', e); process.exitCode = 1; });
      w.on('message', async (m) => {
        if (m !== 'sleeping') { console.log('unexpected', m); process.exitCode = 1; }
        await w.terminate();
      });
      w.on('exit', () => { if (++exited === 2) console.log('both exited'); });
    }`);
  assert.strictEqual(r.signal, null, r.stderr);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'both exited\n');
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
  const r = runScript(`
    const { Worker } = require('node:worker_threads');
    const body = \`
      const { parentPort } = require('node:worker_threads');
      const weft = require(\${JSON.stringify(${JSON.stringify(require.resolve('..'))})});
      for (let i = 0; i < 10; i++) weft.spawn(() => weft.sleep(3600));
      const a = new weft.Queue();
      const b = new weft.Queue();
      (async () => { for (;;) { a.putNowait(1); await b.get(); } })();
      (async () => { for (;;) { await a.get(); b.putNowait(1); } })();
      parentPort.postMessage('up');\`;
    (async () => {
      for (let round = 0; round < 20; round++) {
        const workers = [];
        for (let k = 0; k < 4; k++) workers.push(new Worker(body, { eval: true }));
        await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
        await new Promise((resolve) => setTimeout(resolve, round % 10));
        await Promise.all(workers.map((w) => w.terminate()));
      }
      console.log('all stopped');
    })();`);
  assert.strictEqual(r.signal, null, r.stderr);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.status, 0);
  assert.strictEqual(r.stdout, 'all stopped\n');
});
