"""A real program on weft: an aiohttp server and client exchanging requests."""

import asyncio

import pytest

import weft

aiohttp = pytest.importorskip("aiohttp")
from aiohttp import web  # noqa: E402


def test_aiohttp_server_and_client():
    async def hello(request):
        return web.json_response({"loop": type(asyncio.get_running_loop()).__module__})

    async def echo(request):
        return web.Response(body=await request.read())

    async def main():
        app = web.Application()
        app.router.add_get("/hello", hello)
        app.router.add_post("/echo", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(5):
                    async with session.get(f"http://127.0.0.1:{port}/hello") as response:
                        assert response.status == 200
                        assert (await response.json()) == {"loop": "weft.loop"}
                body = bytes(range(256)) * 1000
                async with session.post(f"http://127.0.0.1:{port}/echo", data=body) as response:
                    assert await response.read() == body
        finally:
            await runner.cleanup()

    weft.run(main())
