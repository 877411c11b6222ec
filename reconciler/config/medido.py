"""ChileMedido blocks of the configuration: a meter's measurement source and the output API.

`models.Meter.measurements` is a `Measurements`: CSV files found by a glob (relative to the YAML
file that declares it), which column holds the time and how to read it, and which columns hold
which sensor's values. `models.ChileMedidoPlatform.output` is an `OutputApi`. The provider
(`providers/chilemedido/source.py`) reads the files; this module only says what is valid to write.

Local times and Chile's clock changes (America/Santiago goes back one hour on the first Saturday
night of April and forward one hour on the first Saturday night of September): a local time in
the hour that happens twice is *ambiguous*, one in the hour that is skipped *non-existent*.
`dst` says what such a time means; the default is to refuse it, so nothing is ever shifted
without the user asking for it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from reconciler.config.base import ConfigModel

TIME_FORMATS = ("iso8601", "unix")


class DstRule(ConfigModel):
    """What a local time at a clock change means."""

    ambiguous: Literal["error", "first", "second", "infer"] = Field(
        "error", description="a local time that happens twice (clocks go back): error (default); first = the "
                             "earlier instant (summer time); second = the later one (winter time); infer = in file "
                             "order, its first occurrence is the earlier instant and a repeat the later")
    nonexistent: Literal["error", "shift_forward"] = Field(
        "error", description="a local time that never happens (clocks go forward): error (default); shift_forward = "
                             "read it with the offset in force before the change (00:15 becomes 01:15 summer time)")


class Measurements(ConfigModel):
    """Where a meter's measurements are read from, and how."""

    path: str = Field(min_length=1, description="glob of CSV files, relative to the YAML file; files are read in "
                                                "name order and rows must be in time order")
    timestamp_column: str = Field("timestamp", min_length=1, description="the column holding each row's time")
    timestamp_format: str = Field(
        "iso8601", min_length=1,
        description="iso8601 (2025-04-05T23:15:00, an offset such as -03:00 is honoured), unix (seconds) or a "
                    "strptime format such as %Y-%m-%d %H:%M or %d/%m/%Y %H:%M:%S")
    time_zone: str | None = Field(None, description="IANA zone of times written without an offset, e.g. "
                                                     "America/Santiago")
    columns: dict[str, str] = Field(default_factory=dict, description="CSV column -> ChileMedido sensor name "
                                    "(exact, with accents), each one of the meter's sensors; default: every sensor "
                                    "of the meter, in a column named after it")
    dst: DstRule = Field(default_factory=DstRule)
    delimiter: str = Field(",", min_length=1, max_length=1)
    decimal: Literal[".", ","] = Field(".", description="decimal separator of the values")
    encoding: str = "utf-8"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from reconciler.config import models  # models imports this module

        checked: str = models.Station._time_zone(value)  # one IANA check, with its did-you-mean
        return checked

    @field_validator("timestamp_format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in TIME_FORMATS and "%" not in value:
            raise ValueError("expected iso8601, unix or a strptime format such as %Y-%m-%d %H:%M")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Measurements:
        if self.timestamp_column in self.columns:
            raise ValueError(f"column '{self.timestamp_column}' is the timestamp column and cannot also be a value "
                             "column")
        seen: dict[str, str] = {}
        for column, sensor in self.columns.items():
            if sensor in seen:
                raise ValueError(f"columns '{seen[sensor]}' and '{column}' both map to the sensor '{sensor}'")
            seen[sensor] = column
        strptime = self.timestamp_format not in TIME_FORMATS
        if strptime and "%z" not in self.timestamp_format and self.time_zone is None:
            raise ValueError("time_zone is required: the timestamp format has no UTC offset (%z), so the times are "
                             "local; e.g. time_zone: America/Santiago")
        if self.delimiter == self.decimal:
            raise ValueError(f"the delimiter and the decimal separator are both '{self.delimiter}'")
        return self


class OutputApi(ConfigModel):
    """ChileMedido's read-only output API (an "API consumer" account): read-back and discovery."""

    url: str = Field(description='"sandbox" or the https:// base URL given with the consumer account')
    token: SecretStr | None = Field(None, description="the consumer's access token, ${env:...} or ${file:...}")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        from reconciler.config import models  # models imports this module

        checked: str = models.Platform._url(value)
        return checked
