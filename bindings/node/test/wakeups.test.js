'use strict';
// In which loop iteration a weft Promise settles, against asyncio's order: a Queue.get()
// served by a put and a sleep(0) go on in the iteration after, as a task awaiting them in
// asyncio would, not one later. An Event waiter woken at the same time is the yardstick:
// its Promise settles from the done callback the set schedules.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('a Queue.get() served by putNowait settles before an Event woken after the put', async () => {
  const q = new weft.Queue();
  const ev = new weft.Event();
  const order = [];
  const got = q.get().then((item) => order.push(`get ${item}`));
  const woke = ev.wait().then(() => order.push('event'));
  q.putNowait(7);
  ev.set();
  await Promise.all([got, woke]);
  assert.deepStrictEqual(order, ['get 7', 'event']);
});

test('a put waiting for room settles before an Event woken after the get that made room', async () => {
  const q = new weft.Queue(1);
  const ev = new weft.Event();
  const order = [];
  q.putNowait(1);
  const put = q.put(2).then(() => order.push('put'));
  const woke = ev.wait().then(() => order.push('event'));
  assert.strictEqual(q.getNowait(), 1);
  ev.set();
  await Promise.all([put, woke]);
  assert.deepStrictEqual(order, ['put', 'event']);
  assert.strictEqual(q.getNowait(), 2);
});

test('sleep(0) settles before an Event woken after it started', async () => {
  const ev = new weft.Event();
  const order = [];
  const slept = weft.sleep(0).then(() => order.push('sleep'));
  const woke = ev.wait().then(() => order.push('event'));
  ev.set();
  await Promise.all([slept, woke]);
  assert.deepStrictEqual(order, ['sleep', 'event']);
});

// An adopted loop runs several of asyncio's iterations in one of Node's (docs/design.md): a
// chain of hand-overs does not pay one Node iteration each, yet Node's own callbacks still
// run between every few of them.
test('a sleep(0) loop takes several steps per Node iteration, never more than 16', async () => {
  let steps = 0;
  let stop = false;
  const spinner = (async () => {
    while (!stop) {
      await weft.sleep(0);
      steps++;
    }
  })();
  const perIteration = [];
  for (let i = 0; i < 5; i++) {
    const before = steps;
    await new Promise(setImmediate);
    perIteration.push(steps - before);
  }
  stop = true;
  await spinner;
  assert.ok(perIteration.some((n) => n > 1), `steps per Node iteration: ${perIteration}`);
  assert.ok(perIteration.every((n) => n <= 16), `steps per Node iteration: ${perIteration}`);
});
