"""A child writes 10 MiB to its stdout; the parent reads all of it to EOF, then the child's
exit status is 0."""
import asyncio
from casetrace import emit, run

SIZE = 10 * 1024 * 1024


async def main():
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", f"yes 0123456789abcdef | head -c {SIZE}",
        stdout=asyncio.subprocess.PIPE)
    total = lines = 0
    while True:
        chunk = await proc.stdout.read(65536)
        if not chunk:
            break
        total += len(chunk)
        lines += chunk.count(b"\n")
    emit("read", total, "lines", lines)
    emit("returncode", await proc.wait())


run(main)
