"""weft vs asyncio's default loop vs uvloop, side by side.

Echo rows: a server per loop and style (bench/python/echo_servers.py) driven by the native
load client bench/echo_client.c (build the project with CMake first), reported as ns per
request. Every benchmark runs in a fresh child process per loop; the loops take turns (round
robin) for several rounds and the best round counts. Prints ns per operation for each
loop and the ratios weft/uvloop and weft/asyncio as speed-ups (higher is better for weft).

    python bench/python/run.py                 # everything
    python bench/python/run.py call_soon ...   # some benchmarks
    python bench/python/run.py --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import socket
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOOPS = ("weft", "uvloop", "asyncio")


def make_loop(name: str) -> asyncio.AbstractEventLoop:
    if name == "weft":
        try:
            import weft  # from PYTHONPATH (a CMake build) or an installed package
        except ImportError:
            sys.path.insert(0, str(ROOT / "bindings" / "python"))
            import weft
        return weft.new_event_loop()
    if name == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


# ---- The benchmarks: each returns (operations, seconds) ---------------------------------

def bench_call_soon(loop, n=200_000, args=()):
    left = [n]

    def callback(*_):
        left[0] -= 1
        if left[0] == 0:
            loop.stop()

    def schedule():
        for _ in range(n):
            loop.call_soon(callback, *args)

    start = time.perf_counter()
    loop.call_soon(schedule)
    loop.run_forever()
    return n, time.perf_counter() - start


def bench_call_soon_args(loop):
    return bench_call_soon(loop, args=(1, "two", 3.0))


def bench_call_soon_threadsafe(loop, n=100_000):
    left = [n]

    def callback():
        left[0] -= 1
        if left[0] == 0:
            loop.stop()

    def producer():
        for _ in range(n):
            loop.call_soon_threadsafe(callback)

    thread = threading.Thread(target=producer)
    start = time.perf_counter()
    loop.call_soon(thread.start)
    loop.run_forever()
    elapsed = time.perf_counter() - start
    thread.join()
    return n, elapsed


def bench_timer_cancel(loop, n=200_000):
    def callback():
        pass

    def schedule():
        for _ in range(n):
            loop.call_later(10.0, callback).cancel()
        loop.stop()

    start = time.perf_counter()
    loop.call_soon(schedule)
    loop.run_forever()
    return n, time.perf_counter() - start


def bench_timer_fire(loop, n=100_000):
    left = [n]

    def callback():
        left[0] -= 1
        if left[0] == 0:
            loop.stop()

    def schedule():
        for i in range(n):
            loop.call_later(0.001 * (i % 10), callback)

    start = time.perf_counter()
    loop.call_soon(schedule)
    loop.run_forever()
    return n, time.perf_counter() - start


def bench_sleep0(loop, n=100_000):
    async def spin():
        for _ in range(n):
            await asyncio.sleep(0)

    start = time.perf_counter()
    loop.run_until_complete(spin())
    return n, time.perf_counter() - start


def bench_tasks(loop, n=20_000):
    async def child():
        await asyncio.sleep(0)

    async def parent():
        await asyncio.gather(*[child() for _ in range(n)])

    start = time.perf_counter()
    loop.run_until_complete(parent())
    return n, time.perf_counter() - start


BENCHMARKS = {
    "call_soon": bench_call_soon,
    "call_soon_args": bench_call_soon_args,
    "call_soon_threadsafe": bench_call_soon_threadsafe,
    "timer_schedule_cancel": bench_timer_cancel,
    "timer_fire": bench_timer_fire,
    "sleep0": bench_sleep0,
    "gather_tasks": bench_tasks,
}


ECHO_STYLES = ("protocol", "buffered", "streams", "sock")
ECHO_SIZES = (1024, 10240, 102400)
ECHO_SECONDS = 2.0
ECHO_CONNECTIONS = 4


def _echo_client() -> pathlib.Path | None:
    """The native load client (bench/echo_client.c), from a CMake build of the project."""
    for build in (ROOT / "build", pathlib.Path("/tmp/wb")):
        client = build / "bench" / "echo_client"
        if client.exists():
            return client
    return None


def measure_echo(loop_name: str, style: str, size: int) -> float | None:
    """Microseconds per request (one round trip of `size` bytes) at the server."""
    client = _echo_client()
    if client is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).with_name(
        "echo_servers.py")), loop_name, style, str(port)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        out = subprocess.run([str(client), str(port), str(size), str(ECHO_SECONDS),
                              str(ECHO_CONNECTIONS)], capture_output=True, text=True,
                             timeout=60).stdout.split()
        return 1e6 / float(out[0]) if out else None
    finally:
        server.kill()
        server.wait()


def child(loop_name: str, bench: str) -> None:
    loop = make_loop(loop_name)
    try:
        BENCHMARKS[bench](loop, )  # warm-up
        ops, seconds = BENCHMARKS[bench](loop)
    finally:
        loop.close()
    print(json.dumps({"ns": seconds / ops * 1e9}))


def measure(loop_name: str, bench: str) -> float | None:
    if bench.startswith("echo_"):
        _, style, size = bench.split("_")
        ns = measure_echo(loop_name, style, int(size))
        return None if ns is None else ns * 1000
    proc = subprocess.run([sys.executable, __file__, "--child", loop_name, bench],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])["ns"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmarks", nargs="*")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    echo = [f"echo_{style}_{size}" for style in ECHO_STYLES for size in ECHO_SIZES]
    names = args.benchmarks or (list(BENCHMARKS) + echo)
    print(f"{'benchmark':24} {'weft ns/op':>11} {'uvloop':>11} {'asyncio':>11} "
          f"{'vs uvloop':>10} {'vs asyncio':>10}")
    for name in names:
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for loop_name in LOOPS:  # interleaved: each round visits every loop
                ns = measure(loop_name, name)
                if ns is not None:
                    best[loop_name] = min(ns, best.get(loop_name, ns))
        weft = best.get("weft")

        def cell(loop_name):
            return f"{best[loop_name]:11.0f}" if loop_name in best else f"{'-':>11}"

        def ratio(loop_name):
            if weft is None or loop_name not in best:
                return f"{'-':>10}"
            return f"{best[loop_name] / weft:9.2f}x"

        print(f"{name:24} {cell('weft')} {cell('uvloop')} {cell('asyncio')} "
              f"{ratio('uvloop')} {ratio('asyncio')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
