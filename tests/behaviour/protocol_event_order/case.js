'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const lost = new weft.Event(); // the bare future
  class Client {
    constructor() {
      this.data = Buffer.alloc(0);
    }
    connectionMade(transport) {
      emit('connection_made', transport.isClosing());
    }
    dataReceived(data) {
      if (this.data.length === 0) emit('data_received');
      this.data = Buffer.concat([this.data, data]);
    }
    eofReceived() {
      emit('eof_received', this.data);
      return false;
    }
    connectionLost(e) {
      emit('connection_lost', e);
      lost.set();
    }
  }
  async function serve(reader, writer) {
    writer.write('hello, ');
    writer.write('world');
    await writer.drain();
    writer.writeEof();
    await reader.read();
    writer.close();
  }
  const server = await weft.startServer(serve, '127.0.0.1', 0);
  const [transport] = await weft.createConnection(() => new Client(), '127.0.0.1', server.port());
  await lost.wait();
  emit('closing', transport.isClosing());
  server.close();
  await server.waitClosed();
}

run(main);
