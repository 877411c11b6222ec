"""Pydantic validation errors turned into Diagnostics a user can act on: file, line, field, advice.

`loader` validates each station, tariff, platform, ... on its own and hands any ValidationError
here with the SourceMap of the file it came from. Messages suggest the closest valid name ("did
you mean 'address'?") and say how to fix a value ("quote it"). They never show the value of a
credential field, and pass through `core.redact` all the same.
"""

from __future__ import annotations

import re
import types
from difflib import get_close_matches
from typing import Annotated, Any, Union, cast, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import ErrorDetails

from reconciler.config.fields import PATTERN_HINTS
from reconciler.config.secrets import is_credential
from reconciler.config.sources import PathT, SourceMap, format_path
from reconciler.core import redact
from reconciler.core.diagnostics import Diagnostic

_QUOTED = re.compile(r"'([^']*)'")
_SKIP = cast(type, SkipJsonSchema)


def closest(word: str, choices: list[str]) -> str | None:
    """The choice `word` was most likely meant to be (a case-insensitive match first), if any."""
    for choice in choices:
        if choice.lower() == word.lower():
            return choice
    by_lower = {c.lower(): c for c in choices}
    close = get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def did_you_mean(word: str, choices: list[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, else ''."""
    match = closest(word, choices)
    return f"; did you mean '{match}'?" if match else ""


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a YAML mapping for `model` may hold (aliases where set; hidden fields left out)."""
    names = []
    for name, info in model.model_fields.items():
        if not any(isinstance(m, _SKIP) for m in info.metadata):
            names.append(info.alias or name)
    return names


def diagnostics(exc: ValidationError, model: type[BaseModel], smap: SourceMap,
                prefix: PathT) -> list[Diagnostic]:
    """One error Diagnostic per pydantic error; `prefix` is the object's path within its file.

    A "missing field 'address'" is left out when the same mapping has an unknown 'adress': the
    did-you-mean of that one already says it all.
    """
    errs = exc.errors(include_url=False)
    misspelt: set[PathT] = set()
    for err in errs:
        where: PathT = tuple(err["loc"])
        if err["type"] == "extra_forbidden" and where and isinstance(where[-1], str):
            parent = model_at(model, where[:-1])
            meant = closest(where[-1], field_names(parent)) if parent else None
            if meant:
                misspelt.add((*where[:-1], meant))
    out = []
    for err in errs:
        loc: PathT = tuple(err["loc"])
        if err["type"] == "missing" and loc in misspelt:
            continue
        path = (*prefix, *loc)
        if path in smap.broken:  # the YAML error at this value already said what is wrong
            continue
        summary, detail = _message(err, model, loc, path, smap)
        out.append(Diagnostic.error(redact.redact(summary), detail=redact.redact(detail), file=smap.file,
                                    line=smap.line(path), field=format_path(path) or None))
    return out


def _message(err: ErrorDetails, model: type[BaseModel], loc: PathT, path: PathT,
             smap: SourceMap) -> tuple[str, str]:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    name = str(loc[-1]) if loc else ""
    secret = is_credential(path)
    if kind == "missing":
        return f"missing required field '{name}'", ""
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        choices = field_names(parent) if parent else []
        hint = did_you_mean(name, choices)
        detail = "" if hint or not choices else "valid fields: " + ", ".join(choices)
        return f"unknown field '{name}'{hint}", detail
    if kind in ("enum", "literal_error") and not secret:
        choices = _QUOTED.findall(str(ctx.get("expected", "")))
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        shown = f"'{value}'" if isinstance(value, str) else _kind(value)
        return f"{shown} is not a valid {name}{hint}", "expected one of: " + ", ".join(choices)
    if kind == "string_type" and _is_number(value) and not secret:
        text = smap.numbers.get(path, str(value))
        return f'expected text, not a number: quote it, e.g. {name}: "{text}"', ""
    if kind == "string_pattern_mismatch":
        advice = PATTERN_HINTS.get(str(ctx.get("pattern")))
        if advice:
            shown = "" if secret or not isinstance(value, str) else f"'{value}': "
            return f"{shown}{advice}", ""
    if kind == "string_too_long":
        return f"too long: at most {ctx.get('max_length')} characters (OCPI 2.2.1)", ""
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).split(", ", 1)[-1], ""
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping (key: value), not {_kind(value)}", ""
    if kind == "list_type":
        return f"expected a list, not {_kind(value)}", ""
    if kind == "too_short" and "min_length" in ctx:
        return f"needs at least {ctx['min_length']} item(s)", ""
    return str(err["msg"]), ""


def model_at(model: type[BaseModel], loc: PathT) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` under `model`, if there is exactly one."""
    ann: Any = model
    for part in loc:
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            fields = {info.alias or n: info for n, info in ann.model_fields.items()}
            if not isinstance(part, str) or part not in fields:
                return None
            ann = fields[part].annotation
            continue
        origin, args = get_origin(ann), get_args(ann)
        if origin is list and isinstance(part, int) and args:
            ann = args[0]
        elif origin is dict and len(args) == 2:
            ann = args[1]
        else:
            return None
    ann = _unwrap(ann)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _unwrap(ann: Any) -> Any:
    while True:
        origin = get_origin(ann)
        if origin is Annotated:
            ann = get_args(ann)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(ann) if a is not type(None)]
            if len(members) != 1:
                return ann
            ann = members[0]
        else:
            return ann


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if value is None:
        return "an empty value"
    if _is_number(value):
        return "a number"
    return "text"
