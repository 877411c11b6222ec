"""The review comment beyond the English golden: Spanish, reference sessions, live state not read,
clean cuts in UTF-8 bytes, and every warning kind above everything else.

Regenerate the goldens after an intended change with: UPDATE_GOLDEN=1 python -m pytest tests/render
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.render import i18n, markdown
from tests.harness import Estate
from tests.render.conftest import RUN
from tests.render.test_golden import _review_change, check


def test_review_comment_in_spanish(applied: Estate, tmp_path: Path) -> None:
    _review_change(applied)
    md = tmp_path / "comentario.md"
    result = applied.plan("--no-color", "--markdown", md, "--lang", "es")
    assert result.exit_code == 0
    text = md.read_text()
    check("review_comment_es.md", text)
    assert "## plan de reconciler: 0 para crear, 2 para cambiar, 2 para eliminar. 3 solicitudes." in text
    assert "| 30 kWh DC in 40 min, Saturday noon | `dc-rapida` | siem | COP 54.145,00 | COP 61.285,00 | +13,19% |" \
        in text


def test_warnings_come_first_in_order_then_tables_then_details(applied: Estate, tmp_path: Path) -> None:
    _review_change(applied)
    doc = json.loads(applied.plan("--json").output)
    text = markdown.render(doc)
    order = [text.index(s) for s in ("## reconciler plan:", "### :warning: Review these first", "### Price changes",
                                     "### Reference sessions", "### Changes")]
    assert order == sorted(order)


def test_without_refresh_the_comment_says_live_state_was_not_read(applied: Estate) -> None:
    applied.edit("tariffs.yaml", "price: 2000", "price: 2100")
    doc = json.loads(applied.plan("--json", "--no-refresh").output)
    assert doc["refresh"] is False
    for lang, words in (("en", "**Live state was not read.**"), ("es", "**No se leyó el estado real")):
        text = markdown.render(doc, lang=lang)
        assert text.index(words) < text.index("### ")    # above everything but the counts
        assert "was not refreshed" not in text and "no se leyó: " not in text   # said once


def _doc(**extra: Any) -> dict[str, Any]:
    change = {"address": "sec.tariff.t1@S/E/1", "platform": "sec", "platform_type": "sec", "kind": "tariff",
              "action": "create", "identity": {}, "changes": [], "price_changes": [],
              "requests": [{"method": "POST", "path": "tariffs", "idempotent": False}]}
    base: dict[str, Any] = {"summary": {"create": 1, "requests": 1}, "changes": [change], "refresh": True,
                            "platforms": [{"platform": "sec", "platform_type": "sec", "refreshed": False,
                                           "reads": 0, "note": "SEC has no read API"}],
                            "diagnostics": [], "manual_actions": [], "drift": [], "reference_costs": []}
    base.update(extra)
    return base


def test_every_warning_kind() -> None:
    doc = _doc(
        diagnostics=[{"severity": "error", "summary": "sec.location.X has lifecycle.prevent_destroy and this plan "
                                                      "would remove it", "code": "plan.prevent_destroy",
                      "params": {"address": "sec.location.X", "verb": "remove"}},
                     {"severity": "warning", "summary": "apply will refuse this plan: it removes 3 objects",
                      "field": "review.max_deletions"}],
        manual_actions=[{"address": "medido.meter.29", "platform": "medido", "summary": "create the meter on the web"}],
        drift=[{"address": "siem.location.A", "path": "name", "last_applied": "a", "live": "b"}],
        reference_costs=[{"session": "s", "tariff": "t1", "platform": "sec", "address": "sec.tariff.t1@S/E/1",
                          "currency": "CLP", "before": None, "after": {"excl_vat": "10000", "incl_vat": "11900.4"},
                          "pct": None}])
    text = markdown.render(doc)
    warnings = text[text.index("Review these first"):text.index("### Reference sessions")]
    assert "- :shield: **blocked by prevent_destroy**: sec.location.X has lifecycle.prevent_destroy" in warnings
    assert "- :no_entry_sign: **Policy**: apply will refuse this plan: it removes 3 objects" in warnings
    assert "`sec.tariff.t1@S/E/1` is created with a request that cannot be repeated safely" in warnings
    assert "manual action for `medido.meter.29`: create the meter on the web" in warnings
    assert "drift on `siem.location.A` `name`" in warnings
    assert "platform `sec` was not refreshed: SEC has no read API" in warnings
    assert "| s | `t1` | sec | *new* | CLP 11,900 | — |" in text     # CLP has no minor unit


def test_diagnostics_and_manual_actions_speak_spanish_from_their_codes() -> None:
    doc = _doc(
        diagnostics=[{"severity": "error", "summary": "sec.location.X has lifecycle.prevent_destroy and this plan "
                                                      "would replace it", "code": "plan.prevent_destroy",
                      "params": {"address": "sec.location.X", "verb": "replace"}},
                     {"severity": "error", "summary": "siem.evse.L/E1 was removed earlier and OCPI forbids reusing "
                                                      "an EVSE uid", "code": "siem.evse_uid_reused",
                      "params": {"address": "siem.evse.L/E1"}},
                     {"severity": "warning", "summary": "the ChileMedido refresh token expires in 6 days (2026-12-10)",
                      "code": "medido.token_expiring", "params": {"days": "6", "date": "2026-12-10"}},
                     {"severity": "warning", "summary": "PASSWORD is not set; the sandbox's demo credentials are used",
                      "code": "credentials.demo", "params": {"missing": "PASSWORD is not set"}}],
        manual_actions=[{"address": "medido.meter.29", "platform": "medido",
                         "summary": "meter number '29' is not registered on ChileMedido for this provider",
                         "code": "medido.meter_unregistered", "params": {"id": "None", "number": "29"}}])
    es = markdown.render(doc, lang="es")
    assert ("- :shield: **bloqueado por prevent_destroy**: sec.location.X tiene lifecycle.prevent_destroy y este plan "
            "lo reemplazaría") in es
    assert "- :no_entry: **Error**: siem.evse.L/E1 se eliminó antes y OCPI prohíbe reutilizar el uid de un EVSE" in es
    assert "- :warning: el refresh token de ChileMedido vence en 6 días (2026-12-10)" in es
    assert ("acción manual para `medido.meter.29`: el medidor número '29' no está registrado en ChileMedido para "
            "este proveedor") in es
    assert "demo credentials" not in es and "sandbox" not in es.split("Revise esto primero")[1]
    en = markdown.render(doc)
    assert "- :warning: the ChileMedido refresh token expires in 6 days (2026-12-10)" in en
    assert "manual action for `medido.meter.29`: meter number '29' is not registered on ChileMedido" in en
    # A code without Spanish words, or params that do not fit them, keeps the summary as written.
    assert i18n.coded("es", "plan.prevent_destroy", {}, "as written") == "as written"
    assert i18n.coded("es", "no.such.code", {}, "as written") == "as written"


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("limit", [2500, 4000])
def test_cut_cleanly_in_bytes_with_a_note(estate: Estate, lang: str, limit: int) -> None:
    doc = json.loads(estate.plan("--json").output)
    for ch in doc["changes"]:                       # multibyte text everywhere
        ch["identity"] = {"name": "Estación Ñuñoa — Peñalolén"}
    text = markdown.render(doc, limit=limit, lang=lang)
    assert len(text.encode()) <= limit
    assert text.startswith(markdown.MARKER)
    assert text.count("<details>") == text.count("</details>")
    cut = i18n.text(lang, "cut", n=0, limit="", hint="").split(":")[0]
    assert cut in text and i18n.text(lang, "hint_run", url=RUN) in text   # the run's job summary has it all
    doc["source"] = {}
    assert i18n.text(lang, "hint") in markdown.render(doc, limit=limit, lang=lang)


def test_a_huge_price_table_is_cut_between_rows() -> None:
    rows = [{"tariff": f"t{i}", "platform": "siem", "element": 0, "component": "ENERGY", "field": "price",
             "before": "1", "after": "2", "pct": 100.0, "currency": "COP", "connectors": 1} for i in range(3000)]
    change = {"address": "siem.tariff.t", "platform": "siem", "platform_type": "siem", "kind": "tariff",
              "action": "update", "changes": [], "price_changes": rows, "requests": []}
    text = markdown.render(_doc(changes=[change], platforms=[]))
    assert len(text.encode()) <= markdown.GITHUB_LIMIT
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("> **This comment is cut here**")
    body = text.splitlines()
    assert all(line.count("|") in (0, 9, 10) for line in body if line.startswith("| `t"))


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        markdown.render(_doc(), lang="fr")


@pytest.mark.parametrize(("lang", "words"), [("en", "**No changes to send.** Manual actions need a person"),
                                             ("es", "**Ningún cambio que enviar.** Hay acciones manuales")])
def test_a_plan_with_only_manual_actions_does_not_say_all_is_well(lang: str, words: str) -> None:
    manual = [{"address": "medido.meter.29", "platform": "medido", "summary": "create the meter on the web"}]
    text = markdown.render(_doc(changes=[], summary={}, manual_actions=manual), lang=lang)
    assert words in text
    assert "create the meter on the web" in text
    assert i18n.text(lang, "no_changes") not in text
    assert i18n.text("en", "no_changes") in markdown.render(_doc(changes=[], summary={}))
