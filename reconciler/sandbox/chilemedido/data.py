"""ChileMedido simulator: the one data set behind its input and output APIs.

Registry data (providers, organizations, installations, devices and their enabled sensors, the
token secret, revoked tokens, API consumers, settings) lives in a `JournaledStore`
(`chilemedido.json`). Measurements are append-only by nature and far more numerous, so they go
to their own log beside it (`chilemedido.measurements.jsonl`, one line per accepted request),
with a per-device index of timestamps in memory for counting and duplicate detection. The
platform's behaviour on a measurement sent twice is not documented; the simulator assumes the
worst case for a client: it stores the duplicate and says so in a `warnings` entry.

An empty store is seeded with a demo data set (`seed`): provider 2 with meters "29" (every
sensor of the guide's example) and "30" (four sensors), and provider 3 whose meter "29" (id 31)
shows that meter numbers are unique per provider only.
"""

from __future__ import annotations

import array
import bisect
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from reconciler.sandbox.datastore import JournaledStore

# The platform's dictionary of variables (GET /sensor-name-list): the guide's example meter.
SENSOR_NAMES: list[dict[str, str]] = [
    {"name": "Potencia activa total instantánea", "unit": "kW"},
    {"name": "Potencia reactiva total instantánea", "unit": "kVAR"},
    {"name": "Energía activa acumulada", "alias": "EACTIVE", "unit": "kWh"},
    {"name": "Energía reactiva acumulada", "alias": "EREACTIVE", "unit": "kVARh"},
    {"name": "Demanda o potencia activa integrada", "unit": "kW"},
    {"name": "Corriente A", "unit": "A"},
    {"name": "Corriente B", "unit": "A"},
    {"name": "Corriente C", "unit": "A"},
    {"name": "Voltaje A-B", "unit": "V"},
    {"name": "Voltaje B-C", "unit": "V"},
    {"name": "Voltaje C-A", "unit": "V"},
    {"name": "Factor de potencia total", "unit": "Sin unidad"},
    {"name": "Distorsión armónica del Voltaje A-N", "unit": "%"},
    {"name": "Distorsión armónica del Voltaje B-N", "unit": "%"},
    {"name": "Distorsión armónica del Voltaje C-N", "unit": "%"},
    {"name": "Distorsión armónica de la corriente A", "unit": "%"},
    {"name": "Distorsión armónica de la corriente B", "unit": "%"},
    {"name": "Distorsión armónica de la corriente C", "unit": "%"},
    {"name": "Temperatura", "unit": "°C"},
    {"name": "Potencia activa A instantánea", "unit": "kW"},
    {"name": "Potencia activa B instantánea", "unit": "kW"},
    {"name": "Potencia activa C instantánea", "unit": "kW"},
    {"name": "Energía activa A acumulada", "unit": "kWh"},
    {"name": "Energía activa B acumulada", "unit": "kWh"},
    {"name": "Energía activa C acumulada", "unit": "kWh"},
    {"name": "Corriente N", "unit": "A"},
    {"name": "Voltaje F-N", "unit": "V"},
    {"name": "Voltaje A-N", "unit": "V"},
    {"name": "Voltaje B-N", "unit": "V"},
    {"name": "Voltaje C-N", "unit": "V"},
]
SENSOR_INDEX = {s["name"]: s for s in SENSOR_NAMES}
DEMO_PROVIDER = 2
DEMO_CONSUMER_TOKEN = "sandbox-demo-consumer-token"
SETTINGS_DEFAULTS: dict[str, Any] = {
    "clock_skew": 0.0,          # seconds added to the server clock (GET /server-time, expiry, future checks)
    "access_ttl": 10800,        # 3 h, as in the guide's example tokens
    "refresh_ttl": 5184000,     # 60 days: "no generada hace más de dos meses"
    "future_tolerance": 300,    # a measurement more than this far ahead of the server clock is refused
    "log_bodies": True,         # False: the request log keeps a summary of each measurement upload
}


def seed(store: JournaledStore) -> None:
    """Fill an empty store with the demo data set (nothing happens if devices exist)."""
    if store.keys("devices"):
        return
    for p in ({"id": 2, "name": "Proveedor Demo SpA"}, {"id": 3, "name": "Otro Proveedor Ltda."}):
        store.put("providers", str(p["id"]), p)
    for o in ({"id": 1, "name": "Ministerio de Energía", "public": True},
              {"id": 2, "name": "Empresa Demo SpA", "public": False}):
        store.put("organizations", str(o["id"]), o)
    for i in ({"id": 10, "name": "Edificio Alameda 1449", "organization": 1,
               "units": [{"id": 101, "name": "Piso 1"}, {"id": 102, "name": "Piso 2"}]},
              {"id": 20, "name": "Bodega Quilicura", "organization": 2, "units": [{"id": 201, "name": "Bodega"}]}):
        store.put("installations", str(i["id"]), i)
    few = ["Energía activa acumulada", "Potencia activa total instantánea", "Corriente A", "Voltaje A-N"]
    for d in ({"id": 29, "number": "29", "provider": 2, "installation": 10, "unit": 101,
               "sensors": [s["name"] for s in SENSOR_NAMES]},
              {"id": 30, "number": "30", "provider": 2, "installation": 10, "unit": 102, "sensors": few},
              {"id": 31, "number": "29", "provider": 3, "installation": 20, "unit": 201, "sensors": few}):
        store.put("devices", str(d["id"]), {**d, "status": "ACTIVE"})
    store.put("consumers", consumer_key(DEMO_CONSUMER_TOKEN), {"name": "demo consumer"})


def consumer_key(token: str) -> str:
    """API consumer tokens are kept hashed: the data files never hold a credential."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def secret(store: JournaledStore) -> bytes:
    """The token-signing secret, created on first use and kept in the store."""
    value = store.get("meta", "secret")
    if not isinstance(value, str):
        value = secrets.token_hex(32)
        store.put("meta", "secret", value)
    return bytes.fromhex(value)


def settings(store: JournaledStore) -> dict[str, Any]:
    saved = store.get("meta", "settings")
    return {**SETTINGS_DEFAULTS, **(saved if isinstance(saved, dict) else {})}


def device_by_number(store: JournaledStore, provider: int, number: str) -> dict[str, Any] | None:
    for _, dev in store.items("devices"):
        if dev.get("provider") == provider and dev.get("number") == number:
            return dict(dev)
    return None


class MeasurementLog:
    """Accepted measurements: an append-only JSON-lines file and a per-device timestamp index."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._index: dict[int, array.array[int]] = {}
        self._duplicates: dict[int, int] = {}
        self._memory: list[dict[str, Any]] = []
        self._file: TextIO | None = None
        if path is not None and path.exists():
            for line in self._lines():
                self._add_to_index(line["d"], [m[0] for m in line["m"]])

    def _lines(self) -> Iterator[dict[str, Any]]:
        if self._path is None:
            yield from list(self._memory)
            return
        if self._file is not None:
            self._file.flush()
        try:
            f = open(self._path, encoding="utf-8")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return
        with f:
            for raw in f:
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue  # a torn last line: that request was never answered

    def _add_to_index(self, device: int, stamps: list[int]) -> list[int]:
        ts = self._index.setdefault(device, array.array("q"))
        dups = []
        for t in stamps:
            if ts and t > ts[-1]:
                ts.append(t)  # the usual case: uploads in time order
                continue
            i = bisect.bisect_left(ts, t)
            if i < len(ts) and ts[i] == t:
                dups.append(t)
                self._duplicates[device] = self._duplicates.get(device, 0) + 1
            ts.insert(i, t)
        return dups

    def append(self, device: int, received: float, measures: list[tuple[int, dict[str, float]]]) -> list[int]:
        """Store one request's measurements of one device; returns the timestamps already held."""
        line = {"d": device, "r": round(received, 3), "m": [[t, v] for t, v in measures]}
        with self._lock:
            if self._path is None:
                self._memory.append(line)
            else:
                if self._file is None or self._file.closed:
                    self._file = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
                self._file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
                self._file.flush()
            return self._add_to_index(device, [t for t, _ in measures])

    def stats(self) -> dict[str, dict[str, int]]:
        """Per device: measurements stored (duplicates included), duplicates, first and last time."""
        with self._lock:
            return {str(d): {"stored": len(ts), "duplicates": self._duplicates.get(d, 0),
                             "first": ts[0] if ts else 0, "last": ts[-1] if ts else 0}
                    for d, ts in sorted(self._index.items())}

    def query(self, devices: set[int], start: int | None, end: int | None) -> dict[int, list[list[Any]]]:
        """Every stored measurement of `devices` with start <= timestamp <= end, in time order."""
        out: dict[int, list[list[Any]]] = {d: [] for d in devices}
        with self._lock:
            lines = list(self._lines())
        for line in lines:
            if line["d"] not in devices:
                continue
            for t, values in line["m"]:
                if (start is None or t >= start) and (end is None or t <= end):
                    out[line["d"]].append([t, values])
        for rows in out.values():
            rows.sort(key=lambda r: r[0])
        return out

    def clear(self) -> None:
        with self._lock:
            self._index.clear()
            self._duplicates.clear()
            self._memory.clear()
            if self._path is not None:
                if self._file is not None:
                    self._file.close()
                    self._file = None
                self._path.write_text("", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
