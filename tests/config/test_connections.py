"""Which platforms a pull request's configuration points elsewhere than the base branch's
(`config.connections.changed`, used by `plan --connections-from`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.config import connections, loader, secrets
from tests.examples import copy_example


def _load(path: Path):  # type: ignore[no-untyped-def]
    with secrets.optional_credentials("test"):
        return loader.load_config(path)


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("SIEM_API_KEY", "key-one")
    monkeypatch.setenv("OTHER_KEY", "key-two")
    base, pr = tmp_path / "base", tmp_path / "pr"
    copy_example("colombia", base)
    text = (base / "platforms.yaml").read_text().replace(
        "    url: sandbox", "    url: https://siem.example.co/ocpi/2.2.1\n    ca_bundle: certs/ca.pem")
    (base / "platforms.yaml").write_text(text)
    (base / "certs").mkdir()
    (base / "certs" / "ca.pem").write_text("CA ONE\n")
    shutil.copytree(base, pr)
    return base, pr


def edit(path: Path, old: str, new: str) -> None:
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))


def test_the_same_settings_are_trusted(pair: tuple[Path, Path]) -> None:
    base, pr = pair
    edit(pr / "platforms.yaml", "party_id: EVB", "party_id: EVC")   # not a connection setting
    assert connections.changed(_load(pr), _load(base)) == {}


@pytest.mark.parametrize(("old", "new", "field"), [
    ("url: https://siem.example.co/ocpi/2.2.1", "url: https://evil.example/ocpi/2.2.1", "url"),
    ("${env:SIEM_API_KEY}", "${env:OTHER_KEY}", "api_key"),
    ("ca_bundle: certs/ca.pem", "ca_bundle: certs/other.pem", "ca_bundle"),
])
def test_a_changed_connection_setting_is_named(pair: tuple[Path, Path], old: str, new: str, field: str) -> None:
    base, pr = pair
    (pr / "certs" / "other.pem").write_text("CA TWO\n")
    edit(pr / "platforms.yaml", old, new)
    assert connections.changed(_load(pr), _load(base)) == {
        "siem": f"this pull request changes its connection settings ({field})"}


def test_a_certificate_file_changed_in_place_counts(pair: tuple[Path, Path]) -> None:
    base, pr = pair
    (pr / "certs" / "ca.pem").write_text("ANOTHER CA\n")
    assert "ca_bundle" in connections.changed(_load(pr), _load(base))["siem"]


def test_a_platform_the_base_lacks_or_no_base(pair: tuple[Path, Path], tmp_path: Path) -> None:
    _, pr = pair
    other = tmp_path / "chile"
    copy_example("chile", other)
    assert connections.changed(_load(pr), _load(other)) == {"siem": "the base branch does not declare this platform"}
    assert connections.changed(_load(pr), None) == {"siem": "the base branch has no configuration here"}
