"""The provider interface every platform implements, and the data it exchanges with the engine.

A provider turns the platform-neutral config into addressed resources (`desired`), reads what the
platform holds (`read`), turns the engine's field diffs into the fewest requests the platform allows
(`plan_changes`) and sends them (`apply_change`). Contracts, as callers may rely on them:

- `read` never writes. A resource it cannot read is reported in `LiveView.not_refreshed`.
- `apply_change` either completes every request of the change and returns the state updates to
  record, or raises: a raised `errors.PlatformError` means the change did not (fully) happen, except
  `errors.OutcomeUnknown`, which means the platform may hold the result; the executor then records
  the change as pending and never repeats it blindly.
- No method prints; diagnostics are returned as values.
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


@dataclass
class LiveView:
    """What a refresh found: address -> live owned-shape attributes (None = absent on the platform)."""

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
        """The provider-private full object at `address`, or None."""
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
    @abc.abstractmethod
    async def read(self, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> LiveView: ...

    async def prefetch(self, prior: dict[str, ResourceState]) -> None:
        """Start reading what the state says exists, before the configuration is loaded; `read`
        then reuses what was fetched. Optional: the default does nothing. Must never write."""
        return None

    @abc.abstractmethod
    def plan_changes(self, diffs: list[ObjectDiff], live: LiveView, now: str) -> list[ResourceChange]:
        """Turn object diffs into resource changes carrying the exact requests, in a valid order."""

    @abc.abstractmethod
    async def send(self, request: HttpRequest) -> Any:
        """Send one planned request; returns the parsed response body."""

    async def apply_change(self, change: ResourceChange, planned_at: str, now: Callable[[], str],
                           record: Callable[[list[StateUpdate]], None]) -> list[StateUpdate]:
        """Send every request of `change` in order; return the state updates to record.

        `record` journals updates at once, for a change that must record progress between its own
        requests (e.g. a measurement watermark after each accepted batch).
        """
        for req in change.requests:
            await self.send(stamp(req, planned_at, now()))
        return list(change.state_updates)

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

    def take_notes(self) -> list[str]:
        """Messages for the user gathered while applying (clock corrections, platform warnings);
        the executor collects them once every change has run. Each call returns new ones only."""
        return []

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
