"""A plan whose early reads (made before the state lock) raced another apply reads the platforms again.

The CLI reads the platforms while the configuration loads, before it takes the state lock. If
another apply ran in between (two merges applied one after the other), what was read before it may
no longer be what the platforms hold: the plan made under the lock must not use those reads. Here
the second apply's configuration is the first one's (a merge queue): it must find nothing to do,
not re-send the first apply's change as "changed outside reconciler".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import runtime
from reconciler.cli.main import cli
from reconciler.cli.plan_cmds import _make_plan
from tests.examples import copy_example
from tests.tls_harness import SIEM_KEY, Served


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _estate(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    copy_example("colombia", config)
    text = (config / "platforms.yaml").read_text()
    (config / "platforms.yaml").write_text(text.replace("    url: sandbox\n",
                                                        f"    url: {served.url}/siem/ocpi/2.2.1\n{served.tls()}", 1))
    monkeypatch.setenv("SIEM_API_KEY", SIEM_KEY)
    assert run("apply", config, "--auto-approve").exit_code == 0
    return config


def _rename(config: Path) -> None:
    path = config / "bogota.yaml"
    text = path.read_text()
    assert "name: Centro Comercial Andino" in text
    path.write_text(text.replace("name: Centro Comercial Andino", "name: Andino (nuevo nombre)", 1))


def test_reads_made_before_another_apply_are_not_used(served: Served, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    config = _estate(served, tmp_path, monkeypatch)
    _rename(config)
    # The second apply starts: it reads the platforms (the old name) while its configuration loads...
    with runtime.Session.open(config, None, prefetch=True) as session:
        # ...meanwhile the first apply, with the same configuration, changes the name and records it.
        first = run("apply", config, "--auto-approve")
        assert first.exit_code == 0 and "1 changed" in first.output, first.output
        puts_before = sum(1 for e in served.log("siem") if e["method"] in ("PUT", "PATCH"))
        with session.store.lock("apply"):
            plan = _make_plan(session, session.store.load(), [], True)
    assert [c.address for c in plan.changes] == []
    assert plan.drift == []
    # The plan read the location again, after the first apply.
    assert sum(1 for e in served.log("siem") if e["method"] in ("PUT", "PATCH")) == puts_before


def test_reads_are_reused_when_nothing_was_applied_in_between(served: Served, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = _estate(served, tmp_path, monkeypatch)
    reads = len(served.log("siem"))
    with runtime.Session.open(config, None, prefetch=True) as session:
        early = len(served.log("siem"))
        assert early > reads                                  # read before the lock...
        with session.store.lock("plan"):
            plan = _make_plan(session, session.store.load(), [], True)
    assert plan.changes == []
    assert len(served.log("siem")) == early                   # ...and not read again under it
