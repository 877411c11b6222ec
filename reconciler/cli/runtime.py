"""What every command needs: the config, the state store, the providers, and an event loop.

Kept apart from the command definitions so each command stays parse -> engine -> view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from reconciler.config import loader, models
from reconciler.core import gcpause
from reconciler.core.diagnostics import Diagnostic, DiagnosticError
from reconciler.core.redact import RedactingFilter
from reconciler.engine import planner
from reconciler.plans.model import StateUpdate
from reconciler.providers import registry
from reconciler.providers.base import Provider
from reconciler.providers.connection import SANDBOX, Endpoint, Network, Service
from reconciler.state import journal as journal_mod
from reconciler.state import pending as pending_mod
from reconciler.state.model import ResourceState, State, Watermark, utcnow
from reconciler.state.postgres import PostgresStore
from reconciler.state.store import Backend, StateStore

T = TypeVar("T")
STATE_FILE = "reconciler.state.json"


def setup_logging() -> None:
    """`RECONCILER_LOG=debug|info` logs to stderr, `RECONCILER_LOG_PATH` to a file; secrets blanked."""
    level = os.environ.get("RECONCILER_LOG", "").upper()
    path = os.environ.get("RECONCILER_LOG_PATH")
    if not level and not path:
        return
    root = logging.getLogger("reconciler")
    root.setLevel(getattr(logging, level or "INFO", logging.INFO))
    handler: logging.Handler = logging.FileHandler(path) if path else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)


def config_dir(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def state_path(config_path: Path, explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("RECONCILER_STATE")
    return Path(env) if env else config_dir(config_path) / STATE_FILE


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
MAX_LOCK_TIMEOUT = 24 * 3600.0


def parse_duration(text: str) -> float:
    """`30s`, `5m`, `1h`, `500ms`, `10` (seconds) -> seconds; at most a day, so every wait ends."""
    match = _DURATION.fullmatch(text or "")
    if match is None:
        raise DiagnosticError.single(f"'{text}' is not a duration; write e.g. 30s, 5m or 1h", field="--lock-timeout")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_LOCK_TIMEOUT:
        raise DiagnosticError.single(f"'{text}' is longer than the 24h a run may wait for the lock",
                                     field="--lock-timeout")
    return seconds


def unlock_args(config_path: Path, explicit_state: Path | None) -> str:
    """What follows `reconciler force-unlock ID` so the hint works from where the user ran the command."""
    out = "" if config_path == Path(".") else " " + shlex.quote(str(config_path))
    if explicit_state is not None:
        out += " --state " + shlex.quote(str(explicit_state))
    return out


_FROM_CONFIG: Any = object()


def open_store(config_path: Path, explicit_state: Path | None,
               settings: models.StateSettings | None = _FROM_CONFIG) -> Backend:
    """The state of the configuration at `config_path`, where its `state:` block says.

    By default the block is read from the configuration (given: an already loaded one; None: the
    local default). A directory without any configuration is an error (a state command there
    would show nothing).
    """
    if settings is _FROM_CONFIG:
        settings = loader.load_state_settings(config_path)
    hint = unlock_args(config_path, explicit_state)
    if settings is not None and settings.backend == "postgres":
        if explicit_state is not None:
            raise DiagnosticError.single(
                "--state names a local state file, but this configuration keeps its state in PostgreSQL "
                f"(state.backend: postgres, name {settings.name})", field="--state",
                detail="Drop --state, or use `reconciler state migrate` to copy a local file there.")
        if settings.url is None:
            raise DiagnosticError.single("the PostgreSQL state URL is not available", field="state.url",
                                         detail="Set the environment variable (or file) that state.url names.")
        assert settings.name is not None
        return PostgresStore(settings.url.get_secret_value(), settings.name, unlock_args=hint)
    return StateStore(state_path(config_path, explicit_state), unlock_args=hint)


def sandbox_dir(state_file: Path) -> Path:
    env = os.environ.get("RECONCILER_SANDBOX_DIR")
    return Path(env) if env else state_file.parent / ".reconciler" / "sandbox"


def load_config(path: Path, meanwhile: Callable[[], None] | None = None) -> models.Config:
    # The configuration lives until the command ends: the collector neither scans it while it is
    # built nor rescans it afterwards (it is frozen when the outermost pause ends).
    with gcpause.paused():
        return loader.load_config(path, meanwhile=meanwhile)


_kept: list[object] = []
_keep = False


def exit_after_command() -> None:
    """Called by `main`: the process ends (os._exit) right after the command, so what the command
    built need not be freed object by object when it returns (see `keep_until_exit`)."""
    global _keep
    _keep = True


def keep_until_exit(*objs: object) -> None:
    """Hold `objs` until the process exits, which returns their memory at once: freeing a national
    estate's config, state and plan one object at a time when the command returns costs about 0.3 s
    of CPU at 10,000 stations (`benchmarks/tricks.py`, with and without). Does nothing for
    in-process callers (tests), which free them as usual."""
    if _keep:
        _kept.extend(objs)


class EmbeddedSandbox:
    """The connector the CLI hands the providers: an API configured with `url: sandbox` is served by
    the in-process simulator on `data_dir` (opened on first use, shared by every provider of the
    process); any other URL is reached over the network."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.network = Network()

    def connect(self, service: Service) -> Endpoint:
        if service.url != SANDBOX:
            return self.network.connect(service)
        import httpx

        from reconciler.sandbox import embedded

        app, base, credentials = embedded.attach(self.data_dir, service.platform, service.name, service.credentials)
        return Endpoint(base, httpx.ASGITransport(app=app), credentials)


def connector_for(state_file: Path) -> EmbeddedSandbox:
    return EmbeddedSandbox(sandbox_dir(state_file))


def providers_for(config: models.Config, state_file: Path) -> dict[str, Provider]:
    connector = connector_for(state_file)
    return {name: registry.build(platform, connector=connector) for name, platform in config.platforms.items()}


@dataclass
class Session:
    """One command's world: config, state store, providers and one event loop, closed together.

    Plan and apply share the loop, so connections and platform tokens are reused between them.
    """

    config: models.Config
    store: Backend
    providers: dict[str, Provider]
    runner: asyncio.Runner
    # The state the early reads were made for: (lineage, serial, journal records replayed).
    prefetched_for: tuple[str | None, int, int] | None = None
    # The configuration's offline checks, run (and passed) while the platforms were read.
    validated: list[Diagnostic] | None = None

    @classmethod
    def open(cls, config_path: Path, explicit_state: Path | None, *, prefetch: bool = False) -> Session:
        """Load the configuration and build the providers.

        With `prefetch`, the platforms are read (what the state says exists) while a large
        configuration is still loading, on the same event loop the plan then uses.
        """
        store = open_store(config_path, explicit_state)
        # The embedded sandbox keeps its data beside a local state, or beside the configuration.
        spath = store.path if isinstance(store, StateStore) else state_path(config_path, None)
        runner = asyncio.Runner()
        try:
            with gcpause.paused():
                mark, validated = None, None
                if prefetch:
                    config, providers, mark, validated = _run(
                        runner, lambda: _load_prefetching(config_path, store, spath))
                else:
                    config = _load_beside_state(config_path, store)
                    providers = providers_for(config, spath)
        except BaseException:
            runner.close()
            raise
        session = cls(config, store, providers, runner, mark, validated)
        keep_until_exit(session)
        return session

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        return _run(self.runner, fn)

    def check_early_reads(self, state: State) -> bool:
        """Whether what the platforms were read for before the lock still stands for `state` (read
        under it). When another apply recorded something in between, or one was under way (its
        journal replayed), the early reads may be older than the platforms: every provider drops
        them, so the plan reads again. Returns False when they were dropped."""
        mark = self.prefetched_for
        if mark is None:
            return True
        self.prefetched_for = None
        if mark == (state.lineage, state.serial, self.store.recovered) and mark[2] == 0:
            return True
        for prov in self.providers.values():
            prov.discard_prefetch()
        return False

    def close(self) -> None:
        async def shut() -> None:
            for prov in self.providers.values():
                await prov.aclose()

        try:
            self.runner.run(shut())
        finally:
            self.runner.close()
            self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _load_beside_state(config_path: Path, store: Backend) -> models.Config:
    """The configuration; if its YAML has to be parsed in worker processes, the state file is
    parsed meanwhile (`store.load()` under the lock then reuses it)."""
    if not store.exists():
        return load_config(config_path)

    def peek() -> None:
        # A state that cannot be read is reported by the load under the lock, with its context.
        with contextlib.suppress(Exception):
            store.peek()

    return load_config(config_path, meanwhile=peek)


class _Box:
    __slots__ = ("value",)
    value: Any

    def __repr__(self) -> str:
        return "<result>"


def _run(runner: asyncio.Runner, fn: Callable[[], Awaitable[T]]) -> T:
    """`runner.run(fn())`, with the result passed outside the task.

    When `Runner.run` puts back its SIGINT handler, `signal.signal` formats the repr of the old
    handler, which holds the main task, whose repr holds its result: for a national-scale plan that
    is the repr of the whole configuration or plan, over a second of CPU for nothing.
    """
    box = _Box()

    async def wrapped() -> None:
        box.value = await fn()

    runner.run(wrapped())
    result: T = box.value
    return result


_SWITCH_WHILE_LOADING = 0.0005   # seconds (`sys.setswitchinterval`) while the loader shares the GIL with the reads


async def _load_prefetching(config_path: Path, store: Backend, spath: Path) -> tuple[
        models.Config, dict[str, Provider], tuple[str | None, int, int] | None, list[Diagnostic] | None]:
    early = loader.load_platforms(config_path) if store.exists() else None
    connector = connector_for(spath)
    providers: dict[str, Provider] = {}
    tasks: list[asyncio.Task[None]] = []
    mark = None
    validated: list[Diagnostic] | None = None
    if early:
        state = store.peek()
        mark = (state.lineage, state.serial, store.recovered)
        for name, platform in early.items():
            try:
                prov = registry.build(platform, connector=connector)
            except DiagnosticError:
                continue
            providers[name] = prov
            prior = {a: r for a, r in state.resources.items() if a.startswith(name + ".")}
            tasks.append(asyncio.create_task(prov.prefetch(prior)))
    loop = asyncio.get_running_loop()
    # The configuration loads on a worker thread while this thread's event loop reads the
    # platforms. Meanwhile the GIL is handed on every 0.5 ms instead of 5 ms, so an answer that
    # arrives waits less for the loader: at concurrency 32 a no-change plan of 10,000 stations
    # takes 4-5 % less wall time with it (benchmarks/tricks.py: best 9.56 s against 10.07 s,
    # medians of 5 rounds 10.75 s against 11.20 s); at 16 the reads wait on latency, not on it.
    switch = sys.getswitchinterval()
    if tasks:
        sys.setswitchinterval(min(switch, _SWITCH_WHILE_LOADING))
    try:
        try:
            config = await loop.run_in_executor(None, load_config, config_path)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for prov in providers.values():
                await prov.aclose()
            raise
        final: dict[str, Provider] = {}
        for name, platform in config.platforms.items():
            early_prov = providers.pop(name, None)
            if early_prov is not None and early_prov.platform == platform:
                final[name] = early_prov
            else:
                if early_prov is not None:
                    await early_prov.aclose()
                final[name] = registry.build(platform, connector=connector)
        for prov in providers.values():
            await prov.aclose()
        if tasks:
            # While the platforms are still being read, turn the configuration into resources too.
            validated = await loop.run_in_executor(None, _warm, config, final)
    finally:
        sys.setswitchinterval(switch)
    # A prefetch that failed is simply not used: the plan's own read reports the problem.
    await asyncio.gather(*tasks, return_exceptions=True)
    return config, final, mark, validated


def _warm(config: models.Config, providers: dict[str, Provider]) -> list[Diagnostic] | None:
    """The configuration's resources and its offline checks, while the platforms are read (at
    10,000 stations the checks take about 0.15 s that would otherwise follow the last read).
    Returns the checks' findings when they pass, else None (the plan runs them again and reports)."""
    for prov in providers.values():
        try:
            prov.desired_for(config)
        except Exception:  # noqa: BLE001, S112 - only a head start: the plan computes it again and reports
            continue
    try:
        return planner.validate(config, providers)
    except Exception:  # noqa: BLE001 - the plan runs the checks again and reports what they find
        return None


def close_sandboxes() -> None:
    embedded = sys.modules.get("reconciler.sandbox.embedded")  # only if a command opened one
    if embedded is not None:
        embedded.close_all()


def to_resource(update: StateUpdate, prior: ResourceState | None) -> ResourceState:
    """The entry a put records: its meta is the prior entry's, updated by the put's (where a None
    removes the key)."""
    meta = {**(prior.meta if prior else {}), **update.meta}
    for key, value in update.meta.items():
        if value is None:
            del meta[key]
    return ResourceState(address=update.address, platform_id=update.platform_id, status=update.status,
                         attributes=update.attributes, prevent_destroy=update.prevent_destroy,
                         meta=pending_mod.without_mark(meta), updated_at=utcnow())


class Recorder:
    """Applies state updates to the in-memory state and journals them durably, in one step."""

    def __init__(self, state: State, journal: Any) -> None:
        self.state = state
        self.journal = journal

    def __call__(self, updates: list[StateUpdate]) -> None:
        entries = []
        for u in updates:
            if u.op == "watermark":
                wm = Watermark.model_validate({**(u.watermark or {}), "updated_at": utcnow()})
                self.state.set_watermark(u.address, wm)
                entries.append(journal_mod.watermark_entry(u.address, wm))
            elif u.op == "remove":
                self.state.remove(u.address)
                entries.append(journal_mod.remove_entry(u.address))
            elif u.op == "restore":
                back = pending_mod.restore(self.state, u.address)
                if back is not None and u.meta:
                    back = back.model_copy(update={"meta": {**back.meta, **u.meta}, "updated_at": utcnow()})
                    self.state.put(back)
                entries.append(journal_mod.put_entry(back) if back is not None
                               else journal_mod.remove_entry(u.address))
            else:
                prior = self.state.get(u.address)
                if u.status == "pending":
                    rs = pending_mod.mark(self.state, u.address, intent=u.pending or {}, attributes=u.attributes,
                                          platform_id=u.platform_id, prevent_destroy=u.prevent_destroy,
                                          meta=u.meta)
                elif not u.attributes and prior is not None and u.status == "applied" and not u.meta \
                        and u.platform_id == prior.platform_id:
                    continue
                else:
                    rs = to_resource(u, prior)
                self.state.put(rs)
                entries.append(journal_mod.put_entry(rs))
        if entries:
            self.journal.record_many(entries)
