"""The versioned on-disk format of the state file: `dumps` and `loads`, with an upgrade path.

`dumps` is deterministic (sorted keys, indent 2, trailing newline, UTC datetimes with `Z`) so a
state kept in git diffs cleanly. `loads` reads any format from 0 up to `FORMAT_VERSION`, applying
`UPGRADERS[n]` (format n -> n+1) in order, and refuses files written by a newer reconciler. Every
problem becomes a `DiagnosticError` naming the file (and the backup, when there is one).

Called by `store`; pure, no file access.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from reconciler.core.diagnostics import Diagnostic, DiagnosticError
from reconciler.state.model import FORMAT_VERSION, State

Doc = dict[str, Any]


def _upgrade_0_to_1(doc: Doc) -> Doc:
    """Format 0 (legacy) kept resources as a list; format 1 keys them by address and adds watermarks."""
    resources = doc.get("resources", [])
    if not isinstance(resources, list):
        raise ValueError("format 0 keeps 'resources' as a list")
    by_address: dict[str, Any] = {}
    for i, rs in enumerate(resources):
        if not isinstance(rs, dict) or not isinstance(rs.get("address"), str):
            raise ValueError(f"resources[{i}] has no address")
        if rs["address"] in by_address:
            raise ValueError(f"resources[{i}]: address {rs['address']!r} appears twice")
        by_address[rs["address"]] = rs
    return {**doc, "version": 1, "resources": by_address, "watermarks": doc.get("watermarks", {})}


UPGRADERS: dict[int, Callable[[Doc], Doc]] = {0: _upgrade_0_to_1}
"""UPGRADERS[n] turns a format-n document into a format-(n+1) one; applied in order on load."""


def _json(value: Any, depth: int) -> str:
    """`value` as it stands at `depth` inside the whole document dumped with indent 2."""
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return text.replace("\n", "\n" + "  " * depth) if depth else text  # no raw newline inside JSON strings


def dumps(state: State) -> bytes:
    """Serialise deterministically; raises DiagnosticError when a value is not JSON-representable.

    The bytes are exactly `json.dumps(state.model_dump(mode="json"), sort_keys=True, indent=2)`,
    but written a resource at a time: a national estate's whole document as Python objects, and
    the pieces the indenting encoder joins, cost more memory than the rest of an apply.
    """
    try:
        head = state.model_dump(mode="json", exclude={"resources"})
        chunks: list[bytes] = []
        for n, key in enumerate(sorted([*head, "resources"])):
            chunks.append(("{\n  " if n == 0 else ",\n  ").encode() + f"{_json(key, 0)}: ".encode())
            if key != "resources":
                chunks.append(_json(head[key], 1).encode())
            elif not state.resources:
                chunks.append(b"{}")
            else:
                for i, addr in enumerate(sorted(state.resources)):
                    entry = f"{_json(addr, 0)}: {_json(state.resources[addr].model_dump(mode='json'), 2)}"
                    chunks.append(("{\n    " if i == 0 else ",\n    ").encode() + entry.encode())
                chunks.append(b"\n  }")
        chunks.append(b"\n}\n")
    except (PydanticSerializationError, ValueError, TypeError) as exc:
        # A provider put something into attributes/meta that JSON cannot hold: a bug, but one that
        # must not reach the disk half-written; the caller's old file stays untouched.
        raise DiagnosticError.single("cannot serialise the state", detail=str(exc)) from exc
    return b"".join(chunks)


def upgrade(doc: Doc, source: str) -> Doc:
    """Bring a parsed document to FORMAT_VERSION, or explain why it cannot be."""
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise DiagnosticError.single(
            f"state file {source} has no valid format version (found {version!r})",
            field="version",
        )
    if version > FORMAT_VERSION:
        raise DiagnosticError.single(
            f"state file {source} was written by a newer reconciler (format {version}); "
            f"this one reads up to {FORMAT_VERSION}",
            detail="Upgrade reconciler to work with this state. It was not modified.",
        )
    while version < FORMAT_VERSION:
        step = UPGRADERS.get(version)
        if step is None:
            raise DiagnosticError.single(
                f"state file {source} uses format {version}, which this reconciler cannot upgrade",
            )
        try:
            doc = step(doc)
        except (ValueError, KeyError, TypeError) as exc:
            raise DiagnosticError.single(
                f"state file {source} cannot be upgraded from format {version}: {exc}",
            ) from exc
        version = doc["version"]
    return doc


def loads(data: bytes, source: str, *, backup: str | None = None) -> State:
    """Parse, upgrade and validate a state file's bytes; `source` names the file in messages.

    `backup`, when given, is the path of an existing backup file, mentioned if `data` is corrupt.
    """
    try:
        # The common case, parsed and validated in one pass by pydantic's own JSON reader; any
        # other file (older format, damage) takes the path below, which upgrades or explains.
        fast = State.model_validate_json(data)
        if fast.version == FORMAT_VERSION and "version" in fast.model_fields_set:
            return fast
    except ValueError:  # pydantic's ValidationError is a ValueError
        pass
    hint = (
        f"The previous version is kept in {backup}; if this file cannot be repaired, "
        f"inspect the backup and copy it over {source}."
    ) if backup else ""
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DiagnosticError.single(
            f"state file {source} is not valid UTF-8 (byte {exc.start})", detail=hint,
        ) from exc
    except json.JSONDecodeError as exc:
        raise DiagnosticError.single(
            f"state file {source} is corrupt: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            detail=hint,
        ) from exc
    if not isinstance(doc, dict):
        raise DiagnosticError.single(
            f"state file {source} is corrupt: expected a JSON object at the top level", detail=hint,
        )
    doc = upgrade(doc, source)
    try:
        return State.model_validate(doc)
    except ValidationError as exc:
        raise DiagnosticError(validation_diagnostics(exc, source)) from exc


def validation_diagnostics(exc: ValidationError, source: str) -> list[Diagnostic]:
    """One diagnostic per pydantic error, with the dotted field path inside the file."""
    return [
        Diagnostic.error(
            f"invalid state file {source}: {err['msg']}",
            field=".".join(str(p) for p in err["loc"]) or None,
        )
        for err in exc.errors()
    ]
