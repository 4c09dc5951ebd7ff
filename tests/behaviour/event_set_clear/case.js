'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const ev = new weft.Event();
  async function waiter(name) {
    emit('waits', name);
    await ev.wait();
    emit('woken', name);
  }
  const tasks = ['a', 'b', 'c'].map((n) => weft.spawn(() => waiter(n)));
  await weft.sleep(0);
  emit('set');
  ev.set();
  emit('is_set', ev.isSet());
  await weft.gather(tasks);
  // asyncio's wait() returns True; here the Promise resolving is the answer.
  emit('wait-on-set', await ev.wait().then(() => true));
  ev.clear();
  const late = weft.spawn(() => waiter('late'));
  await weft.sleep(0);
  emit('late', 'done', late.done());
  ev.set();
  await late;
}

run(main);
