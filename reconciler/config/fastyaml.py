"""A fast reader for the plain YAML configurations are nearly always written in.

`sources.parse` tries this first and falls back to libyaml (`sources._Loader`) whenever
`Unsupported` is raised. The result must be exactly what the libyaml path gives for the same
text: the same data, the same line for every field path, the same number texts. So this reader
accepts only a strict subset and gives up on anything else, including every input libyaml would
reject: the fallback then parses the file again and reports its errors.

The subset, one logical line per node:
- block mappings whose keys are simple words (`[A-Za-z0-9_][A-Za-z0-9_-]*`) followed by `: `;
- block sequences (`- item`), including a mapping that starts on the dash's line (`- id: x`);
- single-line scalars: plain (resolved the YAML 1.2 way, as in `sources`), "double-quoted"
  without escapes, 'single-quoted';
- flow sequences and mappings (`[a, b]`, `{k: v}`, nested) that open and close on one line;
- blank lines and comments.

Anything else (anchors, aliases, tags, block scalars `|`/`>`, multi-line scalars, document
markers, directives, tabs, escapes, duplicate keys, merge keys, ...) raises `Unsupported`.
Libyaml builds two Mark objects and a Node per value, which is most of the cost of a large
configuration; this reader builds only the values and the line map.
"""

from __future__ import annotations

import functools
import math
import re

PathT = tuple[str | int, ...]
MAX_NODES = 1_000_000  # aliases can expand a small file exponentially ("billion laughs")
MAX_DIGITS = 1000  # characters of a number (Python refuses to read integers past 4,300 digits)
TAG = "tag:yaml.org,2002:"
NULLS = frozenset({"", "~", "null", "Null", "NULL"})
BOOLS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE"})
INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
FLOAT = re.compile(r"[-+]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")  # no leading zeros

# Every character libyaml accepts in a document and this reader handles: printable, no tab, no
# carriage return (CRLF is turned into LF first), no NEL/LS/PS line breaks, no byte-order mark.
_OUTSIDE = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_-]*):(?: +|$)")
# One flow row, cut into tokens; each token fills exactly one group. Every character falls in a
# token (the last group takes anything else), so the tokens cover the row with no gap.
_FLOW_TOKENS = re.compile(
    r"""(?:"""
    r"""( +#.*)"""  # a comment (only after a space), to the end of the row
    r"""| *(?:"""
    r"""([\[\]{},])"""  # indicator
    r"""|(: )"""  # a mapping's value follows (a flow ':' must be followed by a space here)
    r"""|("[^"\\]*")"""  # double-quoted, no escapes
    r"""|('(?:[^']|'')*')"""  # single-quoted
    r"""|((?:[^ ?:,\[\]{}#&*!|>'"%@`-]|-(?=[^ ,\[\]{}]))[^,\[\]{}:#'"]*)"""  # plain
    r"""|(.)))"""  # anything else: outside the subset
)
_Token = tuple[str, str, str, str, str, str, str]
_EMPTY_ENTRY = frozenset({",", "]", "}"})
_MAX_KEY = 1000  # libyaml looks no further than 1024 characters for a simple key's ':'
_PLAIN_START = frozenset("?:,[]{}#&*!|>'\"%@`")


@functools.lru_cache(maxsize=65536)
def resolve_plain_tag(value: str) -> str:
    """The YAML 1.2 core-schema tag of a plain scalar (memoised: configurations repeat values a lot)."""
    if value in NULLS:
        return TAG + "null"
    if value in BOOLS:
        return TAG + "bool"
    if INT.fullmatch(value):
        return TAG + "int"
    if FLOAT.fullmatch(value):
        return TAG + "float"
    return TAG + ("merge" if value == "<<" else "str")


class Unsupported(Exception):
    """The text is outside the subset: parse it with libyaml."""


@functools.lru_cache(maxsize=65536)
def _plain(text: str) -> tuple[object, bool]:
    """A plain scalar's value, and whether it is a number (same rules as `sources._Walker._scalar`)."""
    tag = resolve_plain_tag(text)
    if tag == TAG + "str" or tag == TAG + "merge":
        return text, False
    if tag == TAG + "null":
        return None, False
    if tag == TAG + "bool":
        return text.lower() == "true", False
    if len(text) > MAX_DIGITS:
        raise Unsupported  # libyaml's path reports it, with its line
    if tag == TAG + "int":
        return int(text), True
    number = float(text)
    if math.isinf(number):
        raise Unsupported
    return number, True


def parse(text: str, lines: dict[PathT, int], numbers: dict[PathT, str]) -> object:
    """The data of `text`, filling `lines` (path -> 1-based line) and `numbers` (path -> text).

    Raises Unsupported (with `lines` and `numbers` partly filled) when the text is outside the
    subset.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _OUTSIDE.search(text):
        raise Unsupported
    rows: list[tuple[int, int, str]] = []
    for n, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue
        indent = len(line) - len(content)
        if indent == 0 and (content.startswith(("---", "...")) or content[0] == "%"):
            raise Unsupported
        rows.append((n, indent, content.rstrip(" ")))
    if not rows:
        raise Unsupported
    reader = _Reader(rows, lines, numbers)
    try:
        data = reader.block(rows[0][1], ())
    except RecursionError:
        raise Unsupported from None
    if reader.i != len(rows) or len(lines) > MAX_NODES:
        raise Unsupported
    return data


class _Reader:
    def __init__(self, rows: list[tuple[int, int, str]], lines: dict[PathT, int], numbers: dict[PathT, str]) -> None:
        self.rows = rows
        self.n = len(rows)
        self.i = 0
        self.lines = lines
        self.numbers = numbers

    def block(self, indent: int, path: PathT) -> object:
        """The block node whose first row is the current one, at `indent`."""
        ln, _, content = self.rows[self.i]
        self.lines.setdefault(path, ln)  # `key:` on the row before keeps the key's line
        if _is_entry(content):
            return self.sequence(indent, path)
        if _KEY.match(content):
            return self.mapping(indent, path, content)
        raise Unsupported  # a scalar on its own row(s)

    def mapping(self, indent: int, path: PathT, content: str) -> dict[str, object]:
        """A block mapping at column `indent`; `content` is the current row from its first key."""
        out: dict[str, object] = {}
        rows, lines = self.rows, self.lines
        while True:
            m = _KEY.match(content)
            if m is None:
                raise Unsupported
            key = m.group(1)
            if key in out or len(key) > _MAX_KEY:
                raise Unsupported  # libyaml's path reports the duplicate
            ln = rows[self.i][0]
            kpath = (*path, key)
            lines[kpath] = ln
            self.i += 1
            rest = content[m.end():]
            if not rest or rest[0] == "#":
                out[key] = self.nested(indent, kpath)
            else:
                out[key] = self.inline(rest, kpath, ln)
            following = self.sibling(indent)
            if following is None or _is_entry(following):
                return out  # a sequence at the parent mapping's column ends here too; the parent checks
            content = following

    def sibling(self, indent: int) -> str | None:
        """The next row's content if it stands at `indent` (the node's next key or item); None
        when the node ends there (the text ends, or the row is less indented)."""
        if self.i == self.n:
            return None
        _, ind, content = self.rows[self.i]
        if ind > indent:
            raise Unsupported  # a continued scalar, or bad indentation
        return content if ind == indent else None

    def nested(self, indent: int, path: PathT) -> object:
        """The value of `key:` at column `indent` written on the next rows, or null."""
        if self.i < self.n:
            _, ind, content = self.rows[self.i]
            if ind > indent:
                return self.block(ind, path)
            if ind == indent and _is_entry(content):
                return self.sequence(ind, path)
        return None

    def sequence(self, indent: int, path: PathT) -> list[object]:
        out: list[object] = []
        rows, lines = self.rows, self.lines
        while True:
            ln, _, content = rows[self.i]
            ipath = (*path, len(out))
            rest = content[1:].lstrip(" ")
            if not rest or rest[0] == "#":
                self.i += 1
                if self.i < self.n and rows[self.i][1] > indent:
                    out.append(self.block(rows[self.i][1], ipath))
                else:
                    raise Unsupported  # a null item: its line is libyaml's to tell
            elif _is_entry(rest):
                raise Unsupported  # `- - x`
            elif _KEY.match(rest):
                lines[ipath] = ln
                out.append(self.mapping(indent + len(content) - len(rest), ipath, rest))
            else:
                self.i += 1
                out.append(self.inline(rest, ipath, ln))
            following = self.sibling(indent)
            if following is None or not _is_entry(following):
                return out  # the parent mapping's next key (or an error the parent finds)

    def inline(self, text: str, path: PathT, ln: int) -> object:
        """A value written on the rest of one row (its comment, if any, included)."""
        c = text[0]
        if c == "[" or c == "{":
            return _flow(text, path, ln, self.lines, self.numbers)
        self.lines[path] = ln
        if c == '"' or c == "'":
            quoted, end = _quoted(text)
            after = text[end:]
            if after and not (after[0] == " " and after.lstrip(" ")[0] == "#"):
                raise Unsupported
            return quoted
        if c in _PLAIN_START or _is_entry(text):
            raise Unsupported
        cut = text.find(" #")
        if cut >= 0:
            text = text[:cut].rstrip(" ")
        if ": " in text or text[-1] == ":":
            raise Unsupported
        value, number = _plain(text)
        if number:
            self.numbers[path] = text
        return value


def _is_entry(content: str) -> bool:
    """Whether a row's content is a block sequence entry (`-` then a space or nothing)."""
    return content[0] == "-" and (len(content) == 1 or content[1] == " ")


def _quoted(text: str) -> tuple[str, int]:
    """A quoted scalar at the start of `text`, and the index just past its closing quote."""
    if text[0] == '"':
        end = text.find('"', 1)
        if end < 0:
            raise Unsupported  # continues on the next line
        value = text[1:end]
        if "\\" in value:
            raise Unsupported
        return value, end + 1
    end = 1
    while True:
        end = text.find("'", end)
        if end < 0:
            raise Unsupported
        if text.startswith("''", end):
            end += 2
            continue
        return text[1:end].replace("''", "'"), end + 1


def _flow(text: str, path: PathT, ln: int, lines: dict[PathT, int], numbers: dict[PathT, str]) -> object:
    """A flow collection that opens and closes on one row (and nothing but a comment after it)."""
    tokens: list[_Token] = _FLOW_TOKENS.findall(text)
    if tokens[-1][0]:
        tokens.pop()  # the comment: always the last token, as it runs to the end of the row
    try:
        value, end = _flow_value(tokens, 0, path, ln, lines, numbers)
    except IndexError:  # the collection does not close on this row
        raise Unsupported from None
    if end != len(tokens):
        raise Unsupported
    return value


def _flow_value(tokens: list[_Token], i: int, path: PathT, ln: int,
                lines: dict[PathT, int], numbers: dict[PathT, str]) -> tuple[object, int]:
    """The node starting at token `i`, and the index of the token after it."""
    lines[path] = ln
    _, indicator, _, dq, sq, plain, _ = tokens[i]
    if plain:
        text = plain.rstrip(" ")
        value, number = _plain(text)
        if number:
            numbers[path] = text
        return value, i + 1
    if dq:
        return dq[1:-1], i + 1
    if sq:
        return sq[1:-1].replace("''", "'"), i + 1
    if indicator == "[":
        seq: list[object] = []
        i += 1
        if tokens[i][1] == "]":
            return seq, i + 1
        while True:
            value, i = _flow_value(tokens, i, (*path, len(seq)), ln, lines, numbers)
            seq.append(value)
            after = tokens[i][1]
            if after == "]":
                return seq, i + 1
            if after != "," or tokens[i + 1][1] in _EMPTY_ENTRY:
                raise Unsupported  # `[a: b]`, an empty entry, a trailing comma, or anything else
            i += 1
    if indicator == "{":
        mapping: dict[str, object] = {}
        i += 1
        if tokens[i][1] == "}":
            return mapping, i + 1
        while True:
            _, _, _, dq, sq, plain, _ = tokens[i]
            if plain:
                key = plain.rstrip(" ")
            elif dq:
                key = dq[1:-1]
            elif sq:
                key = sq[1:-1].replace("''", "'")
            else:
                raise Unsupported
            if key in mapping or key == "<<" or len(key) > _MAX_KEY or not tokens[i + 1][2]:
                raise Unsupported  # a duplicate, a merge, a key libyaml refuses, or no `: value`
            kpath = (*path, key)
            value, i = _flow_value(tokens, i + 2, kpath, ln, lines, numbers)
            mapping[key] = value
            after = tokens[i][1]
            if after == "}":
                return mapping, i + 1
            if after != "," or tokens[i + 1][1] in _EMPTY_ENTRY:
                raise Unsupported
            i += 1
    raise Unsupported
