'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function after(name, steps) {
  for (let i = 0; i < steps; i++) await weft.sleep(0);
  return name;
}

async function main() {
  // as_completed makes tasks of coroutines: spawn stands in.
  const aws = [['a', 6], ['b', 2], ['c', 4], ['d', 0]].map(([n, s]) => weft.spawn(() => after(n, s)));
  for await (const next of weft.asCompleted(aws)) emit('completed', await next);
}

run(main);
