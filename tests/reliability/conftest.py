"""Reliability fixtures: real SQLite stores, real worker and server processes, tallies.

Nothing is mocked. A "server" here is what `streamlit run app.py` runs for
jobs: a separate Python process holding a `Supervisor` on the store,
so it can be killed with SIGKILL and started again like a real one.

Tests carry `@pytest.mark.tally("<what>")`; at the end of the session the
tallies are printed ("kills survived: 6/6", ...), the figures that
docs/RELIABILITY.md quotes.
"""

import collections
import os
import signal
import subprocess
import sys

import pytest

from labcore.store import Store
from labcore.supervisor import Supervisor
from reliability_support import ROOT, kill_workers_of

TALLIES = {
    "kills": "worker kills survived",
    "restarts": "server restarts survived",
    "faults": "other faults handled (model errors, cancels, two servers)",
    "bad_input": "bad inputs rejected cleanly (library, jobs.submit)",
    "bad_input_ui": "bad inputs rejected cleanly (pages, through AppTest)",
    "isolation": "isolation checks held",
}

# What `streamlit run app.py` does for jobs, alone in a process.
SERVER_CODE = """
import resource, sys, time
from labcore.supervisor import Supervisor
if sys.argv[2] != "0":
    # An address-space limit the worker inherits: "more memory than the
    # machine has" on any machine, however large.
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
Supervisor(sys.argv[1], poll_s=0.05, cancel_grace_s=0.5).start()
time.sleep(3600)
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "tally(name): count this test in a reliability tally")


_outcomes = collections.defaultdict(dict)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    marker = item.get_closest_marker("tally")
    if marker is None:
        return
    report = outcome.get_result()
    seen = _outcomes[marker.args[0]]
    if report.failed:
        seen[item.nodeid] = "failed"
    elif report.when == "call" and seen.get(item.nodeid) != "failed":
        seen[item.nodeid] = "skipped" if report.skipped else "passed"


def pytest_terminal_summary(terminalreporter):
    if not _outcomes:
        return
    terminalreporter.section("reliability tallies")
    for key, title in TALLIES.items():
        seen = _outcomes.get(key)
        if seen:
            passed = sum(outcome == "passed" for outcome in seen.values())
            tried = sum(outcome != "skipped" for outcome in seen.values())
            terminalreporter.write_line(f"{title}: {passed}/{tried}")


@pytest.fixture
def store(tmp_path):
    """A fresh store in its own folder; any worker left running is killed afterwards."""
    made = Store(tmp_path / "home" / "labcore.db")
    yield made
    kill_workers_of(made)


@pytest.fixture
def supervisors(store):
    """Make in-process supervisors (fast polling, short grace); stop them afterwards."""
    made = []

    def make(**options):
        supervisor = Supervisor(store.path, **{"poll_s": 0.05, "cancel_grace_s": 0.5, **options})
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        supervisor.stop()


class Servers:
    """Start supervisor processes on one store; kill them all afterwards."""

    def __init__(self, store, log_dir):
        self.store = store
        self.log_dir = log_dir
        self.processes = []

    def start(self, memory_limit_bytes=0, env=None):
        """A new server process on the store; returns its Popen."""
        log = open(self.log_dir / f"server-{len(self.processes)}.log", "wb")
        environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER_CODE, str(self.store.path), str(memory_limit_bytes)],
            cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process):
        """SIGKILL a server process, as the OOM killer or a power cut would, and reap it."""
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)


@pytest.fixture
def servers(store, tmp_path):
    """Start and kill server processes on the test's store."""
    made = Servers(store, tmp_path)
    yield made
    made.close()
