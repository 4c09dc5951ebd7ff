'use strict';
// Lifetime: the process stays alive exactly while a server or connection is open, unless
// unref()'d; Workers terminated with servers and connections open exit cleanly.
const test = require('node:test');
const assert = require('node:assert');
const { runScript, terminateWorkers } = require('./helpers.js');

test('an open server keeps the process alive until it is closed', () => {
  const r = runScript(`
    (async () => {
      const server = await weft.startServer((reader, writer) => {
        writer.write('bye\\n');
        writer.close();
        server.close(); // the last thing alive: the process may now exit
      }, '127.0.0.1', 0);
      // A plain Node client, started after a timer that itself keeps nothing alive.
      const net = require('node:net');
      setTimeout(() => {
        const s = net.connect(server.port(), '127.0.0.1');
        s.on('data', (d) => process.stdout.write(String(d)));
        s.on('end', () => s.end());
      }, 20).unref();
      process.on('exit', () => console.log('exit'));
    })();`);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.stdout, 'bye\nexit\n');
  assert.strictEqual(r.status, 0);
});

test('unref()\'d servers and connections do not keep the process alive; ref() does again', () => {
  // As with net: a server's unref() leaves its accepted connections ref'd; they unref too.
  const r = runScript(`
    (async () => {
      const server = await weft.createServer(() => ({ connectionMade(t) { t.unref(); } }), '127.0.0.1', 0);
      const [transport] = await weft.createConnection(() => ({}), '127.0.0.1', server.port());
      const streams = await weft.startServer((r, w) => { w.unref(); }, '127.0.0.1', 0);
      const [, writer] = await weft.openConnection('127.0.0.1', streams.port());
      const ep = await weft.openDatagramEndpoint({ localAddress: '127.0.0.1', localPort: 0 });
      assert = require('node:assert');
      assert.strictEqual(server.unref(), server);
      transport.unref();
      streams.unref().ref().unref();
      writer.unref();
      ep.unref();
      process.on('exit', () => console.log('exit with everything open', server.isServing()));
    })();`);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.stdout, 'exit with everything open true\n');
  assert.strictEqual(r.status, 0);
});

test('Workers terminated with servers, connections and pending reads open exit cleanly', () => {
  terminateWorkers(`
    (async () => {
      const server = await weft.startServer(async (reader, writer) => {
        await reader.readExactly(4 << 20).catch(() => {}); // pending at termination
      }, '127.0.0.1', 0);
      const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
      writer.write(Buffer.alloc(1 << 20)); // partly unsent at termination
      reader.read(10).catch(() => {});
      const ps = await weft.createServer(() => ({ dataReceived() {} }), '127.0.0.1', 0);
      const [t] = await weft.createConnection(() => ({}), '127.0.0.1', ps.port());
      t.write(Buffer.from('x'));
      const ep = await weft.openDatagramEndpoint({ localAddress: '127.0.0.1', localPort: 0 });
      ep.receive().catch(() => {});
      ready();
    })();`, { count: 3 });
});
