"""A cache of parsed YAML files, keyed by their content, for large configurations.

Parsing YAML with line numbers is most of the time of a plan at national scale (about 0.6 ms per
station in libyaml alone). A file whose bytes did not change since the last run is read back from
the cache instead: `<cache>/<sha256>.bin`, written with `marshal` (plain data only; loading it runs
no code). The cache lives in `$RECONCILER_CACHE_DIR`, else `$XDG_CACHE_HOME/reconciler`, else
`~/.cache/reconciler`; `RECONCILER_NO_CACHE=1` turns it off. Small files are never cached.
Called by the loader only.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from reconciler import __version__
from reconciler.config.sources import SourceFile, SourceMap

MIN_BYTES = 64 * 1024
_FORMAT = 1


def cache_dir() -> Path | None:
    if os.environ.get("RECONCILER_NO_CACHE"):
        return None
    explicit = os.environ.get("RECONCILER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reconciler"


def _key(source: SourceFile) -> str:
    h = hashlib.sha256()
    h.update(f"{_FORMAT}:{__version__}:{yaml.__version__}:{source.rel}\0".encode())
    h.update(source.data)
    return h.hexdigest()


def get(source: SourceFile) -> tuple[object, SourceMap] | None:
    folder = cache_dir()
    if folder is None or len(source.data) < MIN_BYTES:
        return None
    try:
        raw = (folder / f"{_key(source)}.bin").read_bytes()
    except OSError:
        return None
    return decode(raw, source.rel)


def encode(data: object, smap: SourceMap) -> bytes:
    """A parsed file as bytes (marshal: plain data only, and far quicker than pickle)."""
    payload: Any = (data, smap.lines, smap.numbers)
    return marshal.dumps(payload)


def decode(blob: bytes, rel: str) -> tuple[object, SourceMap] | None:
    try:
        data, lines, numbers = marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return None
    return data, SourceMap(rel, lines, numbers)


def put(source: SourceFile, data: object, smap: SourceMap) -> None:
    put_encoded(source, encode(data, smap))


def put_encoded(source: SourceFile, blob: bytes) -> None:
    folder = cache_dir()
    if folder is None or len(source.data) < MIN_BYTES:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, folder / f"{_key(source)}.bin")
    except (OSError, ValueError):
        return  # a cache that cannot be written is only slower
