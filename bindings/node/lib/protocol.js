'use strict';
// The protocol style: asyncio's create_server / create_connection with a protocol object
// (connectionMade(transport), dataReceived(data), eofReceived(), connectionLost(err),
// pauseWriting(), resumeWriting()) whose methods the core calls from the loop, and the
// Transport it writes to. No stream buffering: the fastest way to serve.
const { tlsSpec } = require('./tls');

function checkFactory(factory) {
  if (typeof factory !== 'function') throw new TypeError('protocolFactory must be a function');
  return factory;
}

function checkOptions(options) {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError('options must be an object');
  }
  return options ?? {};
}

module.exports = (native) => {
  // The addon copies small reads into a shared ArrayBuffer and calls this with the
  // protocol as `this`: a Buffer made here costs less than one made by the addon.
  native.setDataDispatch(function dispatchData(dataReceived, pool, offset, length) {
    return dataReceived.call(this, Buffer.from(pool, offset, length));
  });

  async function createServer(protocolFactory, host, port, options) {
    const { tls, backlog, reusePort } = checkOptions(options);
    return native.createServer(checkFactory(protocolFactory), host ?? undefined, port ?? 0,
                               tlsSpec(tls), backlog, reusePort);
  }

  async function createUnixServer(protocolFactory, path, options) {
    const { tls, backlog } = checkOptions(options);
    return native.createUnixServer(checkFactory(protocolFactory), path, tlsSpec(tls), backlog);
  }

  // Resolves to [transport, protocol], as asyncio's create_connection.
  async function createConnection(protocolFactory, host, port, options) {
    const { tls, signal } = checkOptions(options);
    const protocol = checkFactory(protocolFactory)();
    const transport = await native.createConnection(protocol, host, port, tlsSpec(tls), { signal });
    return [transport, protocol];
  }

  async function createUnixConnection(protocolFactory, path, options) {
    const { tls, signal } = checkOptions(options);
    const protocol = checkFactory(protocolFactory)();
    const transport = await native.createUnixConnection(protocol, path, tlsSpec(tls), { signal });
    return [transport, protocol];
  }

  return { Transport: native.Transport, createServer, createUnixServer, createConnection, createUnixConnection };
};
