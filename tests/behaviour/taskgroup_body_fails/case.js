'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function child(name, failOnCancel) {
  try {
    await weft.sleep(10);
  } catch (e) {
    if (!(e instanceof weft.CancelledError)) throw e;
    emit('child', name, e);
    if (failOnCancel) throw new weft.WeftError('cleanup failed', 'EPERM');
    throw e;
  }
}

async function main() {
  try {
    await weft.taskGroup(async (tg) => {
      tg.spawn(() => child('b', true));
      await weft.sleep(0);
      emit('body', 'raises');
      throw new weft.WeftError('body failed', 'EIO');
    });
  } catch (e) {
    emit('group', e);
  }
}

run(main);
