'use strict';
// Errors are Error subclasses whose `code` and `errno` come from the core's table.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('the code table is the core\'s', () => {
  assert.strictEqual(weft.codes.ECANCELLED, -3001);
  assert.strictEqual(weft.codes.ECONNREFUSED, -111);
  assert.strictEqual(weft.codes.EQUEUESHUTDOWN, -3007);
  for (const [name, errno] of Object.entries(weft.codes)) {
    assert.match(name, /^E[A-Z0-9_]+$/);
    assert.ok(Number.isInteger(errno) && errno < 0, name);
  }
});

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

function thrown(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

test('cancellation is a CancelledError with code ECANCELLED', async () => {
  const err = await rejection(weft.sleep(10, undefined, { signal: AbortSignal.abort() }));
  assert.ok(err instanceof weft.CancelledError);
  assert.ok(err instanceof weft.WeftError);
  assert.ok(err instanceof Error);
  assert.strictEqual(err.name, 'CancelledError');
  assert.strictEqual(err.code, 'ECANCELLED');
  assert.strictEqual(err.errno, weft.codes.ECANCELLED);
});

test('waitFor past its timeout is a TimeoutError (ETIMEDOUT)', async () => {
  const err = await rejection(weft.waitFor(weft.sleep(10), 0.001));
  assert.ok(err instanceof weft.TimeoutError);
  assert.strictEqual(err.code, 'ETIMEDOUT');
});

test('queue errors', async () => {
  const q = new weft.Queue(1);
  let err = thrown(() => q.getNowait());
  assert.ok(err instanceof weft.QueueEmpty);
  assert.strictEqual(err.code, 'EQUEUEEMPTY');
  q.putNowait('a');
  err = thrown(() => q.putNowait('b'));
  assert.ok(err instanceof weft.QueueFull);
  assert.strictEqual(err.code, 'EQUEUEFULL');
  q.shutdown();
  err = await rejection(q.put('c'));
  assert.ok(err instanceof weft.QueueShutDown);
  assert.strictEqual(err.code, 'EQUEUESHUTDOWN');
});

test('a broken barrier is a BrokenBarrierError', async () => {
  const b = new weft.Barrier(2);
  const waiting = b.wait();
  await b.abort();
  const err = await rejection(waiting);
  assert.ok(err instanceof weft.BrokenBarrierError);
  assert.strictEqual(err.code, 'EBROKENBARRIER');
});

test('releasing an unlocked Lock is an InvalidStateError', () => {
  const err = thrown(() => new weft.Lock().release());
  assert.ok(err instanceof weft.InvalidStateError);
  assert.strictEqual(err.code, 'EINVALIDSTATE');
});

test('bad input throws a TypeError or RangeError, never crashes', () => {
  assert.throws(() => weft.sleep('soon'), TypeError);
  assert.throws(() => weft.sleep(1, undefined, { signal: 42 }), TypeError);
  assert.throws(() => weft.Lock.prototype.acquire.call({}), TypeError);
  assert.throws(() => weft.Queue.prototype.get.call(new weft.Lock()), TypeError);
  assert.throws(() => new weft.Condition({}), TypeError);
  assert.throws(() => new weft.Semaphore(-1), RangeError);
  assert.throws(() => new weft.Barrier(0), RangeError);
  assert.throws(() => weft.gather(42), TypeError);
  assert.throws(() => weft.wait([]), TypeError);
});

test('a rejection that is not weft\'s keeps its own error through gather', async () => {
  const mine = new Error('mine');
  const err = await rejection(weft.gather([weft.sleep(0.001), Promise.reject(mine)]));
  assert.strictEqual(err, mine);
});

test('constructors need new; subclasses are instances of their family', () => {
  assert.throws(() => weft.Lock(), TypeError);
  assert.throws(() => weft.Queue(), TypeError);
  assert.ok(new weft.LifoQueue() instanceof weft.Queue);
  assert.ok(new weft.PriorityQueue() instanceof weft.Queue);
  assert.ok(new weft.BoundedSemaphore() instanceof weft.Semaphore);
});

test('every constructor refuses a call without new', () => {
  for (const C of [weft.Lock, weft.Event, weft.Condition, weft.Semaphore, weft.BoundedSemaphore,
                   weft.Barrier, weft.Queue, weft.LifoQueue, weft.PriorityQueue]) {
    assert.throws(() => C(2), TypeError, C.name);
  }
});
