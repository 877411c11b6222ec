"""The simulators' request log: one JSON line per request answered, secrets masked.

Tests and operators read it to see exactly what a client sent and what the simulator answered
(`GET /_sandbox/requests`, or the `*.requests.jsonl` file beside the sandbox data). Each entry:

    {"time", "method", "path", "query", "headers", "body", "status", "response", "fault"}

followed by a simulator's own fields, if any (SEC's `account`: which role called).

Header names are lower-case; the values of credential headers (`authorization`, `x-api-key`) and
of credential fields in bodies (`access_token`, OCPI credentials `token`) are replaced by
"(sensitive)", and in the file any secret registered with `reconciler.core.redact` is blanked too,
so the log can be shared. With a path, each entry is written and flushed as one
line (an appending writer per process; no fsync: the log is evidence, not data). Without a path
the entries are kept in memory (bounded).
"""

from __future__ import annotations

import collections
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from reconciler.core import redact

MASK = redact.MASK
SENSITIVE_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie", "set-cookie"})
SENSITIVE_FIELDS = frozenset({"access_token", "refresh_token", "token", "api_key", "password"})
MEMORY_LIMIT = 200_000


def mask_headers(headers: Any) -> dict[str, str]:
    """Lower-case names; credential values replaced by the mask."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = MASK if key in SENSITIVE_HEADERS else value
    return out


def mask_body(value: Any) -> Any:
    """The JSON value with credential fields masked; unchanged parts are shared, not copied."""
    if isinstance(value, dict):
        copy: dict[str, Any] | None = None
        for key, item in value.items():
            masked = MASK if key in SENSITIVE_FIELDS and item is not None else mask_body(item)
            if masked is not item:
                if copy is None:
                    copy = dict(value)
                copy[key] = masked
        return value if copy is None else copy
    if isinstance(value, list):
        items = [mask_body(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body, or None when it is empty or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class RequestLog:
    """Append-only log of requests; `entries()` reads the file when there is one, else memory."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._memory: collections.deque[dict[str, Any]] = collections.deque(maxlen=MEMORY_LIMIT)
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path | None:
        return self._path

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Any,
        body: Any,
        status: int,
        response: Any,
        fault: str | None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Append one entry (bodies are parsed JSON values or None) and return it; `extra` fields
        (a simulator's own, such as which account called) come last."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": method,
            "path": path,
            "query": query,
            "headers": mask_headers(headers),
            "body": mask_body(body),
            "status": status,
            "response": mask_body(response),
            "fault": fault,
            **extra,
        }
        self.append(entry)
        return entry

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if self._path is None:
                self._memory.append(entry)
                return
            if self._file is None or self._file.closed:
                self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
            line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
            self._file.write(redact.redact(line) + "\n")  # also blanks secrets registered by the config
            self._file.flush()

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._path is None:
                return list(self._memory)
            try:
                lines = self._path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        out: list[dict[str, Any]] = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line being written by another process right now
        return out

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
            if self._path is not None:
                with open(self._path, "w", encoding="utf-8"):
                    pass

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
