'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function failing() {
  throw new weft.WeftError('child failed', 'EIO');
}

async function late() {
  emit('late', 'runs');
}

async function main() {
  let group;
  try {
    await weft.taskGroup(async (tg) => {
      group = tg;
      tg.spawn(failing);
      try {
        await weft.sleep(10);
      } catch (e) {
        emit('body', e);
      }
      try {
        tg.spawn(late);
        emit('spawned');
      } catch (e) {
        emit('spawn-after-failure', e);
      }
    });
  } catch (e) {
    emit('group', e);
  }
  try {
    group.spawn(late);
  } catch (e) {
    emit('spawn-after-exit', e);
  }
}

run(main);
