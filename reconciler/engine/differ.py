"""The three-way diff (as `kubectl apply`): desired (YAML) vs last applied (state) vs live (GET).

Per owned field:
- declared in the YAML and different from live (after normalisation) -> update (`set` when live
  lacks it). When the state shows the tool had applied that very value, live was changed outside
  the tool: the change is marked as drift (corrected, or only reported under `drift: warn`);
- applied before and now gone from the YAML -> cleared;
- never declared -> somebody else's: left alone.
Identity, observed and init-only fields never make a diff. Called by the planner only.
"""

from __future__ import annotations

from typing import Any

from reconciler.plans.model import Drift
from reconciler.providers.base import Desired, FieldDiff, Normaliser, ObjectDiff, Ownership
from reconciler.state.model import ResourceState

_MISSING: Any = object()


def _norm(normalise: Normaliser, kind: str, name: str, value: Any) -> Any:
    return None if value is _MISSING or value is None else normalise(kind, name, value)


def _same_types(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """For two equal dicts: whether each value has the same type in both (then none needs normalising)."""
    for k, v in a.items():  # noqa: SIM110 (a plain loop: all() over a generator costs twice as much here)
        if type(v) is not type(b[k]):
            return False
    return True


def _unchanged(desired: Desired, prior: ResourceState | None, live: dict[str, Any]) -> bool:
    """The common case at scale: live holds every declared value (with the same type) and nothing
    was applied that is no longer declared, so every field of the field-by-field diff would compare
    equal. Fields live holds that nobody declared or applied (a `last_updated`, a live status) are
    not compared by that diff either."""
    attrs = desired.attrs
    if desired.ignore_changes or (prior is not None and prior.attributes.keys() != attrs.keys()):
        return False
    if len(live) == len(attrs):
        return live == attrs and _same_types(attrs, live)   # one comparison in C
    get = live.get
    for k, v in attrs.items():  # noqa: SIM110 (a plain loop: all() over a generator costs twice as much here)
        found = get(k, _MISSING)
        if found != v or type(found) is not type(v):
            return False
    return True


def owned_fields(desired: Desired | None, prior: ResourceState | None, own: Ownership) -> list[str]:
    skip = own.unowned
    names = [n for n in desired.attrs if n not in skip] if desired is not None else []
    if prior is not None and prior.attributes.keys() != (desired.attrs.keys() if desired is not None else ()):
        seen = set(names)
        names += [n for n in prior.attributes if n not in skip and n not in seen]
    if desired is not None and desired.ignore_changes:
        ignored = set(desired.ignore_changes)
        names = [n for n in names if n not in ignored]
    return names


def diff_object(address: str, kind: str, desired: Desired | None, prior: ResourceState | None,
                live: dict[str, Any] | None, *, own: Ownership, normalise: Normaliser,
                drift_out: list[Drift]) -> ObjectDiff:
    """Compare one address. `live` is None when the platform does not hold the object."""
    if prior is not None and prior.status == "removed" and desired is None:
        return ObjectDiff(address, kind, "noop", None, prior, live)
    if desired is None:
        if prior is None:
            return ObjectDiff(address, kind, "noop", None, None, live)
        if live is None:
            return ObjectDiff(address, kind, "forget", None, prior, None, reason="already gone from the platform")
        return ObjectDiff(address, kind, "delete", None, prior, live, reason="no longer in the configuration")
    if live is None:
        reason = None
        if prior is not None and prior.status == "applied":
            reason = "it was deleted outside reconciler"
        fields = [FieldDiff(n, None, v, "set") for n, v in desired.attrs.items()]
        return ObjectDiff(address, kind, "create", desired, prior, None, fields, reason=reason)

    if _unchanged(desired, prior, live):
        return ObjectDiff(address, kind, "noop", desired, prior, live, [])
    out: list[FieldDiff] = []
    last = prior.attributes if prior is not None else {}
    for name in owned_fields(desired, prior, own):
        d = desired.attrs.get(name, _MISSING)
        l_ = last.get(name, _MISSING)
        v = live.get(name, _MISSING)
        if d is not _MISSING and d == v and type(d) is type(v):
            continue  # the common case at scale: identical values need no normalising
        nd, nl, nv = (_norm(normalise, kind, name, x) for x in (d, l_, v))
        if d is not _MISSING and d is not None:
            if nd == nv:
                continue
            drift = l_ is not _MISSING and nl == nd
            if drift and desired.drift_warn:
                drift_out.append(Drift(address=address, path=name, last_applied=l_,
                                       live=None if v is _MISSING else v))
                continue
            out.append(FieldDiff(name, None if v is _MISSING else v, d,
                                 "set" if v is _MISSING or v is None else "update", drift))
        elif l_ is not _MISSING and v is not _MISSING and v is not None:
            out.append(FieldDiff(name, v, None, "clear"))
    return ObjectDiff(address, kind, "update" if out else "noop", desired, prior, live, out)


def needs_state_sync(diff: ObjectDiff, normalise: Normaliser) -> bool:
    """A no-op object whose state entry is missing or stale (e.g. a field newly declared that live
    already holds) gets its state rewritten, so a later removal from the YAML is seen as a clear."""
    if diff.status != "noop" or diff.desired is None:
        return False
    prior = diff.prior
    if prior is None or prior.status != "applied":
        return True
    d, p = diff.desired, prior.attributes
    if d.prevent_destroy != prior.prevent_destroy:
        return True
    if d.attrs == p and _same_types(d.attrs, p):
        return False
    if set(d.attrs) != set(p):
        return True
    for k, v in d.attrs.items():
        pv = p.get(k)
        if v == pv and type(v) is type(pv):
            continue
        if normalise(diff.kind, k, v) != normalise(diff.kind, k, pv):
            return True
    return False
