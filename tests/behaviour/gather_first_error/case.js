'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function child(name, steps, fail) {
  try {
    for (let i = 0; i < steps; i++) await weft.sleep(0);
  } catch (e) {
    if (!(e instanceof weft.CancelledError)) throw e;
    emit('child', name, e);
    throw e;
  }
  emit('child', name, 'ends');
  if (fail !== undefined) throw new weft.WeftError(name, fail);
  return name;
}

// A done task's error, as asyncio's Task.exception().
async function exception(task) {
  try {
    await task;
    return null;
  } catch (e) {
    return e;
  }
}

async function main() {
  const tasks = [weft.spawn(() => child('a', 4)), weft.spawn(() => child('b', 1, 'EIO')),
                 weft.spawn(() => child('c', 2, 'EPERM'))];
  try {
    await weft.gather(tasks);
  } catch (e) {
    if (!(e instanceof weft.WeftError)) throw e;
    emit('gather', e);
  }
  emit('states', ...tasks.map((t) => (t.done() ? 'done' : 'pending')));
  await weft.sleep(0);
  await weft.sleep(0);
  await weft.sleep(0);
  emit('a', await tasks[0], 'c', await exception(tasks[2]));
}

run(main);
