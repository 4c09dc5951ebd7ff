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
