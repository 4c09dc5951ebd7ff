'use strict';
// The protocol style's read path: the Buffers dataReceived gets (small reads share a pooled
// ArrayBuffer) keep their bytes, and each call is followed by the microtasks and the
// nextTick queue, as after each of Node's socket reads.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const weft = require('..');

// Bytes that differ from message to message, so a Buffer overwritten later shows.
function message(i, size) {
  const b = Buffer.allocUnsafe(size);
  for (let k = 0; k < size; k++) b[k] = (i * 31 + k * 7) & 0xff;
  return b;
}

// A server that keeps every Buffer it receives; `done` settles at the client's EOF.
// (Buffers over a transferred pool are detached: only the caller looks at them.)
async function keepingServer(onData) {
  let settle;
  const done = new Promise((r) => (settle = r));
  const chunks = [];
  const server = await weft.createServer(() => ({
    dataReceived(d) {
      assert.ok(Buffer.isBuffer(d));
      chunks.push(d);
      onData?.(d);
    },
    eofReceived() {
      settle();
      return false;
    },
  }), '127.0.0.1', 0);
  return { server, done, chunks };
}

async function send(port, parts) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  for (const p of parts) {
    if (!socket.write(p)) await once(socket, 'drain');
    // One write per event loop turn: the server sees many separate reads.
    await new Promise(setImmediate);
  }
  socket.end();
  await once(socket, 'close');
}

test('retained Buffers keep their bytes across pooled and unpooled reads', async () => {
  const { server, done, chunks } = await keepingServer();
  // Sizes around the pool's limits (4 KiB per read, 64 KiB per pool) and many small ones.
  const sizes = [1, 100, 1000, 4095, 4096, 4097, 16384, 30000, 65536, 70000];
  for (let i = 0; i < 300; i++) sizes.push(1 + ((i * 977) % 5000));
  const parts = sizes.map((s, i) => message(i, s));
  await send(server.port(), parts);
  await done;
  assert.ok(chunks.length > 1);
  assert.ok(Buffer.concat(chunks).equals(Buffer.concat(parts)));
  server.close();
  await server.waitClosed();
});

test('large reads keep their bytes, read straight into Buffers of their own', async (t) => {
  // Each read is made to take exactly one write: the server stops reading after every
  // dataReceived and resumes only once the client's next write has completed. On a Unix
  // socket a completed write is already in the reader's receive queue (there is no send
  // queue), so what each read finds does not depend on timing. The first large read (64 KiB
  // or more) comes through the core's shared buffer and is copied; after it, the core asks
  // how much is waiting and reads that into a Buffer made for it (read_into), larger than
  // the read and cut to it. 96 KiB fits in a Unix socket's default send buffer, so a write
  // completes while the server is not reading.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-node-reads-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'reads.sock');
  const size = 96 * 1024;
  const count = 8;
  const chunks = [];
  let transport;
  let next;
  const step = () => new Promise((r) => (next = r));
  let made = step();
  let settle;
  const done = new Promise((r) => (settle = r));
  const server = await weft.createUnixServer(() => ({
    connectionMade(tr) {
      transport = tr;
      tr.pauseReading();
      next();
    },
    dataReceived(d) {
      chunks.push(d);
      transport.pauseReading();
      next();
    },
    eofReceived() {
      settle();
      return false;
    },
  }), file);
  const socket = net.connect(file);
  // Also when an assertion fails: an open server would keep the test file running.
  t.after(() => {
    socket.destroy();
    server.close();
  });
  await made;
  const parts = [];
  for (let i = 0; i < count; i++) {
    parts.push(message(i, size));
    await new Promise((resolve, reject) => socket.write(parts[i], (err) => (err ? reject(err) : resolve())));
    const read = step();
    transport.resumeReading();
    await read;
  }
  socket.end();
  transport.resumeReading();
  await done;
  assert.strictEqual(chunks.length, count);
  for (let i = 0; i < count; i++) {
    assert.ok(Buffer.isBuffer(chunks[i]));
    assert.ok(chunks[i].equals(parts[i]), `read ${i}`);
    // The first read is a copy of exactly its bytes; the others are read_into's Buffers.
    if (i === 0) assert.strictEqual(chunks[i].buffer.byteLength, size);
    else assert.ok(chunks[i].byteOffset === 0 && chunks[i].buffer.byteLength > size, `read ${i}`);
  }
});

test('a detached read pool is not written again', async () => {
  let detached = 0;
  const copies = [];
  const { server, done } = await keepingServer((d) => {
    copies.push(Buffer.from(d));
    // Transfer the pool away under the addon, twice, at different points.
    if (detached < 2 && copies.length % 10 === 5 && d.buffer.byteLength > d.length) {
      structuredClone(d.buffer, { transfer: [d.buffer] });
      assert.strictEqual(d.buffer.byteLength, 0);
      detached++;
    }
  });
  const parts = [];
  for (let i = 0; i < 60; i++) parts.push(message(i, 200 + i));
  await send(server.port(), parts);
  await done;
  assert.strictEqual(detached, 2);
  assert.ok(Buffer.concat(copies).equals(Buffer.concat(parts)));
  server.close();
  await server.waitClosed();
});

test('microtasks and nextTick run after each dataReceived', async () => {
  const log = [];
  const conns = 4;
  let eofs = 0;
  let settle;
  const allDone = new Promise((r) => (settle = r));
  const server = await weft.createServer(() => ({
    dataReceived() {
      log.push('data');
      process.nextTick(() => log.push('tick'));
      Promise.resolve().then(() => log.push('micro'));
    },
    eofReceived() {
      if (++eofs === conns) settle();
      return false;
    },
  }), '127.0.0.1', 0);
  // Several connections write together, so one loop turn often delivers several reads.
  const sockets = [];
  for (let i = 0; i < conns; i++) {
    const s = net.connect(server.port(), '127.0.0.1');
    await once(s, 'connect');
    sockets.push(s);
  }
  for (let round = 0; round < 20; round++) {
    for (const s of sockets) s.write(message(round, 100));
    await new Promise(setImmediate);
  }
  for (const s of sockets) s.end();
  await allDone;
  assert.ok(log.length >= 3 * conns);
  for (let i = 0; i < log.length; i += 3) {
    assert.deepStrictEqual(log.slice(i, i + 3), ['data', 'tick', 'micro'], `at ${i}`);
  }
  await Promise.all(sockets.map((s) => (s.closed ? null : once(s, 'close'))));
  server.close();
  await server.waitClosed();
});
