"""The `reconciler` command: validate, plan, apply, show, import, schema, state, force-unlock, sandbox.

Each command parses its arguments, calls the engine and hands the result to a renderer. Errors are
printed as diagnostics (file, line, field) with exit code 1, never as a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import __version__
from reconciler.cli import console, runtime
from reconciler.cli import github as github_cli
from reconciler.cli import medido as medido_cli
from reconciler.config import connections, loader, secrets
from reconciler.core import gcpause, progress
from reconciler.core.addresses import Address
from reconciler.core.diagnostics import Diagnostic, DiagnosticError, Severity
from reconciler.core.redact import redact
from reconciler.engine import executor, planner, review
from reconciler.gitops import context
from reconciler.plans import planfile
from reconciler.plans.model import Plan, PlanSource
from reconciler.providers import errors
from reconciler.providers.base import command_line
from reconciler.render import i18n, jsonout, markdown, text
from reconciler.state import fileformat
from reconciler.state import lock as lock_mod
from reconciler.state import pending as pending_mod
from reconciler.state.model import ResourceState, State
from reconciler.state.postgres import PostgresStore
from reconciler.state.store import Backend

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def guarded(fn: F) -> F:
    """Diagnostics become messages and exit 1; no traceback ever reaches the user."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except DiagnosticError as exc:
            if kw.get("as_json"):
                # Machine-readable on stdout (what a CI step parses); the same messages for people on stderr.
                ctx = click.get_current_context(silent=True)
                console.out(json.dumps(jsonout.diagnostics_document(
                    exc.diagnostics, command=" ".join(ctx.command_path.split()[1:]) if ctx else None),
                    indent=2, ensure_ascii=False))
            console.diagnostics(exc.diagnostics, console.use_color(sys.stderr))
            sys.exit(1)
        except ExitCode as exc:
            sys.exit(exc.code)
        except KeyboardInterrupt:
            console.out("Interrupted. Everything finished before the interruption is recorded in the state.",
                        err=True)
            sys.exit(130)
        finally:
            runtime.close_sandboxes()

    return wrapper  # type: ignore[return-value]


state_option = click.option("--state", "state_file", type=click.Path(path_type=Path), default=None,
                            help="State file (default: reconciler.state.json beside the configuration).")
lock_timeout_option = click.option(
    "--lock-timeout", "lock_timeout", default="0s", show_default=True, metavar="DURATION",
    help="How long to wait for a state lock another run holds (e.g. 30s, 5m) before giving up.")
color_option = click.option("--color/--no-color", default=None, help="Colour the output (default: on a terminal, "
                                                                     "unless NO_COLOR is set).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Declare EV charging stations, tariffs and meters in YAML; plan and apply them to the platforms."""
    runtime.setup_logging()


def _announce(handle: Any) -> None:
    """What taking the state lock met: an interrupted run's leftovers, and how long it waited."""
    console.diagnostics(handle.warnings)
    if handle.waited >= 0.05:
        console.out(f"Waited {handle.waited:.1f}s for the state lock.", err=True)


# --- validate -----------------------------------------------------------------------------------
@cli.command()
@click.argument("config", metavar="[DIR]", type=click.Path(path_type=Path), default=".")
@click.option("--without-credentials", is_flag=True,
              help="Missing platform credentials are warnings (a pre-commit hook, a CI job without secrets).")
@click.option("--find", is_flag=True,
              help="Validate every configuration directory under DIR (a directory with a YAML file declaring "
                   "platforms:); other YAML files, such as CI workflows, are left alone.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON: valid, error_count, warning_count, diagnostics (also on error).")
@color_option
@guarded
def validate(config: Path, without_credentials: bool, find: bool, as_json: bool, color: bool | None) -> None:
    """Check the configuration offline: schema, references and platform constraints."""
    if find:
        _validate_each(config, without_credentials, as_json, color)
        return
    cfg, diags = _validated(config, without_credentials)
    counts = {"platforms": len(cfg.platforms), "stations": len(cfg.stations), "tariffs": len(cfg.tariffs),
              "meters": len(cfg.meters)}
    if as_json:
        console.out(json.dumps(jsonout.diagnostics_document(diags, command="validate", counts=counts), indent=2,
                               ensure_ascii=False))
        return
    console.diagnostics(diags, console.use_color(sys.stderr, color))
    console.out(f"The configuration is valid: {counts['platforms']} platforms, {counts['stations']} stations, "
                f"{counts['tariffs']} tariffs, {counts['meters']} meters.")


def _validated(config: Path, without_credentials: bool) -> tuple[Any, list[Diagnostic]]:
    lenient = secrets.optional_credentials("needed by plan and apply") if without_credentials \
        else contextlib.nullcontext()
    with lenient:
        cfg = runtime.load_config(config)
    providers = runtime.providers_for(cfg, runtime.state_path(config, None))
    return cfg, planner.validate(cfg, providers)  # raises DiagnosticError on any error


def _validate_each(path: Path, without_credentials: bool, as_json: bool, color: bool | None) -> None:
    from reconciler.config import sources

    if not path.is_dir():
        raise DiagnosticError.single(f"{path}: not a directory (--find searches a directory)")
    roots = sources.find_roots(path)
    if not roots:
        raise DiagnosticError.single(f"{path}: no configuration directory found (a directory with a YAML file "
                                     "declaring platforms:)")
    failed = 0
    docs = []
    for root in roots:
        shown = os.path.relpath(root)
        try:
            cfg, diags = _validated(root, without_credentials)
        except DiagnosticError as exc:
            failed += 1
            diags = [dataclasses.replace(d, file=f"{shown}/{d.file}" if d.file else d.file) for d in exc.diagnostics]
            if not as_json:
                console.diagnostics(diags, console.use_color(sys.stderr, color))
                console.out(f"{shown}: the configuration is NOT valid.")
            docs.append(jsonout.diagnostics_document(diags, directory=shown))
            continue
        diags = [dataclasses.replace(d, file=f"{shown}/{d.file}" if d.file else d.file) for d in diags]
        docs.append(jsonout.diagnostics_document(diags, directory=shown))
        if not as_json:
            console.diagnostics(diags, console.use_color(sys.stderr, color))
            console.out(f"{shown}: the configuration is valid: {len(cfg.platforms)} platforms, {len(cfg.stations)} "
                        f"stations, {len(cfg.tariffs)} tariffs, {len(cfg.meters)} meters.")
    if as_json:
        console.out(json.dumps({"format_version": jsonout.DIAGNOSTICS_FORMAT, "valid": not failed,
                                "configurations": docs}, indent=2, ensure_ascii=False))
    if failed:
        raise ExitCode(1)


# --- plan ---------------------------------------------------------------------------------------
def _make_plan(session: runtime.Session, state: State, targets: list[str], refresh: bool,
               allow_mass_recreate: bool = False, skip_refresh: dict[str, str] | None = None) -> Plan:
    """The plan for `state` (read under the lock; the planner never changes it)."""
    for t in targets:
        try:
            Address.parse(t)
        except ValueError as exc:
            raise DiagnosticError.single(str(exc), field="--target") from None
    req = planner.PlanRequest(config=session.config, state=state, state_path=session.store.location,
                              providers=session.providers, targets=targets, refresh=refresh,
                              allow_mass_recreate=allow_mass_recreate, skip_refresh=skip_refresh or {})
    the_plan = session.run(lambda: planner.make_plan(req))
    commit, run_url = context.plan_source(session.config.root)
    the_plan.source = PlanSource(commit=commit, run_url=run_url)
    return the_plan


@contextlib.contextmanager
def _refresh_progress() -> Iterator[text.RefreshProgress]:
    """A bar of reads done / expected on stderr while the platforms are read (on a terminal only);
    `close()` it when the plan is made."""
    with text.RefreshProgress(sys.stderr) as bar, progress.listening(bar.update):
        yield bar


@cli.command()
@click.argument("config", metavar="[DIR]", type=click.Path(path_type=Path), default=".")
@state_option
@click.option("--out", "out_file", type=click.Path(path_type=Path), help="Save the plan for `apply FILE`.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the plan as JSON (schemas/plan.schema.json); when no plan can be made, the diagnostics "
                   "as JSON (as validate --json).")
@click.option("--markdown", "markdown_file", type=click.Path(path_type=Path), help="Write a pull-request comment.")
@click.option("--target", "targets", multiple=True, help="Limit the plan to these addresses (and what they need).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes or manual actions, 0 when the platforms match.")
@click.option("--refresh/--no-refresh", default=True, help="Read the platforms first (default) or trust the state.")
@click.option("--json-file", "json_file", type=click.Path(path_type=Path),
              help="Also write the plan as JSON (schemas/plan.schema.json) to this file.")
@click.option("--lang", type=click.Choice(i18n.LANGS), default="en", show_default=True,
              help="Language of the --markdown comment.")
@click.option("--allow-mass-recreate", is_flag=True,
              help="Plan even when most applied objects read as absent (re-creating them).")
@click.option("--connections-from", "connections_from", type=click.Path(path_type=Path), default=None,
              metavar="BASE_DIR",
              help="The same configuration as the base branch has it (a pull request's plan): a platform whose "
                   "url, credentials or certificate files differ there, or that it lacks, is not read.")
@lock_timeout_option
@color_option
@guarded
def plan(config: Path, state_file: Path | None, out_file: Path | None, as_json: bool, markdown_file: Path | None,
         targets: tuple[str, ...], detailed_exitcode: bool, refresh: bool, json_file: Path | None, lang: str,
         allow_mass_recreate: bool, connections_from: Path | None, lock_timeout: str, color: bool | None) -> None:
    """Refresh, diff and print what apply would do."""
    base_cfg, base_error = None, None
    if connections_from is not None and refresh:
        base_cfg, base_error = _base_config(connections_from)
    # Without a refresh nothing talks to the platforms, so missing credentials (a pull request from
    # a fork, a laptop without secrets) are only a warning.
    wait = runtime.parse_duration(lock_timeout)
    offline = contextlib.nullcontext() if refresh else secrets.optional_credentials(
        "not needed: this plan does not read the platforms (--no-refresh)")
    # With --connections-from nothing is read before the comparison (no prefetch).
    prefetch = refresh and connections_from is None
    with offline, _refresh_progress(), runtime.Session.open(config, state_file, prefetch=prefetch) as session, \
            session.store.lock("plan", wait) as handle:
        _announce(handle)
        if out_file is not None and not session.store.exists():
            # A plan made on an empty state fixes the lineage, so a saved plan can never be applied twice.
            session.store.write(session.store.load())
        skip = connections.changed(session.config, base_cfg, base_error) \
            if connections_from is not None and refresh else {}
        for name, why in skip.items():
            console.out(f"Platform '{name}' is not read: {why}.", err=True)
        with gcpause.paused():
            the_plan = _make_plan(session, session.store.load(), list(targets), refresh, allow_mass_recreate,
                                  skip)
    doc = jsonout.plan_document(the_plan)
    runtime.keep_until_exit(the_plan, doc)
    if as_json:
        console.out(json.dumps(doc, indent=2))
    else:
        console.out(text.render(doc, color=console.use_color(sys.stdout, color)), nl=False)
    # Both are for people (the pull-request comment, a review tool): blanked like the console.
    if markdown_file is not None:
        markdown_file.write_text(redact(markdown.render(doc, lang=lang,
                                                        limit=markdown.GITHUB_LIMIT - markdown.RESULT_ROOM)),
                                 encoding="utf-8")
    if json_file is not None:
        json_file.write_text(redact(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n", encoding="utf-8")
    if the_plan.errors:
        console.diagnostics(the_plan.errors, console.use_color(sys.stderr, color))
        raise ExitCode(1)
    if out_file is not None:
        planfile.write(the_plan, out_file)
        if not as_json:
            console.out(f"\nSaved the plan to {out_file}. To apply exactly these actions: reconciler apply {out_file}")
    # Manual actions leave the platforms unlike the configuration as surely as changes do: CI must notice.
    if detailed_exitcode and (the_plan.summary.has_changes or the_plan.manual_actions):
        raise ExitCode(2)


def _base_config(path: Path) -> tuple[Any, str | None]:
    """The base branch's configuration (credentials optional: only its settings are compared)."""
    if not path.exists():
        return None, None
    try:
        with secrets.optional_credentials("only compared with this pull request's settings"):
            return runtime.load_config(path), None
    except DiagnosticError as exc:
        first = exc.diagnostics[0] if exc.diagnostics else None
        return None, (first.summary if first else "invalid")


# --- apply --------------------------------------------------------------------------------------
def _check_saved(the_plan: Plan, session: runtime.Session, state: State) -> None:
    if state.lineage != the_plan.state_lineage or state.serial != the_plan.state_serial:
        raise DiagnosticError.single(
            "the saved plan is stale: the state changed since it was made "
            f"(plan: lineage {the_plan.state_lineage}, serial {the_plan.state_serial}; state now: lineage "
            f"{state.lineage}, serial {state.serial})", detail="Make a new plan and apply that.")
    if session.config.digest != the_plan.config_digest:
        raise DiagnosticError.single("the saved plan is stale: the configuration changed since it was made",
                                     detail="Make a new plan and apply that.")


@cli.command()
@click.argument("target_path", metavar="[DIR|PLANFILE]", type=click.Path(path_type=Path), default=".")
@state_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--target", "targets", multiple=True, help="Limit the apply to these addresses.")
@click.option("--refresh/--no-refresh", default=True)
@click.option("--allow-large-price-change", is_flag=True,
              help="Apply price changes larger than review.max_price_change_pct.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the outcome as JSON (applied, failed, skipped, pending, diagnostics), also on error; "
                   "needs --auto-approve or a saved plan.")
@click.option("--allow-mass-recreate", is_flag=True,
              help="Plan even when most applied objects read as absent (re-creating them).")
@lock_timeout_option
@color_option
@guarded
def apply(target_path: Path, state_file: Path | None, auto_approve: bool, targets: tuple[str, ...], refresh: bool,
          allow_large_price_change: bool, as_json: bool, allow_mass_recreate: bool, lock_timeout: str,
          color: bool | None) -> None:
    """Make the platforms match the configuration (or execute a saved plan)."""
    wait = runtime.parse_duration(lock_timeout)
    saved = planfile.read(target_path) if planfile.looks_like_planfile(target_path) else None
    if as_json and saved is None and not auto_approve:
        raise DiagnosticError.single("apply --json cannot ask for confirmation: pass --auto-approve, or apply a "
                                     "saved plan (plan --out FILE, then apply FILE --json)")
    config_path = Path(saved.config_root) if saved else target_path
    if saved is not None and state_file is None and not saved.state_path.startswith("postgresql://"):
        state_file = Path(saved.state_path)
    paint = console.use_color(sys.stdout, color)

    def refuse(diags: list[Diagnostic]) -> None:
        if as_json:
            raise DiagnosticError(diags)
        console.diagnostics(diags, console.use_color(sys.stderr, color))
        console.out("\nNothing was sent.")
        raise ExitCode(1)

    with _refresh_progress() as reading, \
            runtime.Session.open(config_path, state_file, prefetch=refresh and saved is None) as session, \
            session.store.lock("apply", wait) as handle:
        _announce(handle)
        with gcpause.paused():
            # Read once under the lock: the plan is made from it and the apply records into it.
            state = session.store.load()
            if saved is not None:
                if targets:
                    raise DiagnosticError.single("--target cannot be used with a saved plan; it was fixed when "
                                                 "planned")
                _check_saved(saved, session, state)
                the_plan = saved
            else:
                the_plan = _make_plan(session, state, list(targets), refresh, allow_mass_recreate)
            runtime.keep_until_exit(state, the_plan)
        reading.close()
        if saved is None and not as_json:
            console.out(text.render(jsonout.plan_document(the_plan), color=paint), nl=False)
        if the_plan.errors:
            if as_json:
                raise DiagnosticError(the_plan.errors)
            console.diagnostics(the_plan.errors, console.use_color(sys.stderr, color))
            raise ExitCode(1)
        unread = [Diagnostic.error("the request sends the object whole, built from the live object, which this "
                                   "plan did not read (it was made without a refresh)",
                                   detail="Apply with a refresh (drop --no-refresh, or make the saved plan "
                                          "without it), so that fields others set on the platform are kept.",
                                   address=c.address)
                  for c in the_plan.changes if c.needs_refresh]
        if unread:
            refuse(unread)
        refused = review.refusals(the_plan, session.config.review, allow_large_price_change)
        if refused:
            refuse(refused)
        if not the_plan.summary.has_changes and not the_plan.state_sync:
            if as_json:
                console.out(json.dumps(_apply_document(the_plan, None), indent=2, ensure_ascii=False))
            else:
                console.out("\nNothing to apply.")
            return
        if the_plan.summary.has_changes and saved is None and not auto_approve:
            console.out("")
            if not sys.stdin or sys.stdin.closed:
                raise DiagnosticError.single("apply needs confirmation: run it on a terminal or pass --auto-approve")
            answer = click.prompt("Do you want to perform these actions? Only 'yes' will be accepted",
                                  default="", show_default=False)
            if answer.strip() != "yes":
                console.out("Apply cancelled; nothing was sent.")
                raise ExitCode(1)
        jr = session.store.journal()
        recorder = runtime.Recorder(state, jr)
        progress = text.Progress(the_plan, sys.stderr)
        try:
            result = session.run(lambda: executor.execute(the_plan, session.providers, recorder, progress.update))
            runtime.keep_until_exit(result)
        finally:
            progress.close()
            session.store.write(state)
    failed = list(result.failed) if not result.ok else []
    if as_json:
        console.out(json.dumps(_apply_document(the_plan, result, failed), indent=2, ensure_ascii=False))
        if failed:
            console.diagnostics(failed, console.use_color(sys.stderr, color))
            raise ExitCode(1)
        return
    console.out(text.render_result(result, the_plan, color=paint), nl=False)
    if failed:
        console.diagnostics(failed, console.use_color(sys.stderr, color))
        raise ExitCode(1)


def _apply_document(the_plan: Plan, result: executor.ApplyResult | None,
                    failed: list[Diagnostic] | None = None) -> dict[str, Any]:
    """`apply --json`: what was applied, what failed (as diagnostics), what is left."""
    failed = failed or []
    counts = text.result_counts(result if result is not None else executor.ApplyResult(), the_plan)
    return {"format_version": jsonout.DIAGNOSTICS_FORMAT, "ok": not failed, "resources": counts,
            "requests": result.requests if result else 0, "applied": result.applied if result else [],
            "skipped": result.skipped if result else [], "pending": result.pending if result else [],
            "notes": result.notes if result else [],
            **{k: v for k, v in jsonout.diagnostics_document(failed + _plan_warnings(the_plan)).items()
               if k in ("error_count", "warning_count", "diagnostics")}}


def _plan_warnings(plan: Plan) -> list[Diagnostic]:
    return [d for d in plan.diagnostics if d.severity is Severity.WARNING]


# --- show ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (schemas/plan.schema.json).")
@color_option
@guarded
def show(plan_file: Path, as_json: bool, color: bool | None) -> None:
    """Print a plan saved with `plan --out PLANFILE`, as `plan` printed it (nothing is read or sent)."""
    if not plan_file.is_file():
        raise DiagnosticError.single(f"{plan_file}: no such file", detail="Save a plan with: reconciler plan --out "
                                                                          "FILE")
    if not planfile.looks_like_planfile(plan_file):
        raise DiagnosticError.single("this file is not a saved reconciler plan", file=str(plan_file),
                                     detail="Save one with: reconciler plan --out FILE")
    saved = planfile.read(plan_file)
    doc = jsonout.plan_document(saved)
    if as_json:
        console.out(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    console.out(text.render(doc, color=console.use_color(sys.stdout, color)), nl=False)
    console.out(f"\nSaved plan made {saved.created_at:%Y-%m-%d %H:%M:%S %Z} from {saved.config_root} "
                f"(state serial {saved.state_serial}). To apply exactly these actions: reconciler apply {plan_file}")


# --- schema -------------------------------------------------------------------------------------
@cli.command("schema")
@click.option("--plan", "which", flag_value="plan", help="The plan's schema (plan --json) instead.")
@click.option("--config", "which", flag_value="config", default=True, hidden=True)
@guarded
def schema_cmd(which: str) -> None:
    """Print the JSON Schema of a configuration file (for editors, and for checking YAML in CI)."""
    from reconciler.config import schema as config_schema

    name = "plan.schema.json" if which == "plan" else config_schema.SCHEMA_ID
    try:
        console.out(config_schema.shipped_text(name), nl=False)
    except OSError as exc:
        raise DiagnosticError.single(f"the schema {name} is not installed with reconciler ({exc.strerror})",
                                     detail="Reinstall reconciler; a source checkout has it in schemas/.") from None


# --- import -------------------------------------------------------------------------------------
def legacy_config_option(fn: F) -> F:
    """`--config DIR`, the older spelling of the DIR argument (hidden; kept for existing scripts)."""
    return click.option("--config", "legacy_config", type=click.Path(path_type=Path), default=None,
                        hidden=True)(fn)


def config_dir_arg(positional: Path | None, legacy: Path | None) -> Path:
    """The configuration directory from DIR (or the older `--config DIR`), default `.`."""
    if positional is not None and legacy is not None and positional != legacy:
        raise DiagnosticError.single(f"two configuration directories given: {positional} and --config {legacy}",
                                     detail="Give it once, as the last argument (DIR).")
    return positional or legacy or Path(".")


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


@cli.command("import")
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
        _announce(handle)
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
@cli.group()
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
def _opened(config: Path, state_file: Path | None) -> Iterator[Backend]:
    store = runtime.open_store(config, state_file)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def _editing(config: Path, state_file: Path | None, operation: str, lock_timeout: str) -> Iterator[
        tuple[Backend, State]]:
    """The state loaded under its lock, for a command that changes it."""
    wait = runtime.parse_duration(lock_timeout)
    with _opened(config, state_file) as store, store.lock(operation, wait) as handle:
        _announce(handle)
        yield store, store.load()


@state.command("list")
@dir_argument
@config_option
@state_option
@guarded
def state_list(directory: Path | None, config: Path | None, state_file: Path | None) -> None:
    """List the addresses in the state."""
    with _opened(_dir(directory, config), state_file) as store:
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
    with _opened(_dir(directory, config), state_file) as store:
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
        with _opened(where, state_file) as store:
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
            _announce(handle)
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
@cli.command("force-unlock")
@click.argument("lock_id")
@dir_argument
@config_option
@state_option
@guarded
def force_unlock(lock_id: str, directory: Path | None, config: Path | None, state_file: Path | None) -> None:
    """Release the lock LOCK_ID (from the lock message) left by a run that is gone. For PostgreSQL a
    still-connected session holding it is ended; the run it belongs to stops at its next write."""
    with _opened(_dir(directory, config), state_file) as store:
        if isinstance(store, PostgresStore):
            info, alive = store.force_unlock(lock_id)
            how = " and ended its PostgreSQL session" if alive else ""
        else:
            assert isinstance(store, runtime.StateStore)
            info, how = lock_mod.force_unlock(store.path, lock_id), ""
    console.out(f"Released the lock {lock_id} ({info.operation} by {info.who} since {info.created}){how}.")


# --- sandbox ------------------------------------------------------------------------------------
@cli.group()
def sandbox() -> None:
    """The embedded platform simulators."""


@sandbox.command("serve")
@click.option("--port", default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback only.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=Path(".reconciler/sandbox"),
              show_default=True, help="Where the simulators keep their data, faults and request logs.")
@click.option("--api-key", "api_keys", multiple=True, metavar="KEY:CC:PARTY",
              help="Register a SIEM API key for a party (default: the demo key for CO:ABC).")
@click.option("--token-ttl", default=3600, show_default=True, help="Lifetime of issued tokens in seconds.")
@guarded
def sandbox_serve(port: int, host: str, data_dir: Path, api_keys: tuple[str, ...], token_ttl: int) -> None:
    """Serve the platform simulators over HTTP on this machine."""
    from reconciler.sandbox import serve

    keys: dict[str, tuple[str, str]] = {}
    for item in api_keys:
        parts = item.rsplit(":", 2)
        if len(parts) != 3:
            raise DiagnosticError.single(f"--api-key takes KEY:CC:PARTY, got {len(item)} characters without that shape")
        keys[parts[0]] = (parts[1], parts[2])
    console.out(f"Serving the SIEM simulator at http://{host}:{port}/siem/ocpi/2.2.1 (data in {data_dir}). "
                "Ctrl-C stops.", err=True)
    from reconciler.sandbox.sec_catalogue import DEMO_ACCOUNTS

    demo = ", ".join(f"{a.upper()} {rut} / {pw}" for a, (rut, pw) in DEMO_ACCOUNTS.items())
    console.out(f"Serving the SEC simulator at http://{host}:{port}/sec (demo accounts: {demo}).", err=True)
    console.out(f"Serving the ChileMedido simulator at http://{host}:{port}/chilemedido/api/v1 (output API: "
                f"/chilemedido/output; a demo refresh token is written to {data_dir}/{serve.MEDIDO_TOKEN_FILE}).",
                err=True)
    serve.serve(data_dir, host=host, port=port, siem_api_keys=keys or None, token_ttl=token_ttl)


def _sec_sandbox_dir(config: Path, state_file: Path | None, data_dir: Path | None) -> Path:
    return data_dir if data_dir is not None else runtime.sandbox_dir(runtime.state_path(config, state_file))


sec_data_option = click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
                               help="The sandbox's data directory (default: the embedded sandbox's for CONFIG, "
                                    ".reconciler/sandbox beside the state file).")


@sandbox.command("sec-catalogue")
@click.argument("config", metavar="[DIR]", type=click.Path(path_type=Path), default=".")
@sec_data_option
@state_option
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
@click.option("--import-commands", is_flag=True,
              help="Print the `reconciler import` commands for the tariffs whose IDs the state lacks (created "
                   "without an ID in the answer, or pending), matched by connector and order_number.")
@guarded
def sandbox_sec_catalogue(config: Path, data_dir: Path | None, state_file: Path | None, as_json: bool,
                          import_commands: bool) -> None:
    """What the SEC web site shows the sandbox's demo operator: its EVSEs, connectors and tariffs with
    the IDs (evse_uid, connector_id, tariff_id) to bind with `reconciler import`."""
    from reconciler.sandbox import sec_catalogue

    box = _sec_sandbox_dir(config, state_file, data_dir)
    try:
        stations = sec_catalogue.read(box)
    except sec_catalogue.StoreLockedError as exc:
        raise DiagnosticError.single(str(exc)) from None
    if import_commands:
        with _opened(config, state_file) as store:
            st = store.load()
        unknown = []
        for addr, rs in sorted(st.resources.items()):
            body = (rs.pending.request.get("body") if rs.pending else None) or {}
            cid = rs.meta.get("connector_id") or body.get("connector_id")
            order = rs.attributes.get("order_number") or body.get("order_number")
            if ".tariff." in addr and not (rs.platform_id and rs.status == "applied") and cid and order:
                unknown.append((addr, int(cid), int(order), rs.status == "pending"))
        tail = "" if config == Path(".") else f" {shlex.quote(str(config))}"
        state_tail = "" if config == Path(".") else f" --config {shlex.quote(str(config))}"
        bound = {rs.platform_id for rs in st.resources.values() if rs.platform_id and rs.status == "applied"}
        for line in sec_catalogue.import_commands(stations, unknown, bound, tail, state_tail):
            console.out(line)
        return
    if as_json:
        console.out(json.dumps(stations, indent=2, ensure_ascii=False))
    else:
        console.out(f"SEC sandbox catalogue (data in {box}): what the SEC web site shows\n", nl=True)
        console.out(sec_catalogue.render(stations), nl=False)


@sandbox.command("sec-settings")
@click.argument("config", metavar="[DIR]", type=click.Path(path_type=Path), default=".")
@sec_data_option
@state_option
@click.option("--tariff-id-in-response/--no-tariff-id-in-response", default=None,
              help="Whether POST /tariffs answers with the new tariff_id (the SEC guide's sample does not; "
                   "default: not).")
@guarded
def sandbox_sec_settings(config: Path, data_dir: Path | None, state_file: Path | None,
                         tariff_id_in_response: bool | None) -> None:
    """Show or change the SEC simulator's switches (kept in sec.settings.json in its data directory)."""
    from reconciler.sandbox import sec_catalogue

    settings = sec_catalogue.Settings(_sec_sandbox_dir(config, state_file, data_dir) / "sec.settings.json")
    values = settings.update(tariff_id_in_response=tariff_id_in_response) if tariff_id_in_response is not None \
        else settings.get()
    console.out(json.dumps(values, indent=2))


cli.add_command(medido_cli.medido)
cli.add_command(github_cli.github_group)


def main() -> None:
    # The collector is paused while the long-lived data is built and frozen afterwards
    # (`core.gcpause`); raising its thresholds as well saves nothing measurable
    # (benchmarks/tricks.py), so they keep their defaults.
    runtime.exit_after_command()
    try:
        cli(prog_name="reconciler")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    _exit(code)


def _exit(code: int) -> None:
    """End the process without tearing down the heap one object at a time. With
    `runtime.keep_until_exit` this saves about 0.3 s of CPU (median; 6 %) of a `plan --no-refresh`
    at 10,000 stations, as `benchmarks/tricks.py` measures with and without each. Everything that
    must outlive the process is already on disk: state writes are fsynced before a command
    returns; here the sandboxes, logs and output are closed and flushed first."""
    try:
        runtime.close_sandboxes()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    finally:
        os._exit(code)


if __name__ == "__main__":
    main()
