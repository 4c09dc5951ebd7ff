'use strict';
// Streams: asyncio's StreamReader / StreamWriter over one native connection, with
// openConnection / startServer for TCP and Unix sockets. Reads, limits, EOF and errors are
// the core's (LimitOverrunError keeps the data, IncompleteReadError carries `partial`);
// this file shapes arguments and adds what is Node's: `for await` over lines and a
// stream.Duplex view.
const { Duplex } = require('node:stream');
const { tlsSpec } = require('./tls');

function bytes(data, what = 'data') {
  if (typeof data === 'string') return Buffer.from(data);
  if (Buffer.isBuffer(data) || data instanceof Uint8Array) return data;
  throw new TypeError(`${what} must be a Buffer, a Uint8Array or a string`);
}

function checkOptions(options) {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError('options must be an object');
  }
  return options ?? {};
}

function resolved() {
  return Promise.resolve();
}

module.exports = (native) => {
  // The addon copies a small read into the read pool it shares with the protocol style and
  // calls this for the Buffer over that part: cheaper than a Buffer made by the addon.
  native.setBufferView((pool, offset, length) => Buffer.from(pool, offset, length));

  // The native connection sits in a private field: a field load where a WeakMap lookup
  // cost a hash probe on each of a request's read, write and drain.
  class StreamReader {
    #conn;
    constructor(conn) {
      this.#conn = conn;
    }
    read(n = -1, options) {
      return this.#conn.read(n, options);
    }
    readline(options) {
      return this.#conn.readline(options);
    }
    readUntil(separator = '\n', options) {
      const seps = Array.isArray(separator) ? separator : [separator];
      return this.#conn.readuntil(seps.map((s) => bytes(s, 'separator')), options);
    }
    readExactly(n, options) {
      return this.#conn.readexactly(n, options);
    }
    atEof() {
      return this.#conn.atEof();
    }
    get buffered() {
      return this.#conn.buffered();
    }
    get limit() {
      return this.#conn.limit();
    }
    // `for await (const line of reader)`: lines until EOF, as asyncio's __anext__.
    async *[Symbol.asyncIterator]() {
      const conn = this.#conn;
      for (;;) {
        const line = await conn.readline();
        if (line.length === 0) return;
        yield line;
      }
    }
  }

  class StreamWriter {
    #conn;
    constructor(conn, reader) {
      this.#conn = conn;
      this.reader = reader;
    }
    write(data) {
      this.#conn.write(bytes(data));
    }
    writelines(list) {
      const conn = this.#conn;
      for (const data of list) conn.write(bytes(data));
    }
    writeEof() {
      this.#conn.writeEof();
    }
    canWriteEof() {
      return this.#conn.canWriteEof();
    }
    // The native drain answers undefined when asyncio's drain would return without
    // suspending (below the high-water mark, no error, no signal): a resolved Promise made
    // here costs no bridge to a core future.
    drain(options) {
      return this.#conn.drain(options) ?? resolved();
    }
    close() {
      this.#conn.close();
    }
    abort() {
      this.#conn.abort();
    }
    isClosing() {
      return this.#conn.isClosing();
    }
    waitClosed(options) {
      return this.#conn.waitClosed(options);
    }
    getExtraInfo(name) {
      return this.#conn.extraInfo(name);
    }
    // asyncio's StreamWriter.start_tls: the same reader and writer go on over TLS once the
    // Promise resolves; a connection from a server takes the server's side.
    startTls(tls, options) {
      if (tls === undefined || tls === null || tls === false) {
        throw new TypeError('startTls needs TLS options (or true)');
      }
      return this.#conn.startTls(tlsSpec(tls), options);
    }
    // asyncio's transport.set_write_buffer_limits(high, low): drain() waits above high.
    setWriteBufferLimits({ high, low } = {}) {
      this.#conn.setWriteBufferLimits(high, low);
    }
    getWriteBufferSize() {
      return this.#conn.writeBufferSize();
    }
    ref() {
      this.#conn.ref();
      return this;
    }
    unref() {
      this.#conn.unref();
      return this;
    }
  }

  function pair(conn) {
    const reader = new StreamReader(conn);
    return [reader, new StreamWriter(conn, reader)];
  }

  async function openConnection(host, port, options) {
    const { limit, tls, signal } = checkOptions(options);
    return pair(await native.openConnection(host, port, limit, tlsSpec(tls), { signal }));
  }

  async function openUnixConnection(path, options) {
    const { limit, tls, signal } = checkOptions(options);
    return pair(await native.openUnixConnection(path, limit, tlsSpec(tls), { signal }));
  }

  // The client callback's failure closes its connection and is reported as an uncaught
  // exception, as a throwing listener of a net.Server would be.
  function clientCaller(clientConnected) {
    if (typeof clientConnected !== 'function') throw new TypeError('clientConnected must be a function');
    return (conn) => {
      const [reader, writer] = pair(conn);
      let result;
      try {
        result = clientConnected(reader, writer);
      } catch (err) {
        conn.abort();
        throw err;
      }
      if (result && typeof result.then === 'function') {
        result.then(undefined, (err) => {
          conn.abort();
          process.nextTick(() => {
            throw err;
          });
        });
      }
    };
  }

  async function startServer(clientConnected, host, port, options) {
    const { limit, tls, backlog, reusePort } = checkOptions(options);
    return native.startServer(clientCaller(clientConnected), host ?? undefined, port ?? 0, limit,
                              tlsSpec(tls), backlog, reusePort);
  }

  async function startUnixServer(clientConnected, path, options) {
    const { limit, tls, backlog } = checkOptions(options);
    return native.startUnixServer(clientCaller(clientConnected), path, limit, tlsSpec(tls), backlog);
  }

  // A stream.Duplex over a reader and writer, for code that expects a Node stream.
  function toDuplex(reader, writer, { highWaterMark = 65536 } = {}) {
    if (!(reader instanceof StreamReader) || !(writer instanceof StreamWriter)) {
      throw new TypeError('toDuplex takes a StreamReader and a StreamWriter');
    }
    return new Duplex({
      highWaterMark,
      read(size) {
        reader.read(Math.max(size, 1)).then(
          (chunk) => this.push(chunk.length === 0 ? null : chunk),
          (err) => this.destroy(err),
        );
      },
      write(chunk, encoding, callback) {
        try {
          writer.write(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
        } catch (err) {
          callback(err);
          return;
        }
        writer.drain().then(() => callback(), callback);
      },
      final(callback) {
        try {
          if (writer.canWriteEof()) writer.writeEof();
          else writer.close();
          callback();
        } catch (err) {
          callback(err);
        }
      },
      destroy(err, callback) {
        writer.close();
        callback(err);
      },
    });
  }

  return {
    StreamReader,
    StreamWriter,
    openConnection,
    openUnixConnection,
    startServer,
    startUnixServer,
    toDuplex,
  };
};
