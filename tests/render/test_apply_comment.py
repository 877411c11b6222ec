"""The apply-on-merge result in the pull request comment: where the state was recorded (the state
commit, or the PostgreSQL state by name, host and database, lineage and serial, never its URL), in
English and Spanish.

Regenerate the goldens after an intended change with: UPDATE_GOLDEN=1 python -m pytest tests/render
"""

from __future__ import annotations

import pytest

from reconciler.render import markdown
from tests.render.test_golden import check

DOC = {"digest": "sha256:4f1c2b9e0d7a6c5b3e2f1a0d9c8b7a6f5e4d3c2b1a0f", "changes": [],
       "summary": {"create": 12, "update": 5, "delete": 1, "replace": 0, "forget": 0, "requests": 6}}
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PG_INFO = {"backend": "postgres", "name": "reconciler-prod", "database": "db.internal:5432/reconciler",
           "lineage": "5b2f0c6e-8a3d-4f7e-9c1b-2d4e6f8a0b1c", "serial": 42, "resources": 18,
           "journal_records": 0, "lock": None}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_applied_into_postgres_names_the_state_without_its_url(lang: str) -> None:
    section = markdown.applied_section(DOC, COMMIT, state_info=PG_INFO, lang=lang)
    check(f"applied_postgres{'_es' if lang == 'es' else ''}.md", section)
    assert "postgresql://" not in section and "reconciler-prod" in section and "serial 42" in section


def test_applied_with_a_state_commit_and_singular_counts() -> None:
    one = {**DOC, "summary": {"update": 1, "requests": 1}}
    local = {"backend": "local", "path": "config/reconciler.state.json", "lineage": "x", "serial": 3}
    assert markdown.applied_section(one, COMMIT, state_commit="fedcba9876543210", state_info=local) == (
        "### :white_check_mark: Applied on merge\n\nApplied at `0123456789ab`: 1 change, 1 request "
        "(plan sha256:4f1c2b9e0d7a). The state was recorded at `fedcba987654`.\n")
    assert markdown.applied_section(one, COMMIT, lang="es").endswith(
        "Aplicado en `0123456789ab`: 1 cambio, 1 solicitud (plan sha256:4f1c2b9e0d7a).\n")


def test_a_postgres_state_not_read_falls_back_to_the_commit_sentence_or_nothing() -> None:
    unread = {**PG_INFO, "lineage": None, "serial": None}
    assert "PostgreSQL" not in markdown.applied_section(DOC, COMMIT, state_info=unread)
    assert markdown.applied_section(DOC, COMMIT, state_info=unread).endswith("(plan sha256:4f1c2b9e0d7a).\n")
