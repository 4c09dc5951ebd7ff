'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const q = new weft.Queue(2);
  async function producer(items) {
    for (const item of items) {
      await q.put(item);
      emit('put', item, 'qsize', q.qsize());
    }
  }
  const p = weft.spawn(() => producer([1, 2, 3, 4]));
  await weft.sleep(0);
  emit('full', q.full(), 'producer-done', p.done());
  for (let i = 0; i < 4; i++) {
    emit('get', await q.get());
    await weft.sleep(0);
  }
  await p;
  emit('empty', q.empty());
}

run(main);
