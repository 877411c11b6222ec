"""Helpers shared by the config tests: write a config tree, load it, collect its diagnostics."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.config import loader, models
from reconciler.core.diagnostics import Diagnostic, DiagnosticError, Severity
from tests.shared_data import shared

# The example of SPEC.md "Configuration", verbatim apart from the schema comment.
SPEC_EXAMPLE = """\
platforms:                       # named connections; a name is used in addresses
  siem:
    type: siem                   # siem | ocpi | sec | chilemedido
    url: sandbox                 # "sandbox" = the embedded simulator; else https://...
    country_code: CO
    party_id: ABC
    api_key: ${env:SIEM_API_KEY} # secrets only through ${env:NAME} or ${file:path}
    client_cert: ${file:certs/client.pem}   # mTLS (optional)
    client_key: ${file:certs/client.key}
  sec:
    type: sec
    url: sandbox
    opc:                         # block style: `${...}` is not valid inside a {flow} mapping
      username: ${env:SEC_OPC_RUT}
      password: ${env:SEC_OPC_PASSWORD}
    pse:
      username: ${env:SEC_PSE_RUT}
      password: ${env:SEC_PSE_PASSWORD}
  medido:
    type: chilemedido
    url: sandbox
    refresh_token: ${env:CHILEMEDIDO_REFRESH_TOKEN}

tariffs:                         # platform-neutral, OCPI 2.2.1 shaped
  - id: dc-fast
    currency: COP
    type: REGULAR
    elements:
      - price_components:
          - {type: ENERGY, price: 1450, vat: 19, step_size: 1}
          - {type: FLAT, price: 2000, step_size: 1}

stations:                        # OCPI Location shaped; one station = one Location
  - id: BOG-001
    platforms: [siem]            # where this station is reported
    name: Centro Comercial Andino
    address: Cra 11 82-71
    city: Bogota
    country: COL
    coordinates: {latitude: "4.666700", longitude: "-74.052800"}
    time_zone: America/Bogota
    publish: true
    evses:
      - uid: BOG-001-1
        capabilities: [RFID_READER]
        connectors:
          - id: "1"
            standard: IEC_62196_T2_COMBO
            format: CABLE
            power_type: DC
            max_voltage: 920
            max_amperage: 200
            max_electric_power: 150000
            tariffs: [dc-fast]   # references to tariff ids above

meters:
  - number: "29"
    platform: medido
    sensors: ["Energía activa acumulada", "Potencia activa total instantánea"]
    measurements: {path: data/meter-29/*.csv}   # optional upload source
"""

SIEM_SANDBOX = """\
platforms:
  siem:
    type: siem
    url: sandbox
    country_code: CO
    party_id: ABC
"""

TARIFF = """\
tariffs:
  - id: dc-fast
    currency: COP
    elements:
      - price_components:
          - {type: ENERGY, price: 1450, vat: 19, step_size: 1}
"""


def station(sid: str = "BOG-001", platforms: str = "[siem]", tariffs: str = "[dc-fast]", extra: str = "") -> str:
    """A valid station list item (indented for a `stations:` list)."""
    text = f"""\
- id: {sid}
  platforms: {platforms}
  address: Cra 11 82-71
  city: Bogota
  country: COL
  coordinates: {{latitude: "4.666700", longitude: "-74.052800"}}
  time_zone: America/Bogota
  publish: true
{textwrap.indent(extra, "  ") if extra else ""}\
  evses:
    - uid: {sid}-1
      connectors:
        - id: "1"
          standard: IEC_62196_T2_COMBO
          format: CABLE
          power_type: DC
          max_voltage: 920
          max_amperage: 200
          tariffs: {tariffs}
"""
    return textwrap.indent(text, "  ")


def write(root: Path, files: dict[str, str]) -> Path:
    """Write `{relative path: text}` under root (dedented) and return root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def load(root: Path, files: dict[str, str] | None = None) -> models.Config:
    return loader.load_config(write(root, files) if files else root)


def diagnostics(root: Path, files: dict[str, str] | None = None) -> list[Diagnostic]:
    """The diagnostics of a config that must fail to load."""
    with pytest.raises(DiagnosticError) as info:
        load(root, files)
    return info.value.diagnostics


def errors(root: Path, files: dict[str, str] | None = None) -> list[Diagnostic]:
    return [d for d in diagnostics(root, files) if d.severity is Severity.ERROR]


def one_error(root: Path, files: dict[str, str] | None = None) -> Diagnostic:
    found = errors(root, files)
    assert len(found) == 1, "\n".join(d.render() for d in found)
    return found[0]


def shared_dir() -> Path | None:
    """The folder holding the third-party test data (tests/data, or $RECONCILER_SHARED)."""
    path = shared("ocpi-2.2.1-examples").parent
    return path.resolve() if path.is_dir() else None
