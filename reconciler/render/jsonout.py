"""The plan's JSON document (`plan --json`), the single source every other view renders from.

Its schema is `schemas/plan.schema.json`, generated from the plan model by `python -m
reconciler.render.jsonout --schema`. Stable: fields are only ever added.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reconciler.core.diagnostics import Diagnostic, Severity, shorten
from reconciler.plans import digest
from reconciler.plans.model import Plan

DIAGNOSTICS_FORMAT = "1.0"

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON data. Plans hold no secrets by construction (credentials never enter
    the resource model); every writer still passes its text through `redact`."""
    doc = plan.model_dump(mode="json")
    summary = plan.summarise()
    doc["summary"] = summary.model_dump(mode="json")
    doc["has_changes"] = summary.has_changes
    doc["digest"] = digest.plan_digest(doc)
    return doc


def display_document(plan: Plan) -> dict[str, Any]:
    """What the text plan shows of `plan`: its document without the state updates and without
    the digest, which no view displays (at 10,000 stations they are a third of the document's
    memory, at the moment apply holds the plan, its document and its text at once)."""
    doc = plan.model_dump(mode="json", exclude={"state_sync": True, "changes": {"__all__": {"state_updates"}}})
    doc["summary"] = plan.summarise().model_dump(mode="json")
    return doc


def diagnostic(d: Diagnostic) -> dict[str, Any]:
    """One diagnostic in the shape of Terraform's `-json` diagnostics: severity, summary, detail and,
    where known, `range` (file relative to the configuration directory, 1-based line), plus this
    tool's `field` (the path within the file) and `address`."""
    out: dict[str, Any] = {"severity": d.severity.value, "summary": shorten(d.summary),
                           "detail": shorten(d.detail, 8000)}
    if d.file:
        out["range"] = {"filename": d.file, "start": {"line": d.line}} if d.line else {"filename": d.file}
    if d.field:
        out["field"] = d.field
    if d.address:
        out["address"] = d.address
    return out


def diagnostics_document(diags: list[Diagnostic], **extra: Any) -> dict[str, Any]:
    """What `validate --json` prints, and what `plan --json` / `apply --json` print when they stop
    before a plan exists (a configuration error, a locked state, a platform that cannot be read)."""
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diags if d.severity is Severity.WARNING)
    return {"format_version": DIAGNOSTICS_FORMAT, "valid": errors == 0, "error_count": errors,
            "warning_count": warnings, **extra, "diagnostics": [diagnostic(d) for d in diags]}


def schema() -> dict[str, Any]:
    sch = Plan.model_json_schema(mode="serialization")
    sch["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    sch["title"] = "reconciler plan (plan --json)"
    sch["description"] = ("A reconciler plan: every resource change with field-level before/after and the exact "
                          "HTTP requests apply will send (paths relative to the platform's base URL; "
                          "`last_updated` values are stamped again at send time).")
    sch.setdefault("properties", {})["has_changes"] = {"type": "boolean"}
    sch["properties"]["digest"] = {
        "type": "string", "pattern": "^sha256:[0-9a-f]{64}$",
        "description": "sha256 of the changes (addresses, actions, request bodies without last_updated; canonical "
                       "JSON): what a review approved. The action compares it with the plan made at merge."}
    return sch


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = schema_text()
    if "--check" in argv:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is stale; run: python -m reconciler.render.jsonout --schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
