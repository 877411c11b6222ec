"""The frame of the pull-request comment on a large estate: who each tariff reaches (collapsed
past 10 connectors), values shown whole, and a comment over GitHub's 65,536 characters cut at a
whole block with a pointer to the full plan (this run's job summary, which holds it all)."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.render import markdown
from tests.harness import Estate
from tests.render.conftest import RUN

STATIONS = 300


def _large(e: Estate) -> None:
    text = (e.config / "medellin.yaml").read_text()
    body = text[text.index("  - id: MDE-001"):].replace("    lifecycle:\n      prevent_destroy: true\n", "")
    stations = [body.replace("MDE-001", f"MDE-{i:03d}") for i in range(1, STATIONS + 1)]
    (e.config / "medellin.yaml").write_text("stations:\n" + "".join(stations))


def test_a_large_estate_comment_is_cut_at_a_whole_block_and_points_to_the_full_plan(estate: Estate,
                                                                                    tmp_path: Path) -> None:
    _large(estate)
    md, js = tmp_path / "comment.md", tmp_path / "plan.json"
    result = estate.plan("--no-refresh", "--no-color", "--markdown", md, "--json-file", js)
    assert result.exit_code == 0, result.output
    doc = json.loads(js.read_text())
    text = md.read_text()
    assert len(text.encode()) <= markdown.GITHUB_LIMIT
    body, note = text.rsplit("\n> ", 1)
    assert note.startswith("**This comment is cut here**")
    assert f"The full plan is in the job summary of [this run]({RUN}) and its `plan --json` artifact." in note
    assert body.endswith("</details>\n")                       # cut between blocks, never inside one
    assert body.count("<details>") == body.count("</details>")
    shown = body.count("<details><summary><code>")   # an object's block (full values nest inside)
    left = int(note.split(": ", 1)[1].split(" ", 1)[0])
    assert shown + left == len([c for c in doc["changes"] if not c.get("covered_by")])
    # The whole plan fits the job summary.
    whole = markdown.render(doc, limit=markdown.SUMMARY_LIMIT)
    assert "This comment is cut here" not in whole
    assert whole.count("<details><summary><code>") == shown + left


def test_each_tariff_block_names_who_uses_it_collapsed_past_ten(estate: Estate) -> None:
    _large(estate)
    doc = json.loads(estate.plan("--no-refresh", "--json").output)
    dc = next(c for c in doc["changes"] if c["address"] == "siem.tariff.dc-rapida")
    assert len(dc["used_by"]) == 2 + STATIONS                  # Bogotá's 2 DC connectors and one per station here
    assert "siem.connector.MDE-300/MDE-300-1/1" in dc["used_by"]
    text = markdown.render(doc, limit=markdown.SUMMARY_LIMIT)
    block = text[text.index("<code>siem.tariff.dc-rapida</code>"):]
    block = block[:block.index("</details>")]
    line = next(li for li in block.splitlines() if li.startswith("Used by"))
    assert line.startswith(f"Used by {2 + STATIONS} connectors at {1 + STATIONS} stations on platform `siem`: ")
    assert line.count("`siem.connector.") == 10
    assert line.endswith(f"and {2 + STATIONS - 10} more (in the full plan)")
    es = markdown.render(doc, limit=markdown.SUMMARY_LIMIT, lang="es")
    assert f"Usada por {2 + STATIONS} conectores en {1 + STATIONS} estaciones de la plataforma `siem`: " in es
    assert f"y {2 + STATIONS - 10} más (en el plan completo)" in es


def test_long_values_are_shown_whole_never_cut(estate: Estate) -> None:
    doc = json.loads(estate.plan("--no-refresh", "--json").output)
    dc = next(c for c in doc["changes"] if c["address"] == "siem.tariff.dc-rapida")
    elements = json.dumps(dc["after"]["elements"], ensure_ascii=False, indent=2)
    text = markdown.render(doc)
    assert "| `elements` | *(full value below)* |" in text
    assert "<details><summary>Full value of <code>elements</code></summary>\n\n```json\n" + elements + "\n```" in text
    assert "..." not in text.replace("...`", "")
    plan = estate.plan("--no-refresh", "--no-color").output
    assert "+ elements = " + json.dumps(dc["after"]["elements"], ensure_ascii=False, separators=(", ", ": ")) in plan
