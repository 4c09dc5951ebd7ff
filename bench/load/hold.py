"""Many concurrent connections: memory per connection of weft's echo servers against raw
libuv and uvloop, in one run.

    python3 bench/load/hold.py BUILD_DIR [COUNT] [SERVER ...]

For each server (default: all of SERVERS below) it starts the server with RLIMIT_NOFILE at
its hard limit, lets bench/load/hold_client.c make one round trip, takes the server's RSS,
has the client open COUNT (default 10,000) more connections that each make a round trip
and stay open, takes the RSS and the descriptor count again, and prints
(RSS held - RSS before) / COUNT. Any client error (a refused or reset connection, a wrong
echo) fails the run. The Python servers are bench/python/echo_servers.py; weft comes from
BUILD_DIR/bindings/python/lib, uvloop from PyPI (bench/python/deps.sh).
"""

import os
import pathlib
import resource
import socket
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVERS = ["c-uv", "c-proto", "c-stream", "py-uvloop-protocol", "py-weft-protocol",
           "py-uvloop-streams", "py-weft-streams", "py-asyncio-protocol"]


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


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def server_command(build, name, port):
    if name.startswith("c-"):
        return [str(build / "bench" / f"echo_{name[2:]}"), str(port)]
    _, loop, style = name.split("-")
    return [sys.executable, str(ROOT / "bench" / "python" / "echo_servers.py"), loop, style,
            str(port)]


def measure(build, name, count, port):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(build / "bindings" / "python" / "lib"), str(ROOT / "bench" / "python")])
    server = subprocess.Popen(server_command(build, name, port), env=env,
                              preexec_fn=raise_nofile)
    client = subprocess.Popen([str(build / "bench" / "load" / "hold_client"), str(port),
                               str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        if client.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name}: the client failed before the first connection")
        before = status(server.pid, "VmRSS")
        client.stdin.write("\n")
        client.stdin.flush()
        held = client.stdout.readline().split()
        if not held or held[0] != "held":
            raise RuntimeError(f"{name}: the client failed while connecting")
        after = status(server.pid, "VmRSS")
        fds = len(os.listdir(f"/proc/{server.pid}/fd"))
        client.stdin.write("\n")
        client.stdin.flush()
        client.stdin.close()
        if client.stdout.readline().strip() != "closed" or client.wait() != 0:
            raise RuntimeError(f"{name}: the client failed while closing")
        alive = server.poll() is None
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        server.kill()
        server.wait()
    if not alive:
        raise RuntimeError(f"{name}: the server exited")
    return before, after, fds, float(held[2])


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build").resolve()
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    names = sys.argv[3:] or SERVERS
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    print(f"# {count} connections, RLIMIT_NOFILE hard limit {hard}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    if hard < count + 16:
        print(f"# the hard limit is below {count} connections: the run will fail")
    print(f"{'server':22} {'RSS before':>11} {'RSS held':>10} {'fds':>6} {'B/conn':>7} "
          f"{'connect s':>9}")
    failed = False
    for i, name in enumerate(names):
        try:
            before, after, fds, secs = measure(build, name, count, free_port())
        except RuntimeError as e:
            print(f"{name:22} FAILED: {e}")
            failed = True
            continue
        per = (after - before) * 1024 / count
        print(f"{name:22} {before:8} KiB {after:6} KiB {fds:6} {per:7.0f} {secs:9.2f}",
              flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
