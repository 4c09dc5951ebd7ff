'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const fast = weft.spawn(() => weft.sleep(0, 'fast'));
  // The Node API has no bare future: a Queue's get() is the gate that carries a value.
  const slowGate = new weft.Queue();
  const slow = weft.spawn(() => weft.waitFor(slowGate.get(), null));
  const { done, pending } = await weft.wait([fast, slow], { timeout: 0.05 });
  emit('done', done.size, done.has(fast), 'pending', pending.size, pending.has(slow));
  emit('slow-cancelled', slow.cancelled());
  slowGate.putNowait('slow');
  emit('slow', await slow);
}

run(main);
