"""The provider interface every platform implements, and the data it exchanges with the engine.

A provider turns the platform-neutral config into addressed resources (`desired`), and then takes a
request and returns a response at each step, as Terraform's provider protocol does: `read(ReadRequest)
-> ReadResponse` (what the platform holds), `plan(PlanRequest) -> PlanResponse` (the engine's field
diffs turned into the fewest requests the platform allows) and `apply(ApplyRequest) -> ApplyResponse`
(those requests sent). Each method's docstring states its failure contract. In short:

- `read` never writes; `plan` does no I/O and leaves the `ReadResponse` it is given as it was.
- `apply` raising `errors.PlatformError` means the change did not (fully) happen, except
  `errors.OutcomeUnknown`, which means the platform may hold the result.
- No method prints; diagnostics are returned as values, in the responses.
- A provider reaches its platform only through the `connection.Connector` the registry gave its
  constructor (`connector=`; the network when none is given).
"""

from __future__ import annotations

import abc
import contextvars
import functools
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.config import models
from reconciler.core.diagnostics import Diagnostic
from reconciler.plans.model import HttpRequest, ManualAction, ResourceChange, StateUpdate
from reconciler.state.model import ResourceState, Watermark


@dataclass(frozen=True)
class Ownership:
    """Which fields of a kind the tool owns. Anything not listed but declared in YAML is owned."""

    identity: frozenset[str] = frozenset()     # part of the address/URL; never diffed
    observed: frozenset[str] = frozenset()     # read and shown, never sent, never diffed
    init_only: frozenset[str] = frozenset()    # sent at creation, then left to the platform
    children: frozenset[str] = frozenset()     # nested objects managed as resources of their own

    @functools.cached_property
    def unowned(self) -> frozenset[str]:
        """Fields never diffed: identity, observed, init-only and children."""
        return self.identity | self.observed | self.init_only | self.children


@dataclass
class Desired:
    """One resource as the config declares it, in the platform's wire shape."""

    address: str
    kind: str
    attrs: dict[str, Any]                      # owned fields
    init: dict[str, Any] = field(default_factory=dict)   # init-only fields
    parent: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    prevent_destroy: bool = False
    drift_warn: bool = False
    origin: Any = None                         # the config object it comes from (for `source`)
    meta: dict[str, Any] = field(default_factory=dict)
    # Computes `identity` when a change shows it (most resources of a large estate never change).
    identity_of: Callable[[], dict[str, Any]] | None = None

    def ident(self) -> dict[str, Any]:
        """The fields a reviewer recognises this resource by."""
        if self.identity_of is not None:
            self.identity, self.identity_of = self.identity_of(), None
        return self.identity

    @property
    def source(self) -> str | None:
        """`file:line` of the declaration; computed only when a message needs it."""
        try:
            ref = self.origin.source()
        except Exception:  # noqa: BLE001 - objects built in code have no source
            return None
        return f"{ref.file}:{ref.line}" if ref.line else ref.file


@dataclass(frozen=True)
class ReadRequest:
    """What `Provider.read` is asked: the resources the configuration declares and the state holds.

    With `refresh` off the platform is not contacted: the last applied state stands in for live
    (`--no-refresh`, or a platform whose connection settings are not trusted: `skip_reason` says why).
    """

    desired: dict[str, Desired]
    prior: dict[str, ResourceState]
    refresh: bool = True
    skip_reason: str | None = None


@dataclass
class ReadResponse:
    """What a read found: address -> live owned-shape attributes (None = absent on the platform).

    Built by the provider's `read`; nothing after it (planning, review) changes it.
    """

    objects: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)        # provider-private full objects (for PUT bodies)
    # Builds `raw` on first use instead (a plan without a refresh rebuilds it from the state; a plan
    # with nothing to change never needs it).
    raw_loader: Callable[[], dict[str, Any]] | None = None
    not_refreshed: list[str] = field(default_factory=list)
    reads: int = 0
    note: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # What only a person can do, found while reading (a meter missing on ChileMedido): plan section.
    manual_actions: list[ManualAction] = field(default_factory=list)
    # State bookkeeping learned while reading (sends nothing); applied after the engine's own.
    state_sync: list[StateUpdate] = field(default_factory=list)
    # Platform-assigned ids, by address, where they differ from the address's local id (ChileMedido
    # meter number -> internal id); the engine records them in the state.
    platform_ids: dict[str, str] = field(default_factory=dict)

    def raw_object(self, address: str) -> Any:
        """The provider-private full object at `address`, or None (`raw_loader` runs on first use)."""
        if self.raw_loader is not None:
            self.raw.update(self.raw_loader())
            self.raw_loader = None
        return self.raw.get(address)


@dataclass
class FieldDiff:
    path: str                  # top-level field name
    before: Any                # live (or last applied when not refreshed)
    after: Any                 # desired; None when cleared
    op: str                    # set | update | clear
    drift: bool = False


@dataclass
class ObjectDiff:
    """The engine's verdict on one address, handed to the provider to turn into requests."""

    address: str
    kind: str
    status: str                # create | update | delete | noop | forget
    desired: Desired | None
    prior: ResourceState | None
    live: dict[str, Any] | None
    fields: list[FieldDiff] = field(default_factory=list)
    reason: str | None = None

    @property
    def needs_clear(self) -> bool:
        return any(f.op == "clear" for f in self.fields)


@dataclass(frozen=True)
class PlanRequest:
    """What `Provider.plan` is asked: the engine's verdict on each address, the read it was made
    from (not to be changed), the planner's clock (`last_updated` of what is sent) and the inputs."""

    diffs: list[ObjectDiff]
    live: ReadResponse
    now: str
    config: models.Config
    desired: dict[str, Desired]
    prior: dict[str, ResourceState]


@dataclass(frozen=True)
class PlanResponse:
    """The changes a provider planned, in a valid order, and what it found while planning (an object
    to bind first, a field the platform cannot clear)."""

    changes: list[ResourceChange]
    diagnostics: tuple[Diagnostic, ...] = ()
    manual_actions: tuple[ManualAction, ...] = ()
    state_sync: tuple[StateUpdate, ...] = ()


@dataclass(frozen=True)
class ApplyRequest:
    """One planned change to send. `planned_at` is the plan's clock (each `last_updated` equal to it
    moves to `now()` when sent); `record` journals state updates at once, for a change that must
    record progress between its own requests (a measurement watermark after each accepted batch)."""

    change: ResourceChange
    planned_at: str
    now: Callable[[], str]
    record: Callable[[list[StateUpdate]], None]


@dataclass(frozen=True)
class ApplyResponse:
    """The state updates to record for a change whose every request succeeded, and what the user
    should read about it (a clock correction, a platform's warning)."""

    state_updates: list[StateUpdate]
    notes: list[str] = field(default_factory=list)


Normaliser = Callable[[str, str, Any], Any]

WRITE_INTENT: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "reconciler_write_intent", default=None)
"""Set by the executor around one change: called (once) by the HTTP client when a non-idempotent
request of that change is about to be written to a connection, so that the intent is journaled
as late as possible (a request still waiting for a connection leaves no trace)."""


@dataclass(frozen=True)
class ImportCheck:
    """What the platform says of an object `import` is about to bind: `found` True (it exists),
    False (the platform does not know it: import refuses) or None (the platform cannot be asked)."""

    found: bool | None
    message: str


class Provider(abc.ABC):
    type: str = ""

    def __init__(self, platform: models.Platform) -> None:
        self.platform = platform
        self.name = platform.name
        self._desired_cache: tuple[models.Config, dict[str, Desired]] | None = None

    # --- offline -------------------------------------------------------------------------------
    @abc.abstractmethod
    def validate(self, config: models.Config) -> list[Diagnostic]:
        """Platform constraints that hold without the network (lengths, expressible tariffs...)."""

    @abc.abstractmethod
    def desired(self, config: models.Config) -> dict[str, Desired]:
        """Every resource this platform should hold, by address."""

    def desired_for(self, config: models.Config) -> dict[str, Desired]:
        """`desired(config)`, computed once per configuration object (callers must not modify it)."""
        cached = self._desired_cache
        if cached is None or cached[0] is not config:
            cached = self._desired_cache = (config, self.desired(config))
        return cached[1]

    @abc.abstractmethod
    def ownership(self, kind: str) -> Ownership: ...

    def normalise(self, kind: str, field_name: str, value: Any) -> Any:
        return value

    # --- network -------------------------------------------------------------------------------
    async def read(self, req: ReadRequest) -> ReadResponse:
        """What the platform holds of `req.desired` and `req.prior`. Never writes.

        A resource the platform cannot be asked about (an unreadable object, a platform that cannot
        be read at all, `refresh` off) comes back in `not_refreshed`, its last applied state
        standing in for live. Raising `errors.PlatformError` means nothing could be read (the
        platform refused the credentials, or did not answer): the plan stops there.
        """
        if req.refresh:
            return await self._read_platform(req.desired, req.prior)
        live = self._read_state(req.desired, req.prior)
        if req.skip_reason is not None:
            live.note = (f"{req.skip_reason}, so it was not read and no credential was sent to it; "
                         "the plan compares the configuration with the state")
        return live

    @abc.abstractmethod
    async def _read_platform(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        """`read` with a refresh."""

    @abc.abstractmethod
    def _read_state(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> ReadResponse:
        """`read` without one: the last applied state stands in for live; sends nothing."""

    async def prefetch(self, prior: dict[str, ResourceState]) -> None:
        """Start reading what the state says exists, before the configuration is loaded; `read`
        then reuses what was fetched. Optional: the default does nothing. Must never write."""
        return None

    def discard_prefetch(self) -> None:
        """Forget what `prefetch` read (the state changed before the plan, so the platform may
        have too): the next `read` asks the platform again."""
        return None

    def unplannable(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> dict[str, Diagnostic]:
        """Addresses the platform refuses to plan at all, with the error that says why; the engine
        leaves them out of the diff. No I/O. The default: none."""
        return {}

    @abc.abstractmethod
    def plan(self, req: PlanRequest) -> PlanResponse:
        """Turn object diffs into resource changes carrying the exact requests, in a valid order.

        Does no I/O and never changes `req.live` (a plan made twice from one read is the same
        plan). What cannot be planned is reported as an error diagnostic, not raised.
        """

    @abc.abstractmethod
    async def send(self, request: HttpRequest) -> Any:
        """Send one planned request; returns the parsed response body."""

    async def apply(self, req: ApplyRequest) -> ApplyResponse:
        """Send every request of `req.change` in order; return the state updates to record.

        Returning means every request succeeded. Raising `errors.OutcomeUnknown` means the platform
        may hold the result (a write whose answer was lost): the executor records the change as
        pending and never repeats it blindly. Raising any other `errors.PlatformError` means the
        change did not happen, or only as far as `req.record` already journaled (nothing else of it
        is recorded; the next plan shows the rest again). What the user should read of the change
        comes back in `ApplyResponse.notes`, or, when it fails, in the error's `notes`.
        """
        for request in req.change.requests:
            await self.send(stamp(request, req.planned_at, req.now()))
        return ApplyResponse(list(req.change.state_updates))

    def tariff_id(self, address: str) -> str:
        """The configuration's id of the tariff at `address`. The default: the address's local id."""
        return address.split(".", 2)[2]

    def tariff_users(self, config: models.Config, changes: list[ResourceChange]) -> None:
        """Set `used_by` of each tariff change: the connectors of this platform whose configuration
        lists the tariff. Providers whose tariff addresses name their connector override it."""
        users: dict[str, list[str]] | None = None
        for ch in changes:
            if ch.kind != "tariff":
                continue
            if users is None:
                users = {}
                for station in config.stations.values():
                    if self.name not in station.platforms:
                        continue
                    for evse in station.evses:
                        for conn in evse.connectors:
                            for tid in dict.fromkeys(conn.tariffs):
                                users.setdefault(tid, []).append(
                                    f"{self.name}.connector.{station.id}/{evse.uid}/{conn.id}")
            ch.used_by = list(users.get(self.tariff_id(ch.address), []))

    async def check_import(self, address: str, platform_id: str) -> ImportCheck:
        """Whether `platform_id` exists where the platform can read it, before `import` binds it
        to `address`. Only reads. The default: the platform cannot be asked."""
        return ImportCheck(None, f"platform '{self.name}' cannot be asked whether '{platform_id}' exists: "
                                 "it was not checked")

    def counters(self) -> dict[str, int]:
        return {}

    def use_watermarks(self, watermarks: dict[str, Watermark]) -> None:
        """Called by the planner before `read` with this platform's measurement watermarks."""
        return None


    def tariff_for_pricing(self, attrs: dict[str, Any]) -> dict[str, Any] | None:
        """A tariff's attributes (desired, live or last applied) as an OCPI 2.2.1 Tariff, for the
        reference-session costs of the review; None when it cannot be priced. The default suits
        providers whose tariff attributes keep the OCPI names (the config's neutral model does)."""
        return attrs

    async def aclose(self) -> None:
        return None


def stamp(request: HttpRequest, planned_at: str, timestamp: str) -> HttpRequest:
    """The request with each `last_updated` the planner set (`planned_at`) moved to send time.

    Objects the plan does not change keep their own `last_updated` (set only on a real change).
    """
    if request.body is None or planned_at == timestamp:
        return request

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (timestamp if k == "last_updated" and v == planned_at else walk(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return request.model_copy(update={"body": walk(request.body)})


def command_line(config_root: Path | None, *args: str) -> str:
    """A `reconciler ...` command for the user to run, that works from the current directory: the
    configuration directory is the last argument (DIR) unless it is the current one. `state`
    commands take it as `--config DIR`. Placeholders such as `<tariff_id>` are left unquoted."""
    words = ["reconciler", *(a if a.startswith("<") and a.endswith(">") else shlex.quote(a) for a in args)]
    try:
        rel = os.path.relpath(config_root) if config_root is not None else "."
    except (OSError, ValueError):
        rel = str(config_root)
    if rel != ".":
        words += ["--config", shlex.quote(rel)] if args[:1] == ("state",) else [shlex.quote(rel)]
    return " ".join(words)
