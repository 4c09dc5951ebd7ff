'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  // The bare future inner: an Event's wait(); its cancellation shows as its rejection.
  const innerEvent = new weft.Event();
  let inner;
  let innerCancelled = false;
  async function worker() {
    emit('worker', 'start');
    try {
      inner = innerEvent.wait();
      inner.catch((e) => {
        innerCancelled = e instanceof weft.CancelledError;
      });
      await inner;
      emit('never');
    } catch (e) {
      emit('worker', 'caught', e);
      throw e;
    } finally {
      emit('worker', 'finally');
    }
  }
  const t = weft.spawn(worker);
  await weft.sleep(0);
  emit('cancel', t.cancel());
  emit('inner-cancelled-yet', innerCancelled);
  try {
    await t;
  } catch (e) {
    emit('await-task', e);
  }
  emit('task', t.done(), t.cancelled(), 'inner', innerCancelled);
}

run(main);
