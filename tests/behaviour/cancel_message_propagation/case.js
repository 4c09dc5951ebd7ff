'use strict';
const { weft, emit, q, run } = require('../casetrace.js');

async function main() {
  async function inner() {
    try {
      await weft.sleep(10);
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      emit('inner', e, q(e.message));
      throw e;
    }
  }
  async function outer() {
    try {
      await weft.spawn(inner);
    } catch (e) {
      if (!(e instanceof weft.CancelledError)) throw e;
      emit('outer', e, q(e.message));
      throw e;
    }
  }
  const t = weft.spawn(outer);
  await weft.sleep(0);
  await weft.sleep(0);
  t.cancel('shutting down');
  try {
    await t;
  } catch (e) {
    if (!(e instanceof weft.CancelledError)) throw e;
    emit('main', e, q(e.message));
  }
}

run(main);
