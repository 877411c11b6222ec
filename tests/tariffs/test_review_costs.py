"""Reference sessions priced for the plan: which tariffs, which sides, which rules, which notes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from reconciler.config import models
from reconciler.plans.model import Action, ResourceChange
from reconciler.tariffs import review

NOW = dt.datetime(2026, 5, 7, 15, 0, tzinfo=dt.UTC)   # a Thursday
MIN_PRICED = {"currency": "EUR", "min_price": {"excl_vat": 0.5, "incl_vat": 0.55},
              "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 10, "step_size": 1}]}]}


def change(address: str, action: Action, kind: str = "tariff") -> ResourceChange:
    return ResourceChange(address=address, platform=address.split(".")[0], platform_type="siem", kind=kind,
                          action=action)


def config(**kw: Any) -> models.Review:
    sessions = kw.pop("sessions", [{"name": "1.2 kWh", "kwh": 1.2, "minutes": 30}])
    return models.Review.model_validate({"reference_sessions": sessions, **kw})


def test_sides_follow_the_action_and_other_kinds_are_skipped() -> None:
    tariffs = {"siem.tariff.a": MIN_PRICED, "siem.tariff.b": MIN_PRICED, "siem.tariff.c": MIN_PRICED}
    changes = [change("siem.tariff.a", Action.CREATE), change("siem.tariff.b", Action.DELETE),
               change("siem.tariff.c", Action.NOOP), change("siem.location.x", Action.UPDATE, "location")]
    out = review.reference_costs(config(), changes, tariffs.get, tariffs.get, NOW)
    assert [(r.tariff, r.before is None, r.after is None) for r in out] == [("a", True, False), ("b", False, True)]
    assert out[0].after is not None and out[0].after.incl_vat == "0.55" and out[0].after.limited_by == "min_price"


def test_reference_rules_do_not_apply_min_price() -> None:
    tariffs = {"siem.tariff.a": MIN_PRICED}
    out = review.reference_costs(config(pricing_rules="reference"), [change("siem.tariff.a", Action.UPDATE)],
                                 tariffs.get, tariffs.get, NOW)
    assert (out[0].after.excl_vat, out[0].after.incl_vat, out[0].pct) == ("0.30", "0.33", 0.0)  # type: ignore[union-attr]


def test_a_session_for_one_tariff_and_a_side_that_cannot_be_priced() -> None:
    sessions = [{"name": "only b", "tariff": "B", "kwh": 10, "minutes": 60}]
    before = {"sec.tariff.b@S/E/1": {"elements": [{"price_components": [{"type": "ENERGY", "price": "x"}]}]}}
    after = {"sec.tariff.b@S/E/1": MIN_PRICED, "sec.tariff.a@S/E/1": MIN_PRICED}
    out = review.reference_costs(config(sessions=sessions), [change("sec.tariff.a@S/E/1", Action.UPDATE),
                                                             change("sec.tariff.b@S/E/1", Action.UPDATE)],
                                 before.get, after.get, NOW)
    assert [r.tariff for r in out] == ["b"]
    assert out[0].before is None and out[0].after is not None and out[0].pct is None
    assert out[0].note == ("before: cannot be priced (elements[0].price_components[0].price: expected a number, "
                           "got 'x')")


def test_default_start_is_monday_ten_of_the_plan_week() -> None:
    assert review.default_start(NOW) == dt.datetime(2026, 5, 4, 10, 0)
    s = models.ReferenceSession.model_validate({"name": "x", "kwh": 1, "minutes": 1})
    assert review.profile(s, NOW).start == dt.datetime(2026, 5, 4, 10, 0)
    assert review.profile(s, NOW).kwh == Decimal(1)
