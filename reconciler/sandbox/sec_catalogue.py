"""What the SEC simulator knows before any API call: accounts, the operator's catalogue, settings.

On the real platform an operator registers its stations on the SEC web site, which then shows each
charger's `evse_uid` and each connector's `connector_id` (and, later, each tariff's `tariff_id`).
The simulator seeds the same thing into its store on first open: two demo accounts (an OPC and a
PSE, `DEMO_ACCOUNTS`) and the demo operator's EVSEs and connectors in Santiago and Concepción,
which `examples/chile` binds. `listing`/`render` are what `reconciler sandbox sec-catalogue`
prints, and `GET /_sandbox/catalogue` returns; `from_state` and `import_commands` what its
`--import-commands` prints. `Settings` is the simulator's switch file
(`sec.settings.json`): whether a create answers with the new tariff's ID (the guide's sample
does not). Used by `sandbox.sec`, `embedded`, `serve` and the CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from reconciler.config.sec import normalise_rut
from reconciler.sandbox.datastore import JournaledStore, StoreLockedError
from reconciler.state.model import State

__all__ = ["DEMO_ACCOUNTS", "Settings", "StoreLockedError", "add_evse", "from_state", "import_commands", "listing",
           "read", "register", "render", "seed", "sign_in", "title"]

# account -> (RUT as SEC wants it, password). Valid RUTs: 76.086.428-5 and 77.123.456-9.
DEMO_ACCOUNTS = {"opc": ("760864285", "sandbox-opc-password"), "pse": ("771234569", "sandbox-pse-password")}
ROLES = {"opc": "OPC", "pse": "PSE"}
FIRST_TARIFF_ID = 51001

EVSES, CONNECTORS, TARIFFS, USERS, COUNTERS = "evses", "connectors", "tariffs", "users", "counters"

# station, name, address, city, [(EVSE code, evse_uid, [(connector code, connector_id, standard, type, kW)])]
DEMO_OPERATOR: list[tuple[str, str, str, str, list[tuple[str, int, list[tuple[str, int, str, str, float]]]]]] = [
    ("SCL-001", "Costanera Center", "Av. Andrés Bello 2425, Providencia", "Santiago", [
        ("SCL-001-1", 4101, [("1", 7201, "CCS 2", "DC", 150), ("2", 7202, "CHAdeMO", "DC", 50)]),
        ("SCL-001-2", 4102, [("1", 7203, "Tipo 2", "AC", 22)]),
    ]),
    ("SCL-002", "Parque Arauco", "Av. Presidente Kennedy 5413, Las Condes", "Santiago", [
        ("SCL-002-1", 4103, [("1", 7204, "Tipo 2", "AC", 22)]),
        ("SCL-002-2", 4104, [("1", 7205, "Tipo 2", "AC", 7.4)]),
    ]),
    ("CCP-001", "Mall del Centro Concepción", "Barros Arana 1068", "Concepción", [
        ("CCP-001-1", 4105, [("1", 7206, "CCS 2", "DC", 60)]),
        ("CCP-001-2", 4106, [("1", 7207, "Tipo 2", "AC", 22)]),
        ("CCP-001-3", 4107, [("1", 7208, "Tipo 2", "AC", 22)]),
    ]),
]


def _hash(rut: str, password: str) -> str:
    return hashlib.sha256(f"sec-sandbox:{rut}:{password}".encode()).hexdigest()


def _user_key(rut: str) -> str:
    """Users are filed under a digest of their RUT: the data file holds no credential."""
    return hashlib.sha256(f"sec-sandbox-user:{normalise_rut(rut)}".encode()).hexdigest()[:32]


def seed(store: JournaledStore) -> None:
    """Put the demo accounts and the demo operator's catalogue in an empty store."""
    for account, (rut, password) in DEMO_ACCOUNTS.items():
        if store.get(USERS, _user_key(rut)) is None:
            store.put(USERS, _user_key(rut), {"password": _hash(rut, password), "roles": [ROLES[account]]})
    if store.keys(EVSES):
        return
    for station, name, address, city, evses in DEMO_OPERATOR:
        for code, evse_uid, connectors in evses:
            add_evse(store, (station, name, address, city), code, evse_uid, connectors)


def add_evse(store: JournaledStore, station: tuple[str, str, str, str], code: str, evse_uid: int,
             connectors: list[tuple[str, int, str, str, float]]) -> None:
    """Register a charger as the operator would on the web site: (station id, name, address, city),
    its code and evse_uid, and its connectors (code, connector_id, standard, AC/DC, kW)."""
    sid, name, address, city = station
    store.put(EVSES, str(evse_uid), {
        "evse_uid": evse_uid, "code": code, "station": sid, "station_name": name, "address": address,
        "city": city, "connectors": [c[1] for c in connectors]})
    for conn_code, connector_id, standard, power_type, kw in connectors:
        store.put(CONNECTORS, str(connector_id), {
            "connector_id": connector_id, "evse_uid": evse_uid, "code": conn_code, "standard": standard,
            "power_type": power_type, "power_kw": kw})


def register(store: JournaledStore, rut: str, password: str, role: str) -> None:
    """An account created on the SEC web site: a RUT never seen gets `password` and `role`; a known
    one gains `role` only when `password` is its own (so a wrong password stays wrong)."""
    rut = normalise_rut(rut)
    user = store.get(USERS, _user_key(rut))
    if user is None:
        store.put(USERS, _user_key(rut), {"password": _hash(rut, password), "roles": [role]})
    elif user["password"] == _hash(rut, password) and role not in user["roles"]:
        store.put(USERS, _user_key(rut), {**user, "roles": [*user["roles"], role]})


def sign_in(store: JournaledStore, rut: str, password: str) -> list[str] | None:
    """The roles of the account, or None when the RUT or the password is wrong."""
    user = store.get(USERS, _user_key(rut))
    if user is None or user["password"] != _hash(normalise_rut(rut), password):
        return None
    return list(user["roles"])


def next_tariff_id(store: JournaledStore) -> int:
    counter = store.get(COUNTERS, "tariff") or {"next": FIRST_TARIFF_ID}
    tariff_id = int(counter["next"])
    store.put(COUNTERS, "tariff", {"next": tariff_id + 1})
    return tariff_id


def listing(store: JournaledStore) -> list[dict[str, Any]]:
    """Stations -> EVSEs -> connectors -> tariffs, with every web ID and what was last sent."""
    by_connector: dict[int, list[dict[str, Any]]] = {}
    for _, tariff in store.items(TARIFFS):
        by_connector.setdefault(int(tariff["connector_id"]), []).append(tariff)
    stations: dict[str, dict[str, Any]] = {}
    for _, evse in sorted(store.items(EVSES), key=lambda kv: int(kv[0])):
        st = stations.setdefault(evse["station"], {"station": evse["station"], "name": evse["station_name"],
                                                   "address": evse["address"], "city": evse["city"], "evses": []})
        conns = []
        for cid in evse["connectors"]:
            conn = dict(store.get(CONNECTORS, str(cid)) or {})
            conn["tariffs"] = sorted(by_connector.get(int(cid), []),
                                     key=lambda t: (t["order_number"], t["tariff_id"]))
            conns.append(conn)
        st["evses"].append({**{k: v for k, v in evse.items() if k not in ("station_name", "address", "city")},
                            "connectors": conns})
    return list(stations.values())


def read(data_dir: Path) -> list[dict[str, Any]]:
    """The catalogue of the simulator whose files are in `data_dir` (seeded if new). Raises
    StoreLockedError while a `reconciler sandbox serve` holds that directory."""
    store = JournaledStore(Path(data_dir) / "sec.json")
    try:
        seed(store)
        return listing(store)
    finally:
        store.close()


def from_state(state: State) -> tuple[list[tuple[str, int, int, bool]], set[str]]:
    """What `import_commands` matches against the catalogue, from the state: the tariffs whose ID it
    lacks (created without an ID in the answer, or pending) as (address, connector_id, order_number,
    pending), taken from what was recorded or from the pending request's body; and the IDs the
    applied addresses are bound to."""
    unknown = []
    for addr, rs in sorted(state.resources.items()):
        body = (rs.pending.request.get("body") if rs.pending else None) or {}
        cid = rs.meta.get("connector_id") or body.get("connector_id")
        order = rs.attributes.get("order_number") or body.get("order_number")
        if ".tariff." in addr and not (rs.platform_id and rs.status == "applied") and cid and order:
            unknown.append((addr, int(cid), int(order), rs.status == "pending"))
    bound = {rs.platform_id for rs in state.resources.values() if rs.platform_id and rs.status == "applied"}
    return unknown, bound


def import_commands(stations: list[dict[str, Any]], unknown: list[tuple[str, int, int, bool]], bound: set[str],
                    tail: str = "", state_tail: str = "") -> list[str]:
    """The commands that bind tariffs whose ID the state lacks, (address, connector_id, order_number,
    pending): `reconciler import` when the catalogue shows one tariff there that no other address
    holds; `reconciler state forget-pending` for a pending create that is not there. What a user does
    by reading the SEC web site, done for the sandbox; an ambiguous match is left to them. `tail` ends
    an import command (the configuration directory), `state_tail` a state command (`--config DIR`)."""
    held: dict[tuple[int, int], list[int]] = {}
    for st in stations:
        for evse in st["evses"]:
            for conn in evse["connectors"]:
                for t in conn["tariffs"]:
                    if str(t["tariff_id"]) not in bound:
                        held.setdefault((int(t["connector_id"]), int(t["order_number"])), []).append(t["tariff_id"])
    out = []
    for address, connector_id, order, pending in unknown:
        found = held.get((connector_id, order), [])
        if len(found) == 1:
            out.append(f"reconciler import {address} {found[0]}{tail}")
        elif not found and pending:
            out.append(f"reconciler state forget-pending {address}{state_tail or tail}")
        elif not found:
            out.append(f"# {address}: nothing at connector_id {connector_id}, order_number {order}")
        else:
            out.append(f"# {address}: several tariffs at connector_id {connector_id}, order_number {order}: "
                       f"{', '.join(map(str, found))}")
    return out


def _tariff_line(t: dict[str, Any]) -> str:
    comps = ", ".join(f"{c['tariff_dimension']} {c['price']}" for c in t["elements"]["price_components"])
    extra = "".join(f", {k} {t[k]}" for k in ("min_price", "max_price") if t.get(k) is not None)
    return f"tariff_id {t['tariff_id']}  order_number {t['order_number']}: {comps}{extra}"


def title(data_dir: Path) -> str:
    """The line above `render`'s catalogue."""
    return f"SEC sandbox catalogue (data in {data_dir}): what the SEC web site shows\n"


def render(stations: list[dict[str, Any]]) -> str:
    """The catalogue as the web site would show it, one object per line with its web ID."""
    lines = []
    for st in stations:
        lines.append(f"{st['station']}  {st['name']} · {st['address']} · {st['city']}")
        for evse in st["evses"]:
            state = f"  [{evse['status']}]" if evse.get("status") else ""
            lines.append(f"  EVSE {evse['code']:<12} evse_uid {evse['evse_uid']}{state}")
            for conn in evse["connectors"]:
                cstate = f"  [{conn['status']}]" if conn.get("status") else ""
                lines.append(f"    connector {conn['code']:<4} {conn['standard']} {conn['power_type']} "
                             f"{conn['power_kw']:g} kW".ljust(42) + f"connector_id {conn['connector_id']}{cstate}")
                for t in conn["tariffs"]:
                    lines.append(f"      {_tariff_line(t)}")
    return "\n".join(lines) + "\n"


class Settings:
    """`sec.settings.json`: switches of the simulator, re-read when the file changes."""

    DEFAULTS: dict[str, Any] = {"tariff_id_in_response": False}

    def __init__(self, path: Path | None = None, **values: Any) -> None:
        self._path = path
        self._values = {**self.DEFAULTS, **values}
        self._stamp: tuple[int, int, int] | None = None

    @classmethod
    def in_dir(cls, data_dir: Path) -> Settings:
        """The switches of the simulator whose files are in `data_dir`."""
        return cls(data_dir / "sec.settings.json")

    def get(self) -> dict[str, Any]:
        if self._path is not None:
            try:
                st = os.stat(self._path)
            except FileNotFoundError:
                return dict(self._values)
            if (st.st_ino, st.st_mtime_ns, st.st_size) != self._stamp:
                try:
                    data = json.loads(self._path.read_text(encoding="utf-8") or "{}")
                except ValueError:
                    return dict(self._values)   # half-written: keep the last good values
                self._values = {**self.DEFAULTS, **{k: v for k, v in data.items() if k in self.DEFAULTS}}
                self._stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        return dict(self._values)

    def update(self, **values: Any) -> dict[str, Any]:
        unknown = set(values) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))} (known: {', '.join(self.DEFAULTS)})")
        self._values = {**self.get(), **values}
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_name(self._path.name + ".tmp")
            tmp.write_text(json.dumps(self._values, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, self._path)
        return dict(self._values)
