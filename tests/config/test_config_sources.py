"""YAML reading: line numbers, YAML 1.2 scalars, syntax errors, discovery and the digest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.config import sources
from reconciler.core.diagnostics import DiagnosticError


def parse(text: str, rel: str = "a.yaml") -> tuple[object, sources.SourceMap, list[str]]:
    data, smap, diags = sources.parse(sources.SourceFile(Path("/x") / rel, rel, text.encode()))
    return data, smap, [d.render() for d in diags]


def test_line_numbers_of_nested_keys_and_items() -> None:
    data, smap, diags = parse("stations:\n  - id: A\n    evses:\n      - uid: E1\n\n      - uid: E2\n")
    assert diags == []
    assert data == {"stations": [{"id": "A", "evses": [{"uid": "E1"}, {"uid": "E2"}]}]}
    assert smap.line(("stations",)) == 1
    assert smap.line(("stations", 0)) == 2
    assert smap.line(("stations", 0, "evses")) == 3
    assert smap.line(("stations", 0, "evses", 1, "uid")) == 6


def test_a_missing_path_falls_back_to_its_nearest_written_ancestor() -> None:
    _, smap, _ = parse("a:\n  b:\n    c: 1\n")
    assert smap.line(("a", "b", "missing", "deeper")) == 2
    assert smap.line(()) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("v: NO", "NO"),  # Norway, not False
    ("v: yes", "yes"),
    ("v: off", "off"),
    ("v: true", True),
    ("v: False", False),
    ("v: 10:00", "10:00"),  # not 600 (YAML 1.1 base 60)
    ("v: 09:30", "09:30"),
    ("v: 050021", "050021"),  # a Colombian postal code, not octal 20497
    ("v: 0x1F", "0x1F"),
    ("v: 1_000", "1_000"),
    ("v: 29", 29),
    ("v: -7", -7),
    ("v: 1.5", 1.5),
    ("v: .5", 0.5),
    ("v: 1e3", 1000.0),
    ("v: 007.5", "007.5"),
    ("v: .inf", ".inf"),
    ("v: <<", "<<"),
    ("v: 2024-01-31", "2024-01-31"),
    ("v: 2024-01-31T10:00:00Z", "2024-01-31T10:00:00Z"),
    ("v: ~", None),
    ("v:", None),
    ('v: "29"', "29"),
    ("v: !!str 29", "29"),
])
def test_scalars_are_read_the_yaml_1_2_way(text: str, expected: object) -> None:
    data, _, diags = parse(text)
    assert diags == []
    assert data == {"v": expected}
    assert isinstance(data, dict) and type(data["v"]) is type(expected)


def test_the_pure_python_parser_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: [NO, 10:00, 050021, 29, 1.5, true, ~]\nb: &x {c: 1}\nd:\n  <<: *x\n  e: 2\n"
    expected = parse(text)
    monkeypatch.setattr(sources, "_Loader", type("PyLoader", (yaml.SafeLoader,), {"resolve": sources._Loader.resolve}))
    assert parse(text) == expected
    assert expected[0] == {"a": ["NO", "10:00", "050021", 29, 1.5, True, None], "b": {"c": 1}, "d": {"c": 1, "e": 2}}


def test_keys_are_their_text() -> None:
    data, _, _ = parse("29: a\nyes: b\n")
    assert data == {"29": "a", "yes": "b"}


def test_numeric_text_is_kept_for_hints() -> None:
    _, smap, _ = parse("lat: 4.666700\n")
    assert smap.numbers[("lat",)] == "4.666700"


def test_duplicate_key_is_an_error_naming_both_lines() -> None:
    _, _, diags = parse("a:\n  x: 1\n  y: 2\n  x: 3\n")
    assert diags == ["Error: a.yaml:4: a.x: duplicate key 'x' (first written at line 2)"]


def test_anchors_and_merge_keys() -> None:
    data, smap, diags = parse(
        "base: &b {format: CABLE, power_type: DC}\n"
        "c:\n"
        "  <<: *b\n"
        "  power_type: AC_3_PHASE\n"
        "d: *b\n")
    assert diags == []
    assert data == {"base": {"format": "CABLE", "power_type": "DC"},
                    "c": {"format": "CABLE", "power_type": "AC_3_PHASE"},
                    "d": {"format": "CABLE", "power_type": "DC"}}
    assert smap.line(("c", "power_type")) == 4  # the explicit key wins, line included


def test_recursive_alias_is_an_error_not_a_crash() -> None:
    _, _, diags = parse("a: &x [1, *x]\n")
    assert any("refers to itself" in d for d in diags)


def test_syntax_error_names_line_column_and_problem() -> None:
    _, _, diags = parse("a:\n  b: [1, 2\n  c: 3\n")
    assert len(diags) == 1
    assert diags[0].startswith("Error: a.yaml:3: invalid YAML at column")
    assert "expected ',' or ']'" in diags[0]


def test_syntax_error_hints_at_references_in_flow_mappings() -> None:
    _, _, diags = parse("opc: {username: ${env:SEC_OPC_RUT}}\n")
    assert len(diags) == 1
    assert "a.yaml:1: invalid YAML" in diags[0]
    assert "use block style" in diags[0]


def test_several_documents_are_an_error() -> None:
    _, _, diags = parse("a: 1\n---\nb: 2\n")
    assert len(diags) == 1 and "a.yaml:" in diags[0] and "single document" in diags[0]


def test_empty_file_is_nothing() -> None:
    assert parse("") == (None, sources.SourceMap("a.yaml"), [])
    assert parse("# only a comment\n")[0] is None


def test_unknown_tag_is_an_error() -> None:
    _, _, diags = parse("a: !Ref x\n")
    assert len(diags) == 1 and "a.yaml:1" in diags[0] and "!Ref" in diags[0]


def test_not_utf8() -> None:
    _, _, diags = sources.parse(sources.SourceFile(Path("/x/a.yaml"), "a.yaml", b"a: 1\nb: \xff\xfe\n"))
    assert diags[0].render() == "Error: a.yaml:2: not UTF-8 text (byte 9 of the file)\n  Save the file as UTF-8."


@pytest.mark.parametrize(("path", "text"), [
    (("stations", 0, "evses", 1, "connectors", 0, "standard"), "stations[0].evses[1].connectors[0].standard"),
    (("platforms", "siem", "api_key"), "platforms.siem.api_key"),
    (("platforms", "my plat"), 'platforms["my plat"]'),
    ((), ""),
])
def test_format_path(path: sources.PathT, text: str) -> None:
    assert sources.format_path(path) == text


def test_discover_recurses_sorted_and_skips_hidden(tmp_path: Path) -> None:
    for rel in ("b.yaml", "a/z.yml", "a/b.yaml", ".reconciler/state.yaml", ".hidden.yaml", "notes.txt",
                "sub/.git/x.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n")
    root, files = sources.discover(tmp_path)
    assert root == tmp_path.resolve()
    assert [f.rel for f in files] == ["a/b.yaml", "a/z.yml", "b.yaml"]
    assert all(f.path.is_absolute() for f in files)


def test_discover_a_single_file(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("{}\n")
    (tmp_path / "other.yaml").write_text("{}\n")
    root, files = sources.discover(tmp_path / "one.yaml")
    assert root == tmp_path.resolve()
    assert [f.rel for f in files] == ["one.yaml"]


def test_discover_nonexistent_path(tmp_path: Path) -> None:
    with pytest.raises(DiagnosticError) as info:
        sources.discover(tmp_path / "nope")
    assert "no such file or directory" in str(info.value)


def test_discover_a_directory_without_config(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hi")
    with pytest.raises(DiagnosticError) as info:
        sources.discover(tmp_path)
    assert "no *.yaml or *.yml files" in str(info.value)


def test_digest_depends_on_names_and_bytes_not_on_order() -> None:
    a = sources.SourceFile(Path("/r/a.yaml"), "a.yaml", b"x: 1\n")
    b = sources.SourceFile(Path("/r/b.yaml"), "b.yaml", b"y: 2\n")
    base = sources.digest([a, b])
    assert len(base) == 64
    assert sources.digest([b, a]) == base
    assert sources.digest([a, sources.SourceFile(b.path, b.rel, b"y: 3\n")]) != base
    assert sources.digest([a, sources.SourceFile(Path("/r/c.yaml"), "c.yaml", b.data)]) != base
    # moving bytes between the name and the content must not collide
    assert sources.digest([sources.SourceFile(Path("/r/ab"), "ab", b"")]) != sources.digest(
        [sources.SourceFile(Path("/r/a"), "a", b"b")])
