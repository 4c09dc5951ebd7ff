'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const done = new weft.Event(); // the bare future
  const [server] = await weft.createDatagramEndpoint(() => ({
    connectionMade(transport) {
      this.transport = transport;
    },
    datagramReceived(data, address) {
      this.transport.sendto(Buffer.from(data.toString('latin1').toUpperCase(), 'latin1'), address);
    },
  }), { localAddress: '127.0.0.1', localPort: 0 });
  const addr = server.extraInfo('sockname');
  let n = 0;
  const [client] = await weft.createDatagramEndpoint(() => ({
    datagramReceived(data) {
      emit('client', 'received', data);
      if (++n === 4) done.set();
    },
    errorReceived(e) {
      emit('client', 'error', e);
    },
  }), { remoteAddress: addr.address, remotePort: addr.port });
  for (const payload of ['one', 'two', 'x'.repeat(40), '3']) {
    client.sendto(Buffer.from(payload));
    await weft.sleep(0.01);
  }
  // A lost datagram ends the case instead of hanging it.
  await weft.timeout(10, () => done.wait());
  client.close();
  server.close();
}

run(main);
