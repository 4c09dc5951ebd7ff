"""An ordinary asyncio program, run on weft's loop: an echo server, three clients at once
in a TaskGroup, a timeout, and a subprocess. Nothing in it is specific to weft except the
line that picks the loop.

Run: PYTHONPATH=<build>/bindings/python/lib python3 examples/python/echo.py
"""

import asyncio

import weft


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def client(port: int, name: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"hello from {name}\n".encode())
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer.decode().strip()


async def main() -> None:
    loop = asyncio.get_running_loop()
    print(f"running on {type(loop).__module__}.{type(loop).__name__}")
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(client(port, f"client {i}")) for i in range(1, 4)]
        for task in tasks:
            print("echo server answered:", task.result())
    try:
        async with asyncio.timeout(0.1):
            await asyncio.sleep(1)
    except TimeoutError:
        print("a 1 s sleep inside a 0.1 s timeout: TimeoutError")
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", "echo hello from a child process", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    print(f"subprocess exited {proc.returncode}: {out.decode().strip()}")


if __name__ == "__main__":
    weft.run(main())
