'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function worker() {
    try {
      await weft.timeoutAt(weft.time() - 1, async () => {
        await weft.sleep(10);
      });
    } catch (e) {
      if (e instanceof weft.TimeoutError) {
        emit('worker', 'timeout', e);
      } else if (e instanceof weft.CancelledError) {
        emit('worker', 'cancelled', e, weft.currentTask().cancelling());
        throw e;
      } else {
        throw e;
      }
    }
  }
  const t = weft.spawn(worker);
  await weft.sleep(0); // the worker enters the block and waits; the timeout is due
  t.cancel();
  try {
    await t;
  } catch (e) {
    if (!(e instanceof weft.CancelledError)) throw e;
    emit('main', e, t.cancelled());
  }
}

run(main);
