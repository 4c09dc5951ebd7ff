'use strict';
// The echo servers of bench/node/echo.sh, one per process:
//   node echo_servers.js KIND PORT
// KIND: weft-proto (weft's protocol style), weft-stream (weft's streams: read, write,
// drain), net-data (net with socket.on('data')), net-await (net with
// `for await (const chunk of socket)`, waiting for 'drain' when write says so).
const net = require('node:net');
const { once } = require('node:events');
const path = require('node:path');

const [kind, portText] = process.argv.slice(2);
const port = Number(portText);
const host = '127.0.0.1';

async function main() {
  if (kind === 'weft-proto' || kind === 'weft-stream') {
    const weft = require(path.join(__dirname, '..', '..', 'bindings', 'node'));
    if (kind === 'weft-proto') {
      await weft.createServer(() => ({
        connectionMade(transport) {
          this.transport = transport;
        },
        dataReceived(data) {
          this.transport.write(data);
        },
      }), host, port);
    } else {
      await weft.startServer(async (reader, writer) => {
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
      }, host, port);
    }
  } else if (kind === 'net-data') {
    net.createServer((socket) => {
      socket.on('data', (data) => socket.write(data));
      socket.on('error', () => {});
    }).listen(port, host);
  } else if (kind === 'net-await') {
    net.createServer(async (socket) => {
      socket.on('error', () => {});
      try {
        for await (const chunk of socket) {
          if (!socket.write(chunk)) await once(socket, 'drain');
        }
      } catch {
        // the client went away
      }
      socket.end();
    }).listen(port, host);
  } else {
    console.error(`unknown server kind ${kind}`);
    process.exit(2);
  }
}

main();
