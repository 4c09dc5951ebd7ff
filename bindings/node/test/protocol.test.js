'use strict';
// The protocol style: the core calls connectionMade / dataReceived / eofReceived /
// connectionLost in asyncio's order, and the transport's flow control works as asyncio's.
const test = require('node:test');
const assert = require('node:assert');
const weft = require('..');
const { runScript } = require('./helpers.js');

function echoFactory(log) {
  return () => ({
    connectionMade(t) {
      this.t = t;
      log?.push('made');
    },
    dataReceived(d) {
      this.t.write(d);
    },
    eofReceived() {
      log?.push('eof');
      return false; // closes
    },
    connectionLost(err) {
      log?.push(`lost ${err}`);
    },
  });
}

// A client protocol that collects what it receives and settles when the connection goes.
function collector() {
  let settle;
  const p = {
    chunks: [],
    events: [],
    lost: new Promise((r) => (settle = r)),
    connectionMade(t) {
      this.events.push('made');
      this.t = t;
    },
    dataReceived(d) {
      this.chunks.push(d);
    },
    eofReceived() {
      this.events.push('eof');
    },
    connectionLost(err) {
      this.events.push('lost');
      settle(err);
    },
  };
  return p;
}

test('echo in the protocol style, events in asyncio order', async () => {
  const serverLog = [];
  const server = await weft.createServer(echoFactory(serverLog), '127.0.0.1', 0);
  const [transport, protocol] = await weft.createConnection(collector, '127.0.0.1', server.port());
  assert.ok(transport instanceof weft.Transport);
  assert.strictEqual(protocol.t, transport);
  transport.write(Buffer.from('ping '));
  transport.write(new Uint8Array([112, 111, 110, 103]));
  assert.ok(transport.canWriteEof());
  transport.writeEof();
  assert.strictEqual(await protocol.lost, undefined);
  assert.strictEqual(Buffer.concat(protocol.chunks).toString(), 'ping pong');
  assert.deepStrictEqual(protocol.events, ['made', 'eof', 'lost']);
  assert.deepStrictEqual(serverLog, ['made', 'eof', 'lost undefined']);
  assert.strictEqual(transport.isClosing(), true);
  // After writeEof the core answers writes with InvalidStateError, as asyncio's RuntimeError.
  assert.throws(() => transport.write(Buffer.from('x')), weft.InvalidStateError);
  server.close();
  await server.waitClosed();
});

test('pauseReading stops dataReceived until resumeReading', async () => {
  let serverT;
  let made;
  const ready = new Promise((r) => (made = r));
  const server = await weft.createServer(() => ({
    connectionMade(t) {
      serverT = t;
      made();
    },
  }), '127.0.0.1', 0);
  const [transport, protocol] = await weft.createConnection(collector, '127.0.0.1', server.port());
  await ready;
  transport.pauseReading();
  assert.strictEqual(transport.isReading(), false);
  serverT.write(Buffer.from('held'));
  // A round trip through the loop that cannot deliver the data while reading is paused.
  await weft.sleep(0.01);
  assert.strictEqual(protocol.chunks.length, 0);
  transport.resumeReading();
  serverT.close();
  await protocol.lost;
  assert.strictEqual(Buffer.concat(protocol.chunks).toString(), 'held');
  server.close();
});

test('write-buffer watermarks call pauseWriting and resumeWriting', async () => {
  let serverT;
  let made;
  const ready = new Promise((r) => (made = r));
  const server = await weft.createServer(() => ({
    connectionMade(t) {
      serverT = t;
      t.pauseReading(); // let the client's buffer fill
      made();
    },
  }), '127.0.0.1', 0);
  let resumed;
  const resumedP = new Promise((r) => (resumed = r));
  const events = [];
  const [transport] = await weft.createConnection(() => ({
    pauseWriting() {
      events.push('pause');
    },
    resumeWriting() {
      events.push('resume');
      resumed();
    },
  }), '127.0.0.1', server.port());
  await ready;
  transport.setWriteBufferLimits(4096, 1024);
  assert.deepStrictEqual(transport.getWriteBufferLimits(), { low: 1024, high: 4096 });
  transport.write(Buffer.alloc(16 << 20));
  assert.deepStrictEqual(events, ['pause']);
  assert.ok(transport.getWriteBufferSize() > 4096);
  serverT.resumeReading();
  await resumedP;
  assert.deepStrictEqual(events, ['pause', 'resume']);
  transport.close();
  serverT.close();
  server.close();
  await server.waitClosed();
});

test('a refused connection rejects; a factory that throws refuses the connection', () => {
  // In a process of its own: the factory's exception is an uncaught exception there.
  const r = runScript(`
    const uncaught = [];
    process.on('uncaughtException', (err) => uncaught.push(err.message));
    (async () => {
      const server = await weft.createServer(() => { throw new Error('no protocol'); }, '127.0.0.1', 0);
      let lost;
      const closed = new Promise((r) => (lost = r));
      await weft.createConnection(() => ({ connectionLost: lost }), '127.0.0.1', server.port());
      await closed; // the server refused it
      const port = server.port();
      server.close();
      await server.waitClosed();
      try {
        await weft.createConnection(() => ({}), '127.0.0.1', port);
      } catch (err) {
        console.log(err.code, uncaught.join());
      }
    })();`);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.stdout, 'ECONNREFUSED no protocol\n');
  assert.strictEqual(r.status, 0);
});

test('bad input throws TypeError', async () => {
  await assert.rejects(weft.createServer({}, '127.0.0.1', 0), TypeError);
  await assert.rejects(weft.createConnection(() => 5, '127.0.0.1', 1), TypeError);
  assert.throws(() => weft.Transport.prototype.write.call({}, Buffer.alloc(1)), TypeError);
  assert.throws(() => new weft.Transport(), TypeError);
  const server = await weft.createServer(echoFactory(), '127.0.0.1', 0);
  const [t, p] = await weft.createConnection(collector, '127.0.0.1', server.port());
  assert.throws(() => t.write('a string'), TypeError);
  assert.throws(() => t.setWriteBufferLimits(10, 100), RangeError);
  assert.throws(() => t.extraInfo('nonsense'), TypeError);
  assert.strictEqual(t.extraInfo('peername').port, server.port());
  t.abort();
  await p.lost;
  server.close();
});

test("write is each transport's own, bound as asyncio's, and outlives its object safely", async (tc) => {
  require('node:v8').setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  const server = await weft.createServer(echoFactory(), '127.0.0.1', 0);
  tc.after(() => server.close());
  let [t, p] = await weft.createConnection(collector, '127.0.0.1', server.port());
  const lost = p.lost;
  assert.ok(Object.hasOwn(t, 'write'));
  const write = t.write;
  write(Buffer.from('bound '));
  weft.Transport.prototype.write.call(t, Buffer.from('proto '));
  t.write(Buffer.from('own'));
  while (Buffer.concat(p.chunks).length < 15) await new Promise(setImmediate);
  assert.strictEqual(Buffer.concat(p.chunks).toString(), 'bound proto own');
  assert.throws(() => write('a string'), TypeError);
  t.abort();
  await lost;
  // The Transport object goes; the function keeps its transport, which is closed.
  let collected = false;
  const registry = new FinalizationRegistry(() => (collected = true));
  registry.register(t, 'transport');
  t = null;
  p = null;
  for (let i = 0; i < 100 && !collected; i++) {
    gc();
    await new Promise(setImmediate);
  }
  assert.ok(collected);
  assert.throws(() => write(Buffer.from('x')), (err) => err.code === 'ECLOSED');
});
