'use strict';
// Tasks: core step-driven tasks running async functions.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('a task runs its function and resolves with its result', async () => {
  const t = weft.spawn(async (task) => {
    assert.strictEqual(weft.currentTask(), task);
    await weft.sleep(0.001);
    assert.strictEqual(weft.currentTask(), task);
    return `result of ${task.name}`;
  }, { name: 'worker-1' });
  assert.strictEqual(t.name, 'worker-1');
  assert.ok(!t.done());
  assert.ok(weft.allTasks().includes(t));
  assert.strictEqual(await t, 'result of worker-1');
  assert.ok(t.done() && !t.cancelled());
  assert.ok(!weft.allTasks().includes(t));
  assert.strictEqual(weft.currentTask(), null);
});

test('unnamed tasks get the core\'s Task-N names', () => {
  const t = weft.spawn(async () => {});
  assert.match(t.name, /^Task-\d+$/);
  return t;
});

test('cancel() rejects the weft operation the task awaits with a CancelledError', async () => {
  let seen;
  const t = weft.spawn(async () => {
    try {
      await weft.sleep(3600);
    } catch (err) {
      seen = err;
      throw err;
    }
  });
  await weft.sleep(0);
  assert.strictEqual(t.cancel('stop'), true);
  await assert.rejects(t, weft.CancelledError);
  assert.ok(seen instanceof weft.CancelledError);
  assert.ok(t.cancelled());
  assert.strictEqual(t.cancel(), false);
});

test('cancel() cancels the awaited operation at once, as asyncio: a completion later in the same iteration comes too late', async () => {
  // asyncio: Task.cancel() cancels the future the coroutine awaits (_fut_waiter) in the
  // call itself, so ev.set() just after it finds no waiter to wake, and the coroutine gets
  // the CancelledError in the next iteration.
  const ev = new weft.Event();
  const log = [];
  const t = weft.spawn(async () => {
    try {
      await ev.wait();
      log.push('woke');
    } catch (err) {
      log.push(err instanceof weft.CancelledError ? 'cancelled' : 'other');
      throw err;
    }
  });
  await weft.sleep(0);
  assert.strictEqual(t.cancel(), true);
  ev.set();
  log.push('set');
  await assert.rejects(t, weft.CancelledError);
  assert.deepStrictEqual(log, ['set', 'cancelled']);
  assert.ok(t.cancelled());
});

test('cancelling a task that awaits another task cancels that task in the call (asyncio)', async () => {
  const inner = weft.spawn(async () => weft.sleep(3600));
  const outer = weft.spawn(async () => inner);
  await weft.sleep(0);
  await weft.sleep(0);
  assert.strictEqual(outer.cancel(), true);
  assert.strictEqual(inner.cancelling(), 1); // asyncio: inner.cancel() ran inside outer.cancel()
  assert.strictEqual(outer.cancel(), true); // asyncio cancels the awaited task again
  assert.strictEqual(inner.cancelling(), 2);
  await assert.rejects(outer, weft.CancelledError);
  assert.ok(inner.cancelled());
});

test('a timeout that expires in the iteration where the awaited sleep(0) ends wins (asyncio)', async () => {
  // The deadline is already past: the expiry is queued ahead of the sleep(0)'s completion.
  let reached = false;
  await assert.rejects(weft.timeoutAt(weft.time() - 1, async () => {
    await weft.sleep(0);
    reached = true;
  }), weft.TimeoutError);
  assert.strictEqual(reached, false);
});

test('a core cancellation aborts the task\'s signal before the function sees the CancelledError', async () => {
  let abortedWhenCaught;
  const t = weft.spawn(async (task) => {
    const signal = task.signal;
    try {
      await weft.timeout(0.001, () => weft.sleep(3600));
    } catch (err) {
      abortedWhenCaught = signal.aborted;
      throw err;
    }
  });
  await assert.rejects(t, weft.TimeoutError);
  assert.strictEqual(abortedWhenCaught, true);
});

test('a task may catch the cancellation, uncancel() and go on', async () => {
  const t = weft.spawn(async (task) => {
    try {
      await new weft.Event().wait();
    } catch (err) {
      assert.ok(err instanceof weft.CancelledError);
      assert.strictEqual(task.cancelling(), 1);
      assert.strictEqual(task.uncancel(), 0);
    }
    await weft.sleep(0);
    return 'went on';
  });
  await weft.sleep(0);
  t.cancel();
  assert.strictEqual(await t, 'went on');
  assert.ok(!t.cancelled());
});

test('a task cancelled before it starts never runs', async () => {
  let ran = false;
  const t = weft.spawn(async () => {
    ran = true;
  });
  t.cancel();
  await assert.rejects(t, weft.CancelledError);
  assert.strictEqual(ran, false);
});

test('waiting on something not weft\'s: the task\'s signal aborts; the next weft await throws', async () => {
  let aborted;
  let release;
  const gate = new Promise((resolve) => { release = resolve; }); // not weft's
  const t = weft.spawn(async (task) => {
    const signal = task.signal;
    await gate;
    aborted = signal.aborted;
    await weft.sleep(3600);
  });
  await weft.sleep(0);
  t.cancel();
  // The signal aborts once the cancellation reaches the task (its next step); the task
  // looks only after that, however slow the machine (a 5 ms timer raced it under ASan).
  if (!t.signal.aborted) {
    await new Promise((resolve) => t.signal.addEventListener('abort', resolve, { once: true }));
  }
  release();
  await assert.rejects(t, weft.CancelledError);
  assert.strictEqual(aborted, true);
});

test('uncancel() back to 0 withdraws a cancellation not delivered yet (asyncio 3.13)', async () => {
  let release;
  const gate = new Promise((resolve) => { release = resolve; }); // not weft's
  const t = weft.spawn(async (task) => {
    await gate;
    const left = task.uncancel();
    await weft.sleep(0); // no cancellation is pending any more: it completes
    return left;
  });
  const signal = t.signal; // made before the cancellation: it aborts when that arrives
  await weft.sleep(0);
  t.cancel();
  if (!signal.aborted) {
    await new Promise((resolve) => t.signal.addEventListener('abort', resolve, { once: true }));
  }
  release();
  assert.strictEqual(await t, 0);
  assert.ok(!t.cancelled());
});

test('a failing task rejects with its own error', async () => {
  const boom = new RangeError('boom');
  const t = weft.spawn(async () => {
    await weft.sleep(0);
    throw boom;
  });
  await assert.rejects(t, (err) => err === boom);
  assert.ok(t.done() && !t.cancelled());
});

test('tasks are core futures: gather, waitFor (a timeout cancels the task), shield', async () => {
  const results = await weft.gather([weft.spawn(async () => 1),
                                     weft.spawn(async () => (await weft.sleep(0.001), 2))]);
  assert.deepStrictEqual(results, [1, 2]);
  const slow = weft.spawn(async () => weft.sleep(3600));
  await assert.rejects(weft.waitFor(slow, 0.001), weft.TimeoutError);
  assert.ok(slow.cancelled());
  const inner = weft.spawn(async () => (await weft.sleep(0.001), 'kept'));
  const ac = new AbortController();
  const outer = weft.shield(inner, { signal: ac.signal });
  ac.abort();
  await assert.rejects(outer, weft.CancelledError);
  assert.strictEqual(await inner, 'kept');
});

test('a task awaiting another task: cancelling the outer cancels the inner', async () => {
  const inner = weft.spawn(async () => weft.sleep(3600));
  const outer = weft.spawn(async () => inner);
  await weft.sleep(0);
  await weft.sleep(0);
  outer.cancel();
  await assert.rejects(outer, weft.CancelledError);
  await assert.rejects(inner, weft.CancelledError);
});

test('a task is done in the loop iteration where its function settles, as in asyncio', async () => {
  for (const fail of [false, true]) {
    let observed;
    let observer;
    const t = weft.spawn(async () => {
      const mine = weft.sleep(0);
      // Settles in the same iteration as `mine`, right after it (equal deadlines keep
      // their order), so it runs after this function has settled.
      observer = weft.sleep(0).then(() => { observed = t.done(); });
      await mine;
      if (fail) throw new weft.WeftError('failed', 'EIO');
      return 'ended';
    });
    const outcome = await t.then((v) => v, (e) => e.code);
    await observer;
    assert.strictEqual(observed, true);
    assert.strictEqual(outcome, fail ? 'EIO' : 'ended');
  }
});

test('spawn refuses what is not a function', () => {
  assert.throws(() => weft.spawn(42), TypeError);
  assert.throws(() => new weft.Task(), TypeError);
});
