'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function worker() {
    try {
      await weft.sleep(10);
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      emit('worker', 'caught', e, weft.currentTask().cancelling());
      weft.currentTask().uncancel();
    }
    await weft.sleep(0);
    emit('worker', 'continues');
    await weft.sleep(0.01);
    return 42;
  }
  const t = weft.spawn(worker);
  await weft.sleep(0);
  t.cancel();
  emit('result', await t, 'cancelled', t.cancelled());
}

run(main);
