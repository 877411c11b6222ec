"""A plan's refresh shows reads done / expected on a terminal (stderr), like apply's bar; never
when stderr is not a terminal (CI logs, pipes)."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from reconciler.core import progress
from reconciler.render.text import RefreshProgress
from tests.examples import copy_example
from tests.harness import Estate


def _run_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run `python -m reconciler ARGS` with stderr on a pseudo-terminal; (exit code, stdout, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    while True:  # read as it runs: a full pseudo-terminal would block the child
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode() if proc.stdout else ""
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, out, seen.decode(errors="replace")


def test_plan_shows_reads_done_on_a_terminal(tmp_path: Path) -> None:
    config = copy_example("colombia", tmp_path / "config")
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    code, out, terminal = _run_on_a_terminal(["plan", str(config)], tmp_path, env)
    assert code == 0, out + terminal
    assert "Plan: 18 to add" in out
    # One read per location and per tariff: 3 + 3, all done before the plan is printed.
    assert "Refreshing" in terminal and "6/6 reads" in terminal
    assert "Refreshing" not in out  # the plan on stdout stays clean


def test_no_bar_when_stderr_is_not_a_terminal(estate: Estate) -> None:
    result = estate.plan()
    assert result.exit_code == 0
    assert "Refreshing" not in result.output


def test_providers_report_every_read(applied: Estate) -> None:
    events: list[tuple[int, int]] = []
    with progress.listening(lambda more, done: events.append((more, done))):
        assert applied.plan().exit_code == 0
    assert sum(m for m, _ in events) == sum(d for _, d in events) == 6
    assert events[0][0] > 0  # expected before done


def test_the_bar_counts_and_goes_away() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = RefreshProgress(stream)
    bar.update(4, 0)
    bar.update(0, 3)
    bar.update(2, 3)
    assert (bar.expected, bar.done) == (6, 6)
    bar.close()
    bar.update(0, 1)  # after the refresh: ignored
    assert bar.done == 6
    assert "6/6" in stream.getvalue()
    quiet = RefreshProgress(io.StringIO())
    quiet.update(3, 3)
    quiet.close()
    assert quiet.expected == 0  # not a terminal: nothing drawn, nothing counted
