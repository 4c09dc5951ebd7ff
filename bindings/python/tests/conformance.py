"""CPython's asyncio test suite, run against weft's loop and asyncio's own, side by side.

The test classes come from the installed Python's ``test.test_asyncio`` package; nothing
is copied. Mixin-based modules (test_events, test_sock_lowlevel, test_sendfile,
test_subprocess) are combined with a test case whose loop is the one under test, as
CPython does for its own loops; every other module runs with that loop's policy
installed, so asyncio.run() and asyncio.new_event_loop() give it.

Each (module, loop) pair runs in a child process with a time limit. The report lists
passed/failed/skipped per module for both loops, then every test asyncio's loop passes and
weft's does not, unless tests/excluded.txt lists it, for this Python version, with a
reason. The exit status is 1 if there is any such test. Each Python runs its own
test_asyncio (modules it lacks are left out; test_unix_events runs its functional classes
only). The tests excluded as asyncio internals are not run on weft (some would hang until
the per-test limit); the pending ones are, and are reported apart.

    python tests/conformance.py                 # every module
    python tests/conformance.py test_tasks ...  # some modules
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import importlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import unittest

HERE = pathlib.Path(__file__).resolve().parent
EXCLUDED = HERE / "excluded.txt"
LOOPS = ("weft", "asyncio")

# module -> the mixins to combine with a loop-providing test case (None: policy-driven).
MODULES: dict[str, tuple[str, ...] | None] = {
    "test_events": ("EventLoopTestsMixin", "SubprocessTestsMixin"),
    "test_sock_lowlevel": ("BaseSockTestsMixin",),
    "test_sendfile": ("SendfileTestsBase",),
    "test_subprocess": ("SubprocessMixin",),
    "test_streams": None,
    "test_server": None,
    "test_buffered_proto": None,
    "test_ssl": None,
    "test_sslproto": None,
    "test_context": None,
    "test_locks": None,
    "test_queues": None,
    "test_tasks": None,
    "test_taskgroups": None,
    "test_timeouts": None,
    "test_runners": None,
    "test_waitfor": None,
    "test_pep492": None,
    "test_futures2": None,
    "test_threads": None,
    "test_eager_task_factory": None,  # 3.12+
    "test_staggered": None,           # 3.13+
    "test_unix_events": None,
}
# Classes of policy-driven modules that test another platform's loop.
SKIP_CLASSES = ("Proactor",)
# Modules of which only some classes run on the loop under test: test_unix_events' others
# construct asyncio's SelectorEventLoop and pipe transports themselves, whatever the policy.
ONLY_CLASSES = {"test_unix_events": ("TestFunctional", "TestFork")}
VERSION = "%d.%d" % sys.version_info[:2]
TIME_LIMIT = 900       # per module and loop
TEST_TIME_LIMIT = 20   # per test


# ---- In the child: one module on one loop -------------------------------------------------

def _loop_factory(loop_name: str):
    if loop_name == "weft":
        import weft
        return weft.new_event_loop
    import selectors
    return lambda: asyncio.SelectorEventLoop(selectors.EpollSelector())


def _install_policy(loop_name: str) -> None:
    """Makes the loop's policy the default one, also after a module's tearDownModule
    resets the policy to None."""
    if loop_name != "weft":
        return
    import weft
    set_policy = asyncio.events.set_event_loop_policy

    def set_policy_or_weft(policy):
        set_policy(policy if policy is not None else weft.EventLoopPolicy())

    asyncio.set_event_loop_policy = asyncio.events.set_event_loop_policy = set_policy_or_weft
    set_policy_or_weft(None)


def _mixin_case(module, mixins: tuple[str, ...], loop_name: str) -> type:
    """A test case class made of the module's mixins and a loop from ``loop_name``."""
    from test.test_asyncio import utils as test_utils
    factory = _loop_factory(loop_name)
    bases = tuple(getattr(module, name) for name in mixins) + (test_utils.TestCase,)

    class LoopTests(*bases):
        def create_event_loop(self):
            return factory()

        if "SubprocessMixin" in mixins:
            def setUp(self):
                super().setUp()
                self.loop = factory()
                self.set_event_loop(self.loop)
                if loop_name != "weft":
                    watcher = asyncio.ThreadedChildWatcher()
                    watcher.attach_loop(self.loop)
                    asyncio.get_event_loop_policy().set_child_watcher(watcher)

    LoopTests.__module__ = module.__name__
    LoopTests.__qualname__ = "LoopTests"
    return LoopTests


def _suite(module_name: str, loop_name: str) -> unittest.TestSuite:
    module = importlib.import_module(f"test.test_asyncio.{module_name}")
    mixins = MODULES[module_name]
    loader = unittest.TestLoader()
    if mixins is not None:
        return loader.loadTestsFromTestCase(_mixin_case(module, mixins, loop_name))
    suite = unittest.TestSuite()
    only = ONLY_CLASSES.get(module_name)
    for test in _flatten(loader.loadTestsFromModule(module)):
        name = type(test).__name__
        if not any(word in name for word in SKIP_CLASSES) and (only is None or name in only):
            suite.addTest(test)
    return suite


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


class _Recorder(unittest.TextTestResult):
    """Appends each test's outcome to the journal as it happens ("start" first), so a
    test that hangs or crashes the process is known, and the rest can run after it."""

    journal = None  # an open file, set by run_child

    def _note(self, test, outcome):
        self.journal.write(json.dumps([test.id(), outcome]) + "\n")
        self.journal.flush()

    def startTest(self, test):
        self._note(test, "start")
        faulthandler.dump_traceback_later(TEST_TIME_LIMIT, exit=True)
        super().startTest(test)

    def stopTest(self, test):
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._note(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._note(test, "failed")

    def addError(self, test, err):
        super().addError(test, err)
        self._note(test, "failed")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._note(test, "skipped")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._note(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._note(test, "failed")


def _read_journal(path: pathlib.Path) -> tuple[dict[str, str], str | None]:
    """Outcomes so far, and the test that started last without an outcome (if any)."""
    outcomes: dict[str, str] = {}
    pending = None
    if path.exists():
        for line in path.read_text().splitlines():
            test_id, outcome = json.loads(line)
            if outcome == "start":
                pending = test_id
            else:
                # A test reports several outcomes when tearDown fails too: keep the worst.
                if outcomes.get(test_id) != "failed":
                    outcomes[test_id] = outcome
                pending = None
    return outcomes, pending


def run_child(module_name: str, loop_name: str, journal_path: str, verbosity: int) -> None:
    _install_policy(loop_name)
    probe = asyncio.new_event_loop()
    assert (type(probe).__module__.startswith("weft.")) == (loop_name == "weft"), type(probe)
    probe.close()
    done, _ = _read_journal(pathlib.Path(journal_path))
    if loop_name == "weft":
        # Tests of asyncio's internals cannot apply to weft; some hang until the time limit.
        done = dict(done, **{t: "excluded" for t, reason in load_exclusions().items()
                             if not reason.startswith("pending:")})
    suite = unittest.TestSuite(t for t in _flatten(_suite(module_name, loop_name))
                               if t.id() not in done)
    with open(journal_path, "a") as journal:
        _Recorder.journal = journal
        runner = unittest.TextTestRunner(resultclass=_Recorder, verbosity=verbosity,
                                         stream=sys.stderr)
        runner.run(suite)


# ---- In the parent: both loops, every module, the comparison -----------------------------

def _run_module(module_name: str, loop_name: str, log_dir: pathlib.Path, verbosity: int):
    """Runs the module in child processes until every test has an outcome: a test that
    hangs (TEST_TIME_LIMIT) or kills its process counts as failed, and a new child runs
    the tests after it."""
    journal = log_dir / f"{module_name}.{loop_name}.jsonl"
    log = log_dir / f"{module_name}.{loop_name}.log"
    journal.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", module_name, "--loop", loop_name,
           "--out", str(journal), "--verbosity", str(verbosity)]
    deadline = time.monotonic() + TIME_LIMIT
    with open(log, "w") as log_file:
        while True:
            try:
                proc = subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT,
                                      timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
            outcomes, pending = _read_journal(journal)
            if proc.returncode == 0 or pending is None:
                break
            log_file.write(f"\n*** {pending} hung or crashed: counted as failed\n")
            log_file.flush()
            with open(journal, "a") as out:
                out.write(json.dumps([pending, "failed"]) + "\n")
    outcomes, _ = _read_journal(journal)
    return outcomes or None


def load_exclusions(path: pathlib.Path = EXCLUDED, version: str = VERSION) -> dict[str, str]:
    """excluded.txt: one test id per line, then optionally the Python versions the line is
    for in brackets ("[3.12 3.13]"; none: every version), then '#' and the reason. Lines for
    other versions than ``version`` are left out."""
    excluded = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition("#")
        test_id, _, versions = entry.partition("[")
        if versions:
            if not versions.rstrip().endswith("]"):
                raise ValueError(f"{path.name}:{number}: no ']' after the versions")
            listed = versions.rstrip()[:-1].replace(",", " ").split()
            if not listed or any(not v.startswith("3.") for v in listed):
                raise ValueError(f"{path.name}:{number}: versions are X.Y: {versions!r}")
            if version not in listed:
                continue
        excluded[test_id.strip()] = reason.strip()
    return excluded


def _available(module_name: str) -> bool:
    """Whether this Python's test.test_asyncio has the module (some came in 3.12, 3.13)."""
    import importlib.util
    return importlib.util.find_spec(f"test.test_asyncio.{module_name}") is not None


def _counts(outcomes) -> str:
    if outcomes is None:
        return "crashed or timed out"
    values = list(outcomes.values())
    return "/".join(str(values.count(kind)) for kind in ("passed", "failed", "skipped"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="test modules (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--loop", choices=LOOPS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--verbosity", type=int, default=1)
    parser.add_argument("--logs", help="directory for per-module logs (default: a temp dir)")
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.loop, args.out, args.verbosity)
        return 0

    modules = args.modules or [name for name in MODULES if _available(name)]
    log_dir = pathlib.Path(args.logs or tempfile.mkdtemp(prefix="weft-conformance-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    listed = load_exclusions()
    pending = {t for t, reason in listed.items() if reason.startswith("pending:")}
    excluded = {t for t in listed if t not in pending}
    regressions = []
    still_pending = []
    passing_anyway = []  # listed in excluded.txt, yet passed on weft: the line can go
    print(f"Python {sys.version.split()[0]} ({sys.executable})")
    print(f"{'module':22} {'weft p/f/s':>16} {'asyncio p/f/s':>16} {'seconds':>8}")
    totals = {name: [0, 0, 0] for name in LOOPS}
    run_start = time.monotonic()
    for module_name in modules:
        start = time.monotonic()
        results = {name: _run_module(module_name, name, log_dir, args.verbosity)
                   for name in LOOPS}
        print(f"{module_name:22} {_counts(results['weft']):>16} "
              f"{_counts(results['asyncio']):>16} {time.monotonic() - start:8.1f}", flush=True)
        for name, outcomes in results.items():
            for index, kind in enumerate(("passed", "failed", "skipped")):
                totals[name][index] += list((outcomes or {}).values()).count(kind)
        reference, ours = results["asyncio"] or {}, results["weft"] or {}
        passing_anyway += [t for t in listed if ours.get(t) == "passed"]
        for test_id, outcome in sorted(reference.items()):
            if outcome == "passed" and ours.get(test_id) != "passed" and test_id not in excluded:
                if test_id in pending:
                    still_pending.append(test_id)
                else:
                    regressions.append((test_id, ours.get(test_id, "not run")))
    print(f"{'total':22} {'/'.join(map(str, totals['weft'])):>16} "
          f"{'/'.join(map(str, totals['asyncio'])):>16} {time.monotonic() - run_start:8.1f}")
    print(f"\nlogs: {log_dir}")
    print(f"excluded ({EXCLUDED.name}): {len(excluded)}; "
          f"known pending (in {EXCLUDED.name}), still failing: {len(still_pending)}")
    if passing_anyway:
        print(f"\nlisted in {EXCLUDED.name} but passing on weft (remove the lines):")
        for test_id in passing_anyway:
            print(f"  {test_id}")
    if regressions:
        print(f"\n{len(regressions)} tests pass on asyncio's loop but not on weft's "
              f"(and are not in {EXCLUDED.name}):")
        for test_id, outcome in regressions:
            print(f"  {test_id}: {outcome}")
    return 1 if regressions else 0


if __name__ == "__main__":
    try:
        import weft  # noqa: F401  (built, or installed)
    except ImportError:
        sys.path.insert(0, str(HERE.parent))  # built in place: setup.py build_ext --inplace
    sys.exit(main())
