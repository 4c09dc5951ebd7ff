'use strict';
// TLS over weft streams and protocols: verification on by default, a private CA, SNI and
// ALPN. The certificates are made for the run with the openssl command (ci/deps.sh).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
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

test('bad TLS options throw', async () => {
  await assert.rejects(weft.openConnection('127.0.0.1', 1, { tls: { ca: 42 } }), TypeError);
  await assert.rejects(weft.openConnection('127.0.0.1', 1, { tls: { ca: 'not a pem' } }),
                       (err) => err instanceof weft.WeftError);
  await assert.rejects(weft.startServer(() => {}, '127.0.0.1', 0, { tls: { cert: 'x', key: 'y' } }),
                       (err) => err instanceof weft.WeftError);
});
