'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  // The bare future gate: an Event's wait(), whose cancellation is seen by its rejection.
  const gateEvent = new weft.Event();
  const gate = gateEvent.wait();
  let gateCancelled = false;
  gate.catch((e) => {
    gateCancelled = e instanceof weft.CancelledError;
  });
  async function quick(name, steps) {
    for (let i = 0; i < steps; i++) await weft.sleep(0);
    return name;
  }
  const aws = [weft.spawn(() => quick('a', 3)), gate, weft.spawn(() => quick('b', 1))];
  try {
    for await (const next of weft.asCompleted(aws, { timeout: 0.5 })) emit('completed', await next);
  } catch (e) {
    if (!(e instanceof weft.TimeoutError)) throw e;
    emit('timeout', e);
  }
  await weft.sleep(0);
  emit('gate', 'cancelled', gateCancelled);
}

run(main);
