"""Which provider serves which platform type, and which commands the platforms add to the command
line. The engine and the command line ask here; nothing else names the classes.

`connector` is how the providers reach their platforms (`connection`): the network by default;
the CLI passes one that also serves `url: sandbox` from the in-process simulators.

`command_groups()` are the platforms' own command groups (`providers.commands`), which the
command line adds to its root group as they are."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.config import models
from reconciler.core.diagnostics import DiagnosticError
from reconciler.providers.base import Provider
from reconciler.providers.commands import ProviderGroup
from reconciler.providers.connection import Connector

if TYPE_CHECKING:
    import click


def build(platform: models.Platform, *, connector: Connector | None = None) -> Provider:
    if platform.type in ("siem", "ocpi"):
        from reconciler.providers.siem.provider import SiemProvider

        return SiemProvider(platform, connector=connector)
    if platform.type == "chilemedido":
        from reconciler.providers.chilemedido.provider import MedidoProvider

        return MedidoProvider(platform, connector=connector)
    if platform.type == "sec":
        from reconciler.providers.sec.provider import SecProvider

        return SecProvider(platform, connector=connector)
    raise DiagnosticError.single(
        f"platform '{platform.name}': the platform type '{platform.type}' is not supported by this release",
        field=f"platforms.{platform.name}.type")


SUPPORTED_TYPES = ("siem", "ocpi", "chilemedido", "sec")


def command_groups() -> list[click.Group]:
    """The command groups the platforms' packages contribute, one per package that has any."""
    from reconciler.providers.chilemedido.commands import medido

    return [medido]


def manual_action_commands() -> list[tuple[str, ...]]:
    """The words that start each platform command a plan's manual actions name (from the groups)."""
    return [words for group in command_groups() if isinstance(group, ProviderGroup)
            for words in group.manual_action_words()]
