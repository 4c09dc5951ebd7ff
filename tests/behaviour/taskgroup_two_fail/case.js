'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function failing(code, steps) {
  for (let i = 0; i < steps; i++) await weft.sleep(0);
  emit('failing', code);
  throw new weft.WeftError('child failed', code);
}

async function slow() {
  try {
    await weft.sleep(10);
  } catch (e) {
    emit('slow', e);
    throw e;
  }
}

async function main() {
  try {
    await weft.taskGroup(async (tg) => {
      tg.spawn(() => failing('EIO', 1));
      tg.spawn(slow);
      tg.spawn(() => failing('EPERM', 1));
    });
  } catch (e) {
    emit('group', e);
  }
}

run(main);
