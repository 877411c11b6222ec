"""Command-line tools the tests run, looked up the way an unactivated virtualenv needs.

`pip install -e '.[dev]'` puts `reconciler`, actionlint, zizmor, shellcheck and act in the `bin`
directory beside the interpreter, which is on PATH only when the virtualenv is activated. The
tests look there first, then on PATH. A tool that is missing skips its test on a laptop, but fails
it under `CI=true`: a check must never pass by not running.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def bin_dir() -> Path:
    """The directory of the running interpreter (a virtualenv's `bin`), not resolved: a symlinked
    interpreter's own directory is the one the virtualenv's scripts are in."""
    return Path(sys.executable).parent


def on_path(path: str) -> str:
    """`path` (a PATH value) with the interpreter's directory first, if it is not there already."""
    first = str(bin_dir())
    parts = path.split(os.pathsep) if path else []
    return path if parts[:1] == [first] else os.pathsep.join([first, *parts])


def find(name: str) -> str | None:
    return shutil.which(name, path=str(bin_dir())) or shutil.which(name)


def require(name: str, install: str = "pip install -e '.[dev]' installs it") -> str:
    """The path of tool `name`; skips the test when it is missing, or fails it under CI=true."""
    path = find(name)
    if path is None:
        message = f"{name} is not installed beside {sys.executable} nor on PATH ({install})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; under CI=true a missing tool is a failure, not a skip")
        pytest.skip(message)
    return path
