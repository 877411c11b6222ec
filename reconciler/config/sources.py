"""Where config text comes from: file discovery, the digest, and YAML parsed with line numbers.

`loader` calls `discover` and `parse`; everything that reports an error on config (the loader,
`validation`, `checks`, and models via `.source()`) maps a field path back to a line through the
`SourceMap` built here.

Scalars are read the YAML 1.2 way, not PyYAML's 1.1 way, because 1.1 silently corrupts the values
this config is full of: `NO` (Norway) and `yes`/`off` stay strings (only true/false are booleans),
`10:00` stays a string (1.1 reads base-60: 600), `050021` stays a string (1.1 reads octal; any
number with a leading zero is text here), and unquoted timestamps stay strings for pydantic to
parse. Mapping keys are always their text.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from yaml.reader import ReaderError

from reconciler.config import fastyaml
from reconciler.config.fastyaml import BOOLS, FLOAT, INT, MAX_DIGITS, MAX_NODES, NULLS, TAG, PathT
from reconciler.core.diagnostics import Diagnostic, DiagnosticError, shorten

if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:  # libyaml's C parser when PyYAML was built with it
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_IDENT = re.compile(r"[A-Za-z0-9_-]+")


def format_path(path: PathT) -> str:
    """`("stations", 0, "evses", 1, "uid")` -> `stations[0].evses[1].uid`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


@dataclass
class SourceMap:
    """Field path (within one file) -> 1-based line, for one config file."""

    file: str  # relative to the config root, with forward slashes
    lines: dict[PathT, int] = field(default_factory=dict)
    numbers: dict[PathT, str] = field(default_factory=dict)  # the text of numeric scalars, for hints
    # Values already reported as unreadable (and read as null): validation does not report them again.
    broken: set[PathT] = field(default_factory=set)

    def line(self, path: PathT) -> int | None:
        """The line of `path`, or of its nearest written ancestor (a missing field's mapping)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # relative to the config root, posix
    data: bytes


def discover(path: Path) -> tuple[Path, list[SourceFile]]:
    """The config root and its files: a single file, or every *.yaml/*.yml under a directory.

    Hidden files and directories (`.reconciler/`, `.github/`) are skipped. Raises DiagnosticError
    when the path does not exist or holds no config file.
    """
    if not path.exists():
        raise DiagnosticError.single(f"{path}: no such file or directory")
    if path.is_file():
        root = path.resolve().parent
        found = [path.resolve()]
    else:
        root = path.resolve()
        found = sorted(_yaml_files(root), key=lambda p: p.relative_to(root).as_posix())
        if not found:
            raise DiagnosticError.single(f"{path}: no *.yaml or *.yml files in this directory")
    out = []
    for p in found:
        try:
            out.append(SourceFile(p, p.relative_to(root).as_posix(), p.read_bytes()))
        except OSError as e:
            raise DiagnosticError.single(f"cannot read {p}: {e.strerror}") from None
    return root, out


_PLATFORMS_KEY = re.compile(rb"^platforms[ \t]*:", re.MULTILINE)


def find_roots(path: Path) -> list[Path]:
    """The configuration directories under `path`: each directory holding a YAML file that
    declares `platforms:` at the top level (its subdirectories belong to it). Hidden directories
    are skipped, as are other YAML files (CI workflows, docker-compose.yml, ...)."""
    roots: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.endswith((".yaml", ".yml")):
                continue
            try:
                with open(os.path.join(dirpath, name), "rb") as fh:
                    head = fh.read(1 << 20)
            except OSError:
                continue
            if _PLATFORMS_KEY.search(head):
                roots.append(Path(dirpath))
                dirnames[:] = []  # what is below belongs to this configuration
                break
    return roots


def _yaml_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and name.endswith((".yaml", ".yml")):
                yield Path(dirpath) / name


def digest(files: list[SourceFile]) -> str:
    """sha256 over (relative path, bytes) of every file, in path order."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.rel):
        rel = f.rel.encode()
        h.update(b"%d:%s%d:" % (len(rel), rel, len(f.data)))
        h.update(f.data)
    return h.hexdigest()


def parse(source: SourceFile) -> tuple[object, SourceMap, list[Diagnostic]]:
    """Plain Python data (dict/list/str/int/float/bool/None) and its SourceMap; errors as values.

    Most configurations are read by `fastyaml`; anything outside its subset, and every file with an
    error, by libyaml with the walker below. Both give the same data and lines for the same text.
    """
    smap = SourceMap(source.rel)
    try:
        text = source.data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = source.data.count(b"\n", 0, e.start) + 1
        return None, smap, [Diagnostic.error(f"not UTF-8 text (byte {e.start + 1:,} of the file)", file=source.rel,
                                             line=line, detail="Save the file as UTF-8.")]
    try:
        return fastyaml.parse(text, smap.lines, smap.numbers), smap, []
    except fastyaml.Unsupported:  # outside the fast reader's subset: libyaml reads it all again
        return parse_with_libyaml(text, source.rel)


def parse_with_libyaml(text: str, rel: str) -> tuple[object, SourceMap, list[Diagnostic]]:
    """`parse` by libyaml alone: any YAML, with its errors."""
    smap = SourceMap(rel)
    deep = _too_deep(text)
    if deep is not None:
        return None, smap, [Diagnostic.error(f"the YAML nests more than {MAX_DEPTH} levels deep",
                                             detail="A configuration needs a handful of levels; this text "
                                                    "cannot be one.", file=rel, line=deep)]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        walker = _Walker(loader, smap)
        data = walker.walk(node, ()) if node is not None else None
        return data, smap, walker.diags
    except yaml.MarkedYAMLError as e:
        return None, smap, [_syntax_error(e, text, rel)]
    except ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        char = f"U+{e.character:04X}" if isinstance(e.character, int) else repr(e.character)
        return None, smap, [Diagnostic.error(f"invalid YAML: the character {char} is not allowed (control "
                                             "characters cannot appear in YAML, even quoted)",
                                             detail='Remove it, or write it as an escape in double quotes ("\\x01").',
                                             file=rel, line=line)]
    except yaml.YAMLError as e:
        return None, smap, [Diagnostic.error(f"invalid YAML: {shorten(str(e))}", file=rel)]
    except _TooLarge as e:
        return None, smap, [Diagnostic.error(f"aliases expand to more than {MAX_NODES:,} YAML nodes",
                                             detail="An alias (*name) repeats its anchor's whole value; "
                                                    "nested aliases multiply.", file=rel, line=e.line)]
    except RecursionError:  # a depth the pre-scan did not see (it errs on the deep side only rarely)
        return None, smap, [Diagnostic.error(f"the YAML nests more than {MAX_DEPTH} levels deep", file=rel)]
    finally:
        loader.dispose()


MAX_DEPTH = 100  # levels of nested collections; a configuration needs about ten
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_MAX_SHOWN = 160  # characters of a source line quoted in an error


def _too_deep(text: str) -> int | None:
    """The line where the text nests deeper than MAX_DEPTH (block indentation levels, sequence
    entries opened on one row, flow brackets), or None. Checked before libyaml composes it: its composer and the walker recurse
    once per level. Quoted brackets are counted too, which only matters for absurd text."""
    stack: list[int] = []
    flow = 0
    for n, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" -")
        if not content or content[0] == "#":
            continue
        indent = len(line) - len(content)
        dashes = line.count("-", 0, indent)  # `- - - x`: a sequence in a sequence in a sequence
        if not flow:
            while stack and stack[-1] >= indent:
                stack.pop()
            stack.append(indent)
            if len(stack) + dashes > MAX_DEPTH:
                return n
            if "[" not in content and "{" not in content:
                continue  # most rows: no flow collection to count
        for ch in _NOT_BRACKET.sub("", content):
            if ch in "[{":
                flow += 1
            elif ch in "]}" and flow:
                flow -= 1
            if len(stack) + dashes + flow > MAX_DEPTH:
                return n
    return None


def _syntax_error(e: yaml.MarkedYAMLError, text: str, rel: str) -> Diagnostic:
    mark = e.problem_mark or e.context_mark
    problem = e.problem or e.context or "syntax error"
    if mark is None:
        return Diagnostic.error(f"invalid YAML: {problem}", file=rel)
    lines = text.splitlines()
    src = lines[mark.line] if mark.line < len(lines) else ""
    column = mark.column
    if len(src) > _MAX_SHOWN:  # show the part of a long line around the column
        start = max(0, min(column - _MAX_SHOWN // 2, len(src) - _MAX_SHOWN))
        src = ("..." if start else "") + src[start:start + _MAX_SHOWN] + \
            ("..." if start + _MAX_SHOWN < len(src) else "")
        column = column - start + (3 if start else 0)
    detail = [src, " " * column + "^"] if src else []
    if e.context and e.problem:
        detail.append(f"({e.context}, line {e.context_mark.line + 1 if e.context_mark else '?'})")
    if "${" in src:
        detail.append("hint: `${...}` cannot appear unquoted inside a {flow} mapping; "
                      "quote it or use block style")
    return Diagnostic.error(f"invalid YAML at column {mark.column + 1}: {problem}", detail="\n".join(detail),
                            file=rel, line=mark.line + 1)


class _Loader(_BaseLoader):
    """PyYAML's (C) safe loader with YAML 1.2 core-schema resolution of plain scalars."""

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return fastyaml.resolve_plain_tag(value)
        return str(yaml.resolver.Resolver.resolve(self, kind, value, implicit))


class _TooLarge(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, smap: SourceMap) -> None:
        self.loader = loader
        self.smap = smap
        self.diags: list[Diagnostic] = []
        self._stack: set[int] = set()
        self._count = 0
        self._path: PathT = ()

    def walk(self, node: yaml.Node, path: PathT) -> object:
        self._count += 1
        if self._count > MAX_NODES:
            # The node reached is inside an anchor's value; the line where it is used says more.
            raise _TooLarge(self.smap.lines.get(path[:1]) or node.start_mark.line + 1)
        if len(path) > MAX_DEPTH:
            self._error(f"the YAML nests more than {MAX_DEPTH} levels deep", node, path)
            self.smap.broken.add(path)
            return None
        self.smap.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            self._path = path
            value = self._scalar(node)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.smap.numbers[path] = node.value
            return value
        if id(node) in self._stack:
            self._error("an alias refers to itself", node, path)
            return None
        self._stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self._stack.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: PathT) -> dict[str, object]:
        out: dict[str, object] = {}
        merges: list[yaml.Node] = []
        for knode, vnode in node.value:
            if knode.tag == TAG + "merge":
                merges.append(vnode)
                continue
            if not isinstance(knode, yaml.ScalarNode):
                self._error("a mapping key must be a plain value", knode, path)
                continue
            key = knode.value
            if key in out:
                first = self.smap.lines.get((*path, key))
                self._error(f"duplicate key '{key}' (first written at line {first})", knode, (*path, key))
                continue
            self.smap.lines.setdefault((*path, key), knode.start_mark.line + 1)
            out[key] = self.walk(vnode, (*path, key))
        for merge in merges:  # `<<: *anchor`: keys written explicitly win
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for src in sources:
                merged = self.walk(src, path) if isinstance(src, yaml.MappingNode) else None
                if not isinstance(merged, dict):
                    self._error("`<<` must merge a mapping", src, path)
                    continue
                for key, value in merged.items():
                    out.setdefault(key, value)
        return out

    def _scalar(self, node: yaml.ScalarNode) -> object:
        tag, text = node.tag, node.value
        if tag == TAG + "str":
            return text
        if tag == TAG + "null" and text in NULLS:
            return None
        if tag == TAG + "bool" and text in BOOLS:
            return text.lower() == "true"
        if tag in (TAG + "int", TAG + "float") and len(text) > MAX_DIGITS and FLOAT.fullmatch(text):
            self._error(f"a number of {len(text):,} characters is too large to be a value here", node, self._path,
                        detail='If it is an identifier, quote it: "...".')
            self.smap.broken.add(self._path)
            return None
        if tag == TAG + "int" and INT.fullmatch(text):
            return int(text)
        if tag == TAG + "float" and FLOAT.fullmatch(text):
            number = float(text)
            if math.isinf(number):
                self._error(f"{shorten(text, 40)} is too large a number", node, self._path)
                self.smap.broken.add(self._path)
                return None
            return number
        if tag in (TAG + "timestamp", TAG + "merge"):  # `!!timestamp` text is pydantic's to parse
            return text
        short = tag.replace(TAG, "!!")
        if tag in (TAG + "int", TAG + "float", TAG + "bool", TAG + "null"):
            kind = {"int": "an integer", "float": "a number", "bool": "true or false", "null": "null"}[tag[len(TAG):]]
            self._error(f"'{shorten(text, 40)}' is not {kind}, as its tag {short} says", node, self._path,
                        detail="Drop the tag: values are read as numbers, booleans or text from how they "
                               "are written.")
        else:
            self._error(f"the YAML tag {shorten(short, 40)} is not supported", node, self._path,
                        detail="Configuration values are text, numbers, true/false or null; drop the tag.")
        self.smap.broken.add(self._path)
        return None

    def _error(self, summary: str, node: yaml.Node, path: PathT, detail: str = "") -> None:
        self.diags.append(Diagnostic.error(summary, detail=detail, file=self.smap.file,
                                           line=node.start_mark.line + 1, field=format_path(path) or None))
