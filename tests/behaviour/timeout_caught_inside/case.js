'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  let cm;
  await weft.timeout(0.05, async (t) => {
    cm = t;
    try {
      await weft.sleep(10);
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      emit('caught', e);
    }
    await weft.sleep(0);
    emit('body', 'continues');
  });
  emit('block-ended', 'expired', cm.expired(), 'cancelling', weft.currentTask().cancelling());
}

run(main);
