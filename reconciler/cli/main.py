"""The `reconciler` command: validate, plan, apply, show, import, schema, state, force-unlock, sandbox.

This module is the root group and its wiring; the commands live in `plan_cmds`, `state_cmds`,
`sandbox_cmds` and `github`, and each platform's own commands come from the provider registry.
Errors are printed as diagnostics (file, line, field) with exit code 1, never as a traceback
(`options.guarded`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import click

from reconciler import __version__
from reconciler.cli import console, plan_cmds, runtime, sandbox_cmds, state_cmds
from reconciler.cli import github as github_cli
from reconciler.cli.options import ExitCode, config_dir_arg, guarded
from reconciler.providers import commands, registry

__all__ = ["ExitCode", "cli", "config_dir_arg", "guarded", "main"]


# What the platforms' own command groups use of the command line (`providers.commands`).
HOST = commands.Host(open_session=runtime.Session.open, open_store=runtime.open_store,
                     parse_duration=runtime.parse_duration, config_dir_arg=config_dir_arg, guarded=guarded,
                     out=console.out, diagnostics=console.diagnostics)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Declare EV charging stations, tariffs and meters in YAML; plan and apply them to the platforms."""
    ctx.obj = HOST
    runtime.setup_logging()


for _command in (plan_cmds.validate, plan_cmds.plan, plan_cmds.apply, plan_cmds.show, plan_cmds.schema_cmd,
                 state_cmds.import_, state_cmds.state, state_cmds.force_unlock, sandbox_cmds.sandbox):
    cli.add_command(_command)
for _group in registry.command_groups():
    cli.add_command(_group)
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
