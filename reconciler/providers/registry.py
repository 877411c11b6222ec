"""Which provider serves which platform type. The engine asks here; nothing else names the classes.

`connector` is how the providers reach their platforms (`connection`): the network by default;
the CLI passes one that also serves `url: sandbox` from the in-process simulators."""

from __future__ import annotations

from reconciler.config import models
from reconciler.core.diagnostics import DiagnosticError
from reconciler.providers.base import Provider
from reconciler.providers.connection import Connector


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
