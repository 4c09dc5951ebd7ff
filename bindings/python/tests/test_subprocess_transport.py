"""Subprocess transports as asyncio's: Popen's POSIX options through loop.subprocess_exec,
the Popen-like object that get_extra_info('subprocess') gives, the pipe transports'
classes, and close() killing a running child: on weft's loop and asyncio's, with the same
assertions."""

import asyncio
import os
import signal
import subprocess
import sys

import pytest

import weft

BOTH_LOOPS = pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                                     ids=["weft", "asyncio"])

REPORT = ("import os, signal, sys; print(os.umask(0), os.environ.get('SET_IN_CHILD'), "
          "os.getpgrp() == os.getpid(), os.getsid(0) == os.getpid(), "
          "os.getgroups() == [os.getgid()] if os.geteuid() == 0 else None)")


def _run(new_loop, main):
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(main())


async def _report(**kwargs):
    proc = await asyncio.create_subprocess_exec("not-a-program-name", "-c", REPORT,
                                                executable=sys.executable,
                                                stdout=subprocess.PIPE, **kwargs)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    return out.decode().split()


@BOTH_LOOPS
def test_forked_options_reach_the_child(new_loop):
    # Each needs code in the child before the exec, which posix_spawn cannot run.
    ids = dict(user=os.geteuid(), group=os.getegid(), extra_groups=[os.getegid()]) \
        if os.geteuid() == 0 else {}

    async def main():
        default = await _report()
        forked = await _report(preexec_fn=lambda: os.environ.update(SET_IN_CHILD="yes"),
                               umask=0o027, restore_signals=False, **ids)
        return default, forked

    default, forked = _run(new_loop, main)
    umask = os.umask(0o022)
    os.umask(umask)
    assert default[:2] == [str(umask), "None"]
    assert forked[:2] == [str(0o027), "yes"]
    if ids:
        assert forked[4] == "True"


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
@BOTH_LOOPS
def test_restore_signals(new_loop):
    # Python ignores SIGPIPE; Popen's restore_signals (the default) gives the child the
    # default action back, and restore_signals=False lets it keep ignoring it (cat is not
    # Python, which would ignore it again itself).
    async def sigpipe_ignored(**kwargs):
        proc = await asyncio.create_subprocess_exec("cat", "/proc/self/status",
                                                    stdout=subprocess.PIPE, **kwargs)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        line = next(l for l in out.decode().splitlines() if l.startswith("SigIgn:"))
        return bool(int(line.split()[1], 16) & (1 << (signal.SIGPIPE - 1)))

    async def main():
        return await sigpipe_ignored(), await sigpipe_ignored(restore_signals=False)

    assert _run(new_loop, main) == (False, True)


@BOTH_LOOPS
@pytest.mark.parametrize("forked", [False, True], ids=["spawned", "forked"])
def test_session_and_group_options(new_loop, forked):
    extra = {"umask": 0o022} if forked else {}

    async def main():
        return (await _report(start_new_session=True, **extra),
                await _report(process_group=0, **extra))

    session, group = _run(new_loop, main)
    assert session[2:4] == ["True", "True"]
    assert group[2:4] == ["True", "False"]


@BOTH_LOOPS
@pytest.mark.parametrize("forked", [False, True], ids=["spawned", "forked"])
def test_pass_fds(new_loop, forked):
    extra = {"umask": 0o022} if forked else {}

    async def main():
        rfd, wfd = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", f"import os; os.write({wfd}, b'through')",
                pass_fds=(wfd,), **extra)
            assert await asyncio.wait_for(proc.wait(), 60) == 0
            return os.read(rfd, 100)
        finally:
            os.close(rfd)
            os.close(wfd)

    assert _run(new_loop, main) == b"through"


@BOTH_LOOPS
def test_what_popen_raises_is_raised(new_loop):
    async def main():
        with pytest.raises(subprocess.SubprocessError, match="preexec_fn"):
            await asyncio.create_subprocess_exec(sys.executable, "-c", "pass",
                                                 preexec_fn=lambda: 1 / 0)
        with pytest.raises(KeyError):
            await asyncio.create_subprocess_exec(sys.executable, "-c", "pass",
                                                 user="no-such-user-of-weft")
        with pytest.raises(FileNotFoundError):
            await asyncio.create_subprocess_exec("python", "-c", "pass",
                                                 executable="/no/such/program")

    _run(new_loop, main)


@BOTH_LOOPS
def test_extra_info_subprocess_is_popen_like(new_loop):
    async def main():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; sys.stdin.read()", stdin=subprocess.PIPE)
        popen = proc._transport.get_extra_info("subprocess")
        assert popen.pid == proc.pid
        assert popen.args == (sys.executable, "-c", "import sys; sys.stdin.read()")
        assert popen.returncode is None and popen.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            popen.wait(timeout=0.01)
        popen.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
        assert code == -signal.SIGTERM
        return popen

    popen = _run(new_loop, main)
    assert popen.returncode == -signal.SIGTERM == popen.poll()
    for method in (popen.terminate, popen.kill):
        method()  # the child is gone: nothing happens, as with Popen


@BOTH_LOOPS
def test_pipe_transports_have_asyncios_classes(new_loop):
    async def main():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; sys.stdin.read()", stdin=subprocess.PIPE,
            stdout=subprocess.PIPE)
        transport = proc._transport
        stdin, stdout = transport.get_pipe_transport(0), transport.get_pipe_transport(1)
        try:
            assert isinstance(stdin, asyncio.WriteTransport)
            assert isinstance(stdout, asyncio.ReadTransport)
            assert not isinstance(stdout, asyncio.WriteTransport)
            with pytest.raises(NotImplementedError):
                stdin.pause_reading()
            with pytest.raises(NotImplementedError):
                stdin.resume_reading()
        finally:
            stdin.close()
            await asyncio.wait_for(proc.wait(), 60)

    _run(new_loop, main)


@BOTH_LOOPS
def test_close_kills_a_running_child_at_once(new_loop):
    # The child would exit 0 as soon as it saw EOF on stdin: close() kills it first.
    async def main():
        loop = asyncio.get_running_loop()
        exited = loop.create_future()

        class Proto(asyncio.SubprocessProtocol):
            def process_exited(self):
                exited.set_result(None)

        transport, _ = await loop.subprocess_exec(
            Proto, sys.executable, "-c", "import sys; sys.stdin.read()",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        transport.close()
        await asyncio.wait_for(exited, 60)
        return transport.get_returncode()

    assert _run(new_loop, main) == -signal.SIGKILL
