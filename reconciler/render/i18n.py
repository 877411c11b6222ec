"""The words of the pull-request comment in English (default) and Spanish (`--lang es`).

Reviewers of Colombian and Chilean tariffs read Spanish; `markdown` takes every fixed phrase from
here. Platform enum values, field paths, addresses and the engine's own diagnostics are not
translated (enum values keep their official spelling: `CARGO FIJO`, `FUERA DE LINEA`). Numbers
follow the language: 64,855.00 in English, 64.855,00 in Spanish.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

LANGS = ("en", "es")
# ISO 4217 minor units where they are not 2.
_MINOR_UNITS = {"CLP": 0, "JPY": 0, "KRW": 0, "ISK": 0, "PYG": 0, "UYI": 0, "CLF": 4}

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("reconciler plan", "plan de reconciler"),
    "no_changes": ("**No changes.** The platforms match the configuration.",
                   "**Sin cambios.** Las plataformas coinciden con la configuración."),
    "no_changes_manual": ("**No changes to send.** Manual actions need a person (see below).",
                          "**Ningún cambio que enviar.** Hay acciones manuales que requieren a una persona "
                          "(ver abajo)."),
    "not_refreshed": (
        ":information_source: **Live state was not read.** This plan compares the configuration with the "
        "state file only (no platform credentials in this run, e.g. a pull request from a fork). Changes made "
        "on the platforms outside reconciler are not shown; the apply after merge reads the platforms first.",
        ":information_source: **No se leyó el estado real de las plataformas.** Este plan compara la "
        "configuración solo con el archivo de estado (esta ejecución no tiene credenciales, p. ej. un pull "
        "request desde un fork). No se muestran cambios hechos en las plataformas fuera de reconciler; el apply "
        "tras el merge lee las plataformas primero."),
    "review_first": (":warning: Review these first", ":warning: Revise esto primero"),
    "error": ("Error", "Error"),
    "prevent_destroy": ("blocked by prevent_destroy", "bloqueado por prevent_destroy"),
    "policy": ("Policy", "Política"),
    "removed": ("removed", "eliminado"),
    "replaced": ("replaced (deleted, then created)", "reemplazado (se elimina y se crea)"),
    "will_be": ("will be", "será"),
    "large_change": ("large price change: tariff {tariff} {component} {before} → {after} ({pct}) on {n} connectors",
                     "cambio de precio grande: tarifa {tariff} {component} {before} → {after} ({pct}) en {n} "
                     "conectores"),
    "targeting": ("resource targeting is in effect ({targets}): this plan may not show every change the "
                  "configuration asks for",
                  "el plan está limitado con --target ({targets}): puede no mostrar todos los cambios que pide la "
                  "configuración"),
    "large_session": ("large change for reference session “{session}” on tariff {tariff}: {before} → {after} "
                      "({pct})",
                      "cambio grande para la sesión de referencia “{session}” con la tarifa {tariff}: {before} → "
                      "{after} ({pct})"),
    "pending_create": ("{address} is created with a request that cannot be repeated safely: if its answer is lost "
                       "it stays pending until its ID is imported",
                       "{address} se crea con una solicitud que no se puede repetir con seguridad: si se pierde la "
                       "respuesta queda pendiente hasta importar su ID"),
    "needs_refresh": ("{address} is sent whole, built from the live object, which this plan did not read: the body "
                      "shown is rebuilt from the state, and apply builds it from a fresh read",
                      "{address} se envía completo, a partir del objeto vivo, que este plan no leyó: el cuerpo "
                      "mostrado se reconstruye desde el estado, y apply lo arma con una lectura nueva"),
    "outside": ("{address} was changed outside reconciler; this plan corrects it",
                "{address} se modificó fuera de reconciler; este plan lo corrige"),
    "manual": ("manual action for {address}: {summary}", "acción manual para {address}: {summary}"),
    "drift": ("drift on {address} {path} (reported only, `drift: warn`)",
              "deriva en {address} {path} (solo se informa, `drift: warn`)"),
    "platform_not_refreshed": ("platform {platform} was not refreshed: {note}",
                               "la plataforma {platform} no se leyó: {note}"),
    "live_not_read": ("live state not read", "no se leyó el estado real"),
    "price_changes": ("Price changes", "Cambios de precio"),
    "price_header": ("| Tariff | Platform | Component | Before | After | Currency | Change | Connectors |",
                     "| Tarifa | Plataforma | Componente | Antes | Después | Moneda | Cambio | Conectores |"),
    "sessions": ("Reference sessions", "Sesiones de referencia"),
    "sessions_header": ("| Session | Tariff | Platform | Before (incl. VAT) | After (incl. VAT) | Change |",
                        "| Sesión | Tarifa | Plataforma | Antes (con IVA) | Después (con IVA) | Cambio |"),
    "new": ("new", "nueva"),
    "gone": ("removed", "eliminada"),
    "changes": ("Changes", "Cambios"),
    "reason": ("Reason", "Motivo"),
    "field_header": ("| Field | Before | After |", "| Campo | Antes | Después |"),
    "value_header": ("| Field | Value |", "| Campo | Valor |"),
    "also": ("also", "también"),
    "cleared": ("*(cleared)*", "*(se borra)*"),
    "outside_flag": (" *(changed outside reconciler)*", " *(modificado fuera de reconciler)*"),
    "sent_with": ("(sent with this request)", "(se envía con esta solicitud)"),
    "note": ("note", "nota"),
    "request": ("request", "solicitud"),
    "cut": ("**This comment is cut here**: {n} more parts of the plan are not shown (GitHub limits a comment to "
            "{limit} characters). The full plan is in {hint}.",
            "**El comentario se corta aquí**: faltan {n} partes del plan (GitHub limita un comentario a {limit} "
            "caracteres). El plan completo está en {hint}."),
    "hint": ("the job summary or the `plan --json` artifact", "el resumen del job o el artefacto `plan --json`"),
    "failed": ("reconciler plan failed", "reconciler plan falló"),
    "failed_body": ("The plan could not be made; its output:", "No se pudo hacer el plan; su salida:"),
}

_VERBS: dict[str, tuple[str, str]] = {
    "create": ("will be created", "se creará"),
    "update": ("will be updated in place", "se actualizará"),
    "delete": ("will be removed", "se eliminará"),
    "replace": ("will be replaced (deleted, then created)", "se reemplazará (se elimina y se crea)"),
    "forget": ("will be forgotten (dropped from the state only)", "se olvidará (solo se quita del estado)"),
}


def check(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language '{lang}'; expected one of {', '.join(LANGS)}")
    return lang


def text(lang: str, key: str, **kw: Any) -> str:
    phrase = _TEXT[key][LANGS.index(lang)]
    return phrase.format(**kw) if kw else phrase


def verb(lang: str, action: str) -> str:
    pair = _VERBS.get(action)
    return pair[LANGS.index(lang)] if pair else action


def summary(lang: str, s: dict[str, Any]) -> str:
    """`0 to add, 2 to change, 2 to remove. 3 requests.` / `0 para crear, 2 para cambiar, ...`."""
    en = lang == "en"
    parts = [f"{s.get('create', 0)} {'to add' if en else 'para crear'}",
             f"{s.get('update', 0)} {'to change' if en else 'para cambiar'}",
             f"{s.get('delete', 0)} {'to remove' if en else 'para eliminar'}"]
    if s.get("replace"):
        parts.insert(2, f"{s['replace']} {'to replace' if en else 'para reemplazar'}")
    if s.get("forget"):
        parts.append(f"{s['forget']} {'to forget' if en else 'para olvidar'}")
    n = s.get("requests", 0)
    return ", ".join(parts) + f". {n} " + (("request" if en else "solicitud") if n == 1 else
                                           ("requests" if en else "solicitudes")) + "."


def pct(lang: str, p: float | None) -> str:
    if p is None:
        return ""
    out = f"{p:+.2f}%"
    return out if lang == "en" else out.replace(".", ",")


def money(lang: str, amount: str | None, currency: str | None) -> str:
    """An amount rounded to the currency's minor units, grouped as the language writes numbers."""
    if amount is None:
        return "—"
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return amount
    places = _MINOR_UNITS.get((currency or "").upper(), 2)
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text_ = f"{value:,.{places}f}"
    if lang == "es":
        text_ = text_.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{currency} {text_}" if currency else text_
