'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  // The Node API has no bare future: an Event's wait() is the gate.
  const gate = new weft.Event();
  const inner = weft.spawn(async () => {
    await gate.wait();
    emit('precious', 'finished');
    return 'kept';
  });
  const a = weft.spawn(async () => {
    try {
      await weft.shield(inner);
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      emit('awaiter', e);
      throw e;
    }
  });
  await weft.sleep(0);
  a.cancel();
  try {
    await a;
  } catch (e) {
    if (!(e instanceof weft.CancelledError)) throw e;
    emit('main', 'awaiter', e);
  }
  emit('inner', 'cancelled', inner.cancelled(), 'done', inner.done());
  gate.set();
  emit('inner-result', await inner);
}

run(main);
