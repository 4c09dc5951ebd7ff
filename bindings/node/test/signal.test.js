'use strict';
// { signal } cancels the core future behind an operation.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('aborting a sleep rejects it with a CancelledError', async () => {
  const ac = new AbortController();
  const p = weft.sleep(3600, undefined, { signal: ac.signal });
  await weft.sleep(0);
  ac.abort();
  await assert.rejects(p, weft.CancelledError);
});

test('an already aborted signal cancels at once', async () => {
  await assert.rejects(weft.sleep(3600, undefined, { signal: AbortSignal.abort() }),
                       { code: 'ECANCELLED' });
});

test('an aborted lock acquire withdraws the request: the next waiter gets the lock', async () => {
  const lock = new weft.Lock();
  await lock.acquire();
  const ac = new AbortController();
  const first = lock.acquire({ signal: ac.signal });
  const second = lock.acquire();
  ac.abort();
  await assert.rejects(first, weft.CancelledError);
  lock.release();
  await second;
  assert.ok(lock.locked());
  lock.release();
  assert.ok(!lock.locked());
});

test('an aborted queue get loses no item', async () => {
  const q = new weft.Queue();
  const ac = new AbortController();
  const get = q.get({ signal: ac.signal });
  ac.abort();
  await assert.rejects(get, weft.CancelledError);
  q.putNowait('item');
  assert.strictEqual(await q.get(), 'item');
});

test('aborting a gather cancels its inputs', async () => {
  const ac = new AbortController();
  const inner = weft.sleep(3600);
  const g = weft.gather([inner], { signal: ac.signal });
  ac.abort();
  await assert.rejects(g, weft.CancelledError);
  await assert.rejects(inner, weft.CancelledError);
});

test('shield: aborting the outer leaves the inner running', async () => {
  const ac = new AbortController();
  const inner = weft.sleep(0.001, 'inner');
  const outer = weft.shield(inner, { signal: ac.signal });
  ac.abort();
  await assert.rejects(outer, weft.CancelledError);
  assert.strictEqual(await inner, 'inner');
});

test('the listener is removed once the operation is done', async () => {
  // A stand-in signal that counts its listeners.
  const listeners = new Set();
  const signal = {
    aborted: false,
    addEventListener(type, fn) {
      assert.strictEqual(type, 'abort');
      listeners.add(fn);
    },
    removeEventListener(type, fn) {
      listeners.delete(fn);
    },
  };
  const ops = [];
  for (let i = 0; i < 10; i++) ops.push(weft.sleep(0, undefined, { signal }));
  assert.strictEqual(listeners.size, 10);
  await Promise.all(ops);
  assert.strictEqual(listeners.size, 0);
  // An operation done at once never registers one.
  await new weft.Lock().acquire({ signal });
  assert.strictEqual(listeners.size, 0);
});
