"""Which provider serves which platform type. The engine asks here; nothing else names the classes."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import models
from reconciler.core.diagnostics import DiagnosticError
from reconciler.providers.base import Provider


def build(platform: models.Platform, *, sandbox_dir: Path | None) -> Provider:
    if platform.type in ("siem", "ocpi"):
        from reconciler.providers.siem.provider import SiemProvider

        return SiemProvider(platform, sandbox_dir=sandbox_dir)
    if platform.type == "chilemedido":
        from reconciler.providers.chilemedido.provider import MedidoProvider

        return MedidoProvider(platform, sandbox_dir=sandbox_dir)
    if platform.type == "sec":
        from reconciler.providers.sec.provider import SecProvider

        return SecProvider(platform, sandbox_dir=sandbox_dir)
    raise DiagnosticError.single(
        f"platform '{platform.name}': the platform type '{platform.type}' is not supported by this release",
        field=f"platforms.{platform.name}.type")


SUPPORTED_TYPES = ("siem", "ocpi", "chilemedido", "sec")
