"""loop.getaddrinfo against socket.getaddrinfo: for every combination of host, port,
family, type and flags below, the loop gives the same answer or raises the same exception
(type, errno and message). Every host is numeric, empty, over-long or a name /etc/hosts
answers (localhost), so nothing here leaves the machine."""

import asyncio
import itertools
import socket

import pytest

import weft

HOSTS = [None, "", "127.0.0.1", "::1", "localhost", "a" * 300]
PORTS = [None, 0, 80, "80", "http"]
FAMILIES = [socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6]
TYPES = [0, socket.SOCK_STREAM, socket.SOCK_DGRAM]
FLAGS = [0, socket.AI_PASSIVE, socket.AI_NUMERICHOST, socket.AI_CANONNAME | socket.AI_NUMERICSERV]
COMBINATIONS = list(itertools.product(HOSTS, PORTS, FAMILIES, TYPES, FLAGS))


def outcome(call):
    """What a getaddrinfo call gave, in a form two calls can be compared by."""
    try:
        return "result", sorted(call())
    except Exception as exc:  # noqa: BLE001 - the exception is the answer compared
        return "raised", type(exc), getattr(exc, "errno", None), str(exc)


def test_every_combination_matches_socket_getaddrinfo():
    assert len(COMBINATIONS) == 1080
    loop = weft.new_event_loop()
    try:
        differ = []
        for host, port, family, type_, flags in COMBINATIONS:
            expected = outcome(lambda: socket.getaddrinfo(host, port, family, type_, 0, flags))
            got = outcome(lambda: loop.run_until_complete(
                loop.getaddrinfo(host, port, family=family, type=type_, flags=flags)))
            if got != expected:
                differ.append(((host if host is None or len(host) < 20 else "long"),
                               port, family, type_, flags, expected, got))
        assert not differ, f"{len(differ)} of {len(COMBINATIONS)} differ, such as {differ[:3]}"
    finally:
        loop.close()


@pytest.mark.parametrize("host", ["", b"a" * 300, "a." * 130])
def test_bad_hosts_raise_gaierror_on_both_loops(host):
    for new_loop in (asyncio.new_event_loop, weft.new_event_loop):
        loop = new_loop()
        try:
            with pytest.raises(socket.gaierror) as caught:
                loop.run_until_complete(loop.getaddrinfo(host, 80))
        finally:
            loop.close()
        with pytest.raises(socket.gaierror) as direct:
            socket.getaddrinfo(host, 80)
        assert (caught.value.errno, str(caught.value)) == (direct.value.errno, str(direct.value))
