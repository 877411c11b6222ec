"""Cross-reference checks over the whole validated config: uniqueness and references.

`loader` runs `check` after every object validated on its own, and before it builds the `Config`
dicts (which would hide a duplicate). Each error points at the offending field with file:line and,
for a duplicate, names the first place as well. OCPI ids are CiStrings, so `BOG-001` and `bog-001`
are the same id on the wire and count as duplicates here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.config import models
from reconciler.config.base import ConfigModel, SourceRef
from reconciler.config.validation import did_you_mean, field_names
from reconciler.core.addresses import Address
from reconciler.core.diagnostics import Diagnostic

LOCATION_PLATFORMS = ("siem", "ocpi", "sec")
TARIFF_PLATFORMS = ("siem", "ocpi", "sec")
METER_PLATFORMS = ("chilemedido",)
OCPI_PLATFORMS = ("siem", "ocpi")


def check(platforms: dict[str, models.Platform], tariffs: Sequence[models.Tariff],
          stations: Sequence[models.Station], meters: Sequence[models.Meter],
          imports: Sequence[models.ImportBlock] = (), unbuilt: frozenset[str] = frozenset(),
          broken_tariffs: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """Cross-object checks. `unbuilt` and `broken_tariffs`: platforms and tariff ids declared but in
    error (already reported): references to them are not reported again as unknown."""
    out: list[Diagnostic] = []
    # Where an object was written is looked up only for an error: at 10,000 stations the lookups
    # would cost more than the checks.
    out += _unique("station id", ((s.id, s, "id") for s in stations))
    out += _unique("tariff id", ((t.id, t, "id") for t in tariffs))
    out += _unique("meter", ((f"{m.number}' on platform '{m.platform}", m, "number") for m in meters),
                   fold=False)
    for station in stations:
        out += _unique("EVSE uid", ((e.uid, e, "uid") for e in station.evses),
                       scope=f" in station '{station.id}'")
        for evse in station.evses:
            out += _unique("connector id", ((c.id, c, "id") for c in evse.connectors),
                           scope=f" in EVSE '{evse.uid}'")
    out += _evse_uids_per_platform(platforms, stations)
    for station in stations:
        out += _platform_refs(station, station.platforms, platforms, LOCATION_PLATFORMS, "a station")
    for tariff in tariffs:
        out += _platform_refs(tariff, tariff.platforms or [], platforms, TARIFF_PLATFORMS, "a tariff")
    for meter in meters:
        out += _platform_ref(meter, "platform", meter.platform, platforms, METER_PLATFORMS, "a meter")
    out += _tariff_refs({t.id: t for t in tariffs}, stations, broken_tariffs)
    out += _unique("import of", ((i.to, i, "to") for i in imports), fold=False)
    for block in imports:
        name = Address.parse(block.to).platform
        if name not in platforms:
            out.append(_error(f"unknown platform '{name}'{did_you_mean(name, list(platforms))}",
                              block.source("to")))
    for obj in _all_objects(tariffs, stations, meters):
        out += _ignore_changes(obj)
    if unbuilt:
        out = [d for d in out if not any(d.summary.startswith(f"unknown platform '{n}'") for n in unbuilt)]
    return out


def _where(ref: SourceRef) -> str:
    return f"{ref.file}:{ref.line}" if ref.line else ref.file


def _error(summary: str, ref: SourceRef) -> Diagnostic:
    return Diagnostic.error(summary, file=ref.file or None, line=ref.line, field=ref.path or None)


def _unique(what: str, items: Iterable[tuple[str, ConfigModel, str]], fold: bool = True,
            scope: str = "") -> list[Diagnostic]:
    seen: dict[str, tuple[str, ConfigModel, str]] = {}
    out = []
    for key, obj, field in items:
        norm = key.lower() if fold else key
        if norm in seen:
            first, first_obj, first_field = seen[norm]
            case = "" if first == key else f" (same as '{first}': OCPI ids are case-insensitive)"
            out.append(_error(f"duplicate {what} '{key}'{scope}{case}: also defined at "
                              f"{_where(first_obj.source(first_field))}", obj.source(field)))
        else:
            seen[norm] = (key, obj, field)
    return out


def _evse_uids_per_platform(platforms: dict[str, models.Platform],
                            stations: Sequence[models.Station]) -> list[Diagnostic]:
    """OCPI: an EVSE uid identifies the EVSE within the whole CPO platform, not just its Location."""
    out = []
    for name, platform in platforms.items():
        if platform.type not in OCPI_PLATFORMS:
            continue
        seen: dict[str, tuple[str, models.Evse]] = {}
        for station in stations:
            if name not in station.platforms:
                continue
            for evse in station.evses:
                key = evse.uid.lower()
                first = seen.get(key)
                if first is not None and first[0] != station.id:
                    out.append(_error(
                        f"EVSE uid '{evse.uid}' is also used by station '{first[0]}' "
                        f"({_where(first[1].source('uid'))}); on platform '{name}' an EVSE uid must be "
                        f"unique across all stations", evse.source("uid")))
                seen.setdefault(key, (station.id, evse))
    return out


def _platform_refs(obj: ConfigModel, names: list[str], platforms: dict[str, models.Platform],
                   types: tuple[str, ...], what: str) -> list[Diagnostic]:
    out = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        platform = platforms.get(name)
        if name in seen or platform is None or platform.type not in types:
            ref = obj.source("platforms", i)
            if name in seen:
                out.append(_error(f"platform '{name}' is listed twice", ref))
            out += _platform_ref(obj, "platforms", name, platforms, types, what, ref)
        seen.add(name)
    return out


def _platform_ref(obj: ConfigModel, field: str, name: str, platforms: dict[str, models.Platform],
                  types: tuple[str, ...], what: str, ref: SourceRef | None = None) -> list[Diagnostic]:
    ref = ref or obj.source(field)
    platform = platforms.get(name)
    if platform is None:
        declared = list(platforms)
        hint = did_you_mean(name, declared) or (
            f" (declared: {', '.join(declared)})" if declared else " (no platforms are declared)")
        return [_error(f"unknown platform '{name}'{hint}", ref)]
    if platform.type not in types:
        return [_error(f"platform '{name}' is of type {platform.type}, which cannot hold {what} "
                       f"(types that can: {', '.join(types)})", ref)]
    return []


def _tariff_refs(tariffs: dict[str, models.Tariff], stations: Sequence[models.Station],
                 broken: frozenset[str] = frozenset()) -> list[Diagnostic]:
    out = []
    reported: set[tuple[str, str]] = set()
    for station in stations:
        for evse in station.evses:
            for connector in evse.connectors:
                for i, tariff_id in enumerate(connector.tariffs):
                    tariff = tariffs.get(tariff_id)
                    if tariff is None or tariff.platforms is not None:
                        ref = connector.source("tariffs", i)
                    if tariff is None and tariff_id in broken:
                        continue
                    if tariff is None:
                        hint = did_you_mean(tariff_id, list(tariffs))
                        out.append(_error(f"unknown tariff '{tariff_id}'{hint}", ref))
                        continue
                    if tariff.platforms is None:
                        continue
                    for name in station.platforms:
                        if name not in tariff.platforms and (tariff.id, name) not in reported:
                            reported.add((tariff.id, name))
                            out.append(_error(
                                f"tariff '{tariff.id}' is used on platform '{name}' by station '{station.id}' "
                                f"({_where(ref)}) but its platforms list does not include '{name}'",
                                tariff.source("platforms")))
    return out


def _all_objects(tariffs: Sequence[models.Tariff], stations: Sequence[models.Station],
                 meters: Sequence[models.Meter]) -> Iterable[ConfigModel]:
    yield from tariffs
    yield from meters
    for station in stations:
        yield station
        for evse in station.evses:
            yield evse
            yield from evse.connectors


def _ignore_changes(obj: ConfigModel) -> list[Diagnostic]:
    lifecycle = getattr(obj, "lifecycle", None)
    if not isinstance(lifecycle, models.Lifecycle):
        return []
    names = [n for n in field_names(type(obj)) if n not in ("lifecycle", "drift")]
    out = []
    for i, entry in enumerate(lifecycle.ignore_changes):
        head = entry.split(".", 1)[0].split("[", 1)[0]
        if head not in names:
            out.append(_error(f"ignore_changes: '{entry}' is not a field of this object"
                              f"{did_you_mean(head, names)}", lifecycle.source("ignore_changes", i)))
    return out


def check_review(review: models.Review | None, tariffs: Sequence[models.Tariff],
                 broken: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """A reference session that names a tariff names one that is declared (one declared but in
    error is already reported)."""
    if review is None:
        return []
    ids = [t.id for t in tariffs]
    known = {i.casefold() for i in [*ids, *broken]}
    out = []
    for session in review.reference_sessions:
        if session.tariff is not None and session.tariff.casefold() not in known:
            out.append(_error(f"reference session '{session.name}' names tariff '{session.tariff}', which is not "
                              f"declared{did_you_mean(session.tariff, ids)}", session.source("tariff")))
    return out
