'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const barrier = new weft.Barrier(3);
  async function party(name) {
    try {
      emit('arrives', name);
      const index = await barrier.wait();
      emit('passes', name, index);
    } catch (e) {
      if (!(e instanceof weft.BrokenBarrierError)) throw e;
      emit('broken', name, e);
    }
  }
  await weft.gather(['a', 'b', 'c'].map((n) => weft.spawn(() => party(n))));
  emit('n_waiting', barrier.nWaiting, 'broken', barrier.broken);
  const tasks = ['x', 'y'].map((n) => weft.spawn(() => party(n)));
  await weft.sleep(0);
  emit('n_waiting', barrier.nWaiting);
  await barrier.abort();
  await weft.gather(tasks);
  emit('broken', barrier.broken);
  await party('late');
}

run(main);
