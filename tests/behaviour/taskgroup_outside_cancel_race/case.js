'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  // The bare future gate: an Event.
  const gate = new weft.Event();
  async function failing() {
    await gate.wait();
    emit('child', 'raises');
    throw new weft.WeftError('child failed', 'EIO');
  }
  async function parent() {
    try {
      await weft.taskGroup(async (tg) => {
        tg.spawn(failing);
        await weft.sleep(10);
      });
    } catch (e) {
      if (e instanceof weft.TaskGroupError) {
        emit('parent', 'group', e, 'cancelling', weft.currentTask().cancelling());
      } else if (e instanceof weft.CancelledError) {
        emit('parent', 'cancelled', e);
      }
      throw e;
    }
  }
  const p = weft.spawn(parent);
  await weft.sleep(0);
  await weft.sleep(0);
  gate.set(); // the child runs and fails in the next iteration
  p.cancel();
  try {
    await p;
  } catch (e) {
    if (e instanceof weft.TaskGroupError) emit('main', 'group', e);
    else if (e instanceof weft.CancelledError) emit('main', 'cancelled', e);
    else throw e;
  }
  emit('parent-task', 'cancelled', p.cancelled());
}

run(main);
