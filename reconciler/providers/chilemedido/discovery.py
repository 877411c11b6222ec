"""Listing what the ChileMedido output API shows: organizations, installations and their meters.

Helps a user bind meters: `reconciler medido discover` prints each device's ChileMedido id and
number next to the meters the configuration declares. Reads only; uses the output API (an "API
consumer" account), since the input API can only look a meter up by number or id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.providers import errors
from reconciler.providers.chilemedido import wire
from reconciler.providers.http import PlatformClient


@dataclass
class Installation:
    id: str
    name: str
    units: list[tuple[str, str]]
    devices: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Organization:
    id: str
    name: str
    public: bool | None
    installations: list[Installation] = field(default_factory=list)


def _list(body: Any) -> list[dict[str, Any]]:
    return [x for x in body if isinstance(x, dict)] if isinstance(body, list) else []


async def discover(output: PlatformClient) -> list[Organization]:
    orgs: list[Organization] = []
    for o in _list((await output.request("GET", wire.ORGANIZATIONS_PATH)).body):
        pub = o.get(wire.OUT_PUBLIC)
        org = Organization(str(o.get("id")), str(o.get("name", "")), pub if isinstance(pub, bool) else None)
        orgs.append(org)
        body = (await output.request("GET", f"{wire.INSTALLATIONS_PATH}?{wire.Q_ORGANIZATION}={org.id}")).body
        for i in _list(body):
            units = [(str(u.get("id")), str(u.get("name", ""))) for u in _list(i.get(wire.OUT_UNITS))]
            inst = Installation(str(i.get("id")), str(i.get("name", "")), units)
            org.installations.append(inst)
            try:
                devices = (await output.request(
                    "GET", f"{wire.OUTPUT_DEVICES_PATH}?{wire.Q_INSTALLATION}={inst.id}")).body
            except errors.NotFound:
                devices = []
            inst.devices = _list(devices)
    return orgs


def variables(device: dict[str, Any]) -> list[str]:
    return [v[wire.SENSOR_NAME] for v in _list(device.get(wire.OUT_VARIABLES)) if isinstance(v.get(wire.SENSOR_NAME), str)]
