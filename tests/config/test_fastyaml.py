"""The fast YAML reader against libyaml: whenever it accepts a text, it gives exactly what libyaml
gives (data with types, the line of every field path, the text of numbers); whatever it does not
handle, it hands back (Unsupported) so libyaml reads it and reports its errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.config import fastyaml, sources

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fast(text: str) -> tuple[object, dict[sources.PathT, int], dict[sources.PathT, str]] | None:
    lines: dict[sources.PathT, int] = {}
    numbers: dict[sources.PathT, str] = {}
    try:
        return fastyaml.parse(text, lines, numbers), lines, numbers
    except fastyaml.Unsupported:
        return None


def same(a: object, b: object) -> bool:
    """Equal with equal types all the way down (1, 1.0 and True are three different values here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def check_agrees(text: str) -> bool:
    """Assert the fast reader either declines `text` or reads it as libyaml does; True if it read it."""
    got = fast(text)
    if got is None:
        return False
    data, smap, diags = sources.parse_with_libyaml(text, "a.yaml")
    assert [d.render() for d in diags] == [], f"accepted a text libyaml rejects:\n{text}"
    assert same(got[0], data), f"data differs:\n{text}\nfast: {got[0]!r}\nlibyaml: {data!r}"
    assert got[1] == smap.lines, f"lines differ:\n{text}"
    assert got[2] == smap.numbers, f"number texts differ:\n{text}"
    return True


# --- the configurations people write ---------------------------------------------------------------

def corpus() -> list[Path]:
    files = sorted((ROOT / "examples").rglob("*.y*ml"))
    return [f for f in files if ".github" not in f.parts]


@pytest.mark.parametrize("path", corpus(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_configuration_is_read_fast_and_the_same(path: Path) -> None:
    assert check_agrees(path.read_text(encoding="utf-8")), "the fast reader declined an example configuration"


ESTATE = """\
stations:
  - id: LOC00001
    platforms: [siem]
    name: Estacion 1   # a comment after a value
    address: Calle 1 1-1
    coordinates: {latitude: "4.001000", longitude: "-74.000000"}
    publish: true
    evses:
      - uid: LOC00001-0
        capabilities: [RFID_READER, 'CREDIT_CARD_PAYABLE']
        connectors:
          - {id: "1", standard: IEC_62196_T2, max_voltage: 400, max_electric_power: 22000, tariffs: [T0001]}
          - id: '2'
            max_amperage: 32.5
            tariffs:
            - T0002

tariffs:
- id: T0001
  currency: COP
  elements:
    - price_components:
        - {type: ENERGY, price: 1001, vat: 19, step_size: 1}
      restrictions: {start_time: "10:00", day_of_week: [MONDAY, TUESDAY]}
  tariff_alt_text: []
  energy_mix: {}
  min_price: ~
  note: it's 10:00 - open
"""


def test_a_national_estate_file_is_read_fast_and_the_same() -> None:
    assert check_agrees(ESTATE)
    data, lines, numbers = fast(ESTATE) or (None, {}, {})
    assert lines[("stations", 0, "evses", 0, "connectors", 1, "tariffs", 0)] == 16
    assert numbers[("stations", 0, "evses", 0, "connectors", 1, "max_amperage")] == "32.5"


def test_crlf_line_ends_are_read_the_same() -> None:
    assert check_agrees(ESTATE.replace("\n", "\r\n"))


@pytest.mark.parametrize("text", [
    "a: [x] # '#' and \"quotes\" in a comment\n",
    "a: [x, 'y #z', \"#\"]   # c\n",
    "a: {b: 'it''s', c: \"d: e\"} #\n",
    "a: 'x' # c\nb: \"y\"\n",
    "a: b#c # d\n",
])
def test_comments_and_hashes_are_told_apart(text: str) -> None:
    assert check_agrees(text)


# --- what it leaves to libyaml ---------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",  # anchors and aliases
    "a: !!str 29\n",  # tags
    "a: |\n  text\n",  # block scalars
    "a: >\n  text\n",
    "a: one\n  two\n",  # a plain scalar continued on the next line
    'a: "one\n  two"\n',  # a quoted scalar continued
    "a: 'it''s\n  two'\n",
    'a: "tab\\there"\n',  # escapes
    "a:\tb\n",  # tabs
    "a: 1\na: 2\n",  # duplicate keys (libyaml's path names both lines)
    "<<: {a: 1}\n",  # merge keys
    "a: {<<: {b: 1}}\n",
    "---\na: 1\n",  # document markers and directives
    "%YAML 1.2\n---\na: 1\n",
    "a: [1, 2,\n  3]\n",  # flow collections over several lines
    "a: [1, 2, ]\n",  # trailing comma
    "a: [1, , 2]\n",
    "a: {b: 1, b: 2}\n",
    'a: {"b":1}\n',  # ':' without a space
    "a: [b: 1]\n",  # a single-pair mapping inside a sequence
    "a: b: c\n",  # errors libyaml reports
    "- a\nb: 1\n",
    "a: 1\n - b\n",
    "a:\n  - x\n - y\n",
    "plain scalar document\n",
    "",
    "# only a comment\n",
    "? complex key\n: value\n",
    "a: -\n",
    "- \n- a\n",  # a null sequence item
    "- - nested\n",
    "a: [b#c]\n",  # a '#' inside a flow scalar
    "key with space: 1\n",
    '"quoted key": 1\n',
    "a: \x85\n",  # NEL is a line break to libyaml
    "a: b\u2028c\n",
    "a: \x07\n",  # a control character
    "a: " + "x" * 10 + "\n" + "k" * 1100 + ": 1\n",  # a key longer than libyaml looks for its ':'
])
def test_outside_the_subset_it_declines(text: str) -> None:
    assert fast(text) is None


def test_a_declined_file_is_still_read_and_its_errors_reported() -> None:
    data, smap, diags = sources.parse(sources.SourceFile(Path("/x/a.yaml"), "a.yaml", b"a: 1\nb: &x [1]\nc: *x\n"))
    assert data == {"a": 1, "b": [1], "c": [1]} and smap.line(("c",)) == 3 and diags == []
    _, _, diags = sources.parse(sources.SourceFile(Path("/x/a.yaml"), "a.yaml", b"a: 1\na: 2\n"))
    assert [d.render() for d in diags] == ["Error: a.yaml:2: a: duplicate key 'a' (first written at line 1)"]


# --- generated texts, valid or not -------------------------------------------------------------------

PLAIN_CHARS = "abcXYZ019 .-_:#'\"[]{},&*!|>%@`?<~\\é/+e"
SCALARS = st.one_of(
    st.text(PLAIN_CHARS, max_size=10),
    st.sampled_from(["true", "False", "NO", "null", "~", "", "10:00", "050021", "0x1F", "1_000", "29", "-7",
                     "+3", "1.5", ".5", "1.", "1e3", "-1.5E-2", ".inf", ".nan", "<<", "2024-01-31", "-", "--x",
                     "a: b", "a #b", "a#b", "x:", "-74.5", "[x]", "{y}", "it's", '"q"', "''", "a,b"]),
)
KEYS = st.one_of(st.from_regex(r"[a-z_][a-z0-9_-]{0,6}", fullmatch=True),
                 st.sampled_from(["1", "true", "null", "a b", "x:", "#k", "<<", "'q'", '"d"', "-k", "k-"]))
TREES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(KEYS, kids, max_size=3),
                     max_leaves=12)


def render_scalar(value: str, draw: st.DrawFn) -> str:
    style = draw(st.sampled_from(["plain", "plain", "plain", "double", "single", "single-raw"]))
    if style == "double":
        return f'"{value}"'
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "single-raw":
        return f"'{value}'"
    return value


def render_flow(node: object, draw: st.DrawFn) -> str:
    if isinstance(node, list):
        return "[" + ", ".join(render_flow(x, draw) for x in node) + "]"
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k}: {render_flow(v, draw)}" for k, v in node.items()) + "}"
    return render_scalar(str(node), draw)


def render_block(node: object, indent: int, draw: st.DrawFn) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(node, dict) and node:
        for key, value in node.items():
            out += render_entry(f"{pad}{key}:", value, indent, draw, same_column_list=True)
    elif isinstance(node, list) and node:
        for item in node:
            if isinstance(item, dict) and item and draw(st.booleans()):  # `- key: value` on the dash's line
                gap = draw(st.integers(1, 3))
                inner = render_block(item, indent + 1 + gap, draw)
                out.append(pad + "-" + " " * gap + inner[0].lstrip(" "))
                out += inner[1:]
            else:
                out += render_entry(f"{pad}-", item, indent, draw, same_column_list=False)
    else:
        out.append(pad + render_flow(node, draw))
    return out


def render_entry(head: str, value: object, indent: int, draw: st.DrawFn, *, same_column_list: bool) -> list[str]:
    comment = draw(st.sampled_from(["", "", " # note", "  #", " #x: 'y'"]))
    if isinstance(value, dict | list) and value and draw(st.booleans()):
        step = 0 if same_column_list and isinstance(value, list) and draw(st.booleans()) else draw(st.integers(1, 4))
        return [head + comment, *render_block(value, indent + step, draw)]
    text = render_flow(value, draw)
    return [head + (" " + text if text else "") + comment]


@st.composite
def documents(draw: st.DrawFn) -> str:
    tree = draw(TREES)
    lines = render_block(tree, draw(st.integers(0, 2)), draw)
    for _ in range(draw(st.integers(0, 3))):  # blank and comment lines anywhere
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(["", "   ", "# c", "    # deeper comment"])))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))
    for _ in range(draw(st.integers(0, 2))):  # and now and then a damaged character
        if text:
            at = draw(st.integers(0, len(text) - 1))
            text = text[:at] + draw(st.sampled_from(list(" -:#'\"[]{},\t\n&*!|>"))) + text[at + 1:]
    return text


@SETTINGS
@given(documents())
@example("a: {b: [1, 2.0, true, '3']}\nc:\n- d: 1\n  e: ~\n")
@example("k:\n  - x\n  -   y: 1\n      z: 2\n")
def test_generated_texts_are_declined_or_read_exactly_as_libyaml_reads_them(text: str) -> None:
    check_agrees(text)


def test_generated_texts_are_mostly_read_fast() -> None:
    """The property above would hold for a reader that declines everything: most texts of the
    generator's valid kind must be read by the fast path."""
    read = 0
    for i in range(200):
        lines = [f"k{i}:", f"  - id: X{i}", "    v: [1, 'two', {a: \"3\"}]  # c", f"    n: {i}.5", "  - plain"]
        read += check_agrees("\n".join(lines) + "\n")
    assert read == 200
