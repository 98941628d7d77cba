"""A test that hangs fails within its time limit instead of stalling the run.

The suite relies on pytest-timeout (``timeout`` and ``timeout_method`` in
``setup.cfg``) as a backstop behind the explicit limits of the tests that wait
on a cluster or a subprocess. These tests check that the backstop is set and
that it fires, on a child pytest whose only test blocks on reading a pipe that
nobody writes (no sleeping).
"""

import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STUCK = """
import os


def test_blocks_forever():
    read_end, write_end = os.pipe()  # the write end stays open, unwritten
    os.read(read_end, 1)
"""


def test_the_suite_has_a_time_limit_for_every_test(request):
    pytest.importorskip("pytest_timeout")
    assert 0 < float(request.config.getini("timeout")) <= 900
    assert request.config.getini("timeout_method") == "thread"


def test_a_stuck_test_is_ended_within_its_limit(tmp_path):
    pytest.importorskip("pytest_timeout")
    (tmp_path / "test_stuck.py").write_text(STUCK)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        os.path.join(ROOT, "setup.cfg"),  # the project's settings (thread method)
        "--rootdir",
        str(tmp_path),
        "-p",
        "no:cacheprovider",
        "-o",
        "timeout=2",
        str(tmp_path / "test_stuck.py"),
    ]
    start = time.monotonic()
    # the outer limit only guards this test itself: the child must end far sooner
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - start
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Timeout" in output, output
    assert "os.read(read_end, 1)" in output, output  # the stack of the stuck test
    assert elapsed < 60, elapsed
