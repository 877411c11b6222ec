"""Rendered plans against golden files: the text plan and the PR comment a reviewer reads.

Regenerate after an intended change with: UPDATE_GOLDEN=1 python -m pytest tests/render
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from reconciler.render import jsonout, markdown
from tests.harness import Estate
from tests.medido_harness import Medido
from tests.render.conftest import RUN, SHA
from tests.sec_harness import Chile

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json").read_text())


_MADE = re.compile(r"(made|hecho el) \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def check(name: str, text: str) -> None:
    text = _MADE.sub(r"\1 <time> UTC", text)
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text()


def _review_change(e: Estate) -> None:
    e.edit("tariffs.yaml", "{type: ENERGY, price: 1450, vat: 19, step_size: 1}",
           "{type: ENERGY, price: 1650, vat: 19, step_size: 1}")
    e.edit("bogota.yaml", "max_electric_power: 150000", "max_electric_power: 120000")
    text = (e.config / "bogota.yaml").read_text()
    start, end = text.index("      - uid: BOG-001-2"), text.index("  - id: BOG-002")
    (e.config / "bogota.yaml").write_text(text[:start] + "\n" + text[end:])


def test_initial_plan_text(estate: Estate) -> None:
    result = estate.plan("--no-color")
    assert result.exit_code == 0
    check("initial_plan.txt", result.output.replace(str(estate.config), "<config>"))


def test_review_plan_text_and_markdown(applied: Estate, tmp_path: Path) -> None:
    _review_change(applied)
    md = tmp_path / "comment.md"
    result = applied.plan("--no-color", "--markdown", md)
    assert result.exit_code == 0
    check("review_plan.txt", result.output)
    check("review_comment.md", md.read_text())


def test_plan_json_matches_its_schema_and_lists_exact_requests(applied: Estate) -> None:
    _review_change(applied)
    result = applied.plan("--json")
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    reqs = [(r["method"], r["path"]) for c in doc["changes"] for r in c["requests"]]
    assert ("PUT", "tariffs/CO/EVB/dc-rapida") in reqs
    assert ("PATCH", "locations/CO/EVB/BOG-001/BOG-001-1/1") in reqs
    assert ("PATCH", "locations/CO/EVB/BOG-001/BOG-001-2") in reqs
    assert doc["summary"] == {"create": 0, "update": 2, "delete": 2, "replace": 0, "forget": 0, "requests": 3}
    assert doc["has_changes"] is True


def test_plan_schema_file_is_current() -> None:
    assert (Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json").read_text() == jsonout.schema_text()


@pytest.mark.parametrize("limit", [2000, 3000])
def test_markdown_is_cut_cleanly_under_the_limit(estate: Estate, limit: int) -> None:
    result = estate.plan("--json")
    doc = json.loads(result.output)
    text = markdown.render(doc, limit=limit)
    assert len(text) <= limit
    assert "This comment is cut here" in text
    assert text.count("<details>") == text.count("</details>")
    assert text.startswith(markdown.MARKER)


def test_comment_names_the_commit_the_run_and_when(applied: Estate, tmp_path: Path) -> None:
    _review_change(applied)
    md = tmp_path / "comment.md"
    assert applied.plan("--markdown", md).exit_code == 0
    text = md.read_text()
    assert f"commit `{SHA[:12]}` · [run]({RUN}) · made " in text
    assert re.search(r"made \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", text)
    doc = json.loads(applied.plan("--json").output)
    assert doc["source"] == {"commit": SHA, "run_url": RUN}


def _sec_change(c: Chile) -> None:
    c.edit("tariffs.yaml", "{type: ENERGY, price: 300, vat: 19, step_size: 1}",
           "{type: ENERGY, price: 320, vat: 19, step_size: 1}")
    c.edit("santiago.yaml", "physical_reference: \"Nivel -2 E14\"", "physical_reference: \"Nivel -2 E15\"")


def test_sec_plan_text_and_comments(chile_applied: Chile, tmp_path: Path) -> None:
    _sec_change(chile_applied)
    md, es = tmp_path / "comment.md", tmp_path / "comment_es.md"
    result = chile_applied.plan("--no-color", "--markdown", md)
    assert result.exit_code == 0, result.output
    check("sec_plan.txt", result.output)
    check("sec_comment.md", md.read_text())
    assert chile_applied.plan("--markdown", es, "--lang", "es").exit_code == 0
    check("sec_comment_es.md", es.read_text())


def test_chilemedido_plan_text_and_comments(medido: Medido, tmp_path: Path) -> None:
    md, es = tmp_path / "comment.md", tmp_path / "comment_es.md"
    result = medido.plan("--no-color", "--markdown", md)
    assert result.exit_code == 0, result.output
    check("medido_plan.txt", result.output)
    check("medido_comment.md", md.read_text())
    spanish = medido.plan("--no-color", "--markdown", es, "--lang", "es")
    assert spanish.exit_code == 0
    check("medido_plan_es.txt", spanish.output)
    check("medido_comment_es.md", es.read_text())


def test_the_display_document_renders_the_same_text_plan(estate: Estate, tmp_path: Path) -> None:
    # apply renders the plan from a document without the state updates and the digest (memory at
    # national scale): what it prints is what `plan` prints.
    from reconciler.plans import planfile
    from reconciler.render import jsonout, text

    saved = tmp_path / "plan.json"
    assert estate.plan("--out", saved).exit_code == 0
    plan = planfile.read(saved)
    assert plan.changes and any(c.state_updates for c in plan.changes)
    shown = jsonout.display_document(plan)
    assert "state_sync" not in shown and all("state_updates" not in c for c in shown["changes"])
    assert text.render(shown) == text.render(jsonout.plan_document(plan))
    assert text.render(shown, lang="es") == text.render(jsonout.plan_document(plan), lang="es")
