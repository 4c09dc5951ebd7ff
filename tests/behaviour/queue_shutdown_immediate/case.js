'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const q = new weft.Queue();
  const empty = new weft.Queue();
  async function getter() {
    try {
      emit('getter', await empty.get());
    } catch (e) {
      if (!(e instanceof weft.QueueShutDown)) throw e;
      emit('getter', e);
    }
  }
  const g = weft.spawn(getter);
  for (const item of [1, 2, 3]) q.putNowait(item);
  const joiner = weft.spawn(() => q.join());
  await weft.sleep(0);
  q.shutdown(true);
  empty.shutdown(true);
  await g;
  await joiner;
  emit('joined', 'qsize', q.qsize());
  try {
    await q.get();
  } catch (e) {
    if (!(e instanceof weft.QueueShutDown)) throw e;
    emit('get', e);
  }
}

run(main);
