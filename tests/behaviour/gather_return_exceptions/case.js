'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function child(name, steps, fail) {
  for (let i = 0; i < steps; i++) await weft.sleep(0);
  emit('child', name, 'ends');
  if (fail !== undefined) throw new weft.WeftError(name, fail);
  return name;
}

async function main() {
  // asyncio.gather wraps each coroutine in a task; so does this.
  const results = await weft.gather(
    [weft.spawn(() => child('a', 3)), weft.spawn(() => child('b', 1, 'EIO')),
     weft.spawn(() => child('c', 2)), weft.spawn(() => child('d', 0, 'EPERM'))],
    { returnExceptions: true });
  emit('results', ...results);
}

run(main);
