"""Two merges in a row, applied by the action's own scripts against one shared sandbox on 127.0.0.1
with a bare repository as the remote: nothing is sent twice and the final plan is clean, whether the
second job checked out after the first finished or before it pushed (see tests/gitops/race.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitops.race import git, race


@pytest.mark.parametrize("kind", ["medido", "chile"])
@pytest.mark.parametrize("interleaved", [False, True], ids=["back-to-back", "interleaved"])
def test_two_merges_send_nothing_twice(kind: str, interleaved: bool, tmp_path: Path) -> None:
    fig = race(kind, tmp_path, interleaved=interleaved)
    first, second = fig.runs
    assert first.code == 0, first.output[-3000:]
    assert second.code == 0, second.output[-3000:]
    assert fig.sent > 0 and fig.duplicates == 0, (fig.sent, fig.distinct)
    assert fig.stored == fig.distinct
    assert fig.final_plan == 0
    assert "Read the state from the tip of main" in second.output
    assert "Nothing to apply." in second.output
    log = git(tmp_path / "origin.git", "log", "--format=%s|%an|%ae", "main").splitlines()
    assert log[0] == ("reconciler: record the applied state|github-actions[bot]|"
                      "41898282+github-actions[bot]@users.noreply.github.com")
    assert [line.split("|")[0] for line in log[1:]] == ["merge B: notes", "merge A: the configuration"]
