"""The process-wide register of secret values, and the filter that blanks them out of any text.

Config loading registers every resolved secret here; every writer of user-visible text (console,
logs, plan and state files) passes through `redact`, so a secret cannot leak even by accident.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

MASK = "(sensitive)"
_secrets: set[str] = set()
_lock = threading.Lock()


def register(value: str) -> None:
    """Remember a secret value; values shorter than 4 characters are too common to blank safely."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    if not _secrets or not text:
        return text
    for s in sorted(_secrets, key=len, reverse=True):
        if s in text:
            text = text.replace(s, MASK)
    return text


def _shown_or_none(text: str) -> str | None:
    return redact(text) or None


# Free text for people, never executed (a diagnostic, a note): blanked of registered secrets
# whenever it is serialised to JSON (plan files, `plan --json`).
Shown = Annotated[str, PlainSerializer(redact, return_type=str, when_used="json")]
# The same for an optional explanation: "" when there is none, written as null.
ShownDetail = Annotated[str, BeforeValidator(lambda v: "" if v is None else v),
                        PlainSerializer(_shown_or_none, return_type=str | None, when_used="json")]


def clear() -> None:
    """For tests: forget every registered secret."""
    with _lock:
        _secrets.clear()


class RedactingFilter(logging.Filter):
    """A logging filter that blanks registered secrets out of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
