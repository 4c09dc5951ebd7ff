'use strict';
const net = require('node:net');
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  // Node cannot bind a socket without listening (case.py's holder): a port just freed by a
  // closed listener refuses connections, unless another program takes it in between.
  const holder = net.createServer();
  await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = holder.address().port;
  await new Promise((resolve) => holder.close(resolve));
  try {
    await weft.openConnection('127.0.0.1', port);
    emit('connected');
  } catch (e) {
    emit('open_connection', e);
  }
  try {
    await weft.createConnection(() => ({}), '127.0.0.1', port);
    emit('connected');
  } catch (e) {
    emit('create_connection', e);
  }
}

run(main);
