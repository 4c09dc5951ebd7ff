'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const sem = new weft.BoundedSemaphore(1);
  await sem.acquire();
  sem.release();
  try {
    sem.release();
    emit('over-release', 'accepted');
  } catch (e) {
    emit('over-release', e);
  }
  // asyncio's acquire() returns True; here the Promise resolving is the success.
  emit('acquire', await sem.acquire().then(() => true), 'locked', sem.locked());
  sem.release();
}

run(main);
