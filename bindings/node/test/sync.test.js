'use strict';
// The synchronization primitives and queues, driven by the core.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('Lock: waiters get the lock in FIFO order', async () => {
  const lock = new weft.Lock();
  const order = [];
  await lock.acquire();
  const waiters = [1, 2, 3].map((i) => lock.acquire().then(() => {
    order.push(i);
    lock.release();
  }));
  lock.release();
  await Promise.all(waiters);
  assert.deepStrictEqual(order, [1, 2, 3]);
  assert.ok(!lock.locked());
});

test('Event: wait resolves on set; clear resets', async () => {
  const ev = new weft.Event();
  assert.ok(!ev.isSet());
  const w = ev.wait();
  ev.set();
  await w;
  assert.ok(ev.isSet());
  await ev.wait(); // set: at once
  ev.clear();
  assert.ok(!ev.isSet());
});

test('Condition: notify wakes a waiter, which holds the lock again', async () => {
  const cond = new weft.Condition();
  await cond.acquire();
  const woken = cond.wait().then(() => {
    assert.ok(cond.locked());
    cond.release();
    return 'woken';
  });
  await weft.sleep(0); // the waiter releases the lock and waits
  assert.ok(!cond.locked());
  await cond.acquire();
  cond.notify();
  cond.release();
  assert.strictEqual(await woken, 'woken');
  assert.throws(() => cond.notify(), weft.InvalidStateError);
});

test('Condition.waitFor: checks at once, then after each notify; resolves with the value', async () => {
  const cond = new weft.Condition();
  let value = 0;
  await cond.acquire();
  assert.strictEqual(await cond.waitFor(() => 'ready'), 'ready'); // true at once: no wait
  cond.release();
  const calls = [];
  const waiter = weft.spawn(async () => {
    await cond.acquire();
    try {
      return await cond.waitFor(() => {
        calls.push(value);
        assert.ok(cond.locked());
        return value >= 2 && value;
      });
    } finally {
      cond.release();
    }
  });
  for (let i = 1; i <= 2; i++) {
    for (let n = 0; n < 100 && calls.length < i; n++) await weft.sleep(0);
    assert.strictEqual(calls.length, i);
    await cond.acquire(); // free once the waiter waits
    value = i;
    cond.notify();
    cond.release();
  }
  assert.strictEqual(await waiter, 2);
  assert.deepStrictEqual(calls, [0, 1, 2]);
  // Without the lock it fails as wait() does, unless the predicate is already true.
  await assert.rejects(cond.waitFor(() => false), weft.InvalidStateError);
  assert.throws(() => cond.waitFor(42), TypeError);
});

test('Condition.waitFor is cancelled as wait() is, by its signal or its task', async () => {
  const cond = new weft.Condition();
  await cond.acquire();
  const ac = new AbortController();
  const w = cond.waitFor(() => false, { signal: ac.signal });
  ac.abort();
  await assert.rejects(w, weft.CancelledError);
  assert.ok(cond.locked()); // re-acquired before the CancelledError, as asyncio
  cond.release();
  const task = weft.spawn(async () => {
    await cond.acquire();
    try {
      return await cond.waitFor(() => false);
    } finally {
      cond.release();
    }
  });
  await weft.sleep(0);
  task.cancel();
  await assert.rejects(task, weft.CancelledError);
  assert.ok(!cond.locked());
});

test('Condition over a given Lock shares it', async () => {
  const lock = new weft.Lock();
  const cond = new weft.Condition(lock);
  await cond.acquire();
  assert.ok(lock.locked());
  cond.release();
  assert.ok(!lock.locked());
});

test('Semaphore and BoundedSemaphore', async () => {
  const sem = new weft.Semaphore(2);
  await sem.acquire();
  await sem.acquire();
  assert.ok(sem.locked());
  assert.strictEqual(sem.value, 0);
  const third = sem.acquire();
  sem.release();
  await third;
  sem.release();
  sem.release();
  assert.strictEqual(sem.value, 2);
  const bounded = new weft.BoundedSemaphore(1);
  assert.throws(() => bounded.release(), weft.InvalidStateError);
});

test('Barrier: parties pass together with their arrival indexes', async () => {
  const b = new weft.Barrier(3);
  assert.strictEqual(b.parties, 3);
  const waits = [b.wait(), b.wait()];
  await weft.sleep(0);
  assert.strictEqual(b.nWaiting, 2);
  waits.push(b.wait());
  assert.deepStrictEqual((await Promise.all(waits)).sort(), [0, 1, 2]);
  assert.ok(!b.broken);
});

test('Queue, LifoQueue and PriorityQueue orders; any JS value as an item', async () => {
  const fifo = new weft.Queue();
  const lifo = new weft.LifoQueue();
  const prio = new weft.PriorityQueue();
  const items = [{ a: 1 }, 'two', 3, null, undefined, 5n, -0, NaN, 1.5, 2 ** 60];
  for (const [i, item] of items.entries()) {
    fifo.putNowait(item);
    lifo.putNowait(item);
    prio.putNowait(item, -i);
  }
  assert.strictEqual(fifo.qsize(), items.length);
  for (const item of items) assert.strictEqual(await fifo.get(), item);
  for (const item of [...items].reverse()) assert.strictEqual(await lifo.get(), item);
  for (const item of [...items].reverse()) assert.strictEqual(prio.getNowait(), item);
  assert.ok(fifo.empty() && lifo.empty() && prio.empty());
});

test('Queue: a bounded put waits for room; join waits for taskDone', async () => {
  const q = new weft.Queue(1);
  assert.strictEqual(q.maxsize, 1);
  await q.put('a');
  assert.ok(q.full());
  const put = q.put('b');
  assert.strictEqual(await q.get(), 'a');
  await put;
  assert.strictEqual(await q.get(), 'b');
  let joined = false;
  const join = q.join().then(() => (joined = true));
  q.taskDone();
  await weft.sleep(0);
  assert.ok(!joined);
  q.taskDone();
  await join;
  assert.throws(() => q.taskDone(), weft.InvalidStateError);
});

test('Queue.shutdown: getters drain then fail; immediate fails waiting getters at once', async () => {
  const q = new weft.Queue();
  q.putNowait(1);
  q.shutdown();
  assert.ok(q.isShutdown);
  assert.throws(() => q.putNowait(2), weft.QueueShutDown);
  assert.strictEqual(await q.get(), 1);
  await assert.rejects(q.get(), weft.QueueShutDown);

  const r = new weft.Queue();
  const waiting = r.get();
  r.putNowait('x'); // taken by the waiting getter
  assert.strictEqual(await waiting, 'x');
  const again = r.get();
  r.putNowait('lost');
  r.shutdown(true);
  // As in asyncio: the woken getter had not taken 'lost' yet; the immediate shutdown
  // dropped it, and the getter fails.
  await assert.rejects(again, weft.QueueShutDown);
  await assert.rejects(r.get(), weft.QueueShutDown);
});

test('Lock and Queue methods find their own object, whichever was called last', async () => {
  // Their methods remember the last receiver (src/module.c, wn_unwrap_recent).
  const a = new weft.Queue();
  const b = new weft.LifoQueue();
  for (let i = 0; i < 3; i++) {
    a.putNowait(`a${i}`);
    b.putNowait(`b${i}`);
  }
  assert.deepStrictEqual([a.getNowait(), b.getNowait(), a.getNowait(), b.getNowait()],
                         ['a0', 'b2', 'a1', 'b1']);
  const la = new weft.Lock();
  const lb = new weft.Lock();
  await la.acquire();
  await lb.acquire();
  lb.release();
  assert.ok(la.locked() && !lb.locked());
  assert.throws(() => weft.Queue.prototype.getNowait.call(la), TypeError);
  assert.throws(() => weft.Lock.prototype.release.call(a), TypeError);
  assert.throws(() => weft.Lock.prototype.release.call({}), TypeError);
  la.release();
  assert.ok(!la.locked());
  // The remembered object collected: the next one is found afresh (and nothing freed is read).
  const v8 = require('node:v8');
  const vm = require('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  (() => {
    const q = new weft.Queue();
    q.putNowait(1);
    q.getNowait();
  })();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise(setImmediate);
  }
  const q2 = new weft.Queue();
  q2.putNowait(2);
  assert.strictEqual(q2.getNowait(), 2);
});

test("A Lock's acquire and release work apart from it; a subclass's overrides are kept", async () => {
  // A Lock has its own acquire and release (src/module.c, wn_own_methods), bound to it.
  const lock = new weft.Lock();
  const { acquire, release } = lock;
  await acquire();
  assert.ok(lock.locked());
  release();
  assert.ok(!lock.locked());
  assert.deepStrictEqual(Object.keys(lock), []);
  await weft.Lock.prototype.acquire.call(lock);
  weft.Lock.prototype.release.call(lock);
  assert.throws(() => release(), { code: 'EINVALIDSTATE' });
  const aborted = AbortSignal.abort();
  await lock.acquire();
  await assert.rejects(acquire({ signal: aborted }), weft.CancelledError);
  assert.throws(() => acquire(1), TypeError);
  release();

  const calls = [];
  class Logged extends weft.Lock {
    async acquire(options) {
      calls.push('acquire');
      return super.acquire(options);
    }
    release() {
      calls.push('release');
      super.release();
    }
  }
  const logged = new Logged();
  await logged.acquire();
  logged.release();
  assert.deepStrictEqual(calls, ['acquire', 'release']);
  assert.ok(!logged.locked());

  // The functions hold the core lock: a Lock collected while one of them lives on is usable
  // through it.
  const v8 = require('node:v8');
  const vm = require('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  let kept = (() => {
    const l = new weft.Lock();
    return { acquire: l.acquire, release: l.release };
  })();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise(setImmediate);
  }
  await kept.acquire();
  kept.release();
  assert.throws(() => kept.release(), { code: 'EINVALIDSTATE' });
  kept = null;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise(setImmediate);
  }
});

test("A queue's put, putNowait, get and getNowait work apart from it; subclasses keep theirs", async () => {
  for (const Kind of [weft.Queue, weft.LifoQueue, weft.PriorityQueue]) {
    const q = new Kind(1);
    const { put, putNowait, get, getNowait } = q;
    await put('a');
    assert.throws(() => putNowait('b'), weft.QueueFull);
    assert.strictEqual(await get(), 'a');
    putNowait('c');
    assert.strictEqual(getNowait(), 'c');
    assert.throws(() => getNowait(), weft.QueueEmpty);
    const waiting = get();
    await put('d');
    assert.strictEqual(await waiting, 'd');
    await assert.rejects(get({ signal: AbortSignal.abort() }), weft.CancelledError);
    assert.throws(() => put('e', 1), TypeError);
    assert.deepStrictEqual(Object.keys(q), []);
  }
  const p = new weft.PriorityQueue();
  p.putNowait('low', 5);
  p.putNowait('high', 1);
  const { getNowait } = p;
  assert.deepStrictEqual([getNowait(), getNowait()], ['high', 'low']);

  const calls = [];
  class Counted extends weft.PriorityQueue {
    put(item, options) {
      calls.push(`put ${item}`);
      return super.put(item, options);
    }
    get(options) {
      calls.push('get');
      return super.get(options);
    }
  }
  const counted = new Counted();
  await counted.put('x', { priority: 2 });
  assert.strictEqual(await counted.get(), 'x');
  assert.deepStrictEqual(calls, ['put x', 'get']);
});

test("A semaphore's acquire and release work apart from it; a subclass's overrides are kept", async () => {
  for (const Kind of [weft.Semaphore, weft.BoundedSemaphore]) {
    const sem = new Kind(1);
    const { acquire, release } = sem;
    await acquire();
    assert.ok(sem.locked());
    const waiting = acquire();
    release();
    await waiting;
    await assert.rejects(acquire({ signal: AbortSignal.abort() }), weft.CancelledError);
    release();
    assert.strictEqual(sem.value, 1);
    assert.deepStrictEqual(Object.keys(sem), []);
  }
  assert.throws(() => new weft.BoundedSemaphore(1).release(), /released too many times/);
  const calls = [];
  class Counted extends weft.BoundedSemaphore {
    acquire(options) {
      calls.push('acquire');
      return super.acquire(options);
    }
  }
  const counted = new Counted(2);
  await counted.acquire();
  assert.deepStrictEqual(calls, ['acquire']);
  assert.strictEqual(counted.value, 1);
});

test('Operations done at once with nothing to give answer with one resolved Promise', async () => {
  // src/future.c, wn_promise: no Node-API Promise made and resolved for them.
  const lock = new weft.Lock();
  const q = new weft.Queue();
  const taken = lock.acquire(); // free: done at once
  const put = q.put(1); // room: done at once
  assert.strictEqual(taken, put);
  assert.strictEqual(await taken, undefined);
  assert.ok(lock.locked());
  assert.strictEqual(q.getNowait(), 1);
  // One that waits, one with a signal and one inside a task each get a Promise of their own.
  const waiting = lock.acquire();
  assert.notStrictEqual(waiting, put);
  lock.release();
  await waiting;
  lock.release();
  const signalled = lock.acquire({ signal: new AbortController().signal });
  assert.notStrictEqual(signalled, put);
  await signalled;
  lock.release();
  await weft.spawn(async () => {
    const inTask = lock.acquire();
    assert.notStrictEqual(inTask, put);
    await inTask;
    lock.release();
  });
});
