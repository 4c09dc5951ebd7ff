"""Scenarios for test_never_dies.py, each run in a process of its own:

    python never_dies_cases.py SCENARIO LOOP      (LOOP: weft or asyncio)

Each closes, cancels and fails things in some order and prints what it saw, one line per
step (exception types, not messages, where the two loops word them differently). The test
checks that the process exits normally, and that weft's lines are asyncio's, except those
starting with "~": where asyncio's answer is an accident of its selector (an OSError from
epoll_ctl on a closed descriptor) weft need only survive."""

import asyncio
import gc
import itertools
import os
import selectors
import shutil
import socket
import ssl
import sys
import tempfile
import threading

import weft

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def outcome(fn, *args):
    """What calling fn did: its result, or the type of what it raised."""
    try:
        return repr(fn(*args))
    except Exception as exc:  # noqa: BLE001 - the type is the outcome
        return type(exc).__name__


async def spin(n=3):
    for _ in range(n):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)


# ---- readers and writers -----------------------------------------------------------------

@scenario
async def watched_socket_closed():
    """add_reader/add_writer, then the socket closes under them, in every order of
    registering, closing, iterating and removing."""
    loop = asyncio.get_running_loop()
    for kinds in (("r",), ("w",), ("r", "w")):
        for remove_by in ("object", "fd"):
            a, b = socket.socketpair()
            fd = a.fileno()
            for k in kinds:
                (loop.add_reader if k == "r" else loop.add_writer)(a, lambda: None)
            a.close()
            await spin()
            target = a if remove_by == "object" else fd
            # With both registered, asyncio's selector modifies the closed descriptor's
            # epoll entry to drop one direction, and raises what epoll_ctl says.
            print("~" if len(kinds) > 1 else "", kinds, remove_by,
                  [outcome(loop.remove_reader if k == "r" else loop.remove_writer, target)
                   for k in kinds])
            b.close()
    # Registered, polled, closed, then asked for the other direction.
    a, b = socket.socketpair()
    loop.add_reader(a, lambda: None)
    await spin()
    fd = a.fileno()
    a.close()
    print("~ writer on closed object", outcome(loop.add_writer, a, lambda: None))
    await spin()
    print("~ remove reader by object", outcome(loop.remove_reader, a))
    print("~ remove writer by object", outcome(loop.remove_writer, a))
    print("remove again by fd", outcome(loop.remove_reader, fd))
    b.close()
    # A closed object never registered.
    c, d = socket.socketpair()
    c.close()
    print("never registered", outcome(loop.remove_reader, c), outcome(loop.add_reader, c, print))
    d.close()


@scenario
async def watched_number_reused():
    """The closed socket's number is taken by a new socket: the new one is watched."""
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    loop.add_reader(a.fileno(), lambda: None)
    await spin()
    fd = a.fileno()
    a.close()
    b.close()
    c, d = socket.socketpair()
    if fd not in (c.fileno(), d.fileno()):
        os.dup2(c.fileno(), fd)
    mine = c.fileno() if c.fileno() == fd else fd
    got = asyncio.Event()
    loop.remove_reader(fd)
    loop.add_reader(mine, got.set)
    d.send(b"x")
    await asyncio.wait_for(got.wait(), 5)
    print("reused number watched", got.is_set(), loop.remove_reader(mine))
    if mine != c.fileno():
        os.close(mine)
    c.close()
    d.close()


@scenario
async def transport_descriptors():
    """A socket handed to a transport is refused to add_reader/add_writer while the
    transport is open, and accepted once it closed; an object without fileno() is a
    ValueError."""
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=a)
    for fn in (loop.add_reader, loop.add_writer):
        print(fn.__name__, outcome(fn, a, print), outcome(fn, a.fileno(), print))
    for fn in (loop.remove_reader, loop.remove_writer):
        print(fn.__name__, outcome(fn, a))
    transport.close()
    await spin()
    b.close()

    class NoFileno:
        pass

    for fn in (loop.add_reader, loop.add_writer):
        print(fn.__name__, "no fileno", outcome(fn, NoFileno(), print))
    for fn in (loop.remove_reader, loop.remove_writer):
        print(fn.__name__, "no fileno", outcome(fn, NoFileno()))
    print("negative", outcome(loop.add_reader, -1, print), outcome(loop.remove_reader, -1))


# ---- transports, servers -----------------------------------------------------------------

TRANSPORT_STEPS = {
    "close": lambda t: t.close(),
    "abort": lambda t: t.abort(),
    "write": lambda t: t.write(b"x" * 70000),
    "write_eof": lambda t: t.write_eof(),
    "pause": lambda t: t.pause_reading(),
    "resume": lambda t: t.resume_reading(),
}


class Recorder(asyncio.Protocol):
    def __init__(self):
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if not self.lost.done():
            self.lost.set_result(type(exc).__name__ if exc else None)


@scenario
async def transport_orders():
    """Every order of three of close, abort, write, write_eof, pause and resume on both
    ends of a TCP connection and of a Unix one; each connection must end."""
    loop = asyncio.get_running_loop()
    server_protocols = []

    def factory():
        p = Recorder()
        server_protocols.append(p)
        return p

    tcp = await loop.create_server(factory, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "s")
    unix = await loop.create_unix_server(factory, path)
    ends = 0
    for order in itertools.permutations(TRANSPORT_STEPS, 3):
        for kind in ("tcp", "unix"):
            if kind == "tcp":
                t, p = await loop.create_connection(Recorder, "127.0.0.1", port)
            else:
                t, p = await loop.create_unix_connection(Recorder, path)
            await spin(1)
            for step in order:
                outcome(TRANSPORT_STEPS[step], t)
            t.close()
            await asyncio.wait_for(p.lost, 5)
            ends += 1
    for sp in server_protocols:
        sp.transport.abort()
    await spin()
    print("connections ended", ends)
    for server in (tcp, unix):
        server.close()
        await server.wait_closed()
    shutil.rmtree(tmp, ignore_errors=True)


@scenario
async def server_orders():
    """A server closed, its clients closed or aborted, waited for, in several orders, with
    clients connected."""
    loop = asyncio.get_running_loop()
    steps = {
        "close": lambda s: s.close(),
        "close_clients": lambda s: s.close_clients(),
        "abort_clients": lambda s: s.abort_clients(),
    }
    done = 0
    for order in itertools.permutations(steps):
        server = await loop.create_server(Recorder, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clients = [await loop.create_connection(Recorder, "127.0.0.1", port) for _ in range(3)]
        await spin()
        for step in order:
            if hasattr(server, step):  # close_clients/abort_clients: 3.13's
                steps[step](server)
        for t, p in clients:
            t.close()
            await asyncio.wait_for(p.lost, 5)
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
        done += 1
    print("servers closed", done)


# ---- futures and tasks ---------------------------------------------------------------------

@scenario
async def futures_and_tasks():
    """Futures completed, cancelled and failed in each order; tasks cancelled before they
    start, while they wait, after they finished; callbacks that raise."""
    loop = asyncio.get_running_loop()
    ops = {
        "result": lambda f: f.set_result(1),
        "exception": lambda f: f.set_exception(ValueError()),
        "cancel": lambda f: f.cancel(),
    }
    for order in itertools.permutations(ops):
        f = loop.create_future()
        print(order, [outcome(ops[o], f) for o in order], f.cancelled())
    seen = []
    loop.set_exception_handler(lambda loop, ctx: seen.append(type(ctx.get("exception"))))

    def boom():
        raise RuntimeError("callback")

    loop.call_soon(boom)
    f = loop.create_future()
    f.add_done_callback(lambda _: boom())
    f.set_result(None)
    await spin()
    print("handler saw", [t.__name__ for t in seen])
    loop.set_exception_handler(None)

    async def waits():
        await asyncio.sleep(10)

    async def fails():
        raise KeyError

    before = asyncio.create_task(waits())
    before.cancel()
    waiting = asyncio.create_task(waits())
    await spin(1)
    waiting.cancel()
    finished = asyncio.create_task(fails())
    await spin(1)
    print("cancel finished", finished.cancel())
    for task in (before, waiting, finished):
        try:
            await task
        except BaseException as exc:  # noqa: BLE001
            print("task", type(exc).__name__)
    # A task cancelled twice, and one cancelled from inside a callback of its own waiter.
    t = asyncio.create_task(waits())
    await spin(1)
    t.cancel()
    t.cancel()
    print("double cancel", (await asyncio.gather(t, return_exceptions=True))[0].__class__.__name__)
    g = asyncio.gather(waits(), fails(), return_exceptions=False)
    try:
        await g
    except KeyError:
        print("gather failed")
    await spin()


# ---- subprocesses ----------------------------------------------------------------------------

@scenario
async def subprocess_orders():
    """A child killed, terminated, its transport closed, waited for, in each order."""
    steps = {
        "kill": lambda p: p.kill(),
        "terminate": lambda p: p.terminate(),
        "close_stdin": lambda p: p.stdin.close(),
        "close_transport": lambda p: p._transport.close(),
    }
    for forked in (False, True):  # posix_spawn, and Popen's fork (which umask needs)
        extra = {"umask": 0o022} if forked else {}
        ends = []
        for order in itertools.permutations(steps, 2):
            p = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "import sys, time; sys.stdin.read(); time.sleep(30)",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, **extra)
            for step in order:
                outcome(steps[step], p)
            p._transport.close()
            code = await asyncio.wait_for(p.wait(), 10)
            ends.append(code is not None)
            # After close(), asyncio's kill() raises ProcessLookupError; weft's returns.
            print("~", order, outcome(p.kill))
        print("children ended", forked, all(ends), len(ends))


# ---- the loop itself ---------------------------------------------------------------------------

def loop_itself(kind):
    """The loop closed with transports, servers, readers, timers, tasks and children still
    there; every call on a closed loop raises rather than crashing."""
    loop = new_loop(kind)
    asyncio.set_event_loop(loop)
    a, b = socket.socketpair()

    async def setup():
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        loop.add_reader(a, lambda: None)
        loop.call_later(100, print)
        loop.create_task(asyncio.sleep(100))
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
        await proc.wait()
        return server, transport

    server, transport = loop.run_until_complete(setup())
    loop.close()
    print("closed", loop.is_closed())
    for name, fn in (("call_soon", lambda: loop.call_soon(print)),
                     ("call_later", lambda: loop.call_later(1, print)),
                     ("add_reader", lambda: loop.add_reader(b, print)),
                     ("remove_reader", lambda: loop.remove_reader(a)),
                     ("run_until_complete", lambda: loop.run_until_complete(asyncio.sleep(0))),
                     ("close again", loop.close)):
        print(name, outcome(fn))
    # asyncio's transport.close() schedules connection_lost: RuntimeError on a closed loop.
    print("~ transport close", outcome(transport.close))
    print("server close", outcome(server.close))
    a.close()
    b.close()
    asyncio.set_event_loop(None)
    gc.collect()


END_STEPS = ("close", "abort", "pause", "write", "write_eof")


def loop_end_orders(kind):
    """A generated walk: on one end (client or accepted) of a TCP, Unix or TLS connection, each
    step of END_STEPS and each ordered pair of them, with the server closed before the
    steps, after them or not at all, and then the loop either stopped after one iteration
    and closed, or closed at once, with everything still open; then the same calls once
    more on the closed loop, and the garbage collected. The steps' outcomes must be
    asyncio's; on the closed loop asyncio raises from call_soon where its transport still
    had something to schedule, so there weft need only survive."""
    orders = [(step,) for step in END_STEPS] + list(itertools.permutations(END_STEPS, 2))
    tmp = tempfile.mkdtemp()
    sctx, cctx = tls_contexts()
    cases = 0
    for family, end, server_at, loop_end in itertools.product(
            ("tcp", "unix", "tls"), ("client", "accepted"), ("before", "after", "never"),
            ("stop", "close")):
        if family == "tls" and server_at != "after":
            continue  # handshakes are slow on a loaded machine: one server order for TLS
        for order in orders:
            loop = new_loop(kind)
            accepted = []

            def factory():
                p = Recorder()
                accepted.append(p)
                return p

            async def connect():
                if family in ("tcp", "tls"):
                    tls = family == "tls"
                    server = await loop.create_server(factory, "127.0.0.1", 0,
                                                      ssl=sctx if tls else None)
                    port = server.sockets[0].getsockname()[1]
                    t, _ = await loop.create_connection(Recorder, "127.0.0.1", port,
                                                        ssl=cctx if tls else None,
                                                        server_hostname="localhost" if tls
                                                        else None)
                else:
                    path = os.path.join(tmp, "s%d" % cases)
                    server = await loop.create_unix_server(factory, path)
                    t, _ = await loop.create_unix_connection(Recorder, path)
                while not accepted or not hasattr(accepted[0], "transport"):
                    await asyncio.sleep(0)
                return server, t

            server, client = loop.run_until_complete(connect())
            target = client if end == "client" else accepted[0].transport
            if server_at == "before":
                server.close()
            seen = [outcome(TRANSPORT_STEPS[step], target) for step in order]
            if server_at == "after":
                server.close()
            if loop_end == "stop":
                loop.call_soon(loop.stop)
                loop.run_forever()
            loop.close()
            print(family, end, server_at, loop_end, order, seen)
            print("~ after close", [outcome(TRANSPORT_STEPS[step], t)
                                    for t in (client, target) for step in order],
                  outcome(server.close))
            del server, client, target, accepted, loop
            cases += 1
        # What the closed loops left open goes with the collector (an unclosed socket
        # warns, as on asyncio).
        gc.collect()
    shutil.rmtree(tmp, ignore_errors=True)
    print("cases", cases)


def datagram_loop_end_orders(kind):
    """loop_end_orders for datagram endpoints (UDP and Unix datagram): each step and ordered
    pair of close, abort, a datagram sent and one sent to an address sendto refuses (a
    fatal write error), then the loop stopped after one iteration and closed, or closed at
    once. The steps' outcomes and the protocol's calls must be asyncio's."""
    tmp = tempfile.mkdtemp()
    cases = 0
    for family, loop_end in itertools.product(("udp", "unix"), ("stop", "close")):
        steps = {"close": lambda t, to: t.close(), "abort": lambda t, to: t.abort(),
                 "send": lambda t, to: t.sendto(b"x", to),
                 "refused": lambda t, to: t.sendto(b"x", 5)}
        for order in [(s,) for s in steps] + list(itertools.permutations(steps, 2)):
            loop = new_loop(kind)
            calls = []
            loop.set_exception_handler(lambda _, context: calls.append(context["message"]))

            class Datagrams(asyncio.DatagramProtocol):
                def error_received(self, exc):
                    calls.append(("error_received", type(exc).__name__))

                def connection_lost(self, exc):
                    calls.append(("connection_lost", type(exc).__name__))

            async def endpoints():
                if family == "udp":
                    a = await loop.create_datagram_endpoint(Datagrams, local_addr=("127.0.0.1", 0))
                    b = await loop.create_datagram_endpoint(Datagrams, local_addr=("127.0.0.1", 0))
                else:
                    paths = [os.path.join(tmp, "d%d%s" % (cases, end)) for end in "ab"]
                    a, b = [await loop.create_datagram_endpoint(
                        Datagrams, local_addr=path, family=socket.AF_UNIX) for path in paths]
                return a[0], b[0]

            a, b = loop.run_until_complete(endpoints())
            to = b.get_extra_info("sockname")
            seen = [outcome(steps[step], a, to) for step in order]
            if loop_end == "stop":
                loop.call_soon(loop.stop)
                loop.run_forever()
            loop.close()
            print(family, loop_end, order, seen, calls)
            print("~ after close", [outcome(steps[step], a, to) for step in order],
                  outcome(b.close))
            del a, b, loop
            cases += 1
        gc.collect()
    shutil.rmtree(tmp, ignore_errors=True)
    print("cases", cases)


LOOP_SCENARIOS = {"loop_itself": loop_itself, "loop_end_orders": loop_end_orders,
                  "datagram_loop_end_orders": datagram_loop_end_orders}


# ---- TLS on a Unix socket under load ----------------------------------------------------------

CERTS = os.path.join(os.path.dirname(ssl.__file__), "test", "certdata")


def tls_contexts():
    """A server context and a client context that trusts it (CPython's test certificates)."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(os.path.join(CERTS, "keycert3.pem"))
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(os.path.join(CERTS, "pycacert.pem"))
    return sctx, cctx


@scenario
async def tls_unix_clients_close_at_once():
    """A TLS server on a Unix socket, 25 clients in threads each sending 1 MiB and closing
    (some sending close_notify first, some not) as soon as the reply is there: 3 rounds."""
    size = 1 << 20
    sctx, cctx = tls_contexts()

    async def handle(reader, writer):
        try:
            got = 0
            while got < size:
                data = await reader.read(65536)
                if not data:
                    break
                got += len(data)
            writer.write(b"%d\n" % got)
            await writer.drain()
            await reader.read()
        except (ConnectionError, ssl.SSLError):
            pass
        writer.close()

    def client(i, results):
        try:
            with socket.socket(socket.AF_UNIX) as raw:
                raw.settimeout(30)
                raw.connect(path)
                tls = cctx.wrap_socket(raw, server_hostname="localhost")
                tls.sendall(b"x" * size)
                reply = tls.recv(64)
                if i % 2:
                    tls.setblocking(False)  # close_notify out, no wait for the answer
                    try:
                        tls.unwrap()
                    except (ssl.SSLError, OSError):
                        pass
                tls.close()
                results.append(reply == b"%d\n" % size)
        except OSError:
            results.append(False)

    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "tls.sock")
    server = await asyncio.start_unix_server(handle, path, ssl=sctx)
    loop = asyncio.get_running_loop()
    for round_ in range(3):
        results = []
        threads = [threading.Thread(target=client, args=(i, results)) for i in range(25)]

        def run_clients():
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        await loop.run_in_executor(None, run_clients)
        print("round", round_, sum(results), "of", len(results))
    server.close()
    await server.wait_closed()
    shutil.rmtree(tmp, ignore_errors=True)


def new_loop(kind):
    if kind == "weft":
        return weft.new_event_loop()
    return asyncio.SelectorEventLoop(selectors.EpollSelector())


def main():
    name, kind = sys.argv[1], sys.argv[2]
    if name in LOOP_SCENARIOS:
        LOOP_SCENARIOS[name](kind)
    else:
        with asyncio.Runner(loop_factory=lambda: new_loop(kind)) as runner:
            runner.run(asyncio.wait_for(SCENARIOS[name](), 120))
    print("exited normally")


if __name__ == "__main__":
    main()
