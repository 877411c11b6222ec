"""Saved plan files (`plan --out FILE`, `apply FILE`): JSON of the Plan model, with a format check.

A plan file never holds secrets: credentials are read again from the config when it is applied.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from reconciler.core.diagnostics import DiagnosticError
from reconciler.core.redact import redact
from reconciler.plans.model import PLAN_FORMAT_VERSION, Plan

MAGIC = "reconciler-plan"


def dumps(plan: Plan) -> str:
    doc = {"kind": MAGIC, **plan.model_dump(mode="json")}
    return redact(json.dumps(doc, indent=2, sort_keys=False)) + "\n"


def write(plan: Plan, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(plan), encoding="utf-8")
    tmp.replace(path)


def looks_like_planfile(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(200)
    except OSError:
        return False
    return MAGIC.encode() in head


def read(path: Path) -> Plan:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DiagnosticError.single(f"cannot read the saved plan: {exc}", file=str(path)) from None
    if not isinstance(doc, dict) or doc.pop("kind", None) != MAGIC:
        raise DiagnosticError.single("this file is not a saved reconciler plan", file=str(path))
    if doc.get("format_version") != PLAN_FORMAT_VERSION:
        raise DiagnosticError.single(
            f"the saved plan has format {doc.get('format_version')}; this reconciler reads {PLAN_FORMAT_VERSION}. "
            "Make a new plan.", file=str(path))
    try:
        return Plan.model_validate(doc)
    except ValidationError as exc:
        raise DiagnosticError.single(f"the saved plan is damaged: {exc.error_count()} invalid fields",
                                     file=str(path)) from None
