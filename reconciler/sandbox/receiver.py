"""The OCPI receiver's object rules over the store: Locations (three levels), Tariffs, Sessions.

Called by the SIEM app (`siem.py`) once a request is authenticated and its body parsed. Rules, from
OCPI 2.2.1 and the SIEM guide §5.4:

- PUT creates or fully replaces the object at its URL; a Location PUT carries its EVSEs and their
  connectors, an EVSE PUT its connectors. An EVSE or connector PUT under an unknown parent is 404.
- PATCH merges the given top-level fields into the object (lists and nested objects are replaced
  whole); `last_updated` is required; PATCH of an unknown object is 404.
- After an EVSE or connector write, each parent's `last_updated` becomes the later of its own and
  the child's.
- Ids in the body must match the URL. Country code, party id and object ids are CiStrings: lookups
  ignore case, the stored object keeps the spelling it was sent with.
- Locations cannot be deleted (an EVSE leaves with status REMOVED); tariffs can; sessions cannot.

Objects live in the store under collections "locations", "tariffs", "sessions", keyed by
"cc/pid/id" in lower case. Stored objects are never mutated: every write builds new dicts.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox import envelope, ocpi_schema
from reconciler.sandbox.datastore import JournaledStore
from reconciler.sandbox.ocpi_schema import Invalid, Obj

LOCATIONS, TARIFFS, SESSIONS = "locations", "tariffs", "sessions"
_NOUNS = {LOCATIONS: "location", TARIFFS: "tariff", SESSIONS: "session"}


def object_key(country_code: str, party_id: str, object_id: str) -> str:
    return f"{country_code}/{party_id}/{object_id}".lower()


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.lower() == b.lower()


def _find(items: list[dict[str, Any]] | None, id_field: str, wanted: str) -> int:
    for i, item in enumerate(items or ()):
        if _same(item.get(id_field), wanted):
            return i
    return -1


def _replaced(items: list[dict[str, Any]] | None, id_field: str, wanted: str, new: dict[str, Any],
              unknown: str | None) -> list[dict[str, Any]]:
    """A copy of `items` with the one whose `id_field` is `wanted` replaced by `new`; when there is
    none, `new` is appended, or (with an `unknown` message) the request is refused as unknown."""
    out = list(items or [])
    i = _find(out, id_field, wanted)
    if i >= 0:
        out[i] = new
    elif unknown is not None:
        raise envelope.unknown(unknown)
    else:
        out.append(new)
    return out


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two OCPI DateTimes (either may be missing)."""
    if a is None or b is None:
        return a or b
    return b if ocpi_schema.parse_datetime(b) > ocpi_schema.parse_datetime(a) else a


def _validate(action: str, schema: Obj, body: Any) -> None:
    try:
        if action == "PUT":
            ocpi_schema.validate_put(schema, body)
        else:
            ocpi_schema.validate_patch(schema, body)
    except Invalid as e:
        raise envelope.invalid(str(e)) from None


def _check_ids(body: dict[str, Any], expected: dict[str, str], what: str) -> None:
    for name, url_value in expected.items():
        if name in body and not _same(body[name], url_value):
            raise envelope.invalid(f"{what}.{name}: {body[name]!r} does not match the URL ({url_value!r})")


def _check(action: str, schema: Obj, body: Any, expected: dict[str, str], what: str) -> None:
    """A PUT or PATCH body valid for `schema`, whose ids (where given) are those of the URL."""
    _validate(action, schema, body)
    _check_ids(body, expected, what)


def _unique(items: list[dict[str, Any]] | None, id_field: str, path: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        key = str(item.get(id_field, "")).lower()
        if key in seen:
            raise envelope.invalid(f"{path}[{i}].{id_field}: {item.get(id_field)!r} appears twice")
        seen.add(key)


class Receiver:
    """OCPI receiver operations for one store and one set of schemas (SIEM or generic OCPI limits)."""

    def __init__(self, store: JournaledStore, flavour: str = "siem") -> None:
        self.store = store
        self.schemas = ocpi_schema.schemas(flavour)

    # -- locations --------------------------------------------------------------------------

    def get_location(self, cc: str, pid: str, loc: str, evse: str | None, conn: str | None) -> dict[str, Any]:
        location = self._location(cc, pid, loc)
        if evse is None:
            return location
        found = self._evse(location, evse, loc)
        if conn is None:
            return found
        return self._connector(found, conn, loc, evse)

    def put_location(self, cc: str, pid: str, loc: str, evse: str | None, conn: str | None, body: Any) -> None:
        s = self.schemas
        if evse is None:
            _check("PUT", s.location, body, {"country_code": cc, "party_id": pid, "id": loc}, "Location")
            self._store_location(cc, pid, loc, body)
            return
        location = self._location(cc, pid, loc)
        if conn is None:
            _check("PUT", s.evse, body, {"uid": evse}, "EVSE")
            _unique(body.get("connectors"), "id", "EVSE.connectors")
            self._replace_evse(cc, pid, loc, location, evse, body, create=True)
            return
        old_evse = self._evse(location, evse, loc)
        _check("PUT", s.connector, body, {"id": conn}, "Connector")
        self._replace_connector(cc, pid, loc, location, old_evse, conn, body, create=True)

    def patch_location(self, cc: str, pid: str, loc: str, evse: str | None, conn: str | None, body: Any) -> None:
        s = self.schemas
        location = self._location(cc, pid, loc)
        if evse is None:
            _check("PATCH", s.location, body, {"country_code": cc, "party_id": pid, "id": loc}, "Location")
            self._store_location(cc, pid, loc, {**location, **body})
            return
        old_evse = self._evse(location, evse, loc)
        if conn is None:
            _check("PATCH", s.evse, body, {"uid": evse}, "EVSE")
            if "connectors" in body:
                _unique(body["connectors"], "id", "EVSE.connectors")
            self._replace_evse(cc, pid, loc, location, evse, {**old_evse, **body}, create=False)
            return
        old_conn = self._connector(old_evse, conn, loc, evse)
        _check("PATCH", s.connector, body, {"id": conn}, "Connector")
        self._replace_connector(cc, pid, loc, location, old_evse, conn, {**old_conn, **body}, create=False)

    def _replace_evse(
        self, cc: str, pid: str, loc: str, location: dict[str, Any], uid: str, new: dict[str, Any], *, create: bool
    ) -> None:
        evses = _replaced(location.get("evses"), "uid", uid, new,
                          None if create else f"Unknown EVSE {uid!r} in location {loc!r}")
        updated = {**location, "evses": evses, "last_updated": _later(location.get("last_updated"), new["last_updated"])}
        self.store.put(LOCATIONS, object_key(cc, pid, loc), updated)

    def _replace_connector(
        self, cc: str, pid: str, loc: str, location: dict[str, Any], evse: dict[str, Any], conn_id: str,
        new: dict[str, Any], *, create: bool,
    ) -> None:
        connectors = _replaced(evse.get("connectors"), "id", conn_id, new,
                               None if create else f"Unknown connector {conn_id!r} in EVSE {evse.get('uid')!r}")
        stamp = new["last_updated"]
        new_evse = {**evse, "connectors": connectors, "last_updated": _later(evse.get("last_updated"), stamp)}
        self._replace_evse(cc, pid, loc, location, str(evse["uid"]), new_evse, create=False)

    def _store_location(self, cc: str, pid: str, loc: str, location: dict[str, Any]) -> None:
        """Keep a whole Location (a PUT, or a PATCH merged) once its EVSE and connector lists are checked."""
        self._check_location_lists(location)
        self.store.put(LOCATIONS, object_key(cc, pid, loc), location)

    def _check_location_lists(self, location: dict[str, Any]) -> None:
        evses = location.get("evses")
        _unique(evses, "uid", "Location.evses")
        for i, evse in enumerate(evses or ()):
            _unique(evse.get("connectors"), "id", f"Location.evses[{i}].connectors")

    def _location(self, cc: str, pid: str, loc: str) -> dict[str, Any]:
        return self.get_object(LOCATIONS, cc, pid, loc)

    @staticmethod
    def _evse(location: dict[str, Any], uid: str, loc: str) -> dict[str, Any]:
        evses = location.get("evses") or []
        i = _find(evses, "uid", uid)
        if i < 0:
            raise envelope.unknown(f"Unknown EVSE {uid!r} in location {loc!r}")
        return evses[i]

    @staticmethod
    def _connector(evse: dict[str, Any], conn: str, loc: str, uid: str) -> dict[str, Any]:
        connectors = evse.get("connectors") or []
        i = _find(connectors, "id", conn)
        if i < 0:
            raise envelope.unknown(f"Unknown connector {conn!r} in EVSE {uid!r} of location {loc!r}")
        return connectors[i]

    # -- tariffs and sessions: one object per URL ------------------------------------------

    def get_object(self, collection: str, cc: str, pid: str, object_id: str) -> dict[str, Any]:
        found = self.store.get(collection, object_key(cc, pid, object_id))
        if found is None:
            raise envelope.unknown(f"Unknown {_NOUNS[collection]} {object_id!r} of party {cc}*{pid}")
        return found

    def put_object(self, collection: str, cc: str, pid: str, object_id: str, body: Any) -> None:
        schema = self._schema(collection)
        _check("PUT", schema, body, {"country_code": cc, "party_id": pid, "id": object_id}, schema.name)
        self.store.put(collection, object_key(cc, pid, object_id), body)

    def patch_object(self, collection: str, cc: str, pid: str, object_id: str, body: Any) -> None:
        current = self.get_object(collection, cc, pid, object_id)
        schema = self._schema(collection)
        _check("PATCH", schema, body, {"country_code": cc, "party_id": pid, "id": object_id}, schema.name)
        self.store.put(collection, object_key(cc, pid, object_id), {**current, **body})

    def delete_object(self, collection: str, cc: str, pid: str, object_id: str) -> None:
        if not self.store.delete(collection, object_key(cc, pid, object_id)):
            raise envelope.unknown(f"Unknown {_NOUNS[collection]} {object_id!r} of party {cc}*{pid}")

    def _schema(self, collection: str) -> Obj:
        return self.schemas.tariff if collection == TARIFFS else self.schemas.session
