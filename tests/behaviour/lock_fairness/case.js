'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const lock = new weft.Lock();
  emit('locked', lock.locked());
  await lock.acquire();
  emit('locked', lock.locked());
  async function waiter(name) {
    await lock.acquire();
    try {
      emit('holds', name);
      await weft.sleep(0);
    } finally {
      lock.release();
    }
    emit('released', name);
  }
  const tasks = ['a', 'b', 'c', 'd'].map((n) => weft.spawn(() => waiter(n)));
  await weft.sleep(0);
  tasks[1].cancel();
  lock.release();
  await weft.gather(tasks, { returnExceptions: true });
  emit('b', 'cancelled', tasks[1].cancelled(), 'locked', lock.locked());
  try {
    lock.release();
  } catch (e) {
    if (!(e instanceof weft.InvalidStateError)) throw e;
    emit('release-unlocked', e);
  }
}

run(main);
