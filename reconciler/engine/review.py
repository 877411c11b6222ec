"""What a plan carries for its reviewers, and the review policies apply enforces.

The planner calls `price_sessions` for each platform's planned changes (reference-session costs
before and after each tariff change) and `check` once the plan is complete (records the policies
from `review:` in the plan and warns about what apply will refuse). `apply` calls `refusals`
before anything is sent: a price change above `review.max_price_change_pct` in any span of the
week's price schedule, in any reference session (declared, or typical in a changed span) or of a
min/max price (unless the operator passed `--allow-large-price-change`), and more removals than
`review.max_deletions`, stop it, each with what and why. `price_sessions` also attaches each tariff
change's review (`tariffs.review.tariff_review`) and pairs its element price changes by meaning.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from reconciler.config import models
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import Action, Plan, Policy, ReferenceCost, ResourceChange, TariffReview
from reconciler.providers.base import Desired, Provider, ReadResponse
from reconciler.state.model import ResourceState
from reconciler.tariffs import calculator
from reconciler.tariffs import review as tariff_review

ALLOW_FLAG = "--allow-large-price-change"


def price_sessions(config: models.Config, prov: Provider, planned: Sequence[ResourceChange],
                   desired: dict[str, Desired], prior: dict[str, ResourceState], live: ReadResponse,
                   now: dt.datetime) -> list[ReferenceCost]:
    def before(address: str) -> dict[str, Any] | None:
        attrs = live.objects.get(address)
        if attrs is None and address in prior:
            attrs = prior[address].attributes
        return prov.tariff_for_pricing(attrs) if attrs else None

    def after(address: str) -> dict[str, Any] | None:
        d = desired.get(address)
        return prov.tariff_for_pricing(d.attrs) if d is not None else None

    out = tariff_review.reference_costs(config.review, planned, before, after, now)
    rules = calculator.REFERENCE if config.review is not None and config.review.pricing_rules == "reference" \
        else calculator.OCPI_TEXT
    include_vat = bool(getattr(prov.platform, "prices_include_vat", False))   # prices as the platform shows them
    users: dict[str, tuple[list[str], int]] | None = None
    reviews: dict[str, tuple[TariffReview, list[Any]]] = {}
    typical_done: set[tuple[str, str]] = set()
    for ch in planned:
        if ch.kind != "tariff" or ch.action not in tariff_review.PRICED:
            continue
        old = None if ch.action is Action.CREATE else before(ch.address)
        new = None if ch.action is Action.DELETE else after(ch.address)
        if old is None and new is None:
            continue
        if users is None:
            users = tariff_review.tariff_users(config)
        tariff_id = prov.tariff_id(ch.address)
        # A tariff sent once per connector (on some platforms) is one tariff: evaluated, and its typical
        # sessions priced, once.
        key = json.dumps([old, new], sort_keys=True, default=str)
        if key not in reviews:
            reviews[key] = tariff_review.tariff_review(old, new, now.date())
        review, shifts = reviews[key]
        ch.tariff_review = review.model_copy(update={"prices_include_vat": include_vat})
        kinds, count = users.get(tariff_id.casefold(), (["AC"], 0))
        if len((old or {}).get("elements") or []) > 1 or len((new or {}).get("elements") or []) > 1:
            paired = tariff_review.paired_price_changes(
                ch, old, new, ch.price_changes[0].connectors if ch.price_changes else count)
            if paired is not None:
                ch.price_changes = paired
        if (tariff_id.casefold(), key) not in typical_done:
            typical_done.add((tariff_id.casefold(), key))
            out += tariff_review.typical_costs(ch, shifts, old, new, kinds, rules, now)
    return out


def check(plan: Plan, review: models.Review | None) -> None:
    """Record the policies in the plan, keep the session costs of changes still in it (after
    --target), and add a warning for each thing apply will refuse."""
    kept = {c.address for c in plan.changes}
    plan.reference_costs = [r for r in plan.reference_costs if r.address in kept]
    if review is not None:
        pct = review.max_price_change_pct
        plan.policy = Policy(max_price_change_pct=None if pct is None else float(pct),
                             max_deletions=review.max_deletions)
    for field, summary, detail, params in _findings(plan):
        code = "policy.deletions" if field == "review.max_deletions" else "policy.price_change"
        plan.diagnostics.append(Diagnostic.warning(f"apply will refuse this plan: {summary}", detail=detail,
                                                   field=field, code=code, params=params))


def refusals(plan: Plan, review: models.Review | None, allow_large_price_change: bool = False) -> list[Diagnostic]:
    """Errors for every policy this plan breaks, pointing at where the policy is set; empty when apply
    may go on."""
    out = []
    for field, summary, detail, _ in _findings(plan):
        if allow_large_price_change and field == "review.max_price_change_pct":
            continue
        ref = review.source(field.split(".", 1)[1]) if review is not None else None
        out.append(Diagnostic.error(f"refusing to apply: {summary}", detail=detail, field=field,
                                    file=ref.file if ref and ref.file else None, line=ref.line if ref else None))
    return out


def _findings(plan: Plan) -> list[tuple[str, str, str, dict[str, str]]]:
    """(the policy's field, summary, detail, the values the summary is worded from) of each policy
    the plan breaks."""
    out = []
    limit = plan.policy.max_price_change_pct
    if limit is not None:
        large = []
        for c in plan.changes:
            tariff = c.address.split(".", 2)[2]
            review = c.tariff_review
            by_schedule = review is not None and review.note is None
            if by_schedule:
                assert review is not None
                # What drivers pay: each span of the week whose price moves by more than the limit.
                large += [f"tariff {tariff} on {c.platform}: {s.dimension} {s.before.price} -> {s.after.price} "
                          f"({s.pct:+.2f}%) {'at ' if s.when else ''}{s.text.split(': ', 1)[0]}"
                          for s in review.shifts
                          if s.pct is not None and abs(s.pct) > limit and s.before and s.after]
            large += [f"tariff {pc.tariff} on {pc.platform}: {pc.component} {pc.before} -> {pc.after} "
                      f"({pc.pct:+.2f}%)" for pc in c.price_changes
                      if pc.pct is not None and abs(pc.pct) > limit and (pc.element < 0 or not by_schedule)]
        large += [f"tariff {r.tariff} on {r.platform}: reference session '{r.session}' "
                  f"{r.before.incl_vat if r.before else '?'} -> {r.after.incl_vat if r.after else '?'} "
                  f"({r.pct:+.2f}%)" for r in plan.reference_costs if r.pct is not None and abs(r.pct) > limit]
        if large:
            out.append(("review.max_price_change_pct", f"{len(large)} price change(s) exceed review.max_price_change_pct ({limit:g}%)",
                        "\n".join(large) + f"\nCheck the new prices, then apply with {ALLOW_FLAG}, or raise "
                                           "review.max_price_change_pct in the configuration.",
                        {"n": str(len(large)), "limit": f"{limit:g}"}))
    most = plan.policy.max_deletions
    if most is not None:
        removed = [c.address for c in plan.changes if c.action in (Action.DELETE, Action.REPLACE)]
        if len(removed) > most:
            out.append(("review.max_deletions", f"it removes {len(removed)} objects, more than review.max_deletions ({most})",
                        "\n".join(removed) + "\nApply fewer removals at a time (--target ADDRESS), or raise "
                                             "review.max_deletions in the configuration.",
                        {"n": str(len(removed)), "most": str(most)}))
    return out
