"""What a command built is held until the process exits (freed at once), but only when the
process really ends after the command; in-process callers (these tests, CliRunner) free it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from reconciler.cli import runtime


class Big:
    pass


@pytest.fixture(autouse=True)
def _reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(runtime, "_keep", False)
    monkeypatch.setattr(runtime, "_kept", [])
    yield


def test_in_process_callers_free_what_a_command_built() -> None:
    obj = Big()
    ref = weakref.ref(obj)
    runtime.keep_until_exit(obj)
    del obj
    gc.collect()
    assert ref() is None


def test_a_process_that_exits_after_the_command_keeps_it_to_the_end() -> None:
    runtime.exit_after_command()
    obj = Big()
    ref = weakref.ref(obj)
    runtime.keep_until_exit(obj)
    del obj
    gc.collect()
    assert ref() is not None


def test_closing_sandboxes_does_not_import_the_simulators(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "reconciler.sandbox.embedded", raising=False)
    runtime.close_sandboxes()
    assert "reconciler.sandbox.embedded" not in sys.modules
