"""A cache of parsed YAML files, keyed by their content and by the reader's code, for large configurations.

Parsing YAML with line numbers is most of the time of a plan at national scale. A file whose bytes
did not change since the last run is read back from the cache instead: `<cache>/<key>.bin`, the
parsed data and its line map written with `marshal`. The key is a SHA-256 of the file's bytes, its
path in the configuration, and everything that decides what a parse returns: the source of the
reader (`sources`, `fastyaml` and this module), the PyYAML version and whether libyaml is used, and
the interpreter's marshal format. A fix to the reader therefore never meets an entry written by the
reader before it.

Why it stays: `benchmarks/tricks.py` (and `siem_scale.py`) run `plan --no-refresh` at 10,000
stations with and without it: 5.3 s of CPU with the files cached, 8.2 s without (medians); the
cache takes a third off a plan after a plan.

Why reading it is safe: `marshal.loads` of the entries below builds plain data (dicts, lists,
tuples, strings, numbers, dates) and runs no code, but marshal is not made to withstand crafted
bytes (a malformed file can crash the interpreter). So an entry is read only if nobody but the
current user can have written it: the cache directory must belong to the user and be writable by
no one else (it is created 0700; a directory shared with others, e.g. under /tmp with wider
permissions, turns the cache off), and each entry must be a regular file of the user's, not a
link, opened relative to that directory. Anything else, or an entry that does not decode to the
expected shape, is ignored and parsed again. A cache directory restored from someone else's files
(a CI cache written by another branch's workflow) is trusted like any other file of the user's:
do not restore one from a source you would not run code from.

The cache lives in `$RECONCILER_CACHE_DIR`, else `$XDG_CACHE_HOME/reconciler`, else
`~/.cache/reconciler`; `RECONCILER_NO_CACHE=1` turns it off. Small files are never cached.
Called by the loader only.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import marshal
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from reconciler import __version__
from reconciler.config import fastyaml, sources
from reconciler.config.sources import SourceFile, SourceMap

MIN_BYTES = 64 * 1024
_FORMAT = 2
log = logging.getLogger("reconciler.parsecache")
# Ownership checks and directory-relative opens need POSIX; elsewhere the cache is off.
_SUPPORTED = hasattr(os, "geteuid") and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")


def cache_dir() -> Path | None:
    if os.environ.get("RECONCILER_NO_CACHE") or not _SUPPORTED:
        return None
    explicit = os.environ.get("RECONCILER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reconciler"


@functools.cache
def reader_digest() -> str:
    """What decides the result of a parse, hashed: the reader's code, PyYAML and marshal's format."""
    h = hashlib.sha256()
    h.update(f"{_FORMAT}:{__version__}:{yaml.__version__}:{getattr(yaml, '__with_libyaml__', False)}:"
             f"{sys.implementation.cache_tag}:{marshal.version}\0".encode())
    for module in (sources, fastyaml, sys.modules[__name__]):
        h.update(Path(str(module.__file__)).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _key(source: SourceFile) -> str:
    h = hashlib.sha256()
    h.update(f"{reader_digest()}:{source.rel}\0".encode())
    h.update(source.data)
    return h.hexdigest()


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _open_dir(folder: Path, create: bool) -> int | None:
    """A descriptor of the cache directory if it is the user's own, else None (cache off)."""
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    if not _private(os.fstat(fd)):
        os.close(fd)
        log.debug("parse cache %s is not private to this user: not used", folder)
        return None
    return fd


def get(source: SourceFile) -> tuple[object, SourceMap] | None:
    folder = cache_dir()
    if folder is None or len(source.data) < MIN_BYTES:
        return None
    dfd = _open_dir(folder, create=False)
    if dfd is None:
        return None
    try:
        fd = os.open(f"{_key(source)}.bin", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
    except OSError:
        return None
    finally:
        os.close(dfd)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or not _private(st):
            log.debug("parse cache entry for %s is not the user's own file: not used", source.rel)
            return None
        try:
            raw = fh.read()
        except OSError:
            return None
    return decode(raw, source.rel)


def encode(data: object, smap: SourceMap) -> bytes:
    """A parsed file as bytes (marshal: plain data only, and far quicker than pickle)."""
    payload: Any = (data, smap.lines, smap.numbers)
    return marshal.dumps(payload)


def decode(blob: bytes, rel: str) -> tuple[object, SourceMap] | None:
    try:
        payload = marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(payload, tuple) and len(payload) == 3 and isinstance(payload[1], dict)
            and isinstance(payload[2], dict)):
        return None
    data, lines, numbers = payload
    return data, SourceMap(rel, lines, numbers)


def put(source: SourceFile, data: object, smap: SourceMap) -> None:
    put_encoded(source, encode(data, smap))


def put_encoded(source: SourceFile, blob: bytes) -> None:
    folder = cache_dir()
    if folder is None or len(source.data) < MIN_BYTES:
        return
    dfd = _open_dir(folder, create=True)
    if dfd is None:
        return
    tmp = f".tmp-{secrets.token_hex(8)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, f"{_key(source)}.bin", src_dir_fd=dfd, dst_dir_fd=dfd)
    except (OSError, ValueError):
        # A cache that cannot be written is only slower.
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
    finally:
        os.close(dfd)
