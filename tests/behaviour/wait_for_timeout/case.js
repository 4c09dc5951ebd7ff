'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function inner() {
    try {
      await weft.sleep(10);
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      emit('inner', e);
      await weft.sleep(0); // cleanup that itself awaits
      emit('inner', 'cleanup-done');
      throw e;
    }
  }
  const t = weft.spawn(inner);
  try {
    await weft.waitFor(t, 0.05);
  } catch (e) {
    if (!(e instanceof weft.TimeoutError)) throw e;
    emit('wait_for', e);
  }
  emit('inner-task', t.done(), t.cancelled());
  emit('in-time', await weft.waitFor(weft.sleep(0, 'quick'), 1));
}

run(main);
