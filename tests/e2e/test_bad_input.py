"""Broken configurations: always a message naming file and line, exit code 1, of readable length,
never a traceback. Specific cases first, then a fuzzer over mutated copies of the examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli.main import cli
from reconciler.sandbox import embedded
from tests.examples import EXAMPLES, copy_example

LOCATED = re.compile(r"^Error: [\w./-]+\.ya?ml:\d+", re.MULTILINE)
MAX_OUTPUT = 20_000


def validate(config: Path, *extra: str) -> Result:
    embedded.close_all()
    return CliRunner().invoke(cli, ["validate", str(config), "--without-credentials", *extra])


def assert_clean_error(result: Result) -> str:
    """Exit 1 through the CLI's own error path, every error located, output of readable length."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    out = result.output
    assert result.exit_code == 1, out[-2000:]
    assert "Traceback" not in out
    assert LOCATED.search(out), out[-2000:]
    errors = [ln for ln in out.splitlines() if ln.startswith("Error: ")]
    assert all(LOCATED.match(ln) for ln in errors), errors
    assert len(out) < MAX_OUTPUT, len(out)
    return out


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return copy_example("colombia", tmp_path / "config")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("max_voltage: 920", "max_voltage: !!int x", "bogota.yaml:26: stations[0].evses[0].connectors[0].max_voltage: "
                                                 "'x' is not an integer, as its tag !!int says"),
    ("max_voltage: 920", "max_voltage: !!float abc", "bogota.yaml:26: stations[0].evses[0].connectors[0]."
                                                     "max_voltage: 'abc' is not a number, as its tag !!float says"),
    ("max_voltage: 920", "max_voltage: !!binary eHl6", "the YAML tag !!binary is not supported"),
    ("max_voltage: 920", "max_voltage: !!python/object/apply:os.system [x]", "bogota.yaml:26:"),
])
def test_an_explicit_tag_on_a_value_is_a_located_error(config: Path, old: str, new: str, message: str) -> None:
    replace_in(config / "bogota.yaml", old, new)
    out = assert_clean_error(validate(config))
    assert message in out


def test_a_tag_on_a_platform_url(config: Path) -> None:
    replace_in(config / "platforms.yaml", "    url: sandbox", "    url: !!float abc")
    out = assert_clean_error(validate(config))
    # One error, where it is; not a second one for the value it left out, nor for what needed it.
    assert [ln for ln in out.splitlines() if ln.startswith("Error")] == [
        "Error: platforms.yaml:7: platforms.siem.url: 'abc' is not a number, as its tag !!float says"]


@pytest.mark.parametrize("depth", [450, 5000])
def test_deep_nesting_is_a_located_error(config: Path, depth: int) -> None:
    (config / "deep.yaml").write_text("stations:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, depth)))
    out = assert_clean_error(validate(config))
    assert "deep.yaml:101: the YAML nests more than 100 levels deep" in out


def test_deep_flow_nesting_is_a_located_error(config: Path) -> None:
    (config / "deep.yaml").write_text("tariffs:\n  - " + "[" * 50_000 + "]" * 50_000 + "\n")
    out = assert_clean_error(validate(config))
    assert "deep.yaml:2: the YAML nests more than 100 levels deep" in out


@pytest.mark.parametrize("depth", [150, 100_000])
def test_sequences_opened_on_one_row_are_a_located_error(config: Path, depth: int) -> None:
    # 100,000 of them once crashed the YAML composer (C stack), not only Python's recursion limit.
    (config / "deep.yaml").write_text("stations:\n  " + "- " * depth + "x\n")
    out = assert_clean_error(validate(config))
    assert "deep.yaml:2: the YAML nests more than 100 levels deep" in out


def test_alias_expansion_is_limited_with_a_line(config: Path) -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = chr(ord("a") + i - 1)
        rows.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (config / "bomb.yaml").write_text("\n".join(rows) + "\n")
    out = assert_clean_error(validate(config))
    assert "bomb.yaml:6: aliases expand to more than 1,000,000 YAML nodes" in out


def test_a_control_character_has_a_line_not_a_position(config: Path) -> None:
    replace_in(config / "bogota.yaml", "Cra 11 82-71", "Cra 11\x0182-71")
    out = assert_clean_error(validate(config))
    assert "bogota.yaml:6: invalid YAML: the character U+0001 is not allowed" in out
    assert "position" not in out


def test_not_utf8_has_a_line(config: Path) -> None:
    (config / "latin1.yaml").write_bytes("stations:\n  - id: Bogotá\n".encode("latin-1"))
    out = assert_clean_error(validate(config))
    assert "latin1.yaml:2: not UTF-8 text" in out


def test_a_huge_line_is_not_echoed_whole(config: Path) -> None:
    (config / "huge.yaml").write_text("stations: [" + "x, " * 400_000 + "{\n")
    out = assert_clean_error(validate(config))
    assert "huge.yaml:" in out and len(out) < 2000


def test_a_huge_value_is_cut_in_messages(config: Path) -> None:
    replace_in(config / "bogota.yaml", "standard: IEC_62196_T2_COMBO", "standard: " + "IEC_" * 200_000)
    out = assert_clean_error(validate(config))
    assert "bogota.yaml:23: stations[0].evses[0].connectors[0].standard: 'IEC_IEC_" in out
    assert "more characters)" in out and len(out) < 4000


def test_a_long_list_of_errors_is_summarised(config: Path) -> None:
    items = "".join(f"  - id: BAD-{i}\n    bogus_{i}: 1\n" for i in range(260))
    (config / "many.yaml").write_text("stations:\n" + items)
    result = validate(config)
    out = assert_clean_error(result)
    shown = [ln for ln in out.splitlines() if ln.startswith("Error: ")]
    assert len(shown) == 20
    assert re.search(r"^\.\.\. and \d+ more errors", out, re.MULTILINE), out[-500:]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("latitude", "94.666700", "latitude 94.666700 is out of range: it must be between -90 and 90 degrees"),
    ("latitude", "-90.000001", "latitude -90.000001 is out of range"),
    ("longitude", "-194.052800", "longitude -194.052800 is out of range: it must be between -180 and 180 degrees"),
])
def test_coordinates_out_of_range(config: Path, field: str, value: str, message: str) -> None:
    old = {"latitude": 'latitude: "4.666700"', "longitude": 'longitude: "-74.052800"'}[field]
    replace_in(config / "bogota.yaml", old, f'{field}: "{value}"')
    out = assert_clean_error(validate(config))
    assert f"bogota.yaml:10: stations[0].coordinates.{field}: {message}" in out


def test_coordinates_at_the_limits_are_valid(config: Path) -> None:
    replace_in(config / "bogota.yaml", 'latitude: "4.666700"', 'latitude: "-90.000000"')
    replace_in(config / "bogota.yaml", 'longitude: "-74.052800"', 'longitude: "180.000000"')
    result = validate(config)
    assert result.exit_code == 0, result.output


# --- the fuzzer -------------------------------------------------------------------------------
FILES = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.yaml")
               if ".reconciler" not in p.parts)
_VALUE = re.compile(r"^(\s*(?:- )?[A-Za-z_][\w-]*:) (.+)$")

tags = st.sampled_from(["!!int x", "!!float abc", "!!bool maybe", "!!null x", "!!binary @@@", "!!str", "!Ref x",
                        "!!timestamp nope", "!!python/name:os.system", "!!int 0x1F", "!!float .nan", "!!set {a}"])
wrong_types = st.sampled_from(["[1, 2]", "{a: 1}", "true", "null", "~", "''", "-", "[", "{", "}", "*nope", "&a",
                               "'unclosed", '"\\q"', "|", ">-", "? x", "%", "@x", "`x`", "a: b: c"])
huge_numbers = st.sampled_from(["9" * 5000, "1e999", "-1e999", ".inf", "1" + "0" * 400 + ".5", "0" * 300,
                                "-0.0000000000000000000001", "99999999999999999999"])
values = st.one_of(tags, wrong_types, huge_numbers,
                   st.text(st.characters(codec="utf-8"), min_size=1, max_size=30),
                   st.text(st.characters(min_codepoint=0, max_codepoint=0x1f), min_size=1, max_size=3))


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(FILES))
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    lines = text.split("\n")
    kind = draw(st.sampled_from(["value", "value", "value", "nest", "binary", "empty", "line", "bomb"]))
    if kind == "value":
        candidates = [i for i, ln in enumerate(lines) if _VALUE.match(ln)]
        if not candidates:
            lines.append("stations: []")
            candidates = [len(lines) - 1]
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.sampled_from(candidates))
            m = _VALUE.match(lines[i])
            if m is not None:  # (a line changed before may no longer be `key: value`)
                lines[i] = f"{m.group(1)} {draw(values)}"
        return name, "\n".join(lines).encode("utf-8", "surrogatepass")
    if kind == "nest":
        depth = draw(st.sampled_from([50, 200, 460, 1200]))
        at = draw(st.integers(0, len(lines)))
        block = "x:\n" + "".join(" " * d + f"k{d}:\n" for d in range(1, depth))
        flow = "x: " + "[" * depth + "]" * depth
        dashes = "x:\n  " + "- " * depth * 20 + "y"
        return name, "\n".join([*lines[:at], draw(st.sampled_from([block, flow, dashes])), *lines[at:]]).encode()
    if kind == "binary":
        return name, draw(st.binary(min_size=1, max_size=200))
    if kind == "empty":
        return name, draw(st.sampled_from([b"", b"\n", b"---\n", b"# nothing\n", b"\xef\xbb\xbf", b"..."]))
    if kind == "line":
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        lines[at] = lines[at] + " " + "y" * draw(st.sampled_from([1000, 100_000]))
        return name, "\n".join(lines).encode()
    rows = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    rows += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    return name, (text + "\n" + "\n".join(rows) + "\n").encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(mutation=mutations())
def test_fuzzed_examples_never_give_a_traceback(tmp_path_factory: pytest.TempPathFactory,
                                                mutation: tuple[str, bytes]) -> None:
    name, data = mutation
    example, rel = name.split("/", 1)
    config = copy_example(example, tmp_path_factory.mktemp("fuzz") / "config")
    (config / rel).write_bytes(data)
    result = validate(config)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output[-2000:]
    assert "Traceback" not in result.output
    assert len(result.output) < MAX_OUTPUT, len(result.output)
    if result.exit_code == 1:
        errors = [ln for ln in result.output.splitlines() if ln.startswith("Error: ")]
        assert errors and all(LOCATED.match(ln) for ln in errors), errors
