'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const t = weft.spawn(async () => {
    emit('quick', 'runs');
    return 5;
  });
  await weft.sleep(0);
  emit('done', t.done());
  emit('cancel', t.cancel(), 'cancelling', t.cancelling());
  emit('result', await t, t.cancelled());
  const u = weft.spawn(async () => {
    emit('never', 'runs');
  });
  emit('cancel-before-start', u.cancel());
  try {
    await u;
  } catch (e) {
    if (!(e instanceof weft.CancelledError)) throw e;
    emit('await', e, u.cancelled());
  }
}

run(main);
