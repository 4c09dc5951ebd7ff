"""In which loop iteration connection_lost comes, for each way a connection ends. asyncio's
transports call_soon it the moment they begin to close (close() with nothing buffered,
abort(), an error in write(), an error or end of stream the loop's I/O finds), so it runs
in the next iteration, ahead of what was scheduled after the close. A callback that
reschedules itself numbers the iterations. A loop may poll before or after the callbacks
that were ready, so an end found by polling is counted from an event of the same poll:
eof_received, on that connection or on a companion whose peer closed at the same time."""
import asyncio
import socket
from casetrace import emit, run


class Ticker:
    def __init__(self, loop):
        self.loop = loop
        self.n = 0
        self.running = True
        loop.call_soon(self.tick)

    def tick(self):
        self.n += 1
        if self.running:
            self.loop.call_soon(self.tick)


class Recorder(asyncio.Protocol):
    """Appends (name, event, iteration[, error]) to a shared log."""

    def __init__(self, name, ticker, log):
        self.name = name
        self.ticker = ticker
        self.log = log
        self.lost = ticker.loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def eof_received(self):
        self.log.append((self.name, "eof", self.ticker.n, None))
        return False

    def connection_lost(self, exc):
        self.log.append((self.name, "lost", self.ticker.n, exc))
        self.lost.set_result(None)

    def error_received(self, exc):
        pass


def show(case, log, base):
    for name, event, n, exc in log:
        emit(case, name, event, n - base, exc)


async def main():
    loop = asyncio.get_running_loop()
    ticker = Ticker(loop)

    async def pair(name, log):
        ours, peer = socket.socketpair()
        ours.setblocking(False)
        proto = Recorder(name, ticker, log)
        await loop.connect_accepted_socket(lambda: proto, ours)
        return proto, peer

    def mark(log, what):
        log.append(("marker", what, ticker.n, None))

    # close() and abort(), each with a callback scheduled after it.
    log = []
    x, px = await pair("x", log)
    y, py = await pair("y", log)
    base = ticker.n
    x.transport.close()
    loop.call_soon(mark, log, "after-close")
    y.transport.abort()
    loop.call_soon(mark, log, "after-abort")
    await asyncio.gather(x.lost, y.lost)
    show("close-abort", log, base)
    px.close()
    py.close()

    # The peer's end of stream; eof_received returns False, which closes.
    log = []
    e, pe = await pair("e", log)
    pe.close()
    await e.lost
    show("eof", log, log[0][2])

    # A reset found by reading (the peer closed with our byte unread), beside a companion's
    # end of stream found by the same poll.
    log = []
    r, pr = await pair("r", log)
    c, pc = await pair("c", log)
    r.transport.write(b"x")
    pr.close()
    pc.close()
    await asyncio.gather(r.lost, c.lost)
    eof_at = next(n for name, event, n, _ in log if event == "eof")
    show("read-error", sorted(log, key=lambda e: (e[0], e[1])), eof_at)

    # A write that fails in write() itself: reading is paused, so the peer's end is unseen.
    log = []
    w, pw = await pair("w", log)
    w.transport.pause_reading()
    pw.close()
    base = ticker.n
    w.transport.write(b"x")
    loop.call_soon(mark, log, "after-write")
    await w.lost
    show("write-error", log, base)

    # A datagram endpoint's close().
    log = []
    u = Recorder("u", ticker, log)
    await loop.create_datagram_endpoint(lambda: u, local_addr=("127.0.0.1", 0))
    base = ticker.n
    u.transport.close()
    loop.call_soon(mark, log, "after-close")
    await u.lost
    show("udp-close", log, base)

    ticker.running = False


run(main)
