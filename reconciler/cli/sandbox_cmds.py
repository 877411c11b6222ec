"""`reconciler sandbox ...`: the embedded platform simulators served, inspected and switched."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from reconciler.cli import console, runtime
from reconciler.cli.options import guarded, opened, state_option
from reconciler.core.diagnostics import DiagnosticError


@click.group()
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
    for line in serve.banner(data_dir, host=host, port=port):
        console.out(line, err=True)
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
        with opened(config, state_file) as store:
            st = store.load()
        unknown, bound = sec_catalogue.from_state(st)
        tail = "" if config == Path(".") else f" {shlex.quote(str(config))}"
        state_tail = "" if config == Path(".") else f" --config {shlex.quote(str(config))}"
        for line in sec_catalogue.import_commands(stations, unknown, bound, tail, state_tail):
            console.out(line)
        return
    if as_json:
        console.out(json.dumps(stations, indent=2, ensure_ascii=False))
    else:
        console.out(sec_catalogue.title(box), nl=True)
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

    settings = sec_catalogue.Settings.in_dir(_sec_sandbox_dir(config, state_file, data_dir))
    values = settings.update(tariff_id_in_response=tariff_id_in_response) if tariff_id_in_response is not None \
        else settings.get()
    console.out(json.dumps(values, indent=2))

