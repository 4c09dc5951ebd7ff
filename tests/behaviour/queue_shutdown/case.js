'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const q = new weft.Queue(2);
  q.putNowait(1);
  q.putNowait(2);
  async function putter() {
    try {
      await q.put(3);
      emit('putter', 'put');
    } catch (e) {
      if (!(e instanceof weft.QueueShutDown)) throw e;
      emit('putter', e);
    }
  }
  const p = weft.spawn(putter);
  await weft.sleep(0);
  q.shutdown();
  await p;
  try {
    q.putNowait(4);
  } catch (e) {
    if (!(e instanceof weft.QueueShutDown)) throw e;
    emit('put_nowait', e);
  }
  for (let i = 0; i < 3; i++) {
    try {
      emit('get', await q.get());
    } catch (e) {
      if (!(e instanceof weft.QueueShutDown)) throw e;
      emit('get', e);
    }
  }
}

run(main);
