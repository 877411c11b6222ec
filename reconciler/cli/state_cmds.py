"""`reconciler import`, the `state` group and `force-unlock`: the state inspected, edited, bound to
existing objects, moved to another backend and unlocked."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from reconciler.cli import console, runtime
from reconciler.cli.options import (
    announce,
    config_dir_arg,
    guarded,
    legacy_config_option,
    lock_timeout_option,
    opened,
    state_option,
)
from reconciler.config import loader, secrets
from reconciler.core.addresses import Address
from reconciler.core.diagnostics import Diagnostic, DiagnosticError
from reconciler.providers import errors
from reconciler.providers.base import command_line
from reconciler.state import fileformat
from reconciler.state import lock as lock_mod
from reconciler.state import pending as pending_mod
from reconciler.state.model import ResourceState, State
from reconciler.state.postgres import PostgresStore
from reconciler.state.store import Backend


# --- import -------------------------------------------------------------------------------------
def _check_import(config: Path, state_file: Path | None, address: str, platform_id: str) -> None:
    """Ask the platform whether the object exists (only reads); refuse to bind what it does not know."""
    with runtime.Session.open(config, state_file) as session:
        prov = session.providers[Address.parse(address).platform]
        try:
            check = session.run(lambda: prov.check_import(address, platform_id))
        except errors.PlatformError as exc:
            raise DiagnosticError.single(f"could not check that '{platform_id}' exists on platform '{prov.name}': "
                                         f"{exc}", detail="Nothing was imported.") from None
    if check.found is False:
        raise DiagnosticError.single(f"cannot import {address}: {check.message}",
                                     detail="Nothing was imported. Check the ID (and the platform's url and "
                                            "environment).")
    if check.found is None:
        console.diagnostics([Diagnostic.warning(check.message)])


@click.command("import")
@click.argument("address")
@click.argument("platform_id")
@click.argument("config", metavar="[DIR]", type=click.Path(path_type=Path), required=False)
@legacy_config_option
@state_option
@lock_timeout_option
@guarded
def import_(address: str, platform_id: str, config: Path | None, legacy_config: Path | None,
            state_file: Path | None, lock_timeout: str) -> None:
    """Bind an object that already exists on a platform (PLATFORM_ID) to ADDRESS, in the configuration
    in DIR (default: the current directory)."""
    config = config_dir_arg(config, legacy_config)
    try:
        addr = Address.parse(address)
    except ValueError as exc:
        raise DiagnosticError.single(str(exc), field="ADDRESS") from None
    cfg = runtime.load_config(config)
    if addr.platform not in cfg.platforms:
        raise DiagnosticError.single(f"no platform named '{addr.platform}' in the configuration",
                                     detail=f"Declared platforms: {', '.join(cfg.platforms) or 'none'}")
    wait = runtime.parse_duration(lock_timeout)
    store = runtime.open_store(config, state_file, cfg.state)
    with store.lock("import", wait) as handle:
        announce(handle)
        state = store.load()
        prior = state.get(address)
        if prior is not None and prior.platform_id and prior.status == "applied":
            raise DiagnosticError.single(
                f"{address} is already bound to '{prior.platform_id}'",
                detail=f"To bind it again, first run: {command_line(cfg.root, 'state', 'rm', address)}")
        _check_import(config, state_file, address, platform_id)
        attrs = prior.attributes if prior is not None else {}
        # Importing the ID of a pending create resolves it: what the create would have recorded is applied.
        state.put(ResourceState(address=address, platform_id=platform_id, attributes=attrs,
                                prevent_destroy=prior.prevent_destroy if prior else False,
                                meta=pending_mod.without_mark(prior.meta) if prior else {}))
        store.write(state)
    console.out(f"Imported {address} as '{platform_id}'. The next plan compares it with the configuration.")


# --- state --------------------------------------------------------------------------------------
@click.group()
def state() -> None:
    """Inspect, edit and move the state. Each command takes the configuration directory as DIR
    (default: the current directory), as plan and apply do."""


dir_argument = click.argument("directory", metavar="[DIR]", required=False, type=click.Path(path_type=Path))
config_option = click.option("--config", "config", type=click.Path(path_type=Path), default=None, hidden=True,
                             help="Configuration directory (the same as DIR).")


def _dir(directory: Path | None, config: Path | None) -> Path:
    if directory is not None and config is not None and directory != config:
        raise DiagnosticError.single(f"two configuration directories given: {directory} and --config {config}")
    return directory if directory is not None else (config if config is not None else Path("."))



@contextlib.contextmanager
def _editing(config: Path, state_file: Path | None, operation: str, lock_timeout: str) -> Iterator[
        tuple[Backend, State]]:
    """The state loaded under its lock, for a command that changes it."""
    wait = runtime.parse_duration(lock_timeout)
    with opened(config, state_file) as store, store.lock(operation, wait) as handle:
        announce(handle)
        yield store, store.load()


@state.command("list")
@dir_argument
@config_option
@state_option
@guarded
def state_list(directory: Path | None, config: Path | None, state_file: Path | None) -> None:
    """List the addresses in the state."""
    with opened(_dir(directory, config), state_file) as store:
        st = store.load()
    for addr in st.addresses():
        rs = st.resources[addr]
        suffix = "" if rs.status == "applied" else f"  ({rs.status})"
        console.out(addr + suffix)


@state.command("show")
@click.argument("address")
@dir_argument
@config_option
@state_option
@guarded
def state_show(address: str, directory: Path | None, config: Path | None, state_file: Path | None) -> None:
    """Show one resource's state."""
    with opened(_dir(directory, config), state_file) as store:
        st = store.load()
    rs = st.get(address)
    if rs is None:
        raise DiagnosticError.single(f"{address} is not in the state", detail="See: reconciler state list")
    console.out(json.dumps(rs.model_dump(mode="json"), indent=2, ensure_ascii=False))


def _is_address(text: str) -> bool:
    try:
        Address.parse(text)
    except ValueError:
        return False
    return True


@state.command("rm")
@click.argument("addresses", metavar="ADDRESS... [DIR]", nargs=-1, required=True)
@config_option
@state_option
@lock_timeout_option
@guarded
def state_rm(addresses: tuple[str, ...], config: Path | None, state_file: Path | None, lock_timeout: str) -> None:
    """Forget resources (nothing is sent to the platform). A last argument that is not an address is DIR."""
    directory = None
    if len(addresses) > 1 and not _is_address(addresses[-1]):
        directory, addresses = Path(addresses[-1]), addresses[:-1]
    with _editing(_dir(directory, config), state_file, "state rm", lock_timeout) as (store, st):
        for a in addresses:
            if st.remove(a) is None:
                raise DiagnosticError.single(f"{a} is not in the state; nothing was removed")
        store.write(st)
    for a in addresses:
        console.out(f"Removed {a} from the state. The platform was not changed.")


@state.command("mv")
@click.argument("source")
@click.argument("destination")
@dir_argument
@config_option
@state_option
@lock_timeout_option
@guarded
def state_mv(source: str, destination: str, directory: Path | None, config: Path | None, state_file: Path | None,
             lock_timeout: str) -> None:
    """Rename an address in the state (after renaming an object in the YAML)."""
    for a in (source, destination):
        try:
            Address.parse(a)
        except ValueError as exc:
            raise DiagnosticError.single(str(exc)) from None
    with _editing(_dir(directory, config), state_file, "state mv", lock_timeout) as (store, st):
        rs = st.get(source)
        if rs is None:
            raise DiagnosticError.single(f"{source} is not in the state")
        if st.get(destination) is not None:
            raise DiagnosticError.single(f"{destination} is already in the state")
        st.remove(source)
        st.put(rs.model_copy(update={"address": destination}))
        store.write(st)
    console.out(f"Moved {source} to {destination}.")


@state.command("forget-pending")
@click.argument("address")
@dir_argument
@config_option
@state_option
@lock_timeout_option
@guarded
def state_forget_pending(address: str, directory: Path | None, config: Path | None, state_file: Path | None,
                         lock_timeout: str) -> None:
    """Confirm that a pending create did NOT happen (checked on the platform's web site): the next apply
    sends it again. If it did happen, run `reconciler import ADDRESS ID` instead."""
    with _editing(_dir(directory, config), state_file, "state forget-pending", lock_timeout) as (store, st):
        rs = st.get(address)
        if rs is None:
            raise DiagnosticError.single(f"{address} is not in the state", detail="See: reconciler state list")
        if rs.status != "pending":
            raise DiagnosticError.single(f"{address} is not pending (it is {rs.status}); nothing was changed")
        back = pending_mod.restore(st, address)
        store.write(st)
    if back is None:
        console.out(f"Forgot the pending create of {address}. The next apply creates it.")
    else:
        console.out(f"Forgot the pending write of {address}; it is back to what was last applied.")


def _info_document(store: Backend) -> dict[str, Any]:
    exists = store.exists()
    st = store.load()
    where = store.describe()
    doc: dict[str, Any] = {"backend": where["backend"]}
    if where["backend"] == "local":
        doc["path"] = where["path"]
    else:
        doc["name"] = where["name"]
        doc["database"] = f"{where['host']}:{where['port']}/{where['database']}"
    holder = store.lock_holder()
    doc.update({"lineage": st.lineage if exists or store.recovered else None, "serial": st.serial,
                "resources": len(st.resources), "journal_records": store.recovered,
                "lock": holder.to_json() if holder is not None else None})
    return doc


@state.command("info")
@dir_argument
@config_option
@state_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (keys: backend, path or name, lineage, "
                                                      "serial, resources, lock).")
@guarded
def state_info(directory: Path | None, config: Path | None, state_file: Path | None, as_json: bool) -> None:
    """Where the state lives (backend, file or database and name), its lineage, serial, size and lock.

    Without the PostgreSQL URL (a job without secrets) it still says where the state is, with a
    warning, and leaves lineage, serial and resources null."""
    where = _dir(directory, config)
    with secrets.optional_credentials("the state itself is not read"):
        settings = loader.load_state_settings(where)
    if settings is not None and settings.backend == "postgres" and settings.url is None:
        doc: dict[str, Any] = {"backend": "postgres", "name": settings.name, "lineage": None, "serial": None,
                               "resources": None, "journal_records": None, "lock": None}
        console.diagnostics([Diagnostic.warning("the PostgreSQL state URL is not available here (state.url); "
                                                "only the backend and the state name are shown")])
    else:
        with opened(where, state_file) as store:
            doc = _info_document(store)
    if as_json:
        console.out(json.dumps(doc, indent=2))
        return
    lines = [f"Backend:   {doc['backend']}"]
    if doc["backend"] == "local":
        lines.append(f"Path:      {doc['path']}")
    else:
        lines += [f"Database:  {doc.get('database', '(URL not available)')}", f"Name:      {doc['name']}"]
    if doc["serial"] is None:
        console.out("\n".join(lines))
        return
    lines += [f"Lineage:   {doc['lineage'] or '(no state yet)'}", f"Serial:    {doc['serial']}",
              f"Resources: {doc['resources']}"]
    if doc["journal_records"]:
        lines.append(f"Journal:   {doc['journal_records']} records of an interrupted apply (folded in by the next "
                     "write)")
    lock = doc["lock"]
    lines.append("Lock:      none" if lock is None else
                 f"Lock:      {lock['Operation']} by {lock['Who']} since {lock['Created']} (lock ID {lock['ID']})")
    console.out("\n".join(lines))


def _backend_spec(spec: str, config: Path, settings: Any) -> Backend:
    """`local`, `local:PATH`, `postgres` or `postgres:NAME` -> a store (the URL never on the command line)."""
    kind, _, arg = spec.partition(":")
    hint = runtime.unlock_args(config, None)
    if kind == "local":
        return runtime.StateStore(Path(arg) if arg else runtime.state_path(config, None), unlock_args=hint)
    if kind == "postgres":
        configured = settings if settings is not None and settings.backend == "postgres" else None
        name = arg or (configured.name if configured else None)
        if not name:
            raise DiagnosticError.single(f"--from/--to {spec}: which state? write postgres:NAME, or configure "
                                         "state: {backend: postgres, name: ...}")
        if configured is not None and configured.url is not None:
            url = configured.url.get_secret_value()
        else:
            url = os.environ.get("RECONCILER_STATE_URL") or ""
            if not url:
                raise DiagnosticError.single(f"--from/--to {spec}: no PostgreSQL URL: configure state.url or set "
                                             "RECONCILER_STATE_URL")
        return PostgresStore(url, name, unlock_args=hint)
    raise DiagnosticError.single(f"'{spec}' is not a backend: write local, local:PATH, postgres or postgres:NAME",
                                 field="--from/--to")


@state.command("migrate")
@dir_argument
@click.option("--from", "source_spec", default="local", show_default=True, metavar="SPEC",
              help="Where the state is now: local (the file beside the configuration), local:PATH, postgres "
                   "(the configured database) or postgres:NAME.")
@click.option("--to", "dest_spec", default=None, metavar="SPEC",
              help="Where to copy it (default: the backend the configuration's state: block names).")
@lock_timeout_option
@guarded
def state_migrate(directory: Path | None, source_spec: str, dest_spec: str | None, lock_timeout: str) -> None:
    """Copy the state (with the journal of an interrupted apply folded in) to another backend, e.g. from
    the local file to the PostgreSQL database the `state:` block configures. Refuses to overwrite a
    state of another lineage; running it again once copied changes nothing."""
    config = _dir(directory, None)
    wait = runtime.parse_duration(lock_timeout)
    settings = loader.load_state_settings(config)
    if dest_spec is None:
        if settings is None or settings.backend == "local":
            raise DiagnosticError.single(
                "the configuration keeps its state in the local file; say where to copy it",
                detail="Add to the configuration:\n  state:\n    backend: postgres\n    url: ${env:RECONCILER_STATE_URL}"
                       "\n    name: my-state\nthen run this again (or pass --to postgres:NAME).")
        dest_spec = "postgres"
    with contextlib.ExitStack() as stack:
        source = _backend_spec(source_spec, config, settings)
        stack.callback(source.close)
        dest = _backend_spec(dest_spec, config, settings)
        stack.callback(dest.close)
        if source.location == dest.location:
            raise DiagnosticError.single(f"--from and --to are the same state ({source.location})")
        for store in (source, dest):
            handle = stack.enter_context(store.lock("state migrate", wait))
            announce(handle)
        had_source = source.exists()
        st = source.load()
        if not had_source and not source.recovered:
            raise DiagnosticError.single(f"there is no state at {source.location} to copy")
        if dest.exists():
            there = dest.load()
            if there.lineage != st.lineage:
                raise DiagnosticError.single(
                    f"refusing to overwrite {dest.location}: it holds another state (lineage {there.lineage}, serial "
                    f"{there.serial}); the state at {source.location} is lineage {st.lineage}, serial {st.serial}",
                    detail="Nothing was copied. Use another state name, or remove that state if it is not needed.")
            if there.serial == st.serial and fileformat.dumps(there) == fileformat.dumps(st):
                console.out(f"{dest.location} already holds this state (lineage {st.lineage}, serial {st.serial}); "
                            "nothing to copy.")
                return
            if there.serial >= st.serial:
                raise DiagnosticError.single(
                    f"refusing to overwrite {dest.location}: it is newer (serial {there.serial}) than the state at "
                    f"{source.location} (serial {st.serial})",
                    detail="Nothing was copied. It was applied from there since; keep using it.")
        dest.write_copy(st)
    console.out(f"Copied the state (lineage {st.lineage}, serial {st.serial}, {len(st.resources)} resources) from "
                f"{source.location} to {dest.location}.")
    if source.kind == "local":
        console.out(f"{source.location} is no longer used by this configuration once its state: block names "
                    f"{dest.kind}; keep it until you have checked `reconciler plan`, then delete it.")


# --- force-unlock -------------------------------------------------------------------------------
@click.command("force-unlock")
@click.argument("lock_id")
@dir_argument
@config_option
@state_option
@guarded
def force_unlock(lock_id: str, directory: Path | None, config: Path | None, state_file: Path | None) -> None:
    """Release the lock LOCK_ID (from the lock message) left by a run that is gone. For PostgreSQL a
    still-connected session holding it is ended; the run it belongs to stops at its next write."""
    with opened(_dir(directory, config), state_file) as store:
        if isinstance(store, PostgresStore):
            info, alive = store.force_unlock(lock_id)
            how = " and ended its PostgreSQL session" if alive else ""
        else:
            assert isinstance(store, runtime.StateStore)
            info, how = lock_mod.force_unlock(store.path, lock_id), ""
    console.out(f"Released the lock {lock_id} ({info.operation} by {info.who} since {info.created}){how}.")


