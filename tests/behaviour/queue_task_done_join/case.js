'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const q = new weft.Queue();
  for (const item of ['a', 'b', 'c']) q.putNowait(item);
  async function consumer() {
    for (;;) {
      const item = await q.get();
      await weft.sleep(0);
      emit('processed', item);
      q.taskDone();
    }
  }
  const c = weft.spawn(consumer);
  await q.join();
  emit('joined', 'qsize', q.qsize());
  emit('join-again', await q.join());
  c.cancel();
  try {
    q.taskDone();
  } catch (e) {
    if (!(e instanceof weft.InvalidStateError)) throw e;
    emit('task_done-too-often', e);
  }
}

run(main);
