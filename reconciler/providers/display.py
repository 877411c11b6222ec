"""Field-level changes for reviewers: nested values are broken down to the leaf that changed.

`elements` changing shows as `elements[0].price_components[0].price: 1450 -> 1500`, not as two
whole lists. Uses deepdiff on the values the engine already found different. Called by providers
while planning.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from reconciler.plans.model import FieldChange
from reconciler.providers.base import ObjectDiff

_PART = re.compile(r"\[(?:'([^']*)'|(\d+))\]")


def _path(field: str, deep_path: str) -> str:
    out = field
    for key, index in _PART.findall(deep_path.removeprefix("root")):
        out += f".{key}" if key else f"[{index}]"
    return out


def _leaf_changes(field: str, before: Any, after: Any, drift: bool) -> list[FieldChange]:
    from deepdiff import DeepDiff  # imported when a nested value changes: a tenth of a second at start-up

    dd = DeepDiff(before, after, ignore_numeric_type_changes=True, verbose_level=2,
                  ignore_string_case=False)
    out: list[FieldChange] = []
    for path, change in dd.get("values_changed", {}).items():
        out.append(FieldChange(path=_path(field, path), before=change["old_value"], after=change["new_value"],
                               drift=drift))
    for path, change in dd.get("type_changes", {}).items():
        out.append(FieldChange(path=_path(field, path), before=change["old_value"], after=change["new_value"],
                               drift=drift))
    for key in ("dictionary_item_added", "iterable_item_added"):
        for path, value in dd.get(key, {}).items():
            out.append(FieldChange(path=_path(field, path), before=None, after=value, op="set", drift=drift))
    for key in ("dictionary_item_removed", "iterable_item_removed"):
        for path, value in dd.get(key, {}).items():
            out.append(FieldChange(path=_path(field, path), before=value, after=None, op="clear", drift=drift))
    out.sort(key=lambda c: c.path)
    return out


def _structured(value: Any) -> bool:
    """Objects and lists of objects are broken down; scalar lists (capabilities) are shown whole."""
    return isinstance(value, dict) or (isinstance(value, list) and bool(value)
                                       and all(isinstance(v, dict) for v in value))


def field_changes(d: ObjectDiff) -> list[FieldChange]:
    """The diff's fields as reviewers read them. A creation has none: its `after` says it all."""
    out: list[FieldChange] = []
    if d.status == "create":
        return out
    for f in d.fields:
        nested = f.op == "update" and _structured(f.before) and _structured(f.after)
        leaves = _leaf_changes(f.path, f.before, f.after, f.drift) if nested else []
        if leaves and len(leaves) <= 12:
            out.extend(leaves)
        else:
            out.append(FieldChange(path=f.path, before=f.before, after=f.after, op=f.op,
                                   drift=f.drift))
    return out


def price(value: Any) -> Decimal | None:
    """A price as written on either side of a change (`{"excl_vat": ...}` or a number), or None."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("excl_vat")
    try:
        return Decimal(str(value))
    except Exception:  # noqa: BLE001
        return None


def pct(before: Decimal | None, after: Decimal | None) -> float | None:
    """The change from `before` to `after` in percent (2 decimals), or None when it has no base."""
    if before is None or after is None or before == 0:
        return None
    return float(round((after - before) / before * 100, 2))
