'use strict';
// The echo servers of bench/node/echo.sh, one per process:
//   node echo_servers.js KIND
// It listens on a free loopback port and prints the port once it listens.
// KIND: weft-proto (weft's protocol style), weft-stream (weft's streams: read, write,
// drain), net-data (net with socket.on('data')), net-await (net with
// `for await (const chunk of socket)`, waiting for 'drain' when write says so).
const net = require('node:net');
const { once } = require('node:events');
const path = require('node:path');

const [kind] = process.argv.slice(2);
const host = '127.0.0.1';

function listening(port) {
  process.stdout.write(`${port}\n`);
}

async function main() {
  if (kind === 'weft-proto' || kind === 'weft-stream') {
    const weft = require(path.join(__dirname, '..', '..', 'bindings', 'node'));
    if (kind === 'weft-proto') {
      const server = await weft.createServer(() => ({
        connectionMade(transport) {
          this.transport = transport;
        },
        dataReceived(data) {
          this.transport.write(data);
        },
      }), host, 0);
      listening(server.port());
    } else {
      const server = await weft.startServer(async (reader, writer) => {
        try {
          for (;;) {
            const data = await reader.read(65536);
            if (data.length === 0) break;
            writer.write(data);
            await writer.drain();
          }
        } catch {
          // the client went away
        }
        writer.close();
      }, host, 0);
      listening(server.port());
    }
  } else if (kind === 'net-data') {
    const server = net.createServer((socket) => {
      socket.on('data', (data) => socket.write(data));
      socket.on('error', () => {});
    });
    server.listen(0, host, () => listening(server.address().port));
  } else if (kind === 'net-await') {
    const server = net.createServer(async (socket) => {
      socket.on('error', () => {});
      try {
        for await (const chunk of socket) {
          if (!socket.write(chunk)) await once(socket, 'drain');
        }
      } catch {
        // the client went away
      }
      socket.end();
    });
    server.listen(0, host, () => listening(server.address().port));
  } else {
    console.error(`unknown server kind ${kind}`);
    process.exit(2);
  }
}

main();
