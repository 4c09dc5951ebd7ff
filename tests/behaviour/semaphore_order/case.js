'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const sem = new weft.Semaphore(2);
  async function worker(name) {
    await sem.acquire();
    try {
      emit('enter', name, 'locked', sem.locked());
      await weft.sleep(0);
      await weft.sleep(0);
    } finally {
      sem.release();
    }
    emit('exit', name);
  }
  await weft.gather(['a', 'b', 'c', 'd', 'e'].map((n) => weft.spawn(() => worker(n))));
  emit('locked', sem.locked());
  sem.release(); // a plain Semaphore may go above its initial value
  // asyncio's acquire() returns True; here the Promise resolving is the success.
  const acquire = () => sem.acquire().then(() => true);
  emit('acquire-three', await acquire(), await acquire(), await acquire());
  emit('locked', sem.locked());
}

run(main);
