'use strict';
// UDP: asyncio's create_datagram_endpoint with a protocol object (datagramReceived(data,
// address), errorReceived(err), connectionLost(err)), and openDatagramEndpoint, whose
// endpoint hands the datagrams out through a core Queue: `for await` over
// { data, address }, ending when the endpoint closes.
module.exports = (native) => {
  function checkOptions(options) {
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new TypeError('options must be an object');
    }
    return options ?? {};
  }

  async function createDatagramEndpoint(protocolFactory, options) {
    if (typeof protocolFactory !== 'function') throw new TypeError('protocolFactory must be a function');
    const protocol = protocolFactory();
    const transport = await native.createDatagramEndpoint(protocol, checkOptions(options));
    return [transport, protocol];
  }

  class DatagramEndpoint {
    #transport;
    #queue;
    constructor(transport, queue) {
      this.#transport = transport;
      this.#queue = queue;
    }
    // send(data, { address, port }?): to the connected peer without an address.
    send(data, address) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      this.#transport.sendto(buf, address);
    }
    // The next { data, address }; rejects with QueueShutDown once the endpoint is closed.
    receive(options) {
      return this.#queue.get(options);
    }
    get transport() {
      return this.#transport;
    }
    address() {
      return this.#transport.extraInfo('sockname');
    }
    close() {
      this.#transport.close();
    }
    ref() {
      this.#transport.ref();
      return this;
    }
    unref() {
      this.#transport.unref();
      return this;
    }
    async *[Symbol.asyncIterator]() {
      for (;;) {
        let item;
        try {
          item = await this.#queue.get();
        } catch (err) {
          if (err.code === 'EQUEUESHUTDOWN') return;
          throw err;
        }
        yield item;
      }
    }
  }

  // queueSize bounds the datagrams kept unread (0: no bound); beyond it new ones are
  // dropped, as a kernel's socket buffer drops them.
  async function openDatagramEndpoint(options) {
    const { queueSize = 0, ...rest } = checkOptions(options);
    const queue = new native.Queue(queueSize);
    const protocol = {
      datagramReceived(data, address) {
        try {
          queue.putNowait({ data, address });
        } catch (err) {
          if (err.code !== 'EQUEUEFULL') throw err;
        }
      },
      connectionLost() {
        queue.shutdown(false);
      },
    };
    const transport = await native.createDatagramEndpoint(protocol, rest);
    return new DatagramEndpoint(transport, queue);
  }

  return { createDatagramEndpoint, openDatagramEndpoint, DatagramEndpoint };
};
