"""Credential references: `${env:NAME}` and `${file:path}`, allowed only in credential fields.

`loader` calls `misplaced` on every file and `resolve_platform` on every platform block before
validation. A resolved value becomes a `SecretStr` and is registered with `core.redact`, so it is
blanked out of every output; no message built here ever contains a secret value, only variable
names and paths. With `url: sandbox` a missing credential is a warning (the simulators have demo
credentials) and a literal value is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pydantic import SecretStr

from reconciler.config.sources import PathT, SourceMap, format_path
from reconciler.core import redact
from reconciler.core.diagnostics import Diagnostic

PLATFORM_SECRETS = ("api_key", "token", "refresh_token", "client_cert", "client_key")
ACCOUNT_SECRETS = ("username", "password")
ACCOUNTS = ("opc", "pse")
OUTPUT_API = "output"   # ChileMedido's output API block: {url, token}
PATH_SECRETS = frozenset({"client_cert", "client_key"})  # resolve to a checked absolute path
CREDENTIAL_FIELDS = (*PLATFORM_SECRETS[:3], "username", "password", *PLATFORM_SECRETS[3:], "state.url")

REFERENCE = re.compile(r"\$\{(env|file):([^}]*)\}")
_ANY_REFERENCE = re.compile(r"\$\{[^}]*\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPTIONAL_CODE = "credentials.optional"   # the code of the warning `optional_credentials` turns a missing one into
_OPTIONAL: ContextVar[str | None] = ContextVar("reconciler_credentials_optional", default=None)


@contextmanager
def optional_credentials(why: str) -> Iterator[None]:
    """While active, a credential that is not available is a warning ending with `why`, not an
    error: for commands that never talk to the platforms (`validate`, `plan --no-refresh`)."""
    token = _OPTIONAL.set(why)
    try:
        yield
    finally:
        _OPTIONAL.reset(token)


def is_credential(path: PathT) -> bool:
    """`platforms.<name>.api_key`, `platforms.<name>.opc.password`, ..., `state.url`"""
    if path == ("state", "url"):
        return True
    if len(path) == 3 and path[0] == "platforms":
        return path[2] in PLATFORM_SECRETS
    if len(path) == 4 and path[0] == "platforms":
        return (path[2] in ACCOUNTS and path[3] in ACCOUNT_SECRETS) or (path[2] == OUTPUT_API and path[3] == "token")
    return False


def misplaced(data: object, smap: SourceMap, path: PathT = ()) -> list[Diagnostic]:
    """An error for every `${env:}`/`${file:}` reference outside a credential field."""
    out: list[Diagnostic] = []
    if isinstance(data, dict):
        for key, value in data.items():
            out += misplaced(value, smap, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += misplaced(value, smap, (*path, i))
    elif isinstance(data, str) and REFERENCE.search(data) and not is_credential(path):
        out.append(_diag(f"secret references are only allowed in credential fields "
                         f"({', '.join(CREDENTIAL_FIELDS)})", smap, path))
    return out


def resolve_platform(name: str, raw: dict[str, object], smap: SourceMap,
                     yaml_dir: Path) -> tuple[dict[str, object], list[Diagnostic], list[Diagnostic]]:
    """The platform block with credentials resolved; (block, errors, warnings)."""
    sandbox = raw.get("url") == "sandbox"
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    out = dict(raw)
    base: PathT = ("platforms", name)
    for key in PLATFORM_SECRETS:
        if key in out:
            out[key] = _resolve(out[key], key, (*base, key), sandbox, smap, yaml_dir, errors, warnings)
    for account in ACCOUNTS:
        block = out.get(account)
        if isinstance(block, dict):
            block = dict(block)
            for key in ACCOUNT_SECRETS:
                if key in block:
                    path = (*base, account, key)
                    block[key] = _resolve(block[key], key, path, sandbox, smap, yaml_dir, errors, warnings)
            out[account] = block
    block = out.get(OUTPUT_API)
    if isinstance(block, dict) and "token" in block:
        path = (*base, OUTPUT_API, "token")
        sandbox_output = block.get("url") == "sandbox"
        out[OUTPUT_API] = {**block, "token": _resolve(block["token"], "token", path, sandbox_output, smap, yaml_dir,
                                                      errors, warnings)}
    return out, errors, warnings


def resolve_value(value: object, key: str, path: PathT, smap: SourceMap, yaml_dir: Path,
                  errors: list[Diagnostic], warnings: list[Diagnostic]) -> object:
    """One credential outside a platform block (the state URL): resolved like a platform's."""
    return _resolve(value, key, path, False, smap, yaml_dir, errors, warnings)


def _resolve(value: object, key: str, path: PathT, sandbox: bool, smap: SourceMap, yaml_dir: Path,
             errors: list[Diagnostic], warnings: list[Diagnostic]) -> object:
    if value is None:
        return None
    match = REFERENCE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        if isinstance(value, str) and _ANY_REFERENCE.search(value):
            errors.append(_diag("a credential must be exactly one reference, ${env:NAME} or ${file:path}, "
                                "with nothing around it", smap, path))
        elif not sandbox:
            errors.append(_diag("put secrets in the environment or a file: ${env:NAME} or ${file:path}",
                                smap, path))
        return value  # a literal is fine for the sandbox
    scheme, arg = match.group(1), match.group(2).strip()
    if scheme == "env":
        if not _ENV_NAME.fullmatch(arg):
            errors.append(_diag(f"'{arg}' is not an environment variable name", smap, path))
            return None
        resolved, missing = os.environ.get(arg) or None, f"{arg} is not set"
        if resolved is not None and key in PATH_SECRETS:
            file = Path(resolved).expanduser().resolve()
            resolved, missing = _existing_file(file, f"the file named by {arg} does not exist ({file})")
    else:
        if not arg:
            errors.append(_diag("${file:} needs a path", smap, path))
            return None
        file = (yaml_dir / Path(arg).expanduser()).resolve()
        if key in PATH_SECRETS:
            resolved, missing = _existing_file(file, f"{arg} does not exist ({file})")
        else:
            resolved, missing = _read_secret(file, arg)
    if resolved is None:
        if sandbox:
            warnings.append(Diagnostic.warning(f"{missing}; the sandbox's demo credentials are used",
                                               file=smap.file, line=smap.line(path), field=format_path(path),
                                               code="credentials.demo", params={"missing": missing}))
        elif _OPTIONAL.get() is not None:
            warnings.append(Diagnostic.warning(f"{missing}; {_OPTIONAL.get()}", file=smap.file,
                                               line=smap.line(path), field=format_path(path),
                                               code=OPTIONAL_CODE, params={"missing": missing}))
        else:
            errors.append(_diag(missing, smap, path))
        return None
    if key in PATH_SECRETS:
        return resolved
    redact.register(resolved)
    return SecretStr(resolved)


def _existing_file(file: Path, missing: str) -> tuple[str | None, str]:
    return (str(file), "") if file.is_file() else (None, missing)


def _read_secret(file: Path, arg: str) -> tuple[str | None, str]:
    try:
        text = file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, f"{arg} does not exist ({file})"
    except (OSError, UnicodeDecodeError) as e:
        return None, f"cannot read {arg} ({file}): {getattr(e, 'strerror', None) or type(e).__name__}"
    return (text, "") if text else (None, f"{arg} is empty ({file})")


def _diag(summary: str, smap: SourceMap, path: PathT) -> Diagnostic:
    return Diagnostic.error(summary, file=smap.file, line=smap.line(path), field=format_path(path))
