"""Plan(config, prior state) -> Plan: refresh, three-way diff, requests, ordering, policies, targets.

Called by the CLI (`plan`, `apply`). Reads platforms through the providers; writes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
from dataclasses import dataclass, field

from reconciler import __version__
from reconciler.config import models
from reconciler.core.addresses import Address, matches_target
from reconciler.core.diagnostics import Diagnostic, DiagnosticError, Severity, has_errors
from reconciler.engine import differ, review
from reconciler.plans.model import (
    Action,
    Plan,
    PlatformRefresh,
    ResourceChange,
    StateUpdate,
)
from reconciler.providers import base, errors
from reconciler.providers.base import Desired, ObjectDiff, Provider, ReadRequest, ReadResponse
from reconciler.state.model import ResourceState, State
from reconciler.tariffs import lint


@dataclass
class PlanRequest:
    config: models.Config
    state: State
    state_path: str
    providers: dict[str, Provider]
    targets: list[str] = field(default_factory=list)
    refresh: bool = True
    allow_mass_recreate: bool = False
    # platform -> why it is not read even though `refresh` is on (its connection settings are not trusted)
    skip_refresh: dict[str, str] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # `validate(config, providers)` when it is already known to pass (the CLI runs it while the
    # platforms are being read); None: the plan runs it.
    validated: list[Diagnostic] | None = None


def validate(config: models.Config, providers: dict[str, Provider]) -> list[Diagnostic]:
    """Offline checks of every platform; raises DiagnosticError when any is an error."""
    diags = list(config.warnings)
    for prov in providers.values():
        diags += prov.validate(config)
    diags += lint.check(config)
    for imp in config.imports:
        addr = Address.parse(imp.to)
        if addr.platform not in config.platforms:
            ref = imp.source("to")
            diags.append(Diagnostic.error(f"import names platform '{addr.platform}', which is not declared",
                                          file=ref.file, line=ref.line, field=ref.path))
    if has_errors(diags):
        raise DiagnosticError(diags)
    return diags


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_targets(req: PlanRequest) -> None:
    """Every --target must name something the configuration declares or the state holds (Terraform
    refuses a target that matches nothing too); raise DiagnosticError with a did-you-mean."""
    known: set[str] = set(req.state.resources)
    for prov in req.providers.values():
        known.update(prov.desired_for(req.config))
    wrong = []
    for t in req.targets:
        if any(matches_target(a, [t]) for a in known):
            continue
        close = difflib.get_close_matches(t, sorted(known), n=3, cutoff=0.6)
        hint = "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else ""
        detail = "" if close else ("Addresses look like siem.location.BOG-001 or siem.tariff.dc-rapida; "
                                   "`reconciler plan --json` lists every address in a plan.")
        wrong.append(Diagnostic.error(f"--target {t} matches nothing in the configuration or the state{hint}",
                                      field="--target", detail=detail))
    if wrong:
        raise DiagnosticError(wrong)


TARGETING_WARNING = ("resource targeting is in effect: this plan may not show every change the configuration "
                     "asks for (--target is for exceptional situations, not for routine use)")


async def make_plan(req: PlanRequest) -> Plan:
    if req.targets:
        check_targets(req)
    diags = list(req.validated) if req.validated is not None else validate(req.config, req.providers)

    now = _timestamp(req.now)
    plan = Plan(tool_version=__version__, created_at=req.now, config_root=str(req.config.root),
                config_digest=req.config.digest, state_path=req.state_path, state_lineage=req.state.lineage,
                state_serial=req.state.serial, targets=list(req.targets), refresh=req.refresh)
    plan.diagnostics += [d for d in diags if d.severity is not Severity.ERROR]
    imports = {imp.to: imp for imp in req.config.imports}

    async def one(name: str, prov: Provider) -> tuple[str, dict[str, Desired], dict[str, ResourceState], ReadResponse]:
        desired = prov.desired_for(req.config)
        prior = {a: r for a, r in req.state.resources.items() if a.startswith(name + ".")}
        for addr, imp in imports.items():
            if addr.startswith(name + ".") and addr not in prior:
                if addr not in desired:
                    # Binding an object the configuration does not declare would only plan its removal.
                    ref = imp.source("to")
                    plan.diagnostics.append(Diagnostic.warning(
                        f"the import block for {addr} is ignored: the configuration does not declare it",
                        address=addr, file=ref.file or None, line=ref.line, field=ref.path,
                        code="plan.import_ignored", params={"address": addr}))
                    continue
                prior[addr] = ResourceState(address=addr, platform_id=str(imp.id))
                plan.state_sync.append(StateUpdate(op="put", address=addr, platform_id=str(imp.id)))
        prov.use_watermarks({a: w for a, w in req.state.watermarks.items() if a.startswith(name + ".")})
        live = await prov.read(ReadRequest(desired, prior, refresh=req.refresh and name not in req.skip_refresh,
                                           skip_reason=req.skip_refresh.get(name)))
        return name, desired, prior, live

    try:
        results = await asyncio.gather(*(one(n, p) for n, p in req.providers.items()))
    except errors.PlatformError as exc:
        raise DiagnosticError.single(f"refreshing platform '{exc.platform}' failed: {exc}",
                                     detail=getattr(exc, "detail", None) or "") from None

    for name, desired, prior, live in results:
        prov = req.providers[name]
        if req.refresh and not req.allow_mass_recreate and name not in req.skip_refresh:
            guard = mass_absence(name, prior, live)
            if guard is not None:
                plan.diagnostics.append(guard)
        plan.platforms.append(PlatformRefresh(platform=name, platform_type=prov.platform.type,
                                              refreshed=req.refresh and name not in req.skip_refresh
                                              and not live.not_refreshed, reads=live.reads,
                                              note=live.note))
        plan.diagnostics += live.diagnostics
        plan.manual_actions += live.manual_actions
        refused = prov.unplannable(desired, prior)
        plan.diagnostics += refused.values()
        diffs: list[ObjectDiff] = []
        for addr in dict.fromkeys([*desired, *prior]):
            if addr in refused:
                continue
            kind = addr.split(".", 2)[1]
            d, p = desired.get(addr), prior.get(addr)
            diff = differ.diff_object(addr, kind, d, p, live.objects.get(addr), own=prov.ownership(kind),
                                      normalise=prov.normalise, drift_out=plan.drift)
            diffs.append(diff)
            if diff.status == "forget":
                plan.state_sync.append(StateUpdate(op="remove", address=addr))
            elif differ.needs_state_sync(diff, prov.normalise) and d is not None:
                plan.state_sync.append(StateUpdate(
                    op="put", address=addr, platform_id=live.platform_ids.get(
                        addr, p.platform_id if p is not None else addr.split(".", 2)[2]),
                    attributes=d.attrs,
                    prevent_destroy=d.prevent_destroy,
                    status="removed" if p is not None and p.status == "removed" else "applied"))
        planned = prov.plan(base.PlanRequest(diffs, live, now, req.config, desired, prior))
        prov.tariff_users(req.config, planned.changes)
        plan.changes += planned.changes
        plan.reference_costs += review.price_sessions(req.config, prov, planned.changes, desired, prior, live,
                                                      req.now)
        # Planning may find more (an object to bind first, a field the platform cannot clear).
        plan.diagnostics += planned.diagnostics
        plan.manual_actions += planned.manual_actions
        plan.state_sync += live.state_sync
        plan.state_sync += planned.state_sync
        _prevent_destroy(plan, desired, prior)

    if req.targets:
        _apply_targets(plan, req.targets)
        plan.diagnostics.append(Diagnostic.warning(
            TARGETING_WARNING,
            detail="Only the targeted objects, and what they need, are planned. Plan and apply without "
                   "--target afterwards, so that the platforms match the whole configuration."))
    review.check(plan, req.config.review)

    plan.summary = plan.summarise()
    return plan


MASS_ABSENCE_MIN = 5
"""More than this many applied objects read as absent (and more than half of them) stops the plan."""


def mass_absence(platform: str, prior: dict[str, ResourceState], live: ReadResponse) -> Diagnostic | None:
    """An error when a refresh read most of what the state says was applied as absent.

    Objects vanishing by the hundred is what a wrong URL, wrong credentials or the wrong
    environment look like, not what operators do on a platform; re-creating them all would at
    best duplicate the estate elsewhere. `--allow-mass-recreate` accepts it.
    """
    skipped = set(live.not_refreshed)
    applied = [a for a, r in prior.items() if r.status == "applied" and a not in skipped and a in live.objects]
    absent = [a for a in applied if live.objects.get(a) is None]
    if len(absent) <= MASS_ABSENCE_MIN or 2 * len(absent) <= len(applied):
        return None
    shown = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
    return Diagnostic.error(
        f"platform '{platform}': {len(absent)} of {len(applied)} objects read as absent: wrong URL, "
                "credentials or environment?",
        detail=f"The state says they were applied ({shown}), but the platform does not know them. Check the "
               "platform's url and credentials; if they really are gone and should be created again, plan or "
               "apply with --allow-mass-recreate.")


def _prevent_destroy(plan: Plan, desired: dict[str, Desired], prior: dict[str, ResourceState]) -> None:
    for c in plan.changes:
        if c.action not in (Action.DELETE, Action.REPLACE):
            continue
        d, p = desired.get(c.address), prior.get(c.address)
        if (d is not None and d.prevent_destroy) or (p is not None and p.prevent_destroy):
            plan.diagnostics.append(Diagnostic.error(
                f"{c.address} has lifecycle.prevent_destroy and this plan would "
                f"{'replace' if c.action is Action.REPLACE else 'remove'} it", address=c.address,
                code="plan.prevent_destroy",
                params={"address": c.address, "verb": "replace" if c.action is Action.REPLACE else "remove"},
                detail="Put the object back in the configuration, or set prevent_destroy: false and apply that "
                       "first, to allow it."))


def _apply_targets(plan: Plan, targets: list[str]) -> None:
    by_addr = {c.address: c for c in plan.changes}
    keep: set[str] = set()
    todo = [c.address for c in plan.changes if matches_target(c.address, targets)]
    while todo:
        a = todo.pop()
        if a in keep or a not in by_addr:
            continue
        keep.add(a)
        c = by_addr[a]
        todo += c.depends_on
        if c.covered_by:
            todo.append(c.covered_by)
    # Everything a kept request carries is kept too, so the plan shows it.
    for c in plan.changes:
        if c.covered_by in keep:
            keep.add(c.address)
    plan.changes = [c for c in plan.changes if c.address in keep]
    plan.state_sync = [s for s in plan.state_sync if matches_target(s.address, targets)]
    plan.drift = [d for d in plan.drift if matches_target(d.address, targets)]
    plan.manual_actions = [m for m in plan.manual_actions if matches_target(m.address, targets)]


def changes_by_address(plan: Plan) -> dict[str, ResourceChange]:
    return {c.address: c for c in plan.changes}
