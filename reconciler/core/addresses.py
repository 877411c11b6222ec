"""Resource addresses: `<platform-name>.<kind>.<local id>`, e.g. `siem.evse.BOG-001/BOG-001-1`."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("location", "evse", "connector", "tariff", "meter", "measurements")


@dataclass(frozen=True, order=True)
class Address:
    platform: str
    kind: str
    local_id: str

    @classmethod
    def parse(cls, text: str) -> Address:
        parts = text.split(".", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{text!r} is not an address; expected <platform>.<kind>.<id>, e.g. siem.location.BOG-001")
        platform, kind, local_id = parts
        if kind not in KINDS:
            raise ValueError(f"{text!r}: unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
        return cls(platform, kind, local_id)

    @property
    def id_parts(self) -> list[str]:
        return self.local_id.split("/")

    def __str__(self) -> str:
        return f"{self.platform}.{self.kind}.{self.local_id}"


def matches_target(address: str, targets: list[str]) -> bool:
    """True when `address` is one of `targets` or lies inside one (a location target includes its EVSEs)."""
    if not targets:
        return True
    a = Address.parse(address)
    for t in targets:
        if t == address:
            return True
        ta = Address.parse(t)
        if ta.platform != a.platform:
            continue
        if ta.kind == "location" and a.kind in ("evse", "connector") and a.id_parts[0] == ta.local_id:
            return True
        if ta.kind == "evse" and a.kind == "connector" and a.id_parts[:2] == ta.id_parts:
            return True
    return False
