"""Command groups a platform's package adds to the command line, and what they need from it.

The registry lists the groups (`registry.command_groups`); the command line adds each to its root
group. The command line sits above the providers, so a platform's commands never import it: it
lends them what they use (opening a session or the state, printing, its error guard) as a `Host`
on the click context, which a command takes with `host()` when it runs.

A `ProviderGroup` names its `manual_actions`: the subcommands a plan's manual actions tell the user
to run (`reconciler github settle` runs them from CI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from reconciler.config import models
from reconciler.core.diagnostics import Diagnostic
from reconciler.providers.base import Provider
from reconciler.state.store import Backend

T = TypeVar("T")


class Session(Protocol):
    """One command's configuration, state store and providers, and the event loop they run on."""

    config: models.Config
    store: Backend
    providers: dict[str, Provider]

    def run(self, fn: Callable[[], Awaitable[T]]) -> T: ...


@dataclass(frozen=True)
class Host:
    """What the command line lends a platform's commands.

    - `open_session(config_dir, state_file)`: the configuration loaded and its providers built.
    - `open_store(config_dir, state_file)`: the state store alone (close it when done).
    - `parse_duration(text)`: a `--lock-timeout` value in seconds.
    - `config_dir_arg(positional, legacy)`: the configuration directory from DIR or `--config DIR`.
    - `guarded(fn)`: `fn` with diagnostics printed as messages and exit code 1, never a traceback.
    - `out(text)` and `diagnostics(ds)`: print, with secrets blanked.
    """

    open_session: Callable[[Path, Path | None], AbstractContextManager[Session]]
    open_store: Callable[[Path, Path | None], Backend]
    parse_duration: Callable[[str], float]
    config_dir_arg: Callable[[Path | None, Path | None], Path]
    guarded: Callable[[Callable[[], None]], Callable[[], None]]
    out: Callable[[str], None]
    diagnostics: Callable[[list[Diagnostic]], None]


def host() -> Host:
    """The `Host` of the command line running the current command."""
    found = click.get_current_context().find_object(Host)
    if found is None:
        raise RuntimeError("a platform's command runs only under the reconciler command line")
    return found


class ProviderGroup(click.Group):
    """A platform's command group; `manual_actions` names the subcommands a plan's manual actions use."""

    def __init__(self, name: str, *, manual_actions: tuple[str, ...] = (), **attrs: Any) -> None:
        super().__init__(name, **attrs)
        self.manual_actions = manual_actions

    def manual_action_words(self) -> list[tuple[str, ...]]:
        """The words that start each manual-action command, e.g. `("medido", "resolve")`."""
        return [(str(self.name), sub) for sub in self.manual_actions]
