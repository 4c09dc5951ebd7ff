"""The Python server of the slow-consumer run (bench/load/slow.py), as slow_server.c:

    python3 slow_server.py LOOP STYLE PORT MIB

LOOP is weft, uvloop or asyncio (bench/python/run.py's make_loop); STYLE is protocol
(write until pause_writing, go on at resume_writing) or streams (write then drain). Each
client gets MIB MiB of the pattern byte i = i mod 251 in 64 KiB writes, then the
connection is closed. Prints "listening", "paused BYTES" at a connection's first hold-back
and "done PAUSES" once its bytes are all written; serves until killed."""

import asyncio
import sys

from run import make_loop

CHUNK = 64 * 1024
PATTERN = bytes(i % 251 for i in range(CHUNK + 251))


def chunk_at(offset, n):
    start = offset % 251
    return PATTERN[start:start + n]


class Sender:
    def __init__(self):
        self.sent = 0
        self.pauses = 0

    def announce_pause(self):
        if self.pauses == 0:
            print("paused", self.sent, flush=True)
        self.pauses += 1

    def finished(self):
        print("done", self.pauses, flush=True)


class SenderProtocol(asyncio.Protocol):
    total = 0

    def connection_made(self, transport):
        self.transport = transport
        self.sender = Sender()
        self.paused = False
        self.pump()

    def pump(self):
        s = self.sender
        while not self.paused and s.sent < self.total:
            n = min(CHUNK, self.total - s.sent)
            self.transport.write(chunk_at(s.sent, n))
            s.sent += n
        if s.sent == self.total and not self.transport.is_closing():
            s.finished()
            self.transport.close()

    def pause_writing(self):
        self.paused = True
        self.sender.announce_pause()

    def resume_writing(self):
        self.paused = False
        self.pump()


async def stream_client(reader, writer, total):
    s = Sender()
    transport = writer.transport
    high = transport.get_write_buffer_limits()[1]
    while s.sent < total:
        n = min(CHUNK, total - s.sent)
        writer.write(chunk_at(s.sent, n))
        s.sent += n
        if transport.get_write_buffer_size() > high:
            s.announce_pause()
        await writer.drain()
    s.finished()
    writer.close()
    await writer.wait_closed()


async def serve(loop, style, port, total):
    if style == "streams":
        await asyncio.start_server(lambda r, w: stream_client(r, w, total), "127.0.0.1", port)
    else:
        SenderProtocol.total = total
        await loop.create_server(SenderProtocol, "127.0.0.1", port)
    print("listening", flush=True)
    await loop.create_future()


def main():
    loop_name, style, port, mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    loop = make_loop(loop_name)
    asyncio.set_event_loop(loop)
    loop.run_until_complete(serve(loop, style, port, mib * 1024 * 1024))


if __name__ == "__main__":
    main()
