'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function sibling(name) {
  try {
    await weft.sleep(10);
  } catch (e) {
    emit('sibling', name, e);
    throw e;
  }
}

async function failing() {
  await weft.sleep(0);
  emit('failing', 'raises');
  throw new weft.WeftError('child failed', 'EIO');
}

async function main() {
  try {
    await weft.taskGroup(async (tg) => {
      tg.spawn(() => sibling('a'));
      tg.spawn(failing);
      try {
        await weft.sleep(10);
      } catch (e) {
        emit('body', e);
        throw e;
      }
    });
  } catch (e) {
    emit('group', e);
  }
  emit('cancelling', weft.currentTask().cancelling());
}

run(main);
