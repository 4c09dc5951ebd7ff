"""Datagrams over loopback UDP arrive whole, one datagram_received each, in order."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            self.transport.sendto(data.upper(), addr)

    class Client(asyncio.DatagramProtocol):
        def __init__(self):
            self.n = 0

        def datagram_received(self, data, addr):
            emit("client", "received", data)
            self.n += 1
            if self.n == 4:
                done.set_result(None)

        def error_received(self, exc):
            emit("client", "error", exc)

    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    addr = server.get_extra_info("sockname")
    client, _ = await loop.create_datagram_endpoint(Client, remote_addr=addr)
    for payload in (b"one", b"two", b"x" * 40, b"3"):
        client.sendto(payload)
        await asyncio.sleep(0.01)
    async with asyncio.timeout(10):  # a lost datagram ends the case instead of hanging it
        await done
    client.close()
    server.close()


run(main)
