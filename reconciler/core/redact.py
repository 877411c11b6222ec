"""The process-wide register of secret values, and the filter that blanks them out of any text.

Config loading registers every resolved secret here; every writer of user-visible text (console,
logs, plan and state files) passes through `redact`, so a secret cannot leak even by accident.
"""

from __future__ import annotations

import logging
import threading

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
