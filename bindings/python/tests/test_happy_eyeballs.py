"""create_connection's address race (the core's: interleave, happy_eyeballs_delay, the local
bind) against asyncio's: the same resolved addresses give the same connection, and when they
all fail, the same exception in the same words. Every address is on loopback."""

import asyncio
import contextlib
import socket
import sys

import pytest

import weft

LOOPS = {"asyncio": asyncio.new_event_loop, "weft": weft.new_event_loop}


def _refused_ports(stack, count, family=socket.AF_INET):
    """Loopback ports that refuse connections: bound, never listening."""
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    ports = []
    for _ in range(count):
        holder = stack.enter_context(socket.socket(family))
        holder.bind((host, 0))
        ports.append(holder.getsockname()[1])
    return ports


def _v4(port):
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))


def _v6(port):
    return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0))


def _run(new_loop, infos, **kwargs):
    """create_connection to `infos` (loop.getaddrinfo answers them, for the host and for
    local_addr alike: local_infos when given) on a new loop: the peer, or the exception as
    (type, errno, str)."""
    local_infos = kwargs.pop("local_infos", None)
    loop = new_loop()

    async def getaddrinfo(host, port, **_):
        return local_infos if host == "local" else infos

    loop.getaddrinfo = getaddrinfo

    async def main():
        try:
            transport, _ = await loop.create_connection(asyncio.Protocol, "example", 1, **kwargs)
        except OSError as exc:
            return type(exc), exc.errno, str(exc)
        except BaseExceptionGroup as group:
            return type(group), [(type(e), e.errno, str(e)) for e in group.exceptions]
        peer = transport.get_extra_info("peername")
        transport.close()
        return peer

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def _both(infos, **kwargs):
    return {name: _run(new_loop, infos, **dict(kwargs)) for name, new_loop in LOOPS.items()}


@pytest.mark.parametrize("interleave", [None, 1, 2])
def test_failures_read_as_asyncio_in_the_order_tried(interleave):
    with contextlib.ExitStack() as stack:
        v4 = _refused_ports(stack, 3)
        v6 = _refused_ports(stack, 2, socket.AF_INET6)
        infos = [_v6(p) for p in v6] + [_v4(p) for p in v4]
        got = _both(infos, interleave=interleave)
    assert got["weft"] == got["asyncio"]
    assert got["weft"][0] is OSError and got["weft"][2].startswith("Multiple exceptions: ")


def test_happy_eyeballs_failures_are_asyncio_s():
    # Attempts overlap: the order of the failures is the order they happen in, so only
    # the set of them is compared.
    with contextlib.ExitStack() as stack:
        infos = [_v4(p) for p in _refused_ports(stack, 3)]
        got = _both(infos, happy_eyeballs_delay=0.25)
    for name in LOOPS:
        kind, number, text = got[name]
        head, _, rest = text.partition(": ")
        got[name] = kind, number, head, sorted(rest.split(", [Errno"))
    assert got["weft"] == got["asyncio"]


def test_one_failure_is_raised_itself():
    with contextlib.ExitStack() as stack:
        infos = [_v4(_refused_ports(stack, 1)[0])]
        got = _both(infos)
    assert got["weft"] == got["asyncio"]
    assert got["weft"][0] is ConnectionRefusedError


@pytest.mark.parametrize("delay", [None, 0.25])
def test_the_first_address_that_connects_wins(delay):
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
        port = server.getsockname()[1]
        infos = [_v4(p) for p in _refused_ports(stack, 2)] + [_v4(port)]
        got = _both(infos, happy_eyeballs_delay=delay)
    assert got["weft"] == got["asyncio"] == ("127.0.0.1", port)


def test_local_bind_failures_read_as_asyncio():
    with contextlib.ExitStack() as stack:
        taken = stack.enter_context(socket.socket())
        taken.bind(("127.0.0.1", 0))
        server = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
        v6 = _refused_ports(stack, 1, socket.AF_INET6)
        # v6 has no local address of its family; v4's is taken
        infos = [_v6(v6[0]), _v4(server.getsockname()[1])]
        got = _both(infos, local_addr=("local", 0), local_infos=[_v4(taken.getsockname()[1])])
    assert got["weft"] == got["asyncio"]
    assert "no matching local address with family=" in got["weft"][2]
    assert "error while attempting to bind on address" in got["weft"][2]


def test_a_free_local_address_is_bound():
    with socket.create_server(("127.0.0.1", 0)) as server, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local = probe.getsockname()[1]
        probe.close()  # free again: the connection binds it

        async def main():
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_connection(
                asyncio.Protocol, "127.0.0.1", server.getsockname()[1],
                local_addr=("127.0.0.1", local))
            name = transport.get_extra_info("sockname")
            transport.close()
            return name

        assert weft.run(main()) == ("127.0.0.1", local)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="all_errors is 3.12's")
def test_all_errors_gives_every_failure():
    with contextlib.ExitStack() as stack:
        infos = [_v4(p) for p in _refused_ports(stack, 2)]
        got = _both(infos, all_errors=True)
    assert got["weft"] == got["asyncio"]
    assert got["weft"][0] is ExceptionGroup and len(got["weft"][1]) == 2
