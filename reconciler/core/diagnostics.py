"""Errors as values: a Diagnostic names what went wrong and where (file, line, field, address).

Every layer collects Diagnostics instead of raising one error at a time; the plan carries them and
the CLI prints them and exits 1. `DiagnosticError` carries a list of them across layers that cannot return them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import field as _field

from reconciler.core.redact import Shown, ShownDetail


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


MAX_LINE = 1000  # characters of one printed line of a message (a value quoted in it can be megabytes)
MAX_DETAIL_LINES = 40


def shorten(text: str, limit: int = MAX_LINE) -> str:
    """`text`, cut to `limit` characters with a note of how much was left out."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit:,} more characters)"


@dataclass(frozen=True)
class Diagnostic:
    """The one diagnostic type, from config loading to the plan (`Plan.diagnostics`, a saved plan)
    and the apply's failures; serialised as part of the plan (its text blanked of secrets)."""

    severity: Severity
    summary: Shown
    detail: ShownDetail = ""
    address: str | None = None
    file: str | None = None
    line: int | None = None
    field: str | None = None
    code: str | None = None            # the kind of finding, for views that word it in another language
    params: dict[str, str] = _field(default_factory=dict, hash=False, compare=False)  # what `summary` is worded from

    @classmethod
    def error(cls, summary: str, **kw: object) -> Diagnostic:
        return cls(Severity.ERROR, summary, **kw)  # type: ignore[arg-type]

    @classmethod
    def warning(cls, summary: str, **kw: object) -> Diagnostic:
        return cls(Severity.WARNING, summary, **kw)  # type: ignore[arg-type]

    @property
    def where(self) -> str:
        """`file:line: field` (whichever parts are known), for the start of a message line."""
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.field:
            parts.append(self.field)
        if self.address:
            parts.append(self.address)
        return ": ".join(parts)

    def render(self) -> str:
        """The message as printed; a line longer than MAX_LINE is cut (a value can be megabytes)."""
        head = f"{self.severity.value.capitalize()}: "
        where = self.where
        text = f"{head}{where}: {self.summary}" if where else f"{head}{self.summary}"
        lines = text.splitlines() or [""]
        if self.detail:
            details = self.detail.splitlines()
            lines += ["  " + ln for ln in details[:MAX_DETAIL_LINES]]
            if len(details) > MAX_DETAIL_LINES:
                lines.append(f"  ... and {len(details) - MAX_DETAIL_LINES} more lines")
        return "\n".join(shorten(ln) for ln in lines)

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in {
            "severity": self.severity.value, "summary": shorten(self.summary),
            "detail": shorten(self.detail, 8 * MAX_LINE) or None,
            "file": self.file, "line": self.line, "field": self.field, "address": self.address,
        }.items() if v is not None}


@dataclass
class DiagnosticError(Exception):
    """Raised when work cannot go on; carries every diagnostic collected so far."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    @classmethod
    def single(cls, summary: str, **kw: object) -> DiagnosticError:
        return cls([Diagnostic.error(summary, **kw)])

    def __str__(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diags)
