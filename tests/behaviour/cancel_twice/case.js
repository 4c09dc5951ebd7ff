'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function worker() {
    let n = 0;
    try {
      await weft.sleep(10);
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      n += 1;
      emit('worker', 'caught', e, 'cancelling', weft.currentTask().cancelling());
    }
    try {
      await weft.sleep(0);
      emit('worker', 'second-await-ok');
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      emit('worker', 'second', e);
    }
    return n;
  }
  const t = weft.spawn(worker);
  await weft.sleep(0);
  emit('cancel-1', t.cancel());
  emit('cancel-2', t.cancel());
  emit('cancelling', t.cancelling());
  try {
    emit('result', await t);
  } catch (e) {
    if (!(e instanceof weft.CancelledError)) throw e;
    emit('task', e);
  }
  emit('cancelled', t.cancelled());
}

run(main);
