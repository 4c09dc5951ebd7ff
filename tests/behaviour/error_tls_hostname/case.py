"""A TLS server whose certificate (signed by a trusted CA) names another host: the client
checking the host name "localhost" fails the handshake; a certificate for localhost works."""
import asyncio
import ssl
import tempfile
from casetrace import emit, make_certs, run


async def main():
    with tempfile.TemporaryDirectory() as tmp:
        certs = make_certs(tmp)
        cctx = ssl.create_default_context(cafile=certs["ca"])

        async def serve(reader, writer):
            writer.write(b"hello\n")
            await writer.drain()
            writer.close()

        for cert in ("wrong_host", "server"):
            sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            sctx.load_cert_chain(certs[cert], certs[cert].replace(".crt", ".key"))
            server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=sctx)
            port = server.sockets[0].getsockname()[1]
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, ssl=cctx, server_hostname="localhost")
                emit("cert", cert, "read", await reader.readline())
                writer.close()
                await writer.wait_closed()
            except OSError as e:
                emit("cert", cert, "error", e)
            server.close()
            await server.wait_closed()


run(main)
