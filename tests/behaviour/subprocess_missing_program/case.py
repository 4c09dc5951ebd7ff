"""Starting a program that does not exist fails at once with ENOENT, by path and by a name
looked up in PATH."""
import asyncio
from casetrace import emit, run


async def main():
    for program in ("/nonexistent/weft-no-such-program", "weft-no-such-program"):
        try:
            await asyncio.create_subprocess_exec(program)
            emit("started")
        except OSError as e:
            emit("exec", e)


run(main)
