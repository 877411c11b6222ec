"""`load_config`: a directory (or one file) of YAML in, a validated `models.Config` out.

Called by the CLI (`validate`, `plan`, `apply`) and the engine. Steps: discover and parse the
files (`sources`), check top-level keys, merge (lists concatenated, platforms by name), resolve
credentials (`secrets`), validate each object on its own (`validation` turns pydantic errors into
Diagnostics), attach source locations, cross-check (`checks`). Every error found on the way is
collected; if there is any, one `DiagnosticError` carries them all (warnings included).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from reconciler.config import checks, models, parsecache, secrets, sources, validation
from reconciler.config.base import ConfigModel, attach_sources
from reconciler.config.sources import PathT, SourceMap, format_path
from reconciler.core import redact
from reconciler.core.diagnostics import Diagnostic, DiagnosticError, Severity

M = TypeVar("M", bound=ConfigModel)
_LISTS = {"tariffs": "tariff", "stations": "station", "meters": "meter", "import": "import block"}


@dataclass
class _Item:
    """One object as written: its data and where (file, path within the file)."""

    data: object
    smap: SourceMap
    path: PathT
    yaml_dir: Path


@dataclass
class _Collected:
    platforms: dict[str, _Item] = field(default_factory=dict)
    lists: dict[str, list[_Item]] = field(default_factory=lambda: {k: [] for k in _LISTS})
    review: _Item | None = None
    state: _Item | None = None
    failed: dict[str, int] = field(default_factory=lambda: {k: 0 for k in _LISTS})  # items that did not build


def load_config(path: Path, *, meanwhile: Callable[[], None] | None = None) -> models.Config:
    """Load, merge and validate the config at `path`; raise DiagnosticError with every error.

    `meanwhile` is called while worker processes parse YAML (when they do), to use the wait.
    """
    root, files = sources.discover(Path(path))
    diags: list[Diagnostic] = []
    collected = _Collected()
    tariffs: list[models.Tariff] = []
    stations: list[models.Station] = []
    # Files arrive in order as they are parsed (or found in the cache); each one's stations and
    # tariffs are built while the next files are still being parsed.
    for source, (data, smap, parse_errors) in zip(files, _parse_all(files, meanwhile), strict=True):
        diags += parse_errors
        if data is not None:
            # A file without "${" cannot hold a misplaced secret reference: skip walking every value.
            _collect(data, smap, source.path.parent, collected, diags, scan_secrets=b"${" in source.data)
        tariffs += _build_all(models.Tariff, collected.lists["tariffs"][len(tariffs) + collected.failed["tariffs"]:],
                              diags, collected.failed, "tariffs")
        stations += _build_all(models.Station,
                               collected.lists["stations"][len(stations) + collected.failed["stations"]:],
                               diags, collected.failed, "stations")

    platforms = {}
    for name, item in collected.platforms.items():
        platform = _platform(name, item, diags)
        if platform is not None:
            platforms[name] = platform
    meters = _build_all(models.Meter, [_with_paths(i, "measurements", "path") for i in collected.lists["meters"]],
                        diags)
    imports = _build_all(models.ImportBlock, collected.lists["import"], diags)
    review = _build(models.Review, collected.review, diags) if collected.review else None
    state = _state(collected.state, diags) if collected.state else None
    # A tariff in error is reported once, where it is written; what refers to it is not "unknown".
    built_ids = {t.id for t in tariffs}
    broken_tariffs = frozenset(str(i.data["id"]) for i in collected.lists["tariffs"]
                               if isinstance(i.data, dict) and isinstance(i.data.get("id"), str | int)
                               and str(i.data["id"]) not in built_ids)
    diags += checks.check(platforms, tariffs, stations, meters, imports,
                          unbuilt=frozenset(collected.platforms) - frozenset(platforms), broken_tariffs=broken_tariffs)
    diags += checks.check_review(review, tariffs, broken_tariffs)

    # Stations and tariffs are built as their files arrive, possibly before the platform whose
    # credential a message quotes was resolved: blank every secret known now.
    diags = [dataclasses.replace(d, summary=redact.redact(d.summary), detail=redact.redact(d.detail))
             for d in diags]
    errors = sorted((d for d in diags if d.severity is Severity.ERROR), key=_order)
    warnings = sorted((d for d in diags if d.severity is not Severity.ERROR), key=_order)
    if errors:
        raise DiagnosticError(errors + warnings)
    return models.Config(
        root=root, files=[f.path for f in files], digest=sources.digest(files),
        platforms=platforms,
        tariffs={t.id: t for t in tariffs},
        stations={s.id: s for s in stations},
        meters=meters, imports=imports, review=review, warnings=warnings, state=state,
    )


_PLATFORMS_KEY = re.compile(rb"^platforms[ \t]*:", re.MULTILINE)


def load_platforms(path: Path | str) -> dict[str, models.Platform] | None:
    """Only the `platforms:` of a configuration, read from the few files that declare them.

    Lets a plan start reading the platforms while the rest of a large configuration loads. Returns
    None when that cannot be done cheaply and surely (no file declares `platforms:` at the top
    level, or anything in them is wrong): `load_config` then reports everything as usual.
    """
    try:
        _, files = sources.discover(Path(path))
    except DiagnosticError:
        return None
    chosen = [f for f in files if _PLATFORMS_KEY.search(f.data)]
    if not chosen:
        return None
    collected = _Collected()
    diags: list[Diagnostic] = []
    for f in chosen:
        data, smap, errors = sources.parse(f)
        if errors or not isinstance(data, dict) or not isinstance(data.get("platforms"), dict):
            return None
        _collect({"platforms": data["platforms"]}, smap, f.path.parent, collected, diags)
    platforms = {name: _platform(name, item, diags) for name, item in collected.platforms.items()}
    if any(d.severity is Severity.ERROR for d in diags) or any(p is None for p in platforms.values()):
        return None
    return {name: p for name, p in platforms.items() if p is not None}


_STATE_KEY = re.compile(rb"^state[ \t]*:", re.MULTILINE)


def load_state_settings(path: Path | str) -> models.StateSettings | None:
    """Only the `state:` block of a configuration (None: there is none, the state is local).

    Read before the rest of the configuration, to know where the state is while it loads. Errors
    in the block raise DiagnosticError with file, line and field; errors elsewhere are left to
    `load_config`.
    """
    _, files = sources.discover(Path(path))
    collected = _Collected()
    diags: list[Diagnostic] = []
    for f in files:
        if not _STATE_KEY.search(f.data):
            continue
        data, smap, errors = sources.parse(f)
        if errors or not isinstance(data, dict) or "state" not in data:
            continue  # load_config reports the file's own errors
        _collect({"state": data["state"]}, smap, f.path.parent, collected, diags)
    settings = _state(collected.state, diags) if collected.state else None
    errors_found = [d for d in diags if d.severity is Severity.ERROR]
    if errors_found:
        raise DiagnosticError(sorted(diags, key=_order))
    return settings


def _state(item: _Item, diags: list[Diagnostic]) -> models.StateSettings | None:
    """The `state:` block, its URL resolved from the environment or a file (never written in YAML)."""
    raw = item.data
    if not isinstance(raw, dict):
        return None
    raw = dict(raw)
    url_path: PathT = ("state", "url")
    if raw.get("url") is not None:
        errors: list[Diagnostic] = []
        warnings: list[Diagnostic] = []
        raw["url"] = secrets.resolve_value(raw["url"], "url", url_path, item.smap, item.yaml_dir, errors, warnings)
        diags += errors + warnings
        if errors:
            return None
    built = _build(models.StateSettings, _Item(raw, item.smap, item.path, item.yaml_dir), diags)
    if built is None:
        return None
    if built.backend == "postgres":
        if "url" not in raw:
            diags.append(_error("backend: postgres needs url: ${env:RECONCILER_STATE_URL} (postgresql://...)",
                                item.smap, url_path))
            return None
        if built.url is not None:
            scheme = built.url.get_secret_value().partition("://")[0]
            if scheme not in ("postgresql", "postgres"):
                diags.append(_error("the state URL must start with postgresql:// "
                                    "(postgresql://user@host:5432/database); the value is not shown",
                                    item.smap, url_path))
                return None
    return built


# Parsing YAML is most of the time of a large configuration: large multi-file configurations are
# parsed on every core. Below this size the process start-up costs more than it saves.
_PARALLEL_BYTES = 1 << 20


Parsed = tuple[object, SourceMap, list[Diagnostic]]


def _parse_all(files: list[sources.SourceFile], meanwhile: Callable[[], None] | None = None) -> Iterator[Parsed]:
    """Each file parsed, in order, as soon as it and the files before it are ready."""
    cached = [parsecache.get(f) for f in files]
    todo = [f for f, c in zip(files, cached, strict=True) if c is None]
    with _parse_many(todo, meanwhile) as parsed:
        for f, c in zip(files, cached, strict=True):
            if c is not None:
                yield c[0], c[1], []
                continue
            result = next(parsed)
            if isinstance(result, bytes):  # from a worker, already in the cache
                decoded = parsecache.decode(result, f.rel)
                assert decoded is not None, "a worker's parse did not decode"
                yield decoded[0], decoded[1], []
                continue
            data, smap, diags = result
            if not diags:
                parsecache.put(f, data, smap)
            yield data, smap, diags


def _parse_encoded(source: sources.SourceFile) -> bytes | Parsed:
    """In a worker: the parsed file encoded for the trip back (and written to the cache), or, when
    it has errors, as it is. Marshal bytes cost the main process a fraction of unpickling."""
    data, smap, diags = sources.parse(source)
    if diags:
        return data, smap, diags
    blob = parsecache.encode(data, smap)
    parsecache.put_encoded(source, blob)
    return blob


@contextlib.contextmanager
def _parse_many(files: list[sources.SourceFile],
                meanwhile: Callable[[], None] | None = None) -> Iterator[Iterator[bytes | Parsed]]:
    workers = min(len(files), os.cpu_count() or 1)
    if workers < 2 or sum(len(f.data) for f in files) < _PARALLEL_BYTES:
        yield (sources.parse(f) for f in files)
        return
    # fork is cheapest, but only safe from the main thread (a plan may load the config in a worker
    # thread while its event loop reads the platforms).
    in_main = threading.current_thread() is threading.main_thread()
    ctx = multiprocessing.get_context("fork" if in_main else "forkserver") if sys.platform == "linux" else None
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                                initializer=_yield_to_io) as pool:
        # In file order, so the first files can be built while the later ones are parsed.
        results = pool.map(_parse_encoded, files, chunksize=1)
        if meanwhile is not None:
            meanwhile()
        yield results


def _yield_to_io() -> None:
    """Parse workers run at a lower priority: a plan reads the platforms meanwhile, and each
    answer waiting for a core would stretch the whole read."""
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)


def _order(d: Diagnostic) -> tuple[str, int]:
    return d.file or "", d.line or 0


def _error(summary: str, smap: SourceMap, path: PathT, detail: str = "") -> Diagnostic:
    return Diagnostic.error(summary, detail=detail, file=smap.file, line=smap.line(path),
                            field=format_path(path) or None)


def _collect(data: object, smap: SourceMap, yaml_dir: Path, out: _Collected, diags: list[Diagnostic],
             scan_secrets: bool = True) -> None:
    if not isinstance(data, dict):
        diags.append(Diagnostic.error(
            "the top level of a config file must be a mapping with keys " + ", ".join(models.TOP_LEVEL_KEYS),
            file=smap.file, line=smap.line(())))
        return
    if scan_secrets:
        diags += secrets.misplaced(data, smap)
    for key, value in data.items():
        path: PathT = (key,)
        if key not in models.TOP_LEVEL_KEYS:
            hint = validation.did_you_mean(key, list(models.TOP_LEVEL_KEYS))
            diags.append(_error(f"unknown top-level key '{key}'{hint}", smap, path,
                                "" if hint else "valid keys: " + ", ".join(models.TOP_LEVEL_KEYS)))
        elif value is None:
            continue
        elif key in _LISTS:
            if not isinstance(value, list):
                diags.append(_error(f"expected a list of {_LISTS[key]}s (`- ...` items)", smap, path))
                continue
            out.lists[key] += [_Item(v, smap, (key, i), yaml_dir) for i, v in enumerate(value)]
        elif not isinstance(value, dict):
            diags.append(_error("expected a mapping (key: value)", smap, path))
        elif key in ("review", "state"):
            prior: _Item | None = getattr(out, key)
            if prior is not None:
                first = prior.smap
                diags.append(_error(f"{key} is defined twice: also at {first.file}:{first.line((key,))}",
                                    smap, path))
            else:
                setattr(out, key, _Item(value, smap, path, yaml_dir))
        else:
            for name, block in value.items():
                first_item = out.platforms.get(name)
                if first_item is not None:
                    where = f"{first_item.smap.file}:{first_item.smap.line(first_item.path)}"
                    diags.append(_error(f"platform '{name}' is defined twice: also at {where}",
                                        smap, ("platforms", name)))
                else:
                    out.platforms[name] = _Item(block, smap, ("platforms", name), yaml_dir)


def _platform(name: str, item: _Item, diags: list[Diagnostic]) -> models.Platform | None:
    smap, path = item.smap, item.path
    if not models.PLATFORM_NAME_RE.fullmatch(name):
        diags.append(_error(f"platform name '{name}' may hold only letters, digits, '-' and '_' "
                            "(it is used in addresses such as siem.location.BOG-001)", smap, path))
        return None
    if not isinstance(item.data, dict):
        diags.append(_error("expected a mapping (key: value) describing the platform", smap, path))
        return None
    raw = item.data
    ok = True
    if "name" in raw:
        diags.append(_error("unknown field 'name': a platform's name is its key under `platforms:`",
                            smap, (*path, "name")))
        ok = False
    kind = raw.get("type")
    types = list(models.PLATFORM_TYPES)
    if kind is None:
        diags.append(_error("missing required field 'type'", smap, (*path, "type"),
                            "expected one of: " + ", ".join(types)))
        return None
    if not isinstance(kind, str) or kind not in models.PLATFORM_TYPES:
        hint = validation.did_you_mean(str(kind), types)
        diags.append(_error(f"'{kind}' is not a valid type{hint}", smap, (*path, "type"),
                            "expected one of: " + ", ".join(types)))
        return None
    raw, errors, warnings = secrets.resolve_platform(name, raw, smap, item.yaml_dir)
    diags += errors + warnings
    for key in ("ca_bundle", "token_cache"):
        raw = _resolve_path(raw, key, item, diags, must_exist=key == "ca_bundle")
    model = _build(models.PLATFORM_TYPES[kind], _Item({**raw, "name": name}, smap, path, item.yaml_dir), diags)
    return model if ok else None


def _resolve_path(raw: dict[str, object], key: str, item: _Item, diags: list[Diagnostic],
                  must_exist: bool) -> dict[str, object]:
    """A path written in a YAML file is relative to that file."""
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        return raw
    resolved = (item.yaml_dir / Path(value).expanduser()).resolve()
    if must_exist and not resolved.is_file():
        diags.append(_error(f"{value} does not exist ({resolved})", item.smap, (*item.path, key)))
    return {**raw, key: str(resolved)}


def _with_paths(item: _Item, block: str, key: str) -> _Item:
    """`measurements: {path: data/*.csv}` is relative to the YAML file; make it absolute."""
    data = item.data
    if isinstance(data, dict) and isinstance(data.get(block), dict):
        inner = data[block]
        value = inner.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            data = {**data, block: {**inner, key: str(item.yaml_dir / value)}}
    return _Item(data, item.smap, item.path, item.yaml_dir)


def _build_all(model: type[M], items: list[_Item], diags: list[Diagnostic],
               failed: dict[str, int] | None = None, kind: str = "") -> list[M]:
    built = [_build(model, item, diags) for item in items]
    if failed is not None:
        failed[kind] += sum(1 for m in built if m is None)
    return [m for m in built if m is not None]


def _build(model: type[M], item: _Item, diags: list[Diagnostic]) -> M | None:
    try:
        obj = model.model_validate(item.data)
    except ValidationError as e:
        diags += validation.diagnostics(e, model, item.smap, item.path)
        return None
    attach_sources(obj, item.smap, item.path)
    return obj
