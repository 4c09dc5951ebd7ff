'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const cond = new weft.Condition();
  async function waiter(name) {
    await cond.acquire();
    try {
      emit('waits', name);
      await cond.wait();
      emit('woken', name, 'holds-lock', cond.locked());
      await weft.sleep(0);
    } finally {
      cond.release();
    }
  }
  const tasks = ['a', 'b', 'c', 'd', 'e'].map((n) => weft.spawn(() => waiter(n)));
  await weft.sleep(0);
  await cond.acquire();
  try {
    emit('notify', 2);
    cond.notify(2);
  } finally {
    cond.release();
  }
  await weft.sleep(0.01);
  await cond.acquire();
  try {
    emit('notify_all');
    cond.notifyAll();
  } finally {
    cond.release();
  }
  await weft.gather(tasks);
  try {
    cond.notify();
  } catch (e) {
    if (!(e instanceof weft.InvalidStateError)) throw e;
    emit('notify-unlocked', e);
  }
}

run(main);
