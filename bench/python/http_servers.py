"""HTTP servers for run.py's wrk rows: python http_servers.py LOOP SERVER PORT.

Each serves "Hello, World!" on 127.0.0.1:PORT until killed. SERVER is aiohttp (an
aiohttp.web application) or uvicorn (a bare ASGI app, uvicorn's httptools protocol). Both run
on a loop made by run.make_loop, so the same application code runs on every loop under test:
uvicorn gets loop="none", which tells it not to make a loop of its own, and its Server.serve()
runs on ours."""

import asyncio
import sys

from run import make_loop

BODY = b"Hello, World!"


async def serve_aiohttp(port: int) -> None:
    from aiohttp import web

    async def hello(request):
        return web.Response(body=BODY, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.get_running_loop().create_future()


async def asgi_hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


async def serve_uvicorn(port: int) -> None:
    import uvicorn

    config = uvicorn.Config(asgi_hello, host="127.0.0.1", port=port, loop="none",
                            http="httptools", lifespan="off", access_log=False,
                            log_level="warning")
    await uvicorn.Server(config).serve()


def main() -> None:
    loop_name, server, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    serve = {"aiohttp": serve_aiohttp, "uvicorn": serve_uvicorn}[server]
    loop = make_loop(loop_name)
    asyncio.set_event_loop(loop)
    loop.run_until_complete(serve(port))


if __name__ == "__main__":
    main()
