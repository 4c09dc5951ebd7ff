'use strict';
// TaskGroup, timeout/timeoutAt and asCompleted: asyncio's rules, from the core.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('a TaskGroup waits for every child and returns the body\'s result', async () => {
  const order = [];
  const result = await weft.taskGroup(async (tg) => {
    tg.spawn(async () => { await weft.sleep(0.002); order.push('b'); });
    tg.spawn(async () => { await weft.sleep(0.001); order.push('a'); });
    return 'body';
  });
  assert.strictEqual(result, 'body');
  assert.deepStrictEqual(order.sort(), ['a', 'b']);
});

test('the first failure cancels the siblings and the body; errors are aggregated', async () => {
  let siblingCancelled = false;
  let bodyCancelled = false;
  const boom = new Error('boom');
  const started = new weft.Event();
  await assert.rejects(weft.taskGroup(async (tg) => {
    tg.spawn(async () => {
      try {
        await weft.sleep(3600);
      } catch (err) {
        siblingCancelled = err instanceof weft.CancelledError;
        throw err;
      }
    });
    tg.spawn(async () => { await started.wait(); throw boom; });
    try {
      started.set();
      await weft.sleep(3600);
    } catch (err) {
      bodyCancelled = err instanceof weft.CancelledError;
      throw err;
    }
  }), (err) => {
    assert.ok(err instanceof weft.TaskGroupError);
    assert.ok(err instanceof AggregateError);
    assert.strictEqual(err.code, 'EGROUP');
    assert.deepStrictEqual(err.errors, [boom]);
    return true;
  });
  assert.ok(siblingCancelled);
  assert.ok(bodyCancelled);
});

test('the body\'s own error joins the children\'s', async () => {
  const a = new Error('child');
  const b = new TypeError('body');
  let bodyCancelled = false;
  await assert.rejects(weft.taskGroup(async (tg) => {
    const child = tg.spawn(async () => { throw a; });
    try {
      // The child's failure cancels the body here, before wait() could return (asyncio's
      // TaskGroup cancels the parent from the child's done callback, ahead of wait's).
      await weft.wait([child]);
    } catch (err) {
      bodyCancelled = err instanceof weft.CancelledError;
    }
    throw b;
  }), (err) => {
    assert.ok(err instanceof weft.TaskGroupError);
    assert.deepStrictEqual(err.errors, [a, b]);
    return true;
  });
  assert.ok(bodyCancelled);
});

test('cancelling the parent while the group waits cancels the children', async () => {
  let childCancelled = false;
  const entered = new weft.Event();
  const parent = weft.spawn(async () => weft.taskGroup(async (tg) => {
    tg.spawn(async () => {
      try {
        await weft.sleep(3600);
      } catch (err) {
        childCancelled = true;
        throw err;
      }
    });
    entered.set();
  }));
  await entered.wait();
  await weft.sleep(0);
  parent.cancel();
  await assert.rejects(parent, weft.CancelledError);
  assert.ok(parent.cancelled());
  assert.ok(childCancelled);
});

test('group.cancel() ends the block without an error; spawn afterwards is refused', async () => {
  let group;
  const result = await weft.taskGroup(async (tg) => {
    group = tg;
    tg.spawn(() => weft.sleep(3600));
    tg.cancel();
    await weft.sleep(3600);
  });
  assert.strictEqual(result, undefined);
  assert.throws(() => group.spawn(async () => {}), weft.InvalidStateError);
  assert.deepStrictEqual(weft.allTasks().map((t) => t.name), []);
});

test('timeout() turns its expiry into a TimeoutError whose cause is the cancellation', async () => {
  let cm;
  await assert.rejects(weft.timeout(0.01, async (t) => {
    cm = t;
    assert.ok(!t.expired());
    assert.ok(t.when() > weft.time() - 1);
    await weft.sleep(3600);
  }), (err) => {
    assert.ok(err instanceof weft.TimeoutError);
    assert.strictEqual(err.code, 'ETIMEDOUT');
    assert.ok(err.cause instanceof weft.CancelledError);
    return true;
  });
  assert.ok(cm.expired());
});

test('timeout(): a block that finishes in time returns its result; null means no deadline', async () => {
  assert.strictEqual(await weft.timeout(3600, async () => 42), 42);
  assert.strictEqual(await weft.timeout(null, async (t) => {
    assert.strictEqual(t.when(), null);
    return 'none';
  }), 'none');
});

test('timeout reschedule(): moved earlier it expires, moved to null it never does', async () => {
  await assert.rejects(weft.timeout(null, async (t) => {
    t.reschedule(weft.time() + 0.01);
    await weft.sleep(3600);
  }), weft.TimeoutError);
  assert.strictEqual(await weft.timeout(0.01, async (t) => {
    t.reschedule(null);
    await weft.sleep(0.02);
    return t.expired();
  }), false);
});

test('timeoutAt() takes a loop time; other errors pass through unchanged', async () => {
  await assert.rejects(weft.timeoutAt(weft.time() + 0.01, () => weft.sleep(3600)), weft.TimeoutError);
  const mine = new RangeError('mine');
  await assert.rejects(weft.timeoutAt(weft.time() + 3600, async () => { throw mine; }),
                       (err) => err === mine);
});

test('a timeout inside a task leaves an outside cancellation a CancelledError', async () => {
  const task = weft.spawn(() => weft.timeout(3600, () => weft.sleep(3600)));
  await weft.sleep(0);
  task.cancel();
  await assert.rejects(task, weft.CancelledError);
});

test('asCompleted() hands out the inputs in completion order', async () => {
  // Ordered by construction, not by timers: `failing` follows `fast`, and `slow` waits for
  // an event set once the failure was seen.
  const release = new weft.Event();
  const slow = release.wait().then(() => 'slow');
  const fast = weft.sleep(0, 'fast');
  const failing = fast.then(() => { throw new Error('mid'); });
  const seen = [];
  for await (const p of weft.asCompleted([slow, fast, failing])) {
    try {
      seen.push(await p);
    } catch (err) {
      seen.push(err.message);
      release.set();
    }
  }
  assert.deepStrictEqual(seen, ['fast', 'mid', 'slow']);
});

test('asCompleted() with a timeout throws a TimeoutError for what is not done', async () => {
  // asCompleted never cancels its inputs: the test cancels the one left.
  const ac = new AbortController();
  const never = weft.sleep(3600, undefined, { signal: ac.signal });
  // The first input is done before the iterator starts, so it comes first however slow
  // the machine; the second never completes.
  const it = weft.asCompleted([1, never], { timeout: 0.02 });
  const seen = [];
  try {
    await assert.rejects((async () => {
      for await (const p of it) seen.push(await p);
    })(), weft.TimeoutError);
    assert.deepStrictEqual(seen, [1]);
  } finally {
    ac.abort();
  }
  await assert.rejects(never, weft.CancelledError);
});

test('asCompleted(): breaking out closes the iterator; bad input throws a TypeError', async () => {
  const ac = new AbortController();
  const never = weft.sleep(3600, undefined, { signal: ac.signal });
  for await (const p of weft.asCompleted([weft.sleep(0, 'a'), never])) {
    assert.strictEqual(await p, 'a');
    break;
  }
  ac.abort();
  await assert.rejects(never, weft.CancelledError);
  assert.throws(() => weft.asCompleted(42), TypeError);
  for await (const p of weft.asCompleted([])) assert.fail(`unexpected ${p}`);
});
