"""Echo servers in four asyncio styles, for run.py: python echo_servers.py LOOP STYLE PORT.

Each runs until killed. Styles: protocol (Protocol.data_received), buffered
(BufferedProtocol), streams (start_server + StreamReader/StreamWriter), sock (sock_accept,
sock_recv, sock_sendall)."""

import asyncio
import socket
import sys

from run import make_loop


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class EchoBufferedProtocol(asyncio.BufferedProtocol):
    def __init__(self):
        self.buffer = bytearray(256 * 1024)
        self.view = memoryview(self.buffer)

    def connection_made(self, transport):
        self.transport = transport

    def get_buffer(self, sizehint):
        return self.view

    def buffer_updated(self, nbytes):
        self.transport.write(self.view[:nbytes])


async def stream_handler(reader, writer):
    while data := await reader.read(256 * 1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def serve_sock(loop, port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    listener.setblocking(False)

    async def client(conn):
        with conn:
            while data := await loop.sock_recv(conn, 256 * 1024):
                await loop.sock_sendall(conn, data)

    while True:
        conn, _ = await loop.sock_accept(listener)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        loop.create_task(client(conn))


async def serve(loop, style, port):
    if style == "sock":
        await serve_sock(loop, port)
    elif style == "streams":
        await asyncio.start_server(stream_handler, "127.0.0.1", port)
    else:
        factory = EchoProtocol if style == "protocol" else EchoBufferedProtocol
        await loop.create_server(factory, "127.0.0.1", port)
    await loop.create_future()


def main():
    loop_name, style, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    loop = make_loop(loop_name)
    asyncio.set_event_loop(loop)
    loop.run_until_complete(serve(loop, style, port))


if __name__ == "__main__":
    main()
