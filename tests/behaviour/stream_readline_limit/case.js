'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function serve(reader, writer) {
    writer.write('0123456789abcdef\nshort\n0123456789ABCDEF\nnext\n');
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  }
  const server = await weft.startServer(serve, '127.0.0.1', 0);
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port(), { limit: 8 });
  await weft.sleep(0.05); // the whole message is in before the first read
  try {
    await reader.readUntil('\n');
  } catch (e) {
    if (!(e instanceof weft.LimitOverrunError)) throw e;
    emit('readuntil', e);
  }
  emit('readexactly', await reader.readExactly(17));
  emit('readline', await reader.readline());
  try {
    await reader.readline();
  } catch (e) {
    if (!(e instanceof weft.LimitOverrunError)) throw e;
    emit('readline', e);
  }
  emit('readline', await reader.readline());
  emit('readline', await reader.readline(), 'at_eof', reader.atEof());
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
}

run(main);
