"""OCPI 2.2.1 objects and enumerations (Locations and Tariffs modules), as pydantic models.

The wire models (`Location`, `EVSE`, `Connector`, `Tariff`) validate what OCPI parties send and
receive; the providers that speak OCPI (the SIEM, a generic `ocpi` receiver) and the sandbox use
them. `models` builds the config's Station/Evse/Connector/Tariff on the `*Fields` bases here and
reuses the small classes (GeoLocation, DisplayText, Hours, EnergyMix, ...) as they are.

Lengths are the OCPI 2.2.1 text with the post-d2 errata (Location.address 255, state 45); the
SIEM guide's stricter limits (45, 20) are a platform rule, checked by the SIEM provider.
"""

from __future__ import annotations

from pydantic import Field

from reconciler.config.base import ConfigModel
from reconciler.config.enums import (
    Capability,
    ConnectorFormat,
    ConnectorType,
    DayOfWeek,
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    Facility,
    ImageCategory,
    ParkingRestriction,
    ParkingType,
    PowerType,
    ReservationRestrictionType,
    Status,
    TariffDimensionType,
    TariffType,
    TokenType,
)
from reconciler.config.fields import (
    CiString2,
    CiString3,
    CiString4,
    CiString36,
    CiString48,
    Country,
    Currency,
    Date,
    DateTime,
    HourMinute,
    Language,
    Latitude,
    Longitude,
    Number,
    String4,
    String10,
    String16,
    String45,
    String64,
    String100,
    String255,
    String512,
    Url,
)

# The enumerations live in `enums`; they are part of this module's interface too (ocpi.ConnectorType).
__all__ = [
    "AdditionalGeoLocation", "BusinessDetails", "Capability", "Connector", "ConnectorFields",
    "ConnectorFormat", "ConnectorType", "DayOfWeek", "DisplayText", "EVSE", "EVSEFields", "EnergyMix",
    "EnergySource", "EnergySourceCategory", "EnvironmentalImpact", "EnvironmentalImpactCategory",
    "ExceptionalPeriod", "Facility", "GeoLocation", "Hours", "Image", "ImageCategory", "Location",
    "LocationFields", "ParkingRestriction", "ParkingType", "PowerType", "Price", "PriceComponent",
    "PublishTokenType", "RegularHours", "ReservationRestrictionType", "Status", "StatusSchedule", "Tariff",
    "TariffDimensionType", "TariffElement", "TariffFields", "TariffRestrictions", "TariffType", "TokenType",
]

# -- small classes, shared by the wire and config models ---------------------------------------


class DisplayText(ConfigModel):
    language: Language
    text: String512


class GeoLocation(ConfigModel):
    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(ConfigModel):
    latitude: Latitude
    longitude: Longitude
    name: DisplayText | None = None


class Image(ConfigModel):
    url: Url
    thumbnail: Url | None = None
    category: ImageCategory
    type: CiString4
    width: int | None = Field(default=None, ge=0, le=99999)
    height: int | None = Field(default=None, ge=0, le=99999)


class BusinessDetails(ConfigModel):
    name: String100
    website: Url | None = None
    logo: Image | None = None


class RegularHours(ConfigModel):
    weekday: int = Field(ge=1, le=7)
    period_begin: HourMinute
    period_end: HourMinute


class ExceptionalPeriod(ConfigModel):
    period_begin: DateTime
    period_end: DateTime


class Hours(ConfigModel):
    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None


class EnergySource(ConfigModel):
    # OCPI's field `source` would hide ConfigModel.source(); the attribute is `source_`, the
    # YAML/JSON key stays `source` (model_dump uses it too).
    source_: EnergySourceCategory = Field(alias="source")
    percentage: Number = Field(ge=0, le=100)


class EnvironmentalImpact(ConfigModel):
    category: EnvironmentalImpactCategory
    amount: Number = Field(ge=0)


class EnergyMix(ConfigModel):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None


class PublishTokenType(ConfigModel):
    uid: CiString36 | None = None
    type: TokenType | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None


class StatusSchedule(ConfigModel):
    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


class Price(ConfigModel):
    excl_vat: Number
    incl_vat: Number | None = None


class TariffRestrictions(ConfigModel):
    start_time: HourMinute | None = None
    end_time: HourMinute | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_current: Number | None = None
    max_current: Number | None = None
    min_power: Number | None = None
    max_power: Number | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


# -- the fields an OCPI object and its config counterpart share ---------------------------------


class ConnectorFields(ConfigModel):
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    terms_and_conditions: Url | None = None


class EVSEFields(ConfigModel):
    evse_id: CiString48 | None = None
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None


class LocationFields(ConfigModel):
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: String255 | None = None
    address: String255
    city: String45
    postal_code: String10 | None = None
    state: String45 | None = None
    country: Country
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: String255
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None


class TariffFields(ConfigModel):
    currency: Currency
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None


# -- wire objects ---------------------------------------------------------------------------------


class Connector(ConnectorFields):
    id: CiString36
    tariff_ids: list[CiString36] | None = None
    last_updated: DateTime


class EVSE(EVSEFields):
    uid: CiString36
    status: Status
    connectors: list[Connector] = Field(min_length=1)
    last_updated: DateTime


class Location(LocationFields):
    country_code: CiString2
    party_id: CiString3
    id: CiString36
    evses: list[EVSE] | None = None
    last_updated: DateTime


class PriceComponent(ConfigModel):
    type: TariffDimensionType
    price: Number
    vat: Number | None = None
    step_size: int = Field(ge=0)


class TariffElement(ConfigModel):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: TariffRestrictions | None = None


class Tariff(TariffFields):
    country_code: CiString2
    party_id: CiString3
    id: CiString36
    elements: list[TariffElement] = Field(min_length=1)
    last_updated: DateTime
