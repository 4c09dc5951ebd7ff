'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  let outer;
  let inner;
  try {
    await weft.timeout(0.05, async (o) => {
      outer = o;
      try {
        await weft.timeout(10, async (i) => {
          inner = i;
          await weft.sleep(10);
        });
      } catch (e) {
        if (!(e instanceof weft.CancelledError)) throw e;
        emit('inner-block', e, 'inner-expired', inner.expired());
        throw e;
      }
    });
  } catch (e) {
    if (!(e instanceof weft.TimeoutError)) throw e;
    emit('outer-block', e, 'outer-expired', outer.expired());
  }
  emit('cancelling', weft.currentTask().cancelling());
  try {
    await weft.timeout(10, async (o) => {
      outer = o;
      await weft.timeout(0.05, async (i) => {
        inner = i;
        await weft.sleep(10);
      });
    });
  } catch (e) {
    if (!(e instanceof weft.TimeoutError)) throw e;
    emit('inner-first', e);
  }
  emit('end', 'outer', outer.expired(), 'inner', inner.expired());
}

run(main);
