"""System-call faults that peers and kernels produce, through asyncio's API: a reset in the
middle of a write, writes the kernel takes a little at a time, a peer that half-closes, a
child killed in the middle of communicate. Each runs on weft's loop and on asyncio's own,
the oracle: both must give the same outcome. (tests/test_sysfault.c has the C side, and
the descriptor-exhaustion cases.)"""

import asyncio
import os
import signal
import socket
import tempfile

import pytest

import weft

LOOPS = {"weft": weft.new_event_loop, "asyncio": asyncio.new_event_loop}


@pytest.fixture(params=sorted(LOOPS))
def run(request):
    def runner(main):
        loop = LOOPS[request.param]()
        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()

    return runner


def pattern(n):
    return (bytes(range(251)) * (n // 251 + 1))[:n]


async def recv_some(sock, limit):
    return await asyncio.get_running_loop().sock_recv(sock, limit)


def test_peer_resets_in_the_middle_of_a_write(run):
    """8 MiB written; the peer reads some, then closes with SO_LINGER 0 (an RST): drain
    raises a ConnectionError (reset or broken pipe, as the kernel reports it), what the
    peer read is the start of what was written, and the transport is closing."""

    async def main():
        listener = socket.create_server(("127.0.0.1", 0))
        with listener:
            reader, writer = await asyncio.open_connection(*listener.getsockname())
            peer, _ = listener.accept()  # queued already: the connect completed
        peer.setblocking(False)
        data = pattern(8 << 20)
        writer.write(data)
        got = bytearray()
        while len(got) < 256 * 1024:
            chunk = await recv_some(peer, 65536)
            assert chunk
            got += chunk
        assert got == data[: len(got)]
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        peer.close()
        with pytest.raises(ConnectionError):
            await writer.drain()
        assert writer.transport.is_closing()
        writer.close()
        with pytest.raises(ConnectionError):
            await writer.wait_closed()

    run(main)


def test_partial_writes_with_a_tiny_send_buffer(run):
    """SO_SNDBUF of 4 KiB: 4 MiB written in uneven pieces arrives whole and in order,
    then the EOF of the close."""

    async def main():
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        with listener:
            client.connect(listener.getsockname())
            peer, _ = listener.accept()
        peer.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=client)
        data = pattern(4 << 20)
        offset, step = 0, 1
        while offset < len(data):
            writer.write(data[offset : offset + step])
            offset += step
            step = step * 7 % 65521 + 1
        assert writer.transport.get_write_buffer_size() > 0
        writer.close()
        got = bytearray()
        while True:
            chunk = await recv_some(peer, 65536)
            if not chunk:
                break
            got += chunk
        assert got == data
        await writer.wait_closed()
        peer.close()

    run(main)


def test_peer_half_closes_then_the_reply_arrives(run):
    """The peer sends a request and shuts down its writing side: the server reads to EOF,
    then writes a 1 MiB reply (most of it after the EOF) and closes; the peer gets all of
    it, then EOF."""

    async def main():
        received = []

        async def handle(reader, writer):
            received.append(await reader.read())
            writer.write(pattern(1 << 20))
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            peer = socket.create_connection(server.sockets[0].getsockname())
            peer.sendall(b"request")
            peer.shutdown(socket.SHUT_WR)
            peer.setblocking(False)
            got = bytearray()
            while True:
                chunk = await recv_some(peer, 65536)
                if not chunk:
                    break
                got += chunk
            peer.close()
        assert received == [b"request"]
        assert got == pattern(1 << 20)

    run(main)


def test_child_killed_in_the_middle_of_communicate(run):
    """The child writes, says so (a file appears), then waits for good; killed while
    communicate reads, communicate returns what was written, and returncode is -SIGKILL."""

    async def main():
        with tempfile.TemporaryDirectory() as tmp:
            ready = os.path.join(tmp, "ready")
            proc = await asyncio.create_subprocess_shell(
                f"printf partial; printf err >&2; : > {ready}; exec sleep 600",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            communicate = asyncio.ensure_future(proc.communicate())
            for _ in range(60000):  # polled, up to about a minute
                if os.path.exists(ready) or communicate.done():
                    break
                await asyncio.sleep(0.001)
            assert os.path.exists(ready) and not communicate.done()
            proc.kill()
            out, err = await communicate
        assert (out, err) == (b"partial", b"err")
        assert proc.returncode == -signal.SIGKILL

    run(main)
