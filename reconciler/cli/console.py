"""Console output for the CLI: colour only on terminals and without NO_COLOR, secrets always blanked."""

from __future__ import annotations

import os
import sys
from typing import IO

import click

from reconciler.core.diagnostics import Diagnostic, Severity
from reconciler.core.redact import redact


def use_color(stream: IO[str] | None = None, flag: bool | None = None) -> bool:
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def out(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    click.echo(redact(text), err=err, nl=nl)


def diagnostic(d: Diagnostic, color: bool = False) -> None:
    text = redact(d.render())
    if color:
        fg = {"error": "red", "warning": "yellow", "info": "cyan"}[d.severity.value]
        head, _, rest = text.partition(":")
        text = click.style(head + ":", fg=fg, bold=True) + rest
    click.echo(text, err=True)


SCREEN = 20  # diagnostics printed before the rest are summarised


def diagnostics(ds: list[Diagnostic], color: bool = False) -> None:
    """Print `ds` (info only with RECONCILER_VERBOSE); past a screenful, the rest are counted."""
    shown = [d for d in ds if d.severity is not Severity.INFO or os.environ.get("RECONCILER_VERBOSE")]
    limit = len(shown) if len(shown) <= SCREEN + 5 or os.environ.get("RECONCILER_VERBOSE") else SCREEN
    for d in shown[:limit]:
        diagnostic(d, color)
    rest = shown[limit:]
    if rest:
        n_err = sum(1 for d in rest if d.severity is Severity.ERROR)
        parts = [f"{n} more {word}{'s' if n != 1 else ''}" for n, word in
                 ((n_err, "error"), (len(rest) - n_err, "warning")) if n]
        click.echo(f"... and {' and '.join(parts)} (--json lists them all, as does RECONCILER_VERBOSE=1).",
                   err=True)
