'use strict';
const { weft, emit, run } = require('../casetrace.js');

async function main() {
  const received = new weft.Queue();
  const [server] = await weft.createDatagramEndpoint(() => ({
    datagramReceived(data) {
      received.putNowait(data);
    },
  }), { localAddress: '127.0.0.1', localPort: 0 });
  const addr = server.extraInfo('sockname');
  const [client] = await weft.createDatagramEndpoint(() => ({}), {
    remoteAddress: addr.address,
    remotePort: addr.port,
  });
  for (const payload of ['before', '', 'after']) client.sendto(Buffer.from(payload));
  // A lost datagram ends the case instead of hanging it.
  await weft.timeout(10, async () => {
    for (let i = 0; i < 3; i++) emit('received', await received.get());
  });
  client.close();
  server.close();
}

run(main);
