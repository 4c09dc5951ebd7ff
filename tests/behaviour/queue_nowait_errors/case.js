'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const q = new weft.Queue(1);
  try {
    q.getNowait();
  } catch (e) {
    if (!(e instanceof weft.QueueEmpty)) throw e;
    emit('get_nowait-empty', e);
  }
  q.putNowait('x');
  try {
    q.putNowait('y');
  } catch (e) {
    if (!(e instanceof weft.QueueFull)) throw e;
    emit('put_nowait-full', e);
  }
  emit('qsize', q.qsize(), 'get', q.getNowait());
}

run(main);
