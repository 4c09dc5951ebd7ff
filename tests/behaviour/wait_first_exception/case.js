'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function after(name, steps, fail) {
  for (let i = 0; i < steps; i++) await weft.sleep(0);
  if (fail) throw new weft.WeftError(name, 'EIO');
  return name;
}

function names(tasks) {
  return [...tasks].map((t) => t.name).sort();
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
  const ts = [['a', 1, false], ['b', 3, true], ['c', 6, false]].map(
    ([n, s, f]) => weft.spawn(() => after(n, s, f), { name: n }));
  let { done, pending } = await weft.wait(ts, { returnWhen: weft.FIRST_EXCEPTION });
  emit('done', ...names(done), 'pending', ...names(pending), 'error', await exception(ts[1]));
  await weft.wait(pending);
  const ok = [['x', 2], ['y', 1]].map(([n, s]) => weft.spawn(() => after(n, s), { name: n }));
  ({ done, pending } = await weft.wait(ok, { returnWhen: weft.FIRST_EXCEPTION }));
  emit('no-error', 'done', ...names(done), 'pending', pending.size);
}

run(main);
