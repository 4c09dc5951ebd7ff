"""A TLS client that does not trust the CA that signed the server's certificate fails the
handshake (a TLS verification error); trusting the right CA, the same server works."""
import asyncio
import os
import ssl
import tempfile
from casetrace import emit, make_certs, run


async def main():
    with tempfile.TemporaryDirectory() as tmp:
        certs = make_certs(tmp)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(certs["server"], certs["server"].replace(".crt", ".key"))

        async def serve(reader, writer):
            writer.write(b"hello\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        for trust in ("other_ca", "ca"):
            cctx = ssl.create_default_context(cafile=certs[trust])
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, ssl=cctx, server_hostname="localhost")
                emit("trust", trust, "read", await reader.readline())
                writer.close()
                await writer.wait_closed()
            except OSError as e:
                emit("trust", trust, "error", e)
        server.close()
        await server.wait_closed()


run(main)
