"""add_signal_handler: a signal sent to the process runs the handler as an ordinary
callback on the loop; after remove_signal_handler the signal is not handled there."""
import asyncio
import os
import signal
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    got = loop.create_future()

    def on_signal(name):
        emit("handler", name)
        if not got.done():
            got.set_result(None)

    loop.add_signal_handler(signal.SIGUSR1, on_signal, "usr1")
    os.kill(os.getpid(), signal.SIGUSR1)
    emit("sent")
    await got
    emit("removed", loop.remove_signal_handler(signal.SIGUSR1))
    emit("removed-again", loop.remove_signal_handler(signal.SIGUSR1))


run(main)
