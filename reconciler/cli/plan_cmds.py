"""`reconciler validate`, `plan`, `apply`, `show` and `schema`: the configuration checked, planned and
applied, and a saved plan printed.

Each command parses its arguments, calls the engine and hands the result to a renderer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from reconciler.cli import console, runtime
from reconciler.cli.options import (
    ExitCode,
    announce,
    color_option,
    guarded,
    lock_timeout_option,
    state_option,
)
from reconciler.config import connections, secrets
from reconciler.core import gcpause, progress
from reconciler.core.addresses import Address
from reconciler.core.diagnostics import Diagnostic, DiagnosticError, Severity
from reconciler.core.redact import redact
from reconciler.engine import executor, planner, review
from reconciler.gitops import context
from reconciler.plans import planfile
from reconciler.plans.model import Plan, PlanSource
from reconciler.render import i18n, jsonout, markdown, text
from reconciler.state.model import State


# --- validate -----------------------------------------------------------------------------------
@click.command()
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
    if not session.check_early_reads(state):
        console.out("The state changed while the platforms were being read (another apply recorded changes): "
                    "they are read again.", err=True)
    req = planner.PlanRequest(config=session.config, state=state, state_path=session.store.location,
                              providers=session.providers, targets=targets, refresh=refresh,
                              allow_mass_recreate=allow_mass_recreate, skip_refresh=skip_refresh or {},
                              validated=session.validated)
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


@click.command()
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
              help="Language of the text plan and the --markdown comment.")
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
        announce(handle)
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
        console.out(text.render(doc, color=console.use_color(sys.stdout, color), lang=lang), nl=False)
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


@click.command()
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
        announce(handle)
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
            console.out(text.render(jsonout.display_document(the_plan), color=paint), nl=False)
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
@click.command()
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
@click.command("schema")
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

