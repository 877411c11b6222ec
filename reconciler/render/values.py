"""Formatting of values and labels shared by the text and markdown views."""

from __future__ import annotations

import json
from typing import Any

from reconciler.render import i18n

VERBS = {
    "create": "will be created",
    "update": "will be updated in place",
    "delete": "will be removed",
    "replace": "will be replaced (deleted, then created)",
    "forget": "will be forgotten (dropped from the state only)",
}
SYMBOL = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "forget": "x"}


def value(v: Any, limit: int | None = None) -> str:
    """A value as JSON text, whole (never cut mid-value); `limit` only for a one-line glance, where
    a cut ends with `...`."""
    if v is None:
        return "(none)"
    text = json.dumps(v, ensure_ascii=False, separators=(", ", ": ")) if not isinstance(v, bool) else str(v).lower()
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def pct(p: float | None) -> str:
    if p is None:
        return ""
    return f"{p:+.2f}%"


def summary_line(s: dict[str, Any]) -> str:
    return "Plan: " + i18n.summary("en", s)


def where(d: dict[str, Any]) -> str:
    """`file:line: field: ` of a plan diagnostic written in a file, to start its line ('' otherwise)."""
    if not d.get("file"):
        return ""
    parts = []
    if d.get("file"):
        parts.append(f"{d['file']}:{d['line']}" if d.get("line") else d["file"])
    if d.get("field"):
        parts.append(d["field"])
    return "".join(f"{p}: " for p in parts)


def identity(ch: dict[str, Any]) -> str:
    ident = ch.get("identity") or {}
    vals = [str(v) for v in ident.values() if v not in (None, "")]
    return " · ".join(vals)


def request_line(r: dict[str, Any]) -> str:
    line = f"{r['method']} {r['path']}"
    if r.get("account"):
        line += f"  (as {r['account']})"
    body = r.get("body")
    if r["method"] == "PATCH" and isinstance(body, dict):
        keys = [k for k in body if k != "last_updated"]
        line += "  {" + ", ".join(keys) + (", last_updated}" if "last_updated" in body else "}")
    if r.get("repeat", 1) > 1:
        line += f"  x{r['repeat']}"
    return line
