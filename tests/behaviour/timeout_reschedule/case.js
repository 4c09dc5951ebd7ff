'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  let cm;
  await weft.timeout(0.02, async (t) => {
    cm = t;
    t.reschedule(weft.time() + 10);
    await weft.sleep(0.05);
    emit('later', 'body-finished');
  });
  emit('later', 'expired', cm.expired());
  await weft.timeout(0.02, async (t) => {
    cm = t;
    t.reschedule(null);
    emit('disarmed', 'when', t.when());
    await weft.sleep(0.05);
  });
  emit('disarmed', 'expired', cm.expired());
  try {
    await weft.timeout(10, async (t) => {
      cm = t;
      await weft.sleep(0);
      t.reschedule(weft.time() - 1);
      emit('past', 'rescheduled');
      await weft.sleep(10);
    });
  } catch (e) {
    if (!(e instanceof weft.TimeoutError)) throw e;
    emit('past', e, 'expired', cm.expired());
  }
  try {
    cm.reschedule(weft.time() + 10);
  } catch (e) {
    emit('reschedule-after-expiry', e);
  }
}

run(main);
