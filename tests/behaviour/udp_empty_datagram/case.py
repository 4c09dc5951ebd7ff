"""sendto(b"") sends a zero-length datagram, and the peer's datagram_received gets b"" (asyncio
from Python 3.13 on; before, sendto(b"") did nothing)."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    received = asyncio.Queue()

    class Receiver(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            received.put_nowait(data)

    server, _ = await loop.create_datagram_endpoint(Receiver, local_addr=("127.0.0.1", 0))
    client, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=server.get_extra_info("sockname"))
    for payload in (b"before", b"", b"after"):
        client.sendto(payload)
    async with asyncio.timeout(10):  # a lost datagram ends the case instead of hanging it
        for _ in range(3):
            emit("received", await received.get())
    client.close()
    server.close()


run(main)
