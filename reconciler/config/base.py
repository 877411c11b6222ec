"""The common base of every config and wire model: `extra="forbid"` and `.source()`.

`loader` builds models from YAML, then calls `attach_sources` so that every model instance in the
tree (a station, its EVSEs, a connector's lifecycle block, ...) can say where it came from; the
engine, checks and providers call `obj.source(field)` to point an error at file, line and field.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr

from reconciler.config.sources import PathT, SourceMap, format_path


class SourceRef(NamedTuple):
    """Where a value was written: file relative to the config root, 1-based line, field path."""

    file: str
    line: int | None
    path: str


class _Origin(NamedTuple):
    smap: SourceMap
    path: PathT


class ConfigModel(BaseModel):
    """Base of all models here: unknown keys are errors; instances know their YAML origin."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)

    _origin: _Origin | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        """Equal when the fields are equal: where each was written does not matter."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def source(self, field: str | None = None, *more: str | int) -> SourceRef:
        """Where this object (or one of its fields, or an item below it) was written.

        `obj.source()`, `obj.source("tariffs")`, `obj.source("tariffs", 0)`. For a field that was
        not written (a default), the line of the nearest written ancestor is given; line is None
        only for an object not built from YAML.
        """
        sub: PathT = (field, *more) if field else ()
        if self._origin is None:
            return SourceRef("", None, format_path(sub))
        smap, path = self._origin
        path = (*path, *sub)
        return SourceRef(smap.file, smap.line(path), format_path(path))


    def literal(self, field: str) -> str | None:
        """How a numeric field was written in the YAML (`1.750`), when it was written as a number."""
        if self._origin is None:
            return None
        smap, path = self._origin
        return smap.numbers.get((*path, field))


def attach_sources(model: BaseModel, smap: SourceMap, path: PathT) -> None:
    """Record `path` in `smap` as the origin of `model` and of every model nested in it."""
    if isinstance(model, ConfigModel):
        model._origin = _Origin(smap, path)
    for name in _nesting_fields(type(model)):
        _attach_value(getattr(model, name), smap, (*path, name))


_SCALARS = (str, int, float, bool, type(None), Decimal)


@functools.cache
def _nesting_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `cls` whose values may hold a model (a station's `evses`, not its `name`)."""
    return tuple(name for name, info in cls.model_fields.items() if _may_hold_model(info.annotation))


def _may_hold_model(annotation: object) -> bool:
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return True
        if issubclass(annotation, (*_SCALARS, enum.Enum, dt.date, dt.time, dt.timedelta, SecretStr)):
            return False
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin is typing.Annotated:  # Annotated[X, constraints...]: what X may hold
        return _may_hold_model(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    if args:  # list[X], dict[K, V], X | None: what the arguments may hold
        return any(_may_hold_model(a) for a in args if a is not Ellipsis)
    return annotation not in _SCALARS  # Any, object, or a type this cannot see into: look


def _attach_value(value: object, smap: SourceMap, path: PathT) -> None:
    if isinstance(value, _SCALARS):
        return  # most values: nothing below them to attach
    if isinstance(value, BaseModel):
        attach_sources(value, smap, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _attach_value(item, smap, (*path, i))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                _attach_value(item, smap, (*path, key))
