"""connect_read_pipe: a StreamReader on the read end of a pipe gets what the write end sent,
then EOF when it is closed."""
import asyncio
import os
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    rfd, wfd = os.pipe()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(rfd, "rb", 0))
    os.write(wfd, b"first line\nsecond")
    emit("readline", await reader.readline())
    os.close(wfd)
    emit("read", await reader.read(), "at_eof", reader.at_eof())
    transport.close()


run(main)
