'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function serve(reader, writer) {
    for (const part of ['hel', 'lo\r', '\nwor', 'ld\r\n']) {
      writer.write(part);
      await writer.drain();
      await weft.sleep(0.02); // so that the parts arrive apart
    }
    writer.close();
    await writer.waitClosed();
  }
  const server = await weft.startServer(serve, '127.0.0.1', 0);
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  emit('readuntil', await reader.readUntil('\r\n'));
  emit('readuntil', await reader.readUntil('\r\n'));
  try {
    await reader.readUntil('\r\n');
  } catch (e) {
    if (!(e instanceof weft.IncompleteReadError)) throw e;
    emit('readuntil-at-eof', e, 'partial', e.partial);
  }
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
}

run(main);
