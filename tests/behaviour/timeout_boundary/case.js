'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  let cm;
  await weft.timeout(0, async (t) => {
    cm = t;
    emit('no-await-body', 'runs');
  });
  emit('no-await', 'expired', cm.expired());
  try {
    await weft.timeoutAt(weft.time() - 1, async (t) => {
      cm = t;
      emit('past-deadline-body', 'starts');
      await weft.sleep(0);
      emit('never');
    });
  } catch (e) {
    if (!(e instanceof weft.TimeoutError)) throw e;
    emit('past-deadline', e, 'expired', cm.expired());
  }
  try {
    await weft.timeout(0.05, async (t) => {
      cm = t;
      await weft.sleep(10);
    });
  } catch (e) {
    if (!(e instanceof weft.TimeoutError)) throw e;
    emit('sleep-too-long', e, 'expired', cm.expired());
  }
  await weft.timeout(10, async (t) => {
    cm = t;
    await weft.sleep(0.01);
  });
  emit('in-time', 'expired', cm.expired());
  await weft.timeout(null, async (t) => {
    cm = t;
    await weft.sleep(0);
  });
  emit('none', 'when', cm.when());
}

run(main);
