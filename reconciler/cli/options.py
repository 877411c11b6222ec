"""What the command modules share: the error guard, the common options and opening the state.

`guarded` turns diagnostics into messages and exit code 1 (never a traceback); `ExitCode` ends a
command with another code once its own message is printed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.cli import console, runtime
from reconciler.core.diagnostics import DiagnosticError
from reconciler.render import jsonout
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


def announce(handle: Any) -> None:
    """What taking the state lock met: an interrupted run's leftovers, and how long it waited."""
    console.diagnostics(handle.warnings)
    if handle.waited >= 0.05:
        console.out(f"Waited {handle.waited:.1f}s for the state lock.", err=True)


@contextlib.contextmanager
def opened(config: Path, state_file: Path | None) -> Iterator[Backend]:
    """The state store for the configuration in `config` (or `state_file`), closed afterwards."""
    store = runtime.open_store(config, state_file)
    try:
        yield store
    finally:
        store.close()

