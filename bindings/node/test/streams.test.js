'use strict';
// Streams: asyncio's reader and writer semantics from the core, over TCP and Unix sockets
// on the loopback, with `for await`, AbortSignal and the stream.Duplex view.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const weft = require('..');
const { runScript } = require('./helpers.js');

// An echo server whose client handler echoes lines until EOF.
async function lineEcho(options) {
  return weft.startServer(async (reader, writer) => {
    for await (const line of reader) {
      writer.write(line);
      await writer.drain();
    }
    writer.close();
  }, '127.0.0.1', 0, options);
}

test('readline, readExactly, readUntil and read to EOF over TCP', async () => {
  const server = await lineEcho();
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  writer.write('hello\nworld\nx;y|z\n');
  assert.strictEqual(String(await reader.readline()), 'hello\n');
  assert.strictEqual(String(await reader.readExactly(3)), 'wor');
  assert.strictEqual(String(await reader.readUntil('\n')), 'ld\n');
  // Of several separators, the one whose match ends first.
  assert.strictEqual(String(await reader.readUntil(['|', ';'])), 'x;');
  writer.writeEof();
  assert.strictEqual(String(await reader.read()), 'y|z\n');
  assert.strictEqual((await reader.read()).length, 0);
  assert.ok(reader.atEof());
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
});

test('IncompleteReadError carries the partial data; LimitOverrunError keeps it', async () => {
  const server = await weft.startServer(async (reader, writer) => {
    writer.write('0123456789abc');
    writer.close();
  }, '127.0.0.1', 0);
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port(), { limit: 4 });
  assert.strictEqual(reader.limit, 4);
  await assert.rejects(reader.readUntil('x'), (err) => {
    assert.ok(err instanceof weft.LimitOverrunError);
    assert.strictEqual(err.code, 'ELIMITOVERRUN');
    assert.strictEqual(typeof err.consumed, 'number');
    return true;
  });
  // The data stayed in the reader.
  assert.strictEqual(String(await reader.readExactly(2)), '01');
  await assert.rejects(reader.readExactly(100), (err) => {
    assert.ok(err instanceof weft.IncompleteReadError);
    assert.strictEqual(String(err.partial), '23456789abc');
    assert.strictEqual(err.expected, 100);
    return true;
  });
  writer.close();
  server.close();
});

test('an aborted read rejects with CancelledError and the reader goes on', async () => {
  const server = await lineEcho();
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  const ac = new AbortController();
  const pending = reader.readline({ signal: ac.signal });
  ac.abort();
  await assert.rejects(pending, weft.CancelledError);
  writer.write('after\n');
  assert.strictEqual(String(await reader.readline()), 'after\n');
  // An already aborted signal cancels at once.
  await assert.rejects(reader.read(10, { signal: AbortSignal.abort() }), weft.CancelledError);
  writer.close();
  server.close();
});

test('only one read may wait at a time', async () => {
  const server = await lineEcho();
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  const first = reader.readline();
  assert.throws(() => reader.readline(), weft.InvalidStateError);
  writer.write('one\n');
  assert.strictEqual(String(await first), 'one\n');
  writer.close();
  server.close();
});

test('drain waits while the write buffer is above the high-water mark', async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  let received = 0;
  const total = 8 * 1024 * 1024;
  const server = await weft.startServer(async (reader, writer) => {
    await gate; // reads nothing until the client saw its buffer fill
    for (;;) {
      const chunk = await reader.read(1 << 20);
      if (chunk.length === 0) break;
      received += chunk.length;
    }
    writer.close();
  }, '127.0.0.1', 0);
  const [, writer] = await weft.openConnection('127.0.0.1', server.port());
  writer.setWriteBufferLimits({ high: 1024, low: 256 });
  writer.write(Buffer.alloc(total));
  assert.ok(writer.getWriteBufferSize() > 1024);
  let drained = false;
  const d = writer.drain().then(() => (drained = true));
  await weft.sleep(0);
  assert.strictEqual(drained, false);
  release();
  await d;
  assert.ok(writer.getWriteBufferSize() <= 256);
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
  assert.strictEqual(received, total);
});

// Below the high-water mark asyncio's drain returns without suspending; weft answers with a
// resolved Promise made without a core bridge, and keeps the bridge for a signal or an error.
test('drain that need not wait resolves at once, and rejects once the connection is lost', async () => {
  const server = await weft.startServer(async (reader, writer) => {
    await reader.read();
    writer.close();
  }, '127.0.0.1', 0);
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  writer.write('x');
  const first = writer.drain();
  const second = writer.drain();
  assert.ok(first instanceof Promise && second instanceof Promise);
  assert.notStrictEqual(first, second);
  const order = [];
  const settled = Promise.all([
    first.then(() => order.push('drain')),
    Promise.resolve().then(() => order.push('tick')),
  ]);
  assert.strictEqual(await first, undefined);
  await settled;
  assert.deepStrictEqual(order, ['drain', 'tick']);
  assert.strictEqual(await writer.drain({ signal: new AbortController().signal }), undefined);
  writer.writeEof();
  assert.strictEqual((await reader.read()).length, 0);
  writer.close();
  await assert.rejects(writer.drain(), /Connection lost/);
  await writer.waitClosed();
  await assert.rejects(writer.drain(), /Connection lost/);
  server.close();
  await server.waitClosed();
});

// The native side remembers the last connection a method was called on: calls that
// alternate between connections must still reach their own.
test('reads and writes that alternate between connections stay on their own', async () => {
  const server = await lineEcho();
  const a = await weft.openConnection('127.0.0.1', server.port());
  const b = await weft.openConnection('127.0.0.1', server.port());
  for (let i = 0; i < 3; i++) {
    a[1].write(`a${i}\n`);
    b[1].write(`b${i}\n`);
    await b[1].drain();
    await a[1].drain();
    assert.strictEqual(String(await b[0].readline()), `b${i}\n`);
    assert.strictEqual(String(await a[0].readline()), `a${i}\n`);
  }
  for (const [, writer] of [a, b]) {
    writer.close();
    await writer.waitClosed();
  }
  server.close();
  await server.waitClosed();
});

// Small reads are Buffers over parts of a shared pool: each keeps its own bytes while
// later reads fill the pool, and a pool that JS transferred away is replaced.
test('small reads are Buffers of their own bytes, also after their pool is transferred', async () => {
  const server = await lineEcho();
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  const kept = [];
  for (let i = 0; i < 200; i++) {
    const line = `${i}:${'x'.repeat(i * 37 % 1000)}\n`;
    writer.write(line);
    const got = await reader.readline();
    assert.ok(Buffer.isBuffer(got));
    assert.strictEqual(String(got), line);
    kept.push([got, line]);
    if (i === 100) structuredClone(got.buffer, { transfer: [got.buffer] });
  }
  for (const [got, line] of kept.slice(101)) assert.strictEqual(String(got), line);
  // Those before the transfer went with their pool.
  assert.strictEqual(kept[100][0].length, 0);
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
});

test('Unix sockets, and a weft connection as a stream.Duplex', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'echo.sock');
  const server = await weft.startUnixServer(async (reader, writer) => {
    const duplex = weft.toDuplex(reader, writer);
    await pipeline(duplex, duplex); // echo until EOF, then end
  }, file);
  const [reader, writer] = await weft.openUnixConnection(file);
  const duplex = weft.toDuplex(reader, writer);
  const chunks = [];
  duplex.on('data', (c) => chunks.push(c));
  const ended = new Promise((resolve) => duplex.on('end', resolve));
  duplex.write('through ');
  duplex.end('a duplex');
  await ended;
  assert.strictEqual(Buffer.concat(chunks).toString(), 'through a duplex');
  server.close();
  await server.waitClosed();
  assert.ok(!fs.existsSync(file));
});

test('connection errors carry Node-style codes', async () => {
  const server = await weft.startServer(() => {}, '127.0.0.1', 0);
  const port = server.port();
  server.close();
  await server.waitClosed();
  await assert.rejects(weft.openConnection('127.0.0.1', port), (err) => err.code === 'ECONNREFUSED');
  await assert.rejects(weft.openUnixConnection('/nonexistent/weft.sock'), (err) => err.code === 'ENOENT');
});

test('bad input throws, closed objects throw, nothing crashes', async () => {
  await assert.rejects(weft.openConnection(42, 1), TypeError);
  await assert.rejects(weft.openConnection('127.0.0.1', 'x'), TypeError);
  await assert.rejects(weft.openConnection('127.0.0.1', 1, { limit: -1 }), RangeError);
  await assert.rejects(weft.openConnection('127.0.0.1', 1, { signal: 5 }), TypeError);
  await assert.rejects(weft.openConnection('127.0.0.1', 1, { tls: 'yes' }), TypeError);
  await assert.rejects(weft.startServer('nope', '127.0.0.1', 0), TypeError);
  const server = await lineEcho();
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  assert.throws(() => writer.write(42), TypeError);
  await assert.rejects(async () => reader.readExactly(-1), RangeError);
  await assert.rejects(async () => reader.readUntil(''), RangeError);
  assert.throws(() => weft.StreamWriter.prototype.write.call({}, 'x'), TypeError);
  assert.throws(() => weft.Server.prototype.close.call({}), TypeError);
  assert.throws(() => new weft.Server(), TypeError);
  writer.close();
  await writer.waitClosed();
  assert.throws(() => writer.write('late'), (err) => err.code === 'ECLOSED');
  server.close();
  server.close(); // closing twice is harmless
  await server.waitClosed();
});

test('large reads keep their bytes after later reads, and are Buffers of their own', async (t) => {
  // Reads of 4 KiB or more are Buffers over the read's own memory: each keeps its bytes,
  // and writing into one changes no other.
  const size = 64 * 1024;
  const parts = [];
  for (let i = 0; i < 6; i++) parts.push(Buffer.alloc(size, i + 1));
  const server = await weft.startServer(async (reader, writer) => {
    for (const p of parts) writer.write(p);
    writer.write(Buffer.from('tail'));
    await writer.drain();
    writer.close();
  }, '127.0.0.1', 0);
  t.after(() => server.close());
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port());
  const got = [];
  for (let i = 0; i < parts.length; i++) got.push(await reader.readExactly(size));
  got.push(await reader.read());
  got[0].fill(0xee);
  assert.ok(got[1].equals(parts[1]));
  for (let i = 1; i < parts.length; i++) assert.ok(Buffer.isBuffer(got[i]) && got[i].equals(parts[i]), `read ${i}`);
  assert.strictEqual(got[parts.length].toString(), 'tail');
  writer.close();
  await writer.waitClosed();
});

test('a reset connection reports no unretrieved exception once collected', () => {
  // The addon watches each connection's end with a future of its own; its error (the reset)
  // is nobody's to retrieve, so its release must not be reported, as in asyncio.
  const r = runScript(`
    const net = require('node:net');
    require('node:v8').setFlagsFromString('--expose-gc');
    const gc = require('node:vm').runInNewContext('gc');
    (async () => {
      let done;
      const finished = new Promise((resolve) => (done = resolve));
      const server = await weft.startServer(async (reader, writer) => {
        try {
          for (;;) {
            const d = await reader.read(65536);
            if (d.length === 0) break;
            writer.write(d);
            await writer.drain();
          }
        } catch (e) {
          console.log('handler', e.code);
        }
        writer.close();
        done();
      }, '127.0.0.1', 0);
      const s = net.connect(server.port(), '127.0.0.1');
      await new Promise((resolve) => s.on('connect', resolve));
      s.write('hello');
      await new Promise((resolve) => s.once('data', resolve));
      s.resetAndDestroy();
      await finished;
      for (let i = 0; i < 50; i++) { gc(); await new Promise(setImmediate); }
      server.close();
      await server.waitClosed();
    })();
  `);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /handler ECONNRESET/);
  assert.doesNotMatch(r.stderr, /never retrieved/);
});

test('100 KiB messages echoed with read(65536) come back whole and in order', async (t) => {
  // After a large read the core's transport reads what waits straight into the reader, and
  // read(65536) returns those bytes (the first 64 KiB of each message, then the rest): the
  // streams echo of bench/node at 100 KiB. A read aborted meanwhile leaves its bytes.
  const net = require('node:net');
  const size = 100 * 1024;
  const server = await weft.startServer(async (reader, writer) => {
    let aborted = 0;
    for (;;) {
      if (aborted < 3 && reader.buffered === 0) {
        aborted++;
        const ac = new AbortController();
        const pending = reader.read(65536, { signal: ac.signal });
        ac.abort();
        await assert.rejects(pending, weft.CancelledError);
      }
      const d = await reader.read(65536);
      if (d.length === 0) break;
      writer.write(d);
      await writer.drain();
    }
    assert.strictEqual(aborted, 3);
    writer.close();
  }, '127.0.0.1', 0);
  t.after(() => server.close());
  const s = net.connect(server.port(), '127.0.0.1');
  await new Promise((resolve) => s.on('connect', resolve));
  let pending = Buffer.alloc(0);
  let wake = null;
  s.on('data', (d) => {
    pending = Buffer.concat([pending, d]);
    if (wake) wake();
  });
  for (let m = 0; m < 40; m++) {
    const msg = Buffer.alloc(size);
    for (let i = 0; i < size; i++) msg[i] = (i * 7 + m * 13 + (i >> 12)) & 0xff;
    s.write(msg);
    while (pending.length < size) await new Promise((resolve) => (wake = resolve));
    assert.ok(pending.subarray(0, size).equals(msg), `message ${m}`);
    pending = pending.subarray(size);
  }
  s.end();
  await new Promise((resolve) => s.on('close', resolve));
});
