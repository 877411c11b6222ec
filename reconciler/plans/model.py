"""The plan data model: Plan -> ResourceChange -> FieldChange / HttpRequest / StateUpdate.

Built by the engine's planner, serialised by `planfile`, rendered by `render`, executed by the
engine's executor. It is the one structure behind `plan --json`, the text plan and the markdown
comment, so those never disagree. Pure data: no I/O, no engine imports.

No secret is ever part of a plan. Requests carry no headers (providers authenticate when they
send), and a plan never holds a secret type (`SecretStr`, `SecretBytes`): `secret_paths` finds
one and `planfile` refuses to write it. Data fields (request bodies, field values, state updates)
are kept exactly as they will be sent and recorded; only free text reconciler writes for people
(`Text`: diagnostics, notes, reasons) is passed through `core.redact` when serialised, because a
message quoting a platform's answer could quote a credential. Everything displayed or logged is
redacted by its writer as well.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Secret, SecretBytes, SecretStr

from reconciler.core.diagnostics import Diagnostic, Severity
from reconciler.core.redact import Shown

PLAN_FORMAT_VERSION = 1

Text = Shown   # free text for people: blanked of registered secrets when serialised (`core.redact`)


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"      # the object leaves the platform (DELETE, or OCPI EVSE status REMOVED)
    REPLACE = "replace"    # delete then create (`-/+`)
    FORGET = "forget"      # dropped from the state only; nothing is sent
    NOOP = "no-op"


SYMBOLS = {
    Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.REPLACE: "-/+",
    Action.FORGET: "x", Action.NOOP: " ",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldChange(_Model):
    """One field of one object: `before` is the live value (or last applied when not refreshed)."""

    path: str
    before: Any = None
    after: Any = None
    op: Literal["set", "update", "clear"] = "update"
    drift: bool = Field(False, description="the live value differs from what this tool last applied")
    init_only: bool = False


class PriceChange(_Model):
    """A tariff price that changes (or appears/disappears), for reviewers."""

    tariff: str
    platform: str
    element: int
    component: str          # ENERGY, TIME, FLAT, PARKING_TIME, POWER, or min_price / max_price
    field: str = "price"
    before: str | None = None   # decimal as text, exact
    after: str | None = None
    pct: float | None = None    # None when before is missing or zero
    currency: str | None = None
    connectors: int = 0          # how many connectors reference this tariff


class VatRounding(_Model):
    """How one price sent with VAT is computed and rounded to the currency's minor unit (SEC: whole
    pesos): `price` + `vat`% = `exact` -> `sent`. For min_price / max_price, `exact` is the incl_vat
    written in the configuration."""

    component: str            # ENERGY, TIME, FLAT, POWER, or min_price / max_price
    price: str                # excl. VAT, as configured (decimal text)
    vat: str | None = None    # percent
    exact: str                # incl. VAT, unrounded
    sent: str                 # what the platform is sent
    currency: str


class PriceView(_Model):
    """One price component as the schedule compares it (decimals as exact text)."""

    price: str
    vat: str | None = None
    step_size: int = 0


class WeekSpan(_Model):
    """Some days of the week, each with the same times of day (`24:00` ends a day)."""

    days: list[str]                      # MONDAY ... SUNDAY
    times: list[tuple[str, str]]         # [start, end) local wall-clock time, HH:MM


class ConditionRange(_Model):
    """A condition that does not depend on the clock: a quantity from `at_least` (inclusive) to
    `below` (exclusive)."""

    quantity: Literal["duration", "kwh", "power", "current"]   # duration in seconds, power in kW, current in A
    at_least: str | None = None
    below: str | None = None


class ScheduleShift(_Model):
    """Where, in the week, a dimension's price differs before and after a tariff change."""

    dimension: str
    before: PriceView | None = None      # None: no price for this dimension there before
    after: PriceView | None = None
    pct: float | None = None             # change of the price incl. VAT
    all_week: bool = False
    when: list[WeekSpan] = []
    condition: list[ConditionRange] = Field(default=[], description="empty: any session")
    dates: tuple[str | None, str | None] | None = Field(
        default=None, description="[from, until) local dates; None: every date")
    text: str = Field(description="the shift in English, as the policy names it")


class ElementView(_Model):
    components: list[PriceView] = []
    types: list[str] = []
    restrictions: dict[str, Any] = {}


class ElementChange(_Model):
    """An element added, removed, changed or moved, paired by what it applies to (not its index)."""

    change: Literal["added", "removed", "changed", "moved"]
    before_index: int | None = None
    after_index: int | None = None
    before: ElementView | None = None
    after: ElementView | None = None
    text: str = Field(description="the change in English")


class TypicalSession(_Model):
    """The assumptions of a typical session the review prices in a changed span."""

    power_type: Literal["AC", "DC"]
    power_kw: str
    minutes: int                          # charging
    parking_minutes: int = 0              # connected after charging (to reach an idle fee from some hours in)
    kwh: str
    start: str                            # local wall-clock time, YYYY-MM-DDTHH:MM


class TariffReview(_Model):
    """What drivers pay, when, before and after a tariff change: the weekly schedule's differences
    and the elements matched by meaning."""

    currency: str | None = None
    prices_include_vat: bool = Field(
        default=False, description="the prices are as the platform shows them, VAT included (SEC with "
                                   "prices_include_vat: true); otherwise excl. VAT, as OCPI writes them")
    shifts: list[ScheduleShift] = []
    unchanged_elsewhere: bool = True      # some time of the week keeps every price
    elements: list[ElementChange] = []
    reordered: bool = False               # elements kept their prices but changed their relative order
    order_effect: list[WeekSpan] | None = Field(
        default=None, description="with a reorder: where a different element now prices a dimension "
                                  "(empty list: the whole week); None: nowhere")
    partial: bool = Field(default=False, description="the schedule has more date stretches or condition "
                                                     "branches than are evaluated; the next ones are shown")
    note: str | None = Field(default=None, description="why a side could not be evaluated")


class HttpRequest(_Model):
    """One request exactly as it will be sent (path relative to the platform's base URL).

    Timestamps named `last_updated` are stamped again at send time.
    """

    method: Literal["GET", "PUT", "PATCH", "POST", "DELETE"]
    path: str
    body: Any = None
    account: str | None = None   # for platforms with several logins (SEC: opc / pse)
    idempotent: bool = True
    repeat: int = Field(1, ge=1, description="how many requests of this shape are sent; above 1 (ChileMedido "
                                             "measurement batches) the bodies are built from the source files "
                                             "at apply time and `body` is a summary of them")


class StateUpdate(_Model):
    """What the state records once every request of the change has succeeded.

    `op: watermark` advances a meter's measurement watermark (`watermark` holds its fields).
    `status: pending` with `pending` marks a non-idempotent write in flight or of unknown outcome
    (recorded before it is sent); `op: restore` takes that mark back after a definite failure,
    putting the entry back as it was before the mark (or removing it when there was none).
    """

    op: Literal["put", "remove", "watermark", "restore"]
    address: str
    platform_id: str | None = None
    status: Literal["applied", "pending", "removed"] = "applied"
    attributes: dict[str, Any] = {}
    prevent_destroy: bool = False
    meta: dict[str, Any] = {}
    watermark: dict[str, Any] | None = None
    pending: dict[str, Any] | None = Field(
        default=None, description="with status pending: the write in flight (operation, request) and/or why "
                                  "its outcome is unknown (reason)")


class ManualAction(_Model):
    """Something only a person can do (on a platform's web site, or by asking its administrator);
    shown in its own plan section, never sent as a request."""

    address: str
    platform: str
    summary: Text
    detail: Text | None = None
    code: str | None = Field(default=None, description="the kind of action, for views that word it in another "
                                                       "language (with params)")
    params: dict[str, str] = {}


class ResourceChange(_Model):
    address: str
    platform: str
    platform_type: str
    kind: str
    action: Action
    reason: Text | None = None         # why (e.g. "deleted outside reconciler", "dimensions changed")
    identity: dict[str, Any] = {}      # identifying fields shown to reviewers (name, city, standard...)
    changes: list[FieldChange] = []
    after: dict[str, Any] | None = Field(
        default=None, description="for a creation: every declared field, as it will be sent")
    init_only: list[str] = Field(default=[], description="fields of `after` sent at creation only")
    price_changes: list[PriceChange] = []
    used_by: list[str] = Field(default=[], description="for a tariff: the connectors that use it (addresses, "
                                                       "on this change's platform)")
    vat_roundings: list[VatRounding] = Field(default=[], description="for a tariff sent with VAT: how each price "
                                                                     "is computed and rounded")
    tariff_review: TariffReview | None = Field(
        default=None, description="for a tariff: its price schedule before and after, element by element")
    requests: list[HttpRequest] = []
    covered_by: str | None = None      # the address whose request carries this change
    depends_on: list[str] = []         # addresses whose requests must succeed first
    state_updates: list[StateUpdate] = []
    notes: list[Text] = []
    needs_refresh: bool = Field(
        default=False, description="the request sends an object whole, built from the live object, which this "
                                   "plan did not read (a plan without a refresh): `apply` refuses the plan until "
                                   "it is made with a refresh, so fields others set are never dropped")


class Drift(_Model):
    """A difference between live and what this tool last applied that is reported, not corrected."""

    address: str
    path: str
    last_applied: Any = None
    live: Any = None
    reason: Text = "drift: warn"


class PlanSource(_Model):
    """What the plan was made from: the commit, and the CI run that made it (when there is one)."""

    commit: str | None = None
    run_url: str | None = None


class PlatformRefresh(_Model):
    platform: str
    platform_type: str
    refreshed: bool
    reads: int = 0
    note: Text | None = None


class Summary(_Model):
    create: int = 0
    update: int = 0
    delete: int = 0
    replace: int = 0
    forget: int = 0
    requests: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.create or self.update or self.delete or self.replace or self.forget)


class SessionCost(_Model):
    """What one reference session costs under one version of a tariff (decimals as exact text)."""

    excl_vat: str
    incl_vat: str
    limited_by: str | None = None     # min_price / max_price when that bound set the total


class ReferenceCost(_Model):
    """A reference session (`review.reference_sessions`) priced before and after a tariff change."""

    session: str
    tariff: str
    platform: str
    address: str
    currency: str | None = None
    before: SessionCost | None = None   # None: the tariff is new, or its old form could not be priced
    after: SessionCost | None = None    # None: the tariff is removed, or could not be priced
    pct: float | None = None            # change of the price incl. VAT
    note: Text | None = None            # why a side is missing
    typical: TypicalSession | None = Field(
        default=None, description="a typical session the review added where the schedule changes (not "
                                  "declared in review.reference_sessions)")


class Policy(_Model):
    """The review policies (`review:` in the config) this plan was checked against; apply enforces them."""

    max_price_change_pct: float | None = None
    max_deletions: int | None = None


class Plan(_Model):
    format_version: int = PLAN_FORMAT_VERSION
    tool_version: str
    created_at: datetime
    config_root: str
    config_digest: str
    state_path: str
    state_lineage: str
    state_serial: int
    targets: list[str] = []
    refresh: bool = True
    platforms: list[PlatformRefresh] = []
    changes: list[ResourceChange] = []
    drift: list[Drift] = []
    diagnostics: list[Diagnostic] = []
    manual_actions: list[ManualAction] = []
    state_sync: list[StateUpdate] = Field(
        default=[], description="state bookkeeping applied with the plan; sends nothing (imports, objects "
                                "already as declared, objects gone from the platform)")
    summary: Summary = Summary()
    reference_costs: list[ReferenceCost] = Field(
        default=[], description="the configured reference sessions priced before and after each tariff change")
    policy: Policy = Policy()
    source: PlanSource = PlanSource()

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def summarise(self) -> Summary:
        s = Summary()
        for c in self.changes:
            if c.action is Action.CREATE:
                s.create += 1
            elif c.action is Action.UPDATE:
                s.update += 1
            elif c.action is Action.DELETE:
                s.delete += 1
            elif c.action is Action.REPLACE:
                s.replace += 1
            elif c.action is Action.FORGET:
                s.forget += 1
            s.requests += sum(r.repeat for r in c.requests)
        return s


def secret_paths(value: Any, path: str = "") -> list[str]:
    """Where a secret type sits in `value` (a plan's python-mode dump, or any part of it)."""
    if isinstance(value, SecretStr | SecretBytes | Secret):
        return [path or "."]
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += secret_paths(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            out += secret_paths(v, f"{path}[{i}]")
    return out
