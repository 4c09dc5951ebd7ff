'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function after(name, steps) {
  for (let i = 0; i < steps; i++) await weft.sleep(0);
  return name;
}

async function main() {
  const tasks = new Map([['a', 5], ['b', 2], ['c', 8]].map(([n, s]) => [n, weft.spawn(() => after(n, s))]));
  let { done, pending } = await weft.wait(tasks.values(), { returnWhen: weft.FIRST_COMPLETED });
  const results = async (set) => (await Promise.all([...set])).sort();
  emit('done', ...(await results(done)));
  emit('pending', ...[...tasks].filter(([, t]) => pending.has(t)).map(([n]) => n).sort());
  ({ done, pending } = await weft.wait(pending));
  emit('then-done', ...(await results(done)), 'pending', pending.size);
}

run(main);
