'use strict';
const { weft, emit, run } = require('../casetrace.js');

const SIZE = 16 * 1024 * 1024; // more than the kernel buffers of both sockets hold

async function main() {
  const startReading = new weft.Event();
  const received = new weft.Queue(1); // the bare future: one item
  async function serve(reader, writer) {
    await startReading.wait();
    const data = await reader.readExactly(SIZE);
    received.putNowait(data.length);
    writer.close();
    await writer.waitClosed();
  }
  const server = await weft.startServer(serve, '127.0.0.1', 0);
  const [, writer] = await weft.openConnection('127.0.0.1', server.port());
  writer.setWriteBufferLimits({ high: 64 * 1024 });
  writer.write(Buffer.alloc(SIZE, 'x'));
  const drain = weft.spawn(() => writer.drain());
  await weft.sleep(0.1);
  emit('drain', 'done', drain.done());
  startReading.set();
  await drain;
  emit('drain', 'returned');
  emit('peer', 'received', await received.get());
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
}

run(main);
