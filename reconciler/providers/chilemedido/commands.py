"""`reconciler medido ...`: ChileMedido commands that are not plan/apply.

- `discover [CONFIG]` lists the organizations, installations and meters the output API shows,
  with each meter's ChileMedido id and number, next to the meters the configuration declares.
- `resolve ADDRESS --stored|--not-stored` settles an upload whose answer was lost (the plan says
  when one is needed): the user checked on ChileMedido whether those measurements arrived.

Added to the command line through `providers.registry.command_groups`; what the commands need of
it (a session, the state store, printing, its error guard) they take from `providers.commands.host()`.
Parse -> provider or state -> print, like the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import click

from reconciler.core.addresses import Address
from reconciler.core.diagnostics import DiagnosticError
from reconciler.providers import errors
from reconciler.providers.chilemedido import discovery, wire
from reconciler.providers.chilemedido.provider import MedidoProvider
from reconciler.providers.commands import ProviderGroup, Session, host
from reconciler.state.model import utcnow


@click.group("medido", cls=ProviderGroup, manual_actions=("resolve",))
def medido() -> None:
    """ChileMedido: discover meters, settle an upload whose answer was lost."""


def _platform(session: Session, name: str | None) -> MedidoProvider:
    provs = {n: p for n, p in session.providers.items() if isinstance(p, MedidoProvider)}
    if name is not None:
        if name not in provs:
            raise DiagnosticError.single(f"no ChileMedido platform named '{name}' in the configuration",
                                         detail=f"ChileMedido platforms: {', '.join(provs) or 'none'}")
        return provs[name]
    if len(provs) != 1:
        raise DiagnosticError.single("say which ChileMedido platform with --platform" if provs else
                                     "the configuration declares no ChileMedido platform (type: chilemedido)",
                                     detail=f"ChileMedido platforms: {', '.join(provs) or 'none'}")
    return next(iter(provs.values()))


@medido.command("discover")
@click.argument("config", metavar="[DIR]", type=click.Path(path_type=Path), default=".")
@click.option("--platform", "platform_name", help="The ChileMedido platform (when the configuration has several).")
def discover(config: Path, platform_name: str | None) -> None:
    """List the meters ChileMedido's output API shows, to bind them in the configuration."""
    cli = host()

    @cli.guarded
    def run() -> None:
        with cli.open_session(config, None) as session:
            prov = _platform(session, platform_name)
            output = prov.output
            if output is None:
                raise DiagnosticError.single(
                    f"platform '{prov.name}' has no output API configured; discovery reads it",
                    detail="Add to the platform:\n  output:\n    url: https://...   # given with the API consumer "
                           "account\n    token: ${env:CHILEMEDIDO_OUTPUT_TOKEN}")
            try:
                orgs = session.run(lambda: discovery.discover(output))
            except errors.PlatformError as exc:
                raise DiagnosticError.single(f"reading the ChileMedido output API failed: {exc}") from None
            declared = {m.number: f"{prov.name}.meter.{m.number}" for m in session.config.meters
                        if m.platform == prov.name}
            state = session.store.load()
            bound = {addr: rs.platform_id for addr, rs in state.resources.items() if addr in declared.values()}
            _print(cli.out, orgs, declared, bound)

    run()


def _print(out: Callable[[str], None], orgs: list[discovery.Organization], declared: dict[str, str],
           bound: dict[str, str | None]) -> None:
    seen: set[str] = set()
    for org in orgs:
        kind = "" if org.public is None else (" (public)" if org.public else " (private)")
        out(f"organization {org.id} \"{org.name}\"{kind}")
        for inst in org.installations:
            units = ", ".join(f"{uid} {name}" for uid, name in inst.units)
            out(f"  installation {inst.id} \"{inst.name}\"" + (f"  units: {units}" if units else ""))
            if not inst.devices:
                out("    (no meters)")
            for dev in inst.devices:
                number = str(dev.get(wire.DEVICE_NUMBER))
                seen.add(number)
                dev_id = str(dev.get(wire.DEVICE_ID))
                addr = declared.get(number)
                if addr is None:
                    how = "not declared"
                elif bound.get(addr) == dev_id:
                    how = f"bound to {addr}"
                elif bound.get(addr):
                    how = f"same number as {addr}, which is bound to id {bound[addr]}"
                else:
                    how = f"number declared as {addr} (the next plan binds it, or: reconciler import {addr} {dev_id})"
                out(f"    meter number \"{number}\"  ChileMedido id {dev_id}  {dev.get(wire.OUT_STATUS, '')}  "
                            f"{len(discovery.variables(dev))} variables  {how}")
    missing = sorted(n for n in declared if n not in seen)
    if missing:
        out(f"\nDeclared but not shown by the output API: {', '.join(missing)} (the output API shows only "
                    "what this consumer account may read)")


@medido.command("resolve")
@click.argument("address")
@click.argument("config_arg", metavar="[DIR]", type=click.Path(path_type=Path), required=False)
@click.option("--stored", "stored", flag_value=True, default=None, help="ChileMedido holds those measurements.")
@click.option("--not-stored", "stored", flag_value=False, help="ChileMedido does not hold them: send them again.")
@click.option("--config", "legacy_config", type=click.Path(path_type=Path), default=None, hidden=True)
@click.option("--state", "state_file", type=click.Path(path_type=Path), default=None, help="State file.")
@click.option("--lock-timeout", "lock_timeout", default="0s", show_default=True, metavar="DURATION",
              help="How long to wait for a state lock another run holds (e.g. 30s, 5m).")
def resolve(address: str, config_arg: Path | None, stored: bool | None, legacy_config: Path | None,
            state_file: Path | None, lock_timeout: str) -> None:
    """Settle an upload whose answer was lost, after checking on ChileMedido (DIR: the configuration
    directory, default the current one)."""
    cli = host()

    @cli.guarded
    def run() -> None:
        config = cli.config_dir_arg(config_arg, legacy_config)
        try:
            addr = Address.parse(address)
        except ValueError as exc:
            raise DiagnosticError.single(str(exc), field="ADDRESS") from None
        if addr.kind != "measurements":
            raise DiagnosticError.single(f"{address} is not a measurements address (e.g. medido.measurements.29)")
        if stored is None:
            raise DiagnosticError.single("say what ChileMedido holds: --stored or --not-stored")
        store = cli.open_store(config, state_file)
        with contextlib.closing(store), store.lock("medido resolve", cli.parse_duration(lock_timeout)) as handle:
            cli.diagnostics(handle.warnings)
            state = store.load()
            wm = state.get_watermark(address)
            unsure = wm.in_flight if wm is not None else None
            if wm is None or not unsure:
                raise DiagnosticError.single(f"{address} has no upload waiting to be settled")
            what = (f"the {unsure['rows']} measurements from {wire.iso(unsure['first'])} to "
                    f"{wire.iso(unsure['last'])}")
            if stored:
                wm = wm.model_copy(update={"last_timestamp": int(unsure["last"]), "rows": wm.rows + int(unsure["rows"])})
            state.set_watermark(address, wm.model_copy(update={"in_flight": None, "updated_at": utcnow()}))
            store.write(state)
        if stored:
            cli.out(f"Recorded: {what} are stored on ChileMedido. The next apply continues after them.")
        else:
            cli.out(f"Recorded: {what} are not stored on ChileMedido. The next apply sends them again.")

    run()
