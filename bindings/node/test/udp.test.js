'use strict';
// UDP endpoints: datagrams with their sender's address, through a protocol object or
// `for await` over an endpoint.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');

test('datagrams both ways, with `for await` and sendto', async () => {
  const server = await weft.openDatagramEndpoint({ localAddress: '127.0.0.1', localPort: 0 });
  const port = server.address().port;
  const client = await weft.openDatagramEndpoint({ remoteAddress: '127.0.0.1', remotePort: port });
  client.send('one');
  client.send(Buffer.from('two'));
  const seen = [];
  for await (const { data, address } of server) {
    seen.push(String(data));
    assert.strictEqual(address.address, '127.0.0.1');
    server.send(Buffer.from(`re:${data}`), address);
    if (seen.length === 2) break;
  }
  assert.deepStrictEqual(seen, ['one', 'two']);
  assert.strictEqual(String((await client.receive()).data), 're:one');
  assert.strictEqual(String((await client.receive()).data), 're:two');
  client.close();
  await assert.rejects(client.receive(), weft.QueueShutDown);
  server.close();
});

test('the protocol style: datagramReceived and connectionLost', async () => {
  let got;
  const received = new Promise((r) => (got = r));
  let lost;
  const closed = new Promise((r) => (lost = r));
  const [transport] = await weft.createDatagramEndpoint(() => ({
    datagramReceived(data, address) {
      got([String(data), address.family]);
    },
    connectionLost(err) {
      lost(err);
    },
  }), { localAddress: '::1', localPort: 0, family: 6 });
  const port = transport.extraInfo('sockname').port;
  const [sender] = await weft.createDatagramEndpoint(() => ({}), { family: 6, localAddress: '::1' });
  sender.sendto(Buffer.from('six'), { address: '::1', port });
  assert.deepStrictEqual(await received, ['six', 'IPv6']);
  transport.close();
  assert.strictEqual(await closed, undefined);
  sender.close();
});

test('bad input throws', async () => {
  await assert.rejects(weft.openDatagramEndpoint({ localPort: 70000 }), RangeError);
  await assert.rejects(weft.createDatagramEndpoint(null, {}), TypeError);
  const ep = await weft.openDatagramEndpoint({ localAddress: '127.0.0.1', localPort: 0 });
  assert.throws(() => ep.send(Buffer.from('x'), { address: 'not an ip', port: 1 }), TypeError);
  assert.throws(() => ep.send(42, { address: '127.0.0.1', port: 1 }), TypeError);
  ep.close();
});
