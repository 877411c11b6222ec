"""The three-way diff: properties that hold for any desired, last-applied and live values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.engine import differ
from reconciler.plans.model import Drift
from reconciler.providers.base import Desired, Ownership
from reconciler.providers.siem import wire
from reconciler.state.model import ResourceState

OWN = Ownership(identity=frozenset({"id"}), observed=frozenset({"last_updated", "status"}))
names = st.sampled_from(["name", "address", "city", "postal_code", "max_voltage", "capabilities", "facilities"])
values = st.one_of(st.integers(0, 10**6), st.text(min_size=1, max_size=8),
                   st.lists(st.sampled_from(["RFID_READER", "CREDIT_CARD_PAYABLE", "RESERVABLE"]), unique=True))
objects = st.dictionaries(names, values, max_size=6)


def norm(kind: str, field: str, value: Any) -> Any:
    return wire.canon(value, field)


def diff(desired: dict[str, Any], prior: dict[str, Any] | None, live: dict[str, Any] | None,
         warn: bool = False) -> differ.ObjectDiff:
    d = Desired("p.location.X", "location", desired, drift_warn=warn)
    p = ResourceState(address="p.location.X", attributes=prior) if prior is not None else None
    return differ.diff_object("p.location.X", "location", d, p, live, own=OWN, normalise=norm, drift_out=[])


def apply_fields(live: dict[str, Any], result: differ.ObjectDiff) -> dict[str, Any]:
    out = dict(live)
    for f in result.fields:
        if f.op == "clear":
            out.pop(f.path, None)
        else:
            out[f.path] = f.after
    return out


@given(objects, objects, objects)
def test_applying_the_diff_converges(desired: dict[str, Any], prior: dict[str, Any], live: dict[str, Any]) -> None:
    first = diff(desired, prior, live)
    after = apply_fields(live, first)
    second = diff(desired, desired, after)
    assert second.status == "noop", second.fields


@given(objects, objects)
def test_fields_never_declared_are_left_alone(desired: dict[str, Any], others: dict[str, Any]) -> None:
    live = {**others, **desired}
    result = diff(desired, desired, live)
    assert result.status == "noop"
    touched = {f.path for f in result.fields}
    assert not touched & (set(others) - set(desired))


@given(objects, objects)
def test_fields_removed_from_the_yaml_are_cleared(desired: dict[str, Any], extra: dict[str, Any]) -> None:
    prior = {**extra, **desired}
    live = dict(prior)
    result = diff(desired, prior, live)
    cleared = {f.path for f in result.fields if f.op == "clear"}
    assert cleared == set(prior) - set(desired)


def test_observed_and_identity_fields_make_no_diff() -> None:
    result = diff({"name": "A"}, {"name": "A"}, {"name": "A", "status": "CHARGING", "last_updated": "x", "id": "Z"})
    assert result.status == "noop"


def test_drift_is_marked_and_warn_reports_without_a_change() -> None:
    result = diff({"name": "A"}, {"name": "A"}, {"name": "B"})
    assert [(f.path, f.drift) for f in result.fields] == [("name", True)]
    out: list[Drift] = []
    d = Desired("p.location.X", "location", {"name": "A"}, drift_warn=True)
    p = ResourceState(address="p.location.X", attributes={"name": "A"})
    warned = differ.diff_object("p.location.X", "location", d, p, {"name": "B"}, own=OWN, normalise=norm,
                                drift_out=out)
    assert warned.status == "noop" and out[0].path == "name" and out[0].live == "B"


def test_a_changed_yaml_value_is_not_drift() -> None:
    result = diff({"name": "New"}, {"name": "Old"}, {"name": "Old"})
    assert [(f.path, f.op, f.drift) for f in result.fields] == [("name", "update", False)]


def test_missing_live_object_is_a_create_and_says_why_when_it_was_ours() -> None:
    result = diff({"name": "A"}, {"name": "A"}, None)
    assert result.status == "create" and result.reason == "it was deleted outside reconciler"


def test_ignore_changes() -> None:
    d = Desired("p.location.X", "location", {"name": "A", "city": "B"}, ignore_changes=("name",))
    result = differ.diff_object("p.location.X", "location", d, None, {"name": "Z", "city": "C"}, own=OWN,
                                normalise=norm, drift_out=[])
    assert [f.path for f in result.fields] == ["city"]


def by_type(kind: str, field: str, value: Any) -> Any:
    """A normaliser that tells 1, 1.0 and True apart, as a platform's rules may."""
    return (type(value).__name__, value)


def test_equal_values_of_different_types_still_go_through_the_normaliser() -> None:
    # 1 == 1.0 == True in Python: the whole-object shortcut must not take them for unchanged.
    d = Desired("p.location.X", "location", {"a": 1, "b": "x"})
    for live in ({"a": 1.0, "b": "x"}, {"a": True, "b": "x"}):
        prior = ResourceState(address="p.location.X", attributes=dict(live))
        result = differ.diff_object("p.location.X", "location", d, prior, live, own=OWN, normalise=by_type,
                                    drift_out=[])
        assert result.status == "update" and [(f.path, f.before, f.after) for f in result.fields] == \
            [("a", live["a"], 1)]
        stale = differ.ObjectDiff("p.location.X", "location", "noop", d, prior, dict(d.attrs))
        assert differ.needs_state_sync(stale, by_type)  # the state holds 1.0 where 1 is declared
    same = ResourceState(address="p.location.X", attributes={"b": "x", "a": 1})  # key order does not matter
    result = differ.diff_object("p.location.X", "location", d, same, {"b": "x", "a": 1}, own=OWN,
                                normalise=by_type, drift_out=[])
    assert result.status == "noop" and result.fields == []
    assert not differ.needs_state_sync(result, by_type)


@given(objects, objects, objects)
def test_the_whole_object_shortcut_agrees_with_the_field_by_field_diff(desired: dict[str, Any], prior: dict[str, Any],
                                                                        live: dict[str, Any]) -> None:
    for last in (prior, dict(live), dict(desired)):
        quick = diff(desired, last, live)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(differ, "_unchanged", lambda *a: False)
            slow = diff(desired, last, live)
        assert (quick.status, quick.fields) == (slow.status, slow.fields)
        quick_same = diff(desired, last, dict(desired))
        assert quick_same.status == "noop"
