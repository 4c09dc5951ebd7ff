'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  async function serve(reader, writer) {
    for (let line; (line = await reader.readline()).length > 0;) {
      writer.write(line.toString('latin1').toUpperCase());
      await writer.drain();
    }
    emit('server', 'eof');
    writer.close();
    await writer.waitClosed();
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-case-'));
  try {
    const where = path.join(tmp, 'echo.sock');
    const server = await weft.startUnixServer(serve, where);
    const [reader, writer] = await weft.openUnixConnection(where);
    for (const line of ['one\n', 'two\n']) {
      writer.write(line);
      emit('reply', await reader.readline());
    }
    writer.writeEof();
    emit('after-eof', await reader.read());
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

run(main);
