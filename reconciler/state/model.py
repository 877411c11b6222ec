"""The state model: what the tool remembers between runs, as pure data (no I/O).

Per address it records the platform ID, the last applied owned attributes (wire shape, never
secrets), an optional *pending* intent for a create whose outcome is not yet known, and a
`prevent_destroy` flag that keeps protecting an object after its YAML block is gone. Per meter it
keeps the measurement watermark. `serial` and `lineage` let a saved plan detect that the state
changed under it.

Used by the engine and providers (read/update in memory), `fileformat` (serialisation), `journal`
(replaying records) and `store` (load/write).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

FORMAT_VERSION = 1
"""The state file format this program writes; older formats are upgraded on load (see fileformat)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _to_utc(value: datetime | None) -> datetime | None:
    # Naive datetimes are taken as UTC: the tool only ever writes UTC, and a hand-edited file
    # without an offset must not silently shift by the local timezone.
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Model(BaseModel):
    # `forbid`: a field this version does not know would otherwise be dropped on the next write,
    # silently losing data written by a newer or hand-edited file.
    # `ser_json_inf_nan="constants"` keeps NaN/inf as floats so the JSON writer refuses them,
    # instead of pydantic quietly turning a provider's bad number into null.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, ser_json_inf_nan="constants")


class PendingIntent(_Model):
    """Recorded before a non-idempotent create; the outcome is unknown until resolved (import/confirm)."""

    operation: str
    started_at: datetime = Field(default_factory=utcnow)
    request: dict[str, Any] = Field(default_factory=dict)
    """Method/path/body summary of the request sent; never secrets."""
    reason: str | None = None
    """Why the outcome became unknown, e.g. "timeout after sending"; None while still in flight."""

    _utc = field_validator("started_at")(_to_utc)

    @field_serializer("started_at", when_used="json")
    def _ser_started(self, v: datetime) -> str | None:
        return _iso_z(v)


class ResourceState(_Model):
    """What is remembered about one managed object, keyed by its address."""

    address: str
    platform_id: str | None = None
    status: Literal["applied", "pending", "removed"] = "applied"
    """`removed` is a tombstone kept on purpose (OCPI EVSE uids are never reused)."""
    attributes: dict[str, Any] = Field(default_factory=dict)
    """Last applied owned fields, wire shape, no secrets: the "last applied" side of the 3-way diff."""
    pending: PendingIntent | None = None
    prevent_destroy: bool = False
    meta: dict[str, Any] = Field(default_factory=dict)
    """Provider-private bookkeeping."""
    updated_at: datetime | None = None

    _utc = field_validator("updated_at")(_to_utc)

    @field_serializer("updated_at", when_used="json")
    def _ser_updated(self, v: datetime | None) -> str | None:
        return _iso_z(v)


class Watermark(_Model):
    """How far the measurements of one meter have been uploaded and accepted."""

    last_timestamp: int | None = None
    """Unix seconds of the newest measurement the platform accepted."""
    rows: int = 0
    updated_at: datetime | None = None
    in_flight: dict[str, Any] | None = None
    """The request being sent when this was recorded (its first/last timestamp and size): set
    before a non-idempotent upload leaves, cleared once it is answered. Still set on load means its
    outcome is unknown (a crash, a lost answer): it is settled before anything more is sent."""

    _utc = field_validator("updated_at")(_to_utc)

    @field_serializer("updated_at", when_used="json")
    def _ser_updated(self, v: datetime | None) -> str | None:
        return _iso_z(v)


class State(_Model):
    """The whole state document."""

    version: int = FORMAT_VERSION
    serial: int = 0
    """Incremented on every write; a saved plan records it to refuse applying over a newer state."""
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    """Fixed when the state is created; distinguishes unrelated states with equal serials."""
    resources: dict[str, ResourceState] = Field(default_factory=dict)
    watermarks: dict[str, Watermark] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_match_addresses(self) -> State:
        # A resource filed under another address would be found by get() under the wrong name.
        for key, rs in self.resources.items():
            if key != rs.address:
                raise ValueError(f"resource filed under {key!r} has address {rs.address!r}")
        return self

    def get(self, address: str) -> ResourceState | None:
        return self.resources.get(address)

    def put(self, rs: ResourceState) -> None:
        self.resources[rs.address] = rs

    def remove(self, address: str) -> ResourceState | None:
        """Forget the address entirely (unlike a `removed` tombstone); returns what was there."""
        return self.resources.pop(address, None)

    def addresses(self, prefix: str | None = None) -> list[str]:
        """Sorted addresses, optionally only those starting with `prefix` (e.g. "siem.evse.")."""
        return sorted(a for a in self.resources if prefix is None or a.startswith(prefix))

    def get_watermark(self, address: str) -> Watermark | None:
        return self.watermarks.get(address)

    def set_watermark(self, address: str, wm: Watermark) -> None:
        self.watermarks[address] = wm
