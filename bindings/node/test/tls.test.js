'use strict';
// TLS over weft streams and protocols: verification on by default, a private CA, SNI and
// ALPN. The certificates are made for the run with the openssl command (ci/deps.sh).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const weft = require('..');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-node-tls-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}
// A CA, and a leaf for "localhost" signed by it.
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
        '-days', '2', '-subj', '/CN=weft test CA');
openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr',
        '-subj', '/CN=localhost');
fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', 'leaf.pem', '-days', '2', '-extfile', 'ext.cnf');
const ca = fs.readFileSync(path.join(dir, 'ca.pem'));
const cert = fs.readFileSync(path.join(dir, 'leaf.pem'));
const key = fs.readFileSync(path.join(dir, 'leaf.key'));

async function tlsEcho(extra = {}) {
  return weft.startServer(async (reader, writer) => {
    writer.write(`${writer.getExtraInfo('alpnProtocol') ?? '-'} ${writer.getExtraInfo('servername') ?? '-'}\n`);
    for await (const line of reader) writer.write(line);
    writer.close();
  }, '127.0.0.1', 0, { tls: { cert, key, ...extra } });
}

test('a client trusting the CA talks to the server, with SNI and ALPN', async () => {
  const server = await tlsEcho({ ALPNProtocols: ['h2', 'http/1.1'] });
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.port(), {
    tls: { ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] },
  });
  assert.strictEqual(writer.getExtraInfo('alpnProtocol'), 'http/1.1');
  assert.match(writer.getExtraInfo('tlsVersion'), /^TLSv1\.[23]$/);
  assert.strictEqual(String(await reader.readline()), 'http/1.1 localhost\n');
  writer.write('secret\n');
  assert.strictEqual(String(await reader.readline()), 'secret\n');
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
});

test('verification is on by default: an unknown CA or a wrong host name fails', async () => {
  const server = await tlsEcho();
  const port = server.port();
  // The system's trust store does not know the test CA.
  await assert.rejects(weft.openConnection('127.0.0.1', port, { tls: { servername: 'localhost' } }),
                       (err) => err instanceof weft.WeftError && err.code !== undefined);
  await assert.rejects(weft.openConnection('127.0.0.1', port, { tls: { ca, servername: 'other.example' } }),
                       (err) => err instanceof weft.WeftError);
  // Turned off explicitly, as Node's rejectUnauthorized: false.
  const [reader, writer] = await weft.openConnection('127.0.0.1', port, {
    tls: { rejectUnauthorized: false },
  });
  assert.strictEqual(String(await reader.readline()), '- -\n');
  writer.close();
  server.close();
  await server.waitClosed();
});

test('protocol style over TLS', async () => {
  const server = await weft.createServer(() => ({
    connectionMade(t) { this.t = t; },
    dataReceived(d) { this.t.write(d); },
  }), '127.0.0.1', 0, { tls: { cert, key } });
  let done;
  const got = new Promise((r) => (done = r));
  const chunks = [];
  const [transport] = await weft.createConnection(() => ({
    dataReceived(d) {
      chunks.push(d);
      if (Buffer.concat(chunks).length === 5) done();
    },
  }), '127.0.0.1', server.port(), { tls: { ca, servername: 'localhost' } });
  transport.write(Buffer.from('hello'));
  await got;
  assert.strictEqual(Buffer.concat(chunks).toString(), 'hello');
  transport.close();
  server.close();
  await server.waitClosed();
});

// STARTTLS: a line in clear, then the same connection upgraded (asyncio's start_tls).
test('startTls upgrades a client connection, against a Node tls server', async () => {
  const server = net.createServer((socket) => {
    socket.once('data', (line) => {
      assert.strictEqual(String(line), 'STARTTLS\n');
      socket.write('OK\n');
      const secure = new tls.TLSSocket(socket, { isServer: true, cert, key });
      secure.on('data', (d) => secure.write(`tls:${d}`));
      secure.on('end', () => secure.end());
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const [reader, writer] = await weft.openConnection('127.0.0.1', server.address().port);
  writer.write('STARTTLS\n');
  assert.strictEqual(String(await reader.readline()), 'OK\n');
  assert.strictEqual(writer.getExtraInfo('tlsVersion'), undefined);
  await writer.startTls({ ca, servername: 'localhost' });
  assert.match(writer.getExtraInfo('tlsVersion'), /^TLSv1\.[23]$/);
  writer.write('hello\n');
  assert.strictEqual(String(await reader.readline()), 'tls:hello\n');
  writer.close();
  await writer.waitClosed();
  await new Promise((resolve) => server.close(resolve));
});

test('startTls on a server connection takes the server side, against a Node tls client', async () => {
  const upgraded = [];
  const server = await weft.startServer(async (reader, writer) => {
    assert.strictEqual(String(await reader.readline()), 'STARTTLS\n');
    writer.write('OK\n');
    await writer.startTls({ cert, key });
    upgraded.push(writer.getExtraInfo('servername'));
    const line = await reader.readline();
    writer.write(`tls:${line}`);
    await writer.drain();
    writer.close();
  }, '127.0.0.1', 0);
  const plain = net.connect(server.port(), '127.0.0.1');
  plain.write('STARTTLS\n');
  const ok = await new Promise((resolve) => plain.once('data', resolve));
  assert.strictEqual(String(ok), 'OK\n');
  const secure = tls.connect({ socket: plain, ca, servername: 'localhost' });
  secure.write('hello\n');
  const chunks = [];
  for await (const chunk of secure) chunks.push(chunk);
  assert.strictEqual(Buffer.concat(chunks).toString(), 'tls:hello\n');
  assert.deepStrictEqual(upgraded, ['localhost']);
  server.close();
  await server.waitClosed();
});

test('a failed startTls rejects and loses the connection; bad arguments throw', async () => {
  const server = net.createServer((socket) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, cert, key });
    secure.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const [, writer] = await weft.openConnection('127.0.0.1', server.address().port);
  assert.throws(() => writer.startTls(), TypeError);
  // The system's trust store does not know the test CA.
  await assert.rejects(writer.startTls({ servername: 'localhost' }),
                       (err) => err instanceof weft.WeftError && err.code === 'ETLS');
  await assert.rejects(writer.waitClosed(), (err) => err instanceof weft.WeftError);
  await new Promise((resolve) => server.close(resolve));
});

test('bad TLS options throw', async () => {
  await assert.rejects(weft.openConnection('127.0.0.1', 1, { tls: { ca: 42 } }), TypeError);
  await assert.rejects(weft.openConnection('127.0.0.1', 1, { tls: { ca: 'not a pem' } }),
                       (err) => err instanceof weft.WeftError);
  await assert.rejects(weft.startServer(() => {}, '127.0.0.1', 0, { tls: { cert: 'x', key: 'y' } }),
                       (err) => err instanceof weft.WeftError);
});
