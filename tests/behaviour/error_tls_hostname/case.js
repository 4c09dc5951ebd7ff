'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { weft, emit, run, makeCerts } = require('../casetrace.js');

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-case-'));
  try {
    const certs = makeCerts(tmp);
    async function serve(reader, writer) {
      writer.write('hello\n');
      await writer.drain();
      writer.close();
    }
    for (const cert of ['wrong_host', 'server']) {
      const server = await weft.startServer(serve, '127.0.0.1', 0, {
        tls: { cert: certs[cert].cert, key: certs[cert].key },
      });
      try {
        const [reader, writer] = await weft.openConnection('127.0.0.1', server.port(), {
          tls: { ca: certs.ca.cert, servername: 'localhost' },
        });
        emit('cert', cert, 'read', await reader.readline());
        writer.close();
        await writer.waitClosed();
      } catch (e) {
        emit('cert', cert, 'error', e);
      }
      server.close();
      await server.waitClosed();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

run(main);
