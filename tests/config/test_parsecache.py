"""The parsed-YAML cache: same result as a fresh parse, keyed by content, never required."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from reconciler.config import fastyaml, loader, parsecache
from reconciler.core.diagnostics import DiagnosticError


def _station(i: int) -> str:
    """One station of 12 lines, as a large configuration repeats them."""
    return f"""  - id: S{i}
    platforms: [siem]
    address: Calle {i}
    city: Bogota
    country: COL
    coordinates: {{latitude: "4.600000", longitude: "-74.080000"}}
    time_zone: America/Bogota
    publish: true
    evses:
      - uid: S{i}-1
        connectors:
          - {{id: "1", standard: IEC_62196_T2, format: SOCKET, power_type: AC_3_PHASE, max_voltage: 400, max_amperage: 32}}"""


def _write_stations(path: Path, ids: range) -> None:
    path.write_text("\n".join(["stations:", *(_station(i) for i in ids)]) + "\n")


def _big_config(root: Path, n: int = 400) -> None:
    root.mkdir()
    (root / "platforms.yaml").write_text(
        "platforms:\n  siem: {type: siem, url: sandbox, country_code: CO, party_id: ABC}\n")
    _write_stations(root / "stations.yaml", range(n))


def test_cached_parse_gives_the_same_config_and_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "cache"))
    _big_config(tmp_path / "cfg")
    first = loader.load_config(tmp_path / "cfg")
    assert len(list((tmp_path / "cache").glob("*.bin"))) == 1  # only the large file
    second = loader.load_config(tmp_path / "cfg")
    assert second.stations == first.stations
    s = second.stations["S123"]
    assert s.source("address") == first.stations["S123"].source("address")
    assert s.source("address").line is not None


def test_changed_content_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "cache"))
    _big_config(tmp_path / "cfg")
    loader.load_config(tmp_path / "cfg")
    path = tmp_path / "cfg" / "stations.yaml"
    path.write_text(path.read_text().replace("address: Calle 7\n", "address: Carrera 7\n"))
    cfg = loader.load_config(tmp_path / "cfg")
    assert cfg.stations["S7"].address == "Carrera 7"
    assert len(list((tmp_path / "cache").glob("*.bin"))) == 2


def test_a_corrupt_cache_entry_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "cache"))
    _big_config(tmp_path / "cfg")
    loader.load_config(tmp_path / "cfg")
    for f in (tmp_path / "cache").glob("*.bin"):
        f.write_bytes(b"\x00garbage")
    assert len(loader.load_config(tmp_path / "cfg").stations) == 400


def test_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RECONCILER_NO_CACHE", "1")
    assert parsecache.cache_dir() is None
    _big_config(tmp_path / "cfg")
    loader.load_config(tmp_path / "cfg")
    assert not (tmp_path / "cache").exists()


def _several_big_files(root: Path, files: int = 3, per_file: int = 400) -> None:
    _big_config(root, 0)
    (root / "stations.yaml").unlink()
    for f in range(files):
        _write_stations(root / f"stations-{f}.yaml", range(f * per_file, (f + 1) * per_file))


def test_files_parsed_by_worker_processes_give_the_same_config_lines_and_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path / "cache"))
    _several_big_files(tmp_path / "cfg")
    monkeypatch.setattr(loader, "_PARALLEL_BYTES", 256 * 1024)  # parsed in worker processes
    assert sum(p.stat().st_size for p in (tmp_path / "cfg").glob("*.yaml")) > loader._PARALLEL_BYTES
    parallel = loader.load_config(tmp_path / "cfg")
    assert len(list((tmp_path / "cache").glob("*.bin"))) == 3  # the workers filled the cache
    monkeypatch.setenv("RECONCILER_NO_CACHE", "1")
    monkeypatch.setattr(loader, "_PARALLEL_BYTES", 1 << 40)
    serial = loader.load_config(tmp_path / "cfg")
    assert parallel.stations == serial.stations and len(parallel.stations) == 1200
    for sid in ("S0", "S534", "S1199"):
        assert parallel.stations[sid].evses[0].connectors[0].source("max_voltage") == \
            serial.stations[sid].evses[0].connectors[0].source("max_voltage")
    ref = parallel.stations["S534"].source("city")
    assert (ref.file, ref.line, ref.path) == ("stations-1.yaml", 12 * 134 + 5, "stations[134].city")

    # A file with an error comes back from its worker with the error, at its line.
    monkeypatch.setattr(loader, "_PARALLEL_BYTES", 256 * 1024)
    bad = tmp_path / "cfg" / "stations-2.yaml"
    bad.write_text(bad.read_text().replace("    city: Bogota\n", "    city: Bogota\n    citty: x\n", 1))
    with pytest.raises(DiagnosticError) as err:
        loader.load_config(tmp_path / "cfg")
    [d] = err.value.diagnostics
    assert (d.file, d.line, d.field) == ("stations-2.yaml", 6, "stations[0].citty")


# --- what may be read back ------------------------------------------------------------------------
def _poison(cache: Path) -> Path:
    """Rewrite the one cached entry so that S7's address reads POISON: only a cache hit gives it."""
    [entry] = cache.glob("*.bin")
    decoded = parsecache.decode(entry.read_bytes(), "stations.yaml")
    assert decoded is not None
    data, smap = decoded
    assert isinstance(data, dict)
    data["stations"][7]["address"] = "POISON"
    entry.write_bytes(parsecache.encode(data, smap))
    return entry


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A large config loaded once, its entry poisoned; returns the cache directory."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(cache))
    _big_config(tmp_path / "cfg")
    loader.load_config(tmp_path / "cfg")
    assert cache.stat().st_mode & 0o777 == 0o700
    _poison(cache)
    assert loader.load_config(tmp_path / "cfg").stations["S7"].address == "POISON"  # the entry is used
    return cache


def test_a_change_to_the_reader_code_is_never_masked_by_an_entry_it_did_not_write(
        cached: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "fastyaml.py"
    changed.write_text(Path(fastyaml.__file__).read_text() + "\n# a fix\n")
    monkeypatch.setattr(fastyaml, "__file__", str(changed))
    parsecache.reader_digest.cache_clear()
    try:
        assert loader.load_config(tmp_path / "cfg").stations["S7"].address == "Calle 7"
        assert len(list(cached.glob("*.bin"))) == 2   # written again under the new reader's key
    finally:
        parsecache.reader_digest.cache_clear()


def test_a_cache_directory_others_can_write_is_not_used(cached: Path, tmp_path: Path) -> None:
    cached.chmod(0o777)
    try:
        assert loader.load_config(tmp_path / "cfg").stations["S7"].address == "Calle 7"
        assert len(list(cached.glob("*.bin"))) == 1   # nor written to
    finally:
        cached.chmod(0o700)


def test_an_entry_others_can_write_or_a_link_is_not_used(cached: Path, tmp_path: Path) -> None:
    [entry] = cached.glob("*.bin")
    entry.chmod(0o666)
    assert loader.load_config(tmp_path / "cfg").stations["S7"].address == "Calle 7"
    elsewhere = tmp_path / "elsewhere.bin"
    entry.chmod(0o600)
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)
    assert loader.load_config(tmp_path / "cfg").stations["S7"].address == "Calle 7"


def test_files_of_another_user_are_not_used(cached: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(cached).st_uid + 1)
    assert loader.load_config(tmp_path / "cfg").stations["S7"].address == "Calle 7"


def test_an_entry_of_the_wrong_shape_is_parsed_again(cached: Path, tmp_path: Path) -> None:
    [entry] = cached.glob("*.bin")
    entry.write_bytes(marshal.dumps(["not", "a", "parsed", "file"]))
    assert loader.load_config(tmp_path / "cfg").stations["S7"].address == "Calle 7"
