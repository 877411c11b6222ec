"""Which platforms' connection settings a configuration changes compared with another (the base branch).

A platform's connection settings are everything that decides where requests go and what goes
with them: `url` (also of nested blocks such as ChileMedido's `output`), every credential (any
secret field: API key, token, refresh token, SEC usernames and passwords), and every file setting
(client certificate and key, CA bundle, token cache), compared by path and by content. Other
settings (party, VAT handling, concurrency) are not. Secrets are compared through their sha256,
never kept or shown.

`plan --connections-from BASE_DIR` uses `changed` on a pull request: a platform whose connection
settings differ from the base branch's (or that the base branch does not declare) is planned
without reading it, so no credential is ever sent where the pull request points before review.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from reconciler.config import models

_SKIP = frozenset({"name"})


def _file(value: Path, root: Path) -> tuple[str, str]:
    path = value.expanduser()
    full = path if path.is_absolute() else root / path
    try:
        shown = str(full.resolve().relative_to(root.resolve()))
    except ValueError:
        shown = str(full)
    try:
        content = hashlib.sha256(full.read_bytes()).hexdigest()
    except OSError:
        content = "missing"
    return shown, content


def settings(model: BaseModel, root: Path, prefix: str = "") -> dict[str, Any]:
    """field path -> comparable value of every connection setting of a platform (secrets hashed)."""
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name in _SKIP:
            continue
        value = getattr(model, name)
        key = prefix + name
        if isinstance(value, SecretStr):
            out[key] = "sha256:" + hashlib.sha256(value.get_secret_value().encode()).hexdigest()
        elif isinstance(value, Path):
            out[key] = _file(value, root)
        elif isinstance(value, BaseModel):
            out.update(settings(value, root, key + "."))
        elif name in ("url", "type"):
            out[key] = value
        elif value is None and any(t in str(type(model).model_fields[name].annotation)
                                   for t in ("SecretStr", "Path", "Account", "OutputApi")):
            out[key] = None
    return out


def changed(config: models.Config, base: models.Config | None, base_error: str | None = None) -> dict[str, str]:
    """platform name -> why it must not be read (its connection settings are not the base branch's)."""
    out: dict[str, str] = {}
    for name, platform in config.platforms.items():
        if base is None:
            out[name] = (f"the base branch's configuration could not be read ({base_error})" if base_error
                         else "the base branch has no configuration here")
            continue
        theirs = base.platforms.get(name)
        if theirs is None:
            out[name] = "the base branch does not declare this platform"
            continue
        mine, known = settings(platform, config.root), settings(theirs, base.root)
        fields = sorted(k for k in mine.keys() | known.keys() if mine.get(k) != known.get(k))
        if fields:
            out[name] = "this pull request changes its connection settings (" + ", ".join(fields) + ")"
    return out
