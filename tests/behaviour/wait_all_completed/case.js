'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function after(name, steps, fail) {
  for (let i = 0; i < steps; i++) await weft.sleep(0);
  emit('finished', name);
  if (fail) throw new weft.WeftError(name, 'EPERM');
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
  const ts = [weft.spawn(() => after('a', 3, false)), weft.spawn(() => after('b', 1, true)),
              weft.spawn(() => after('c', 2, false))];
  const { done, pending } = await weft.wait(ts);
  emit('done', done.size, 'pending', pending.size);
  emit('outcomes', await ts[0], await exception(ts[1]), await ts[2]);
}

run(main);
