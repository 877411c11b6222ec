"""The configuration as the engine sees it: platforms, tariffs, stations, meters, imports, review.

`loader.load_config` builds a `Config` from YAML; the engine, planner and providers read it. The
station/EVSE/connector/tariff models keep OCPI 2.2.1 names and limits (`ocpi`); what the engine
needs on top (which platforms, tariff references, lifecycle, drift) is added here. Every model
instance knows where it was written: `obj.source(field)` -> `SourceRef(file, line, path)`.

Optional OCPI lists default to None, not [], so that "not written" (somebody else's field) stays
distinguishable from "written empty" (clear it); `model_dump(mode="json", exclude_none=True)`
therefore gives exactly the fields the YAML declares, under their OCPI names.
"""

from __future__ import annotations

import enum
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from reconciler.config import medido, ocpi
from reconciler.config import sec as sec_blocks
from reconciler.config.base import ConfigModel, SourceRef
from reconciler.config.fields import AddressId36, Amount, CountryCode, Number, PartyId, TariffId36, TextId
from reconciler.core.addresses import Address
from reconciler.core.diagnostics import Diagnostic

__all__ = [
    "Account", "ChileMedidoPlatform", "Config", "Connector", "Document", "Evse", "ImportBlock",
    "Lifecycle", "Measurements", "Meter", "OcpiPlatform", "Platform", "PriceComponent", "ReferenceSession", "Review",
    "SecPlatform", "SiemPlatform", "SourceRef", "StateSettings", "Station", "Tariff", "TariffDimension", "TariffElement",
]

Drift = Literal["correct", "warn"]
PLATFORM_NAME = r"^[A-Za-z0-9_-]+$"
PLATFORM_NAME_RE = re.compile(PLATFORM_NAME)
PlatformName = Annotated[str, StringConstraints(pattern=PLATFORM_NAME)]
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Lifecycle(ConfigModel):
    ignore_changes: list[str] = []
    prevent_destroy: bool = False


# -- platforms ------------------------------------------------------------------------------------


class Platform(ConfigModel):
    """A named connection to one platform; `name` is the key it is declared under."""

    name: SkipJsonSchema[str] = ""
    type: str
    url: str = Field(description='"sandbox" (the embedded simulator) or an https:// URL')
    concurrency: int = Field(default=16, ge=1, le=256, description="requests in flight at once")
    timeout: float = Field(default=30, gt=0, description="seconds to wait for an answer")
    retries: int = Field(default=5, ge=0, le=100, description="retries of an idempotent request on 5xx, 429, "
                                                              "timeouts")
    retry_delay: float = Field(default=0.5, ge=0, le=60, description="first backoff delay in seconds; doubles "
                                                                     "on each retry, with jitter")
    drift: Drift = "correct"
    client_cert: Path | None = Field(default=None, description="mTLS client certificate (PEM), with client_key")
    client_key: Path | None = Field(default=None, description="private key of client_cert (PEM)")
    ca_bundle: Path | None = Field(default=None, description="CA certificates (PEM) that verify the platform's "
                                                             "TLS certificate; default: the public ones (certifi)")

    @property
    def is_sandbox(self) -> bool:
        return self.url == "sandbox"

    @model_validator(mode="after")
    def _cert_pair(self) -> Platform:
        if (self.client_cert is None) != (self.client_key is None) and not self.is_sandbox:
            raise ValueError("client_cert and client_key go together: give both or neither")
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value == "sandbox":
            return value
        parts = urlsplit(value)
        if parts.username or parts.password:
            raise ValueError("credentials do not belong in a URL; use the platform's credential fields")
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname:
            if parts.hostname in _LOOPBACK:
                return value
            raise ValueError("TLS is required: use https:// (http:// only for 127.0.0.1, localhost or [::1])")
        raise ValueError('expected "sandbox" or an https:// URL')


class _OcpiParty(Platform):
    country_code: CountryCode
    party_id: PartyId
    token_ttl_margin: int = Field(default=60, ge=0, description="seconds before expiry to renew a token")


class SiemPlatform(_OcpiParty):
    type: Literal["siem"]
    api_key: SecretStr | None = None


class OcpiPlatform(_OcpiParty):
    type: Literal["ocpi"]
    token: SecretStr | None = None


class Account(ConfigModel):
    username: SecretStr | None
    password: SecretStr | None


class SecPlatform(Platform):
    type: Literal["sec"]
    opc: Account | None = None
    pse: Account | None = None
    prices_include_vat: bool | None = None


class ChileMedidoPlatform(Platform):
    type: Literal["chilemedido"]
    refresh_token: SecretStr | None = Field(None, description="the gateway's refresh token (JWT) from a ChileMedido "
                                                               "administrator; ${env:...} or ${file:...}")
    token_cache: Path | None = Field(None, description="file outside the repository (mode 0600) that keeps the "
                                                       "newest refresh token the platform hands out")
    clock_tolerance: float | None = Field(5, ge=0, description="seconds; when the platform clock (GET /server-time) "
                                                               "differs by more, timestamps are corrected by the "
                                                               "offset; null: never corrected, only reported")
    output: medido.OutputApi | None = Field(None, description="the read-only output API, for read-back and "
                                                              "`reconciler medido discover`")


PLATFORM_TYPES: dict[str, type[Platform]] = {
    "siem": SiemPlatform, "ocpi": OcpiPlatform, "sec": SecPlatform, "chilemedido": ChileMedidoPlatform,
}
AnyPlatform = Annotated[SiemPlatform | OcpiPlatform | SecPlatform | ChileMedidoPlatform,
                        Field(discriminator="type")]


# -- stations -------------------------------------------------------------------------------------


class Connector(ocpi.ConnectorFields):
    id: AddressId36
    max_voltage: int = Field(gt=0)
    max_amperage: int = Field(gt=0)
    max_electric_power: int | None = Field(default=None, gt=0, description="watts")
    tariffs: list[TextId] = Field(default=[], description="ids of tariffs declared under `tariffs:`")
    sec: sec_blocks.SecConnector | None = Field(default=None, description="SEC (Chile) fields")
    lifecycle: Lifecycle | None = None
    drift: Drift | None = None


class Evse(ocpi.EVSEFields):
    uid: AddressId36
    status: ocpi.Status = Field(default=ocpi.Status.AVAILABLE, description="sent only when the EVSE is created")
    connectors: list[Connector] = Field(min_length=1)
    sec: sec_blocks.SecEvse | None = Field(default=None, description="SEC (Chile) fields")
    lifecycle: Lifecycle | None = None
    drift: Drift | None = None


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class Station(ocpi.LocationFields):
    """One charging station: one OCPI Location, reported to each of `platforms`."""

    id: AddressId36
    platforms: list[str] = Field(min_length=1)
    evses: list[Evse] = []
    lifecycle: Lifecycle | None = None
    drift: Drift | None = None

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):  # OSError: a name too long for a file
            close = get_close_matches(value, sorted(_zones()), n=1) if len(value) < 100 else []
            hint = f"; did you mean '{close[0]}'?" if close else " (an IANA name, e.g. America/Bogota)"
            raise ValueError(f"unknown time zone '{value}'{hint}") from None
        return value


# -- tariffs --------------------------------------------------------------------------------------


class TariffDimension(enum.StrEnum):
    """OCPI's TariffDimensionType plus POWER (SEC's POTENCIA); providers reject what they cannot send."""

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"
    POWER = "POWER"


class PriceComponent(ConfigModel):
    type: TariffDimension
    price: Amount = Field(ge=0, description="excluding VAT; a number (1750, 1.75), never quoted text")
    vat: Amount | None = Field(default=None, ge=0, le=100, description="percent")
    step_size: int = Field(ge=0)


class TariffElement(ConfigModel):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: ocpi.TariffRestrictions | None = None


class Price(ocpi.Price):
    """min_price / max_price: numbers, never quoted text."""

    excl_vat: Amount
    incl_vat: Amount | None = None


class Tariff(ocpi.TariffFields):
    id: TariffId36
    min_price: Price | None = None
    max_price: Price | None = None
    elements: list[TariffElement] = Field(min_length=1)
    platforms: list[str] | None = Field(default=None, description="default: the platforms of its stations")
    lifecycle: Lifecycle | None = None
    drift: Drift | None = None

    @model_validator(mode="after")
    def _validity(self) -> Tariff:
        if self.start_date_time and self.end_date_time and self.end_date_time <= self.start_date_time:
            raise ValueError("end_date_time must be later than start_date_time")
        return self


# -- meters, imports, review ----------------------------------------------------------------------


Measurements = medido.Measurements


class Meter(ConfigModel):
    number: TextId
    platform: str
    sensors: list[str] = []
    measurements: Measurements | None = None
    lifecycle: Lifecycle | None = None


class ImportBlock(ConfigModel):
    """Binds an object that already exists on a platform to an address."""

    to: str
    id: TextId

    @field_validator("to")
    @classmethod
    def _address(cls, value: str) -> str:
        Address.parse(value)  # its ValueError names the problem
        return value


class ReferenceSession(ConfigModel):
    """A typical charging session whose cost before and after a tariff change the review shows."""

    name: str = Field(min_length=1, max_length=80, description='what reviewers read, e.g. "30 kWh DC in 40 min"')
    tariff: str | None = Field(default=None, description="price only this tariff id (default: every changed tariff)")
    kwh: Number = Field(ge=0, description="energy charged")
    minutes: Number = Field(gt=0, description="minutes charging")
    parking_minutes: Number = Field(default=Decimal(0), ge=0, description="minutes connected after charging")
    start: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$",
                              description="local time at the station, YYYY-MM-DDTHH:MM (default: Monday 10:00 "
                                          "of the week the plan is made)")
    max_power_kw: Number | None = Field(default=None, gt=0, description="charging power for power restrictions "
                                                                        "(default: kwh / hours charging)")
    max_current_a: Number | None = Field(default=None, gt=0, description="charging current for current "
                                                                         "restrictions (default: not reported)")

    @field_validator("start")
    @classmethod
    def _start(cls, value: str | None) -> str | None:
        if value is not None:
            datetime.fromisoformat(value)  # its ValueError names the bad part ("month must be in 1..12")
        return value


class Review(ConfigModel):
    max_price_change_pct: Decimal | None = Field(default=None, ge=0, description="apply refuses a larger price "
                                                 "change unless --allow-large-price-change")
    max_deletions: int | None = Field(default=None, ge=0, description="apply refuses to remove more objects")
    reference_sessions: list[ReferenceSession] = Field(default=[], description="sessions priced before and "
                                                       "after each tariff change in the pull-request comment")
    pricing_rules: Literal["ocpi-text", "reference"] = Field(
        default="ocpi-text", description="ocpi-text: min/max price applied, as the OCPI 2.2.1 text and worked "
        "examples; reference: as TandemDrive's reference calculator (no min/max price)")


STATE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"


class StateSettings(ConfigModel):
    """Where the state lives: the file beside the configuration (local) or a PostgreSQL database."""

    backend: Literal["local", "postgres"] = Field(default="local", description="local: the state file beside "
                                                  "the configuration (default); postgres: a table in a database "
                                                  "shared by the team and CI")
    url: SecretStr | None = Field(default=None, description="postgres only: ${env:RECONCILER_STATE_URL} or "
                                  "${file:path}, holding postgresql://user[:password]@host:5432/database (a secret)")
    name: Annotated[str, StringConstraints(pattern=STATE_NAME)] | None = Field(
        default=None, description="postgres only: one state per name in that database, e.g. colombia-prod")

    @model_validator(mode="after")
    def _backend_fields(self) -> StateSettings:
        if self.backend == "local":
            extra = [k for k in ("url", "name") if k in self.model_fields_set]
            if extra:
                raise ValueError(f"{' and '.join(extra)} only apply to backend: postgres")
        elif "name" not in self.model_fields_set or not self.name:
            raise ValueError("backend: postgres needs a name (one state per name in the database)")
        return self


class Document(ConfigModel):
    """One config file (and the merge of all of them); used for the JSON schema."""

    platforms: dict[PlatformName, AnyPlatform] | None = None
    tariffs: list[Tariff] | None = None
    stations: list[Station] | None = None
    meters: list[Meter] | None = None
    import_: list[ImportBlock] | None = Field(default=None, alias="import")
    review: Review | None = None
    state: StateSettings | None = None


TOP_LEVEL_KEYS = ("platforms", "tariffs", "stations", "meters", "import", "review", "state")


@dataclass
class Config:
    """A whole loaded configuration; built by `loader.load_config` only."""

    root: Path
    files: list[Path]
    digest: str
    platforms: dict[str, Platform] = field(default_factory=dict)
    tariffs: dict[str, Tariff] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)
    meters: list[Meter] = field(default_factory=list)
    imports: list[ImportBlock] = field(default_factory=list)
    review: Review | None = None
    warnings: list[Diagnostic] = field(default_factory=list)
    state: StateSettings | None = None
