'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  // The Node API has no bare future: an Event's wait() is the gate the worker awaits.
  const gate = new weft.Event();
  async function worker(me) {
    for (const round of [1, 2]) {
      try {
        await weft.sleep(10);
      } catch (e) {
        if (!(e instanceof weft.CancelledError)) throw e;
        emit('worker', 'round', round, 'cancelling', me.cancelling());
        emit('worker', 'uncancel', me.uncancel());
      }
    }
    emit('worker', 'uncancel-at-zero', me.uncancel(), me.cancelling());
    await gate.wait();
    return 'finished';
  }
  const t = weft.spawn(worker);
  await weft.sleep(0);
  emit('cancelling-before', t.cancelling());
  t.cancel();
  await weft.sleep(0);
  t.cancel();
  t.cancel();
  emit('cancelling-after-two', t.cancelling());
  await weft.sleep(0);
  gate.set();
  emit('result', await t, t.cancelled());
}

run(main);
