'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function serve(reader, writer) {
    writer.write('abc');
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  }
  const server = await weft.startServer(serve, '127.0.0.1', 0);
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  emit('readexactly', 2, await reader.readExactly(2));
  try {
    await reader.readExactly(5);
  } catch (e) {
    if (!(e instanceof weft.IncompleteReadError)) throw e;
    emit('readexactly', 5, e, 'partial', e.partial, 'expected', e.expected);
  }
  emit('read', await reader.read(), 'at_eof', reader.atEof());
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
}

run(main);
