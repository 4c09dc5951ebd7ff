'use strict';
// sleep, gather, wait, waitFor and shield come from the core's combinators.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('sleep resolves with its value; a weft Promise carries its core future', async () => {
  const p = weft.sleep(0.001, 'v');
  assert.ok(weft.isFuture(weft.sleep(0)));
  assert.ok(!weft.isFuture(Promise.resolve()));
  assert.strictEqual(await p, 'v');
  assert.strictEqual(await weft.sleep(0), undefined);
});

test('the combinators find a weft Promise made before them, until it settles', async () => {
  // A Promise is named for the combinators on the first lookup that finds it pending
  // (src/future.c, bridges_name): whether it was made before earlier lookups or after.
  const q = new weft.Queue();
  const early = [q.get(), q.get(), q.get()];
  q.putNowait('a');
  assert.strictEqual(await early[0], 'a');
  assert.ok(!weft.isFuture(early[0]));
  assert.ok(weft.isFuture(early[1]));
  const late = q.get();
  assert.ok(weft.isFuture(early[2]) && weft.isFuture(late));
  // Aborting the gather cancels the core futures behind its inputs: they were found.
  const ac = new AbortController();
  const g = weft.gather([early[1], late], { signal: ac.signal });
  ac.abort();
  await assert.rejects(g, weft.CancelledError);
  await assert.rejects(early[1], weft.CancelledError);
  await assert.rejects(late, weft.CancelledError);
  q.putNowait('b');
  assert.strictEqual(await early[2], 'b');
  // Inside a task, index.js's hook names them (promiseMade): the same lookups work.
  await weft.spawn(async () => {
    const inTask = [q.get(), q.get()];
    assert.ok(weft.isFuture(inTask[0]) && weft.isFuture(inTask[1]));
    q.putNowait('c');
    assert.strictEqual(await inTask[0], 'c');
    assert.ok(!weft.isFuture(inTask[0]));
    const ac2 = new AbortController();
    const g2 = weft.gather([inTask[1]], { signal: ac2.signal });
    ac2.abort();
    await assert.rejects(g2, weft.CancelledError);
    await assert.rejects(inTask[1], weft.CancelledError);
    const lock = new weft.Lock();
    const free = lock.acquire(); // settled at once: nothing to find
    assert.ok(!weft.isFuture(free));
    await free;
  });
});

test('gather keeps input order over weft and plain Promises and values', async () => {
  const r = await weft.gather([weft.sleep(0.002, 'slow'), 'now', Promise.resolve(3),
                               weft.sleep(0, 'fast')]);
  assert.deepStrictEqual(r, ['slow', 'now', 3, 'fast']);
  assert.deepStrictEqual(await weft.gather([]), []);
});

test('gather with returnExceptions returns the errors in place', async () => {
  const boom = new Error('boom');
  const r = await weft.gather([weft.sleep(0, 1), Promise.reject(boom),
                               weft.waitFor(weft.sleep(10), 0)], { returnExceptions: true });
  assert.strictEqual(r[0], 1);
  assert.strictEqual(r[1], boom);
  assert.ok(r[2] instanceof weft.TimeoutError);
});

test('gather without returnExceptions fails with the first error', async () => {
  const q = new weft.Queue();
  await assert.rejects(weft.gather([q.get(), Promise.reject(new RangeError('first'))]),
                       RangeError);
});

test('wait FIRST_COMPLETED, ALL_COMPLETED and a timeout', async () => {
  const fast = weft.sleep(0);
  const slow = weft.sleep(3600);
  let { done, pending } = await weft.wait([fast, slow], { returnWhen: weft.FIRST_COMPLETED });
  assert.ok(done.has(fast) && pending.has(slow));
  ({ done, pending } = await weft.wait([slow], { timeout: 0.001 }));
  assert.strictEqual(done.size, 0);
  assert.ok(pending.has(slow));
  const ac = new AbortController();
  const cancelled = weft.sleep(3600, undefined, { signal: ac.signal });
  ac.abort();
  ({ done } = await weft.wait([cancelled], { returnWhen: weft.ALL_COMPLETED }));
  assert.ok(done.has(cancelled));
  await assert.rejects(cancelled, weft.CancelledError);
  // wait never cancels its inputs: end the slow one here.
  await assert.rejects(weft.waitFor(slow, 0), weft.TimeoutError);
  await assert.rejects(slow, weft.CancelledError);
});

test('waitFor passes the result through, or cancels the inner on timeout', async () => {
  assert.strictEqual(await weft.waitFor(weft.sleep(0, 'in time'), 10), 'in time');
  assert.strictEqual(await weft.waitFor(Promise.resolve('plain'), 10), 'plain');
  const inner = weft.sleep(3600);
  await assert.rejects(weft.waitFor(inner, 0.001), weft.TimeoutError);
  await assert.rejects(inner, weft.CancelledError);
});

test('waitFor and shield pass on a pending queue get\'s item (kept beside its future\'s result)', async () => {
  const q = new weft.Queue();
  const viaWaitFor = weft.waitFor(q.get(), 10);
  const viaShield = weft.shield(weft.waitFor(q.get(), null));
  q.putNowait('first');
  q.putNowait({ second: 2 });
  assert.strictEqual(await viaWaitFor, 'first');
  assert.deepStrictEqual(await viaShield, { second: 2 });
  await assert.rejects(weft.waitFor(q.get(), 0.001), weft.TimeoutError);
  q.putNowait('kept');
  assert.strictEqual(q.qsize(), 1); // the timed-out get was cancelled, not left waiting
});
