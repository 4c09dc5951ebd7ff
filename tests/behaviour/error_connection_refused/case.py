"""Connecting to a loopback port where nothing listens fails with ECONNREFUSED."""
import asyncio
import socket
from casetrace import emit, run


async def main():
    # A bound socket that does not listen keeps the port ours and refuses connections.
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        await asyncio.open_connection("127.0.0.1", port)
        emit("connected")
    except OSError as e:
        emit("open_connection", e)
    loop = asyncio.get_running_loop()
    try:
        await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    except OSError as e:
        emit("create_connection", e)
    holder.close()


run(main)
