"""The loop's socket operations on a connected pair of non-blocking sockets: sock_recv waits
for data, sock_sendall sends all of a large buffer while the peer reads it, and sock_recv
returns empty at EOF."""
import asyncio
import socket
from casetrace import emit, run

SIZE = 4 * 1024 * 1024


async def main():
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    recv = loop.create_task(loop.sock_recv(b, 100))
    await asyncio.sleep(0)
    emit("recv-waiting", not recv.done())
    await loop.sock_sendall(a, b"ping")
    emit("recv", await recv)

    async def read_all():
        total = 0
        while total < SIZE:
            total += len(await loop.sock_recv(b, 65536))
        return total

    reader = loop.create_task(read_all())
    await loop.sock_sendall(a, b"z" * SIZE)
    emit("sendall", "returned")
    emit("peer", "read", await reader)
    a.close()
    emit("at-eof", await loop.sock_recv(b, 100))
    b.close()


run(main)
