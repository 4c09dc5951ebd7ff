"""TLS on weft's loop: the user's ssl.SSLContext, honoured exactly, with the records handled
by the C core. Certificates: those CPython's test package ships (keycert3.pem, signed by
pycacert.pem, for "localhost"; keycert.pem, self-signed)."""

import asyncio
import gc
import os
import socket
import ssl
import threading
import weakref

import pytest

import weft
from weft import tls as weft_tls

CERTS = os.path.join(os.path.dirname(ssl.__file__), "test", "certdata")
SIGNED = os.path.join(CERTS, "keycert3.pem")      # CN=localhost, by the test CA
SELF_SIGNED = os.path.join(CERTS, "keycert.pem")  # CN=localhost, self-signed
CA = os.path.join(CERTS, "pycacert.pem")

if not os.path.exists(SIGNED):
    pytest.skip("CPython's test certificates are not installed", allow_module_level=True)


def server_context(certfile=SIGNED):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile)
    return ctx


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(CA)
    return ctx


async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


def run(coro):
    """Runs on weft's loop; no SSL object may outlive its connection."""
    weft.run(coro)
    gc.collect()
    assert not weft_tls._live
    assert not weft_tls._pending


def test_echo_and_extra_info():
    async def main():
        sctx = server_context()
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        cctx = client_context()
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=cctx,
                                                       server_hostname="localhost")
        transport = writer.transport
        assert isinstance(transport, weft_tls.SSLTransport)
        sslobj = transport.get_extra_info("ssl_object")
        assert isinstance(sslobj, ssl.SSLObject)
        assert sslobj.server_hostname == "localhost" and not sslobj.server_side
        assert transport.get_extra_info("sslcontext") is cctx
        assert transport.get_extra_info("cipher") == sslobj.cipher()
        assert transport.get_extra_info("compression") == sslobj.compression()
        peercert = transport.get_extra_info("peercert")
        assert peercert == sslobj.getpeercert()
        assert dict(x[0] for x in peercert["subject"])["commonName"] == "localhost"
        assert transport.get_extra_info("peername") == ("127.0.0.1", port)
        assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
        assert not transport.can_write_eof()
        with pytest.raises(NotImplementedError):
            transport.write_eof()
        for size in (1, 1000, 70_000, 1_000_000):
            payload = os.urandom(size)
            writer.write(payload)
            assert await reader.readexactly(size) == payload
        writer.close()
        await writer.wait_closed()
        assert transport.is_closing()
        server.close()
        await server.wait_closed()

    run(main())


def test_server_side_extra_info_and_buffered_protocol():
    seen = {}

    class Buffered(asyncio.BufferedProtocol):
        def __init__(self):
            self.buf = bytearray(7)  # small: many get_buffer calls
            self.got = bytearray()
            self.lost = asyncio.get_running_loop().create_future()

        def connection_made(self, transport):
            self.transport = transport
            seen["sslobj"] = transport.get_extra_info("ssl_object")
            seen["peername"] = transport.get_extra_info("peername")

        def get_buffer(self, hint):
            return self.buf

        def buffer_updated(self, n):
            self.got += self.buf[:n]
            if self.got.endswith(b"!"):
                self.transport.write(bytes(self.got))

        def connection_lost(self, exc):
            self.lost.set_result(exc)

    async def main():
        protocols = []

        def factory():
            protocols.append(Buffered())
            return protocols[-1]

        server = await asyncio.get_running_loop().create_server(
            factory, "127.0.0.1", 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(),
                                                       server_hostname="localhost")
        writer.write(b"x" * 100 + b"!")
        assert await reader.readexactly(101) == b"x" * 100 + b"!"
        assert seen["sslobj"].server_side
        assert seen["peername"] == writer.get_extra_info("sockname")
        writer.close()
        await writer.wait_closed()
        assert await protocols[0].lost is None
        server.close()
        await server.wait_closed()

    run(main())


def test_verification_failures():
    async def main():
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        # No CA: the chain cannot be verified.
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            await asyncio.open_connection("127.0.0.1", port,
                                          ssl=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
                                          server_hostname="localhost")
        assert info.value.verify_code == 20
        assert "certificate verify failed" in str(info.value)
        # The right chain for another name.
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            await asyncio.open_connection("127.0.0.1", port, ssl=client_context(),
                                          server_hostname="example.com")
        assert info.value.verify_code == 62
        assert "not valid for 'example.com'" in info.value.verify_message
        # ssl=True: the default context, which does not trust the test CA.
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=True,
                                          server_hostname="localhost")
        # The same context, verification off: it connects.
        ctx = client_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                       server_hostname="example.com")
        assert writer.get_extra_info("peercert") == {}
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_client_certificate_required():
    async def main():
        sctx = server_context()
        sctx.verify_mode = ssl.CERT_REQUIRED
        sctx.load_verify_locations(CA)
        names = []

        async def handler(reader, writer):
            cert = writer.get_extra_info("peercert")
            names.append(dict(x[0] for x in cert["subject"])["commonName"])
            writer.close()

        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        cctx = client_context()
        cctx.load_cert_chain(SIGNED)  # the server's pair serves as a client certificate
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=cctx,
                                                       server_hostname="localhost")
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        assert names == ["localhost"]
        # Without one, the server refuses (the client hears it at its first read in 1.3).
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(),
                                                       server_hostname="localhost")
        with pytest.raises(ssl.SSLError):
            await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()

    run(main())


def test_sni_callback_and_alpn():
    async def main():
        other = server_context(SELF_SIGNED)
        sctx = server_context()
        sctx.set_alpn_protocols(["h2", "http/1.1"])
        calls = []

        def sni(sslobj, name, ctx):
            calls.append((type(sslobj), name, ctx is sctx))
            if name == "self.example":
                sslobj.context = other

        sctx.sni_callback = sni
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        cctx = client_context()
        cctx.set_alpn_protocols(["http/1.1", "spdy/3"])
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=cctx,
                                                       server_hostname="localhost")
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "http/1.1"
        writer.close()
        await writer.wait_closed()
        assert calls == [(ssl.SSLObject, "localhost", True)]
        # The callback switches the certificate: the client, checking names off, sees it.
        lax = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        lax.check_hostname = False
        lax.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=lax,
                                                       server_hostname="self.example")
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        with open(SELF_SIGNED) as f:
            pem = f.read()
        start = pem.index("-----BEGIN CERTIFICATE-----")
        assert der == ssl.PEM_cert_to_DER_cert(pem[start:])
        writer.close()
        await writer.wait_closed()
        assert calls[-1][1] == "self.example"
        server.close()
        await server.wait_closed()

    run(main())


def test_start_tls_both_sides():
    async def main():
        sctx = server_context()
        done = asyncio.get_running_loop().create_future()

        async def handler(reader, writer):
            assert await reader.readline() == b"STARTTLS\n"
            writer.write(b"OK\n")
            await writer.drain()
            await writer.start_tls(sctx)
            assert isinstance(writer.get_extra_info("ssl_object"), ssl.SSLObject)
            line = await reader.readline()
            writer.write(b"secret: " + line)
            await writer.drain()
            writer.close()
            done.set_result(None)

        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"OK\n"
        await writer.start_tls(client_context(), server_hostname="localhost")
        assert writer.get_extra_info("peercert")["subject"]
        writer.write(b"hello\n")
        assert await reader.readline() == b"secret: hello\n"
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        await done
        server.close()
        await server.wait_closed()

    run(main())


def test_start_tls_checks_its_arguments():
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError):
            await loop.start_tls(object(), asyncio.Protocol(), client_context())
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with pytest.raises(TypeError):
            await loop.start_tls(writer.transport, writer.transport.get_protocol(), object())
        with pytest.raises(ValueError):
            await loop.start_tls(writer.transport, writer.transport.get_protocol(),
                                 client_context(), server_hostname="localhost",
                                 ssl_handshake_timeout=-1)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())


def test_argument_checks():
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError):
            await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, ssl=True)
        with pytest.raises(ValueError):
            await loop.create_server(asyncio.Protocol, "127.0.0.1", 0,
                                     ssl_handshake_timeout=1)
        with pytest.raises(ValueError):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", 1,
                                         server_hostname="x")
        with pytest.raises(ValueError):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", 1,
                                         ssl=client_context(), ssl_shutdown_timeout=0)
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # A server context on the client side: Python's own error, nothing left open.
        with pytest.raises(ssl.SSLError, match="PROTOCOL_TLS_SERVER"):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", port,
                                         ssl=server_context(), server_hostname="localhost")
        with pytest.raises(TypeError):
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", port, ssl=object(),
                                         server_hostname="localhost")
        server.close()
        await server.wait_closed()
        sock = socket.socket()
        with pytest.raises(ValueError, match="server_hostname"):
            await loop.create_connection(asyncio.Protocol, sock=sock, ssl=client_context())
        sock.close()
    run(main())


def test_handshake_timeout():
    async def main():
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        loop = asyncio.get_running_loop()
        try:
            with pytest.raises(ConnectionAbortedError) as info:
                await loop.create_connection(asyncio.Protocol, "127.0.0.1", port,
                                             ssl=client_context(), server_hostname="localhost",
                                             ssl_handshake_timeout=0.2)
            assert str(info.value) == ("SSL handshake is taking longer than 0.2 seconds: "
                                       "aborting the connection")
            # Cancelled mid-handshake: nothing is left behind.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(
                    loop.create_connection(asyncio.Protocol, "127.0.0.1", port,
                                           ssl=client_context(), server_hostname="localhost"),
                    0.1)
            for _ in range(5):
                await asyncio.sleep(0)
        finally:
            listener.close()

    run(main())


def test_shutdown_timeout():
    """A peer that never answers close_notify: connection_lost(TimeoutError)."""
    ready = threading.Event()
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def peer():
        conn, _ = listener.accept()
        with server_context().wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)
            ready.set()
            stop.wait(10)

    thread = threading.Thread(target=peer)
    thread.start()

    async def main():
        loop = asyncio.get_running_loop()
        lost = loop.create_future()

        class Proto(asyncio.Protocol):
            def connection_lost(self, exc):
                lost.set_result(exc)

        transport, _ = await loop.create_connection(
            Proto, "127.0.0.1", port, ssl=client_context(), server_hostname="localhost",
            ssl_shutdown_timeout=0.3)
        transport.write(b"x")
        await loop.run_in_executor(None, ready.wait, 5)
        transport.close()
        exc = await asyncio.wait_for(lost, 5)
        assert isinstance(exc, TimeoutError) and str(exc) == "SSL shutdown timed out"

    try:
        run(main())
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_unix_sockets_and_accepted_sockets(tmp_path):
    path = str(tmp_path / "tls.sock")

    async def main():
        loop = asyncio.get_running_loop()
        server = await asyncio.start_unix_server(echo, path, ssl=server_context())
        reader, writer = await asyncio.open_unix_connection(path, ssl=client_context(),
                                                            server_hostname="localhost")
        writer.write(b"over unix")
        assert await reader.readexactly(9) == b"over unix"
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

        # connect_accepted_socket(ssl=...): the server side of an accepted socket.
        a, b = socket.socketpair()
        got = loop.create_future()

        class Server(asyncio.Protocol):
            def connection_made(self, transport):
                self.transport = transport

            def data_received(self, data):
                got.set_result((data, self.transport.get_extra_info("ssl_object").server_side))
                self.transport.close()

        accepted = loop.connect_accepted_socket(Server, a, ssl=server_context())
        connected = loop.create_connection(asyncio.Protocol, sock=b, ssl=client_context(),
                                           server_hostname="localhost")
        (st, _), (ct, _) = await asyncio.gather(accepted, connected)
        ct.write(b"ping")
        assert await got == (b"ping", True)
        ct.close()
        for _ in range(20):
            await asyncio.sleep(0.01)

    run(main())


def test_context_is_released():
    """Nothing of a connection's TLS state outlives it (the SSLObject keeps its context)."""
    async def main(ctx):
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                       server_hostname="localhost")
        writer.write(b"x")
        await reader.readexactly(1)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    ctx = client_context()
    run(main(ctx))
    ref = weakref.ref(ctx)
    del ctx
    gc.collect()
    assert ref() is None


def test_aiohttp_over_https():
    aiohttp = pytest.importorskip("aiohttp")
    from aiohttp import web

    async def hello(request):
        return web.json_response({"scheme": request.scheme,
                                  "loop": type(asyncio.get_running_loop()).__module__})

    async def main():
        app = web.Application()
        app.router.add_get("/hello", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context())
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            connector = aiohttp.TCPConnector(ssl=client_context())
            async with aiohttp.ClientSession(connector=connector) as session:
                for _ in range(3):
                    async with session.get(f"https://localhost:{port}/hello") as response:
                        assert response.status == 200
                        assert await response.json() == {"scheme": "https",
                                                         "loop": "weft.loop"}
        finally:
            await runner.cleanup()

    weft.run(main())


def test_tls_is_refused_on_a_python_whose_ssl_layout_is_unknown(monkeypatch):
    # _sslhelper.c reads CPython's _ssl structs as 3.7 to 3.13 lay them out; on any other
    # version weft refuses TLS with RuntimeError instead of reading an unknown layout.
    import sys
    import types
    fake_sys = types.SimpleNamespace(implementation=sys.implementation,
                                     version_info=(3, 99, 0), version="3.99.0 (fake)")
    monkeypatch.setattr(weft_tls, "sys", fake_sys)
    monkeypatch.setattr(weft_tls, "_openssl_checked", False)
    monkeypatch.setattr(weft_tls, "_openssl_problem", None)
    with pytest.raises(RuntimeError, match="3.7 to 3.13"):
        weft_tls._check_openssl()
    monkeypatch.undo()
    weft_tls._check_openssl()  # this Python: accepted
