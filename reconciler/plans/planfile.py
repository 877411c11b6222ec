"""Saved plan files (`plan --out FILE`, `apply FILE`): JSON of the Plan model, with a format check.

A plan file never holds secrets: credentials are read again from the config when it is applied.
That holds by type, not by rewriting the text: what `apply FILE` sends is written exactly as
planned (a body that happens to contain a password or a RUT is not altered), a plan holding a
secret type is refused with `SecretInPlan`, and only the plan's free text (`model.Text`) is
blanked of registered secrets, as everything displayed or logged is.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import SecretStr, ValidationError

from reconciler.core.diagnostics import DiagnosticError
from reconciler.plans.model import PLAN_FORMAT_VERSION, Plan, secret_paths

MAGIC = "reconciler-plan"


class SecretInPlan(DiagnosticError):
    """A plan would carry a credential: nothing is written (a defect of whoever put it there)."""


def dumps(plan: Plan) -> str:
    doc = {"kind": MAGIC, **plan.model_dump(mode="json")}
    text = json.dumps(doc, indent=2, sort_keys=False)
    # pydantic writes every secret type as this mask; only then is the plan searched by type (a
    # configuration value that merely looks like the mask is written as it is).
    if _SECRET_MASK in text:
        found = secret_paths(plan.model_dump(mode="python"))
        if found:
            raise SecretInPlan.single(
                f"the plan holds a credential at {', '.join(found[:3])}{', ...' if len(found) > 3 else ''}; "
                "a plan is never written with a secret in it",
                detail="This is a defect of reconciler, not of the configuration: please report it.")
    return text + "\n"


_SECRET_MASK = json.dumps(str(SecretStr("x")))


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
