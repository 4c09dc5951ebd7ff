"""communicate sends 1 MiB to a child that echoes it (cat) while reading its output, so
neither side blocks; the output is the input, the exit status 0."""
import asyncio
from casetrace import emit, run

SIZE = 1024 * 1024


async def main():
    data = bytes(i % 251 for i in range(SIZE))
    proc = await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(data)
    emit("stdout", len(out), "same", out == data, "stderr", err)
    emit("returncode", proc.returncode)


run(main)
