"""The example estates in examples/, copied the way every test must copy them.

A user who followed the quick start has run `plan` and `apply` in examples/colombia: it then
holds `reconciler.state.json` (and its journal, lock and backups) and the embedded sandbox's data
under `.reconciler/`. A test that copied those would start from the user's state, not the
example's, so they are never copied.
"""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# What a run leaves beside a configuration: the state and its companions, the sandbox data.
RUN_LEFTOVERS = ("reconciler.state.json*", ".reconciler", "*.plan", "comment.md", "plan.json")


def copy_example(name: str, dest: Path) -> Path:
    """Copy examples/`name` to `dest` (which must not exist) without what a run left there."""
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns(*RUN_LEFTOVERS))
    return dest
