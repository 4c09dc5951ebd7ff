"""A slow consumer: the server writes MIB MiB (default 1024) to a client that stops reading;
the server's memory must stay bounded by its write-buffer limits, and the transfer must
complete, every byte in order, once the client reads again.

    python3 bench/load/slow.py BUILD_DIR [MIB [BOUND_MIB [SERVER ...]]]

Servers: c-protocol and c-streams (bench/load/slow_server.c), py-LOOP-STYLE
(bench/load/slow_server.py; LOOP weft, uvloop or asyncio; STYLE protocol or streams). For
each: the server's RSS once it listens; the client (slow_client.c) reads 1 MiB and stops;
once the server reports that flow control held its writes back ("paused"), its RSS is taken
again (stalled); then the client reads to the end and checks every byte; the server's peak
RSS (VmHWM) is read last. It fails when a transfer is incomplete or wrong, or when the peak
is more than BOUND_MIB (default 16) above the RSS before the connection.
"""

import os
import pathlib
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVERS = ["c-protocol", "c-streams", "py-weft-protocol", "py-weft-streams",
           "py-uvloop-protocol", "py-uvloop-streams"]


def free_port():
    # A port nothing listens on now (other runs share the machine); the server binds it
    # next, with SO_REUSEADDR.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def expect(stream, word, who):
    line = stream.readline().split()
    if not line or line[0] != word:
        raise RuntimeError(f"{who}: expected {word!r}, got {' '.join(line) or 'EOF'}")
    return line


def measure(build, name, mib, port):
    if name.startswith("c-"):
        cmd = [str(build / "bench" / "load" / "slow_server"), name[2:], str(port), str(mib)]
    else:
        _, loop, style = name.split("-")
        cmd = [sys.executable, str(ROOT / "bench" / "load" / "slow_server.py"), loop, style,
               str(port), str(mib)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(build / "bindings" / "python" / "lib"), str(ROOT / "bench" / "python")])
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    client = None
    try:
        expect(server.stdout, "listening", name)
        before = status(server.pid, "VmRSS")
        client = subprocess.Popen([str(build / "bench" / "load" / "slow_client"), str(port),
                                   str(mib)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        expect(client.stdout, "stopped", "client")
        held_at = int(expect(server.stdout, "paused", name)[1])
        stalled = status(server.pid, "VmRSS")
        t0 = time.monotonic()
        client.stdin.write("go\n")
        client.stdin.close()
        pauses = int(expect(server.stdout, "done", name)[1])
        got = int(expect(client.stdout, "done", "client")[1])
        if client.wait() != 0:
            raise RuntimeError("the client failed")
        secs = time.monotonic() - t0
        peak = status(server.pid, "VmHWM")
    finally:
        if client and client.poll() is None:
            client.kill()
            client.wait()
        server.kill()
        server.wait()
    return before, stalled, peak, held_at, pauses, got, secs


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    bound = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    names = sys.argv[4:] or SERVERS
    print(f"# {mib} MiB to a client that stops after 1 MiB; bound {bound} MiB over the RSS "
          f"before; load {os.getloadavg()[0]:.1f}")
    print(f"{'server':20} {'RSS before':>11} {'stalled':>11} {'peak':>11} {'peak-before':>11} "
          f"{'held at':>9} {'pauses':>7} {'MiB/s':>6}")
    failed = False
    for i, name in enumerate(names):
        try:
            before, stalled, peak, held_at, pauses, got, secs = measure(build, name, mib,
                                                                        free_port())
        except RuntimeError as e:
            print(f"{name:20} FAILED: {e}")
            failed = True
            continue
        growth = peak - before
        verdict = "" if growth <= bound * 1024 else f"  OVER {bound} MiB"
        failed |= bool(verdict)
        print(f"{name:20} {before:7} KiB {stalled:7} KiB {peak:7} KiB {growth:7} KiB "
              f"{held_at / 1048576:7.1f}Mi {pauses:7} {got / 1048576 / secs:6.0f}{verdict}",
              flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
