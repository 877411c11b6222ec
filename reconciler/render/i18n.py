"""The words of the pull-request comment in English (default) and Spanish (`--lang es`).

Reviewers of Colombian and Chilean tariffs read Spanish; `markdown` takes every fixed phrase from
here, and the diagnostics and manual actions from their code and params (`coded`). Platform enum
values, field paths and addresses are not translated (enum values keep their official spelling:
`CARGO FIJO`, `FUERA DE LINEA`). Numbers follow the language: 64,855.00 in English, 64.855,00 in
Spanish.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from reconciler.core.money import minor_units
from reconciler.tariffs.schedule import EN as _EN_WORDS
from reconciler.tariffs.schedule import Words

LANGS = ("en", "es")

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
    "vat_rounding": ("{component} {price} + {vat}% VAT = {exact} → {sent} {currency}",
                     "{component} {price} + {vat}% IVA = {exact} → {sent} {currency}"),
    "vat_exact": ("{component} {price} + {vat}% VAT = {sent} {currency}",
                  "{component} {price} + {vat}% IVA = {sent} {currency}"),
    "bound_rounding": ("{component} incl. VAT {exact} → {sent} {currency}",
                       "{component} con IVA {exact} → {sent} {currency}"),
    "bound_exact": ("{component} incl. VAT {sent} {currency}", "{component} con IVA {sent} {currency}"),
    "vat_sent": ("prices sent with VAT, rounded half up to whole pesos (CLP has no minor unit)",
                 "precios enviados con IVA, redondeados a pesos enteros (el CLP no tiene decimales)"),
    "commit": ("commit {sha}", "commit {sha}"),
    "run": ("[run]({url})", "[ejecución]({url})"),
    "made_at": ("made {time} UTC", "hecho el {time} UTC"),
    "used_by": ("Used by {n} on platform `{platform}`:", "Usada por {n} de la plataforma `{platform}`:"),
    "used_by_none": ("No connector on platform `{platform}` uses it now.",
                     "Ningún conector de la plataforma `{platform}` la usa ahora."),
    "connectors_at": ("{n} {cw} at {m} {sw}", "{n} {cw} en {m} {sw}"),
    "more": ("and {n} more (in the full plan)", "y {n} más (en el plan completo)"),
    "see_below": ("*(full value below)*", "*(valor completo abajo)*"),
    "full_value": ("Full value of <code>{path}</code>", "Valor completo de <code>{path}</code>"),
    "hint_artifact": ("the plan-json file (upload it as an artifact)",
                      "el archivo plan-json (súbalo como artefacto)"),
    "hint_run": ("the job summary of [this run]({url}) and its `plan --json` artifact",
                 "el resumen del job de [esta ejecución]({url}) y su artefacto `plan --json`"),
    "lint_elsewhere": ("{n} tariff lint warning(s) on tariffs this plan does not change (`reconciler validate` "
                       "lists them)",
                       "{n} aviso(s) de lint en tarifas que este plan no cambia (`reconciler validate` los lista)"),
    "lint_head": ("tariff `{tariff}`", "tarifa `{tariff}`"),
    "policy.price_change": ("apply will refuse this plan: {n} price change(s) exceed review.max_price_change_pct "
                            "({limit}%)",
                            "apply rechazará este plan: {n} cambio(s) de precio superan "
                            "review.max_price_change_pct ({limit}%); tras revisar los precios, aplique con "
                            "--allow-large-price-change"),
    "policy.deletions": ("apply will refuse this plan: it removes {n} objects, more than review.max_deletions "
                         "({most})",
                         "apply rechazará este plan: elimina {n} objetos, más que review.max_deletions ({most})"),
    # The tariff block: what drivers pay, when (the weekly schedule), and the elements by meaning.
    "pays": ("**What drivers pay** ({vat}, by time of the week, in the station's local time):",
             "**Lo que pagan los conductores** ({vat}, por momento de la semana, en la hora local de la estación):"),
    "pays_new": ("**What drivers will pay** ({vat}, by time of the week, in the station's local time):",
                 "**Lo que pagarán los conductores** ({vat}, por momento de la semana, en la hora local de la "
                 "estación):"),
    "pays_gone": ("**What drivers paid** until now ({vat}, by time of the week):",
                  "**Lo que pagaban los conductores** hasta ahora ({vat}, por momento de la semana):"),
    "excl_vat": ("prices excl. VAT", "precios sin IVA"),
    "incl_vat": ("prices incl. VAT, as sent", "precios con IVA, tal como se envían"),
    "elsewhere_unchanged": ("all other times: unchanged", "el resto del tiempo: sin cambios"),
    "schedule_partial": ("only the next 24 stretches of dates and the first 64 combinations of kWh, duration, power "
                         "and current conditions are evaluated",
                         "solo se evalúan los próximos 24 tramos de fechas y las primeras 64 combinaciones de "
                         "condiciones de kWh, duración, potencia y corriente"),
    "no_price_shift": ("no price changes at any time of the week", "ningún precio cambia en ningún momento de la "
                       "semana"),
    "over_limit": ("above review.max_price_change_pct ({limit}%): apply refuses it",
                   "supera review.max_price_change_pct ({limit} %): apply lo rechaza"),
    "within_limit": ("within review.max_price_change_pct ({limit}%)", "dentro de review.max_price_change_pct "
                     "({limit} %)"),
    "elements": ("**Elements** (matched by what they apply to, not by position):",
                 "**Elementos** (emparejados por lo que cobran, no por su posición):"),
    "element_added": ("new element #{i}: {what}", "elemento nuevo #{i}: {what}"),
    "element_removed": ("removed element #{i}: {what}", "elemento eliminado #{i}: {what}"),
    "element_moved": ("element moved from #{i} to #{j}: {what}", "elemento movido de #{i} a #{j}: {what}"),
    "element_changed": ("element #{i} changed: {what}", "elemento #{i} cambia: {what}"),
    "element_changed_moved": ("element #{i} (now #{j}) changed: {what}", "elemento #{i} (ahora #{j}) cambia: {what}"),
    "reorder_effect": ("the new order changes which element applies: {when}",
                       "el nuevo orden cambia qué elemento se aplica: {when}"),
    "reorder_no_effect": ("the new order changes nothing a driver pays: the same element applies at every time",
                          "el nuevo orden no cambia lo que paga un conductor: se aplica el mismo elemento en todo "
                          "momento"),
    "fields_as_sent": ("**Fields as sent** (by position in the tariff):", "**Campos tal como se envían** (por posición "
                       "en la tarifa):"),
    "not_evaluated": ("the schedule could not be evaluated: {note}", "no se pudo evaluar el horario: {note}"),
    "large_span": ("large price change: tariff {tariff} {when}: {what}{users}",
                   "cambio de precio grande: tarifa {tariff} {when}: {what}{users}"),
    "span_users": (" on {n} connectors", " en {n} conectores"),
    "span_user": (" on 1 connector", " en 1 conector"),
    "typical_session": ("typical {kind} session ({kw} kW, {duration}{parked}) from {start}",
                        "sesión típica {kind} ({kw} kW, {duration}{parked}) desde {start}"),
    "typical_parked": (", then {duration} parked", ", luego {duration} estacionado"),
    "typical_note": ("Typical sessions are priced where the schedule changes, starting in each changed span (at 10:00 "
                     "when the span holds it): AC 7.4 kW for 2 h (14.8 kWh), DC 50 kW for 30 min (25 kWh), left connected "
                     "one hour past a fee that starts some hours in, charging 5 kWh past a price that starts after "
                     "some energy; the power type of the connectors that use the tariff decides which (AC when none "
                     "does).",
                     "Las sesiones típicas se calculan donde cambia el horario, empezando en cada tramo que cambia (a "
                     "las 10:00 si el tramo la incluye): AC 7,4 kW durante 2 h (14,8 kWh), DC 50 kW durante 30 min "
                     "(25 kWh), conectada hasta una hora después de un cargo que empieza tras algunas horas, cargando 5 "
                     "kWh más allá de un precio que empieza tras cierta energía; el tipo de corriente de los conectores "
                     "que usan la tarifa decide cuál (AC si ninguno la usa)."),
    "failed": ("reconciler plan failed", "reconciler plan falló"),
    "failed_body": ("The plan could not be made; its output:", "No se pudo hacer el plan; su salida:"),
    # The apply-on-merge result below the reviewed plan, and where the state was recorded.
    "applied_head": (":white_check_mark: Applied on merge", ":white_check_mark: Aplicado al hacer merge"),
    "applied_body": ("Applied at `{commit}`: {changes}, {requests} (plan {digest}).",
                     "Aplicado en `{commit}`: {changes}, {requests} (plan {digest})."),
    "change_one": ("1 change", "1 cambio"),
    "change_many": ("{n} changes", "{n} cambios"),
    "request_one": ("1 request", "1 solicitud"),
    "request_many": ("{n} requests", "{n} solicitudes"),
    "state_commit": ("The state was recorded at `{commit}`.", "El estado quedó registrado en `{commit}`."),
    "state_postgres": ("The state was recorded in PostgreSQL: state `{name}` in `{database}`, lineage `{lineage}`, "
                       "serial {serial}.",
                       "El estado quedó registrado en PostgreSQL: estado `{name}` en `{database}`, linaje "
                       "`{lineage}`, serial {serial}."),
}

# The providers' fixed notes, in Spanish (a note not listed here is shown as the provider wrote it).
_NOTES_ES: dict[str, str] = {
    "SEC has no read API, so its resources were not refreshed: the plan compares the configuration with what "
    "reconciler last sent (the state)":
        "SEC no tiene API de lectura, así que sus recursos no se leyeron: el plan compara la configuración con lo "
        "último que reconciler envió (el estado)",
    "prices are sent including VAT (IVA), as prices_include_vat: true says":
        "los precios se envían con IVA, como indica prices_include_vat: true",
    "prices are sent without VAT (IVA), as prices_include_vat: false says":
        "los precios se envían sin IVA, como indica prices_include_vat: false",
    "OCPI tariffs have no PATCH: the whole tariff is sent":
        "las tarifas OCPI no tienen PATCH: se envía la tarifa completa",
    "OCPI has no DELETE for EVSEs: it is set to status REMOVED; its uid is never reused.":
        "OCPI no tiene DELETE para los EVSE: se le pone status REMOVED; su uid no se vuelve a usar.",
    "OCPI has no DELETE for Locations: every EVSE of this Location is set to REMOVED and the Location is no "
    "longer managed.":
        "OCPI no tiene DELETE para las Locations: cada EVSE de esta Location pasa a REMOVED y la Location deja de "
        "gestionarse.",
    "a field is cleared: OCPI PATCH cannot remove a field, so the Location is sent whole, built from the live "
    "object":
        "se borra un campo: el PATCH de OCPI no puede quitar campos, así que la Location se envía completa, a "
        "partir del objeto vivo",
    "this plan did not read the platform: the body is rebuilt from the last applied state, without the fields "
    "others set or the live EVSE status":
        "este plan no leyó la plataforma: el cuerpo se reconstruye desde el último estado aplicado, sin los campos "
        "que otros pusieron ni el status real del EVSE",
    "sent once: recorded as pending before it is sent, never retried if its outcome is unknown":
        "se envía una sola vez: queda como pendiente antes de enviarse y no se reintenta si no se sabe el resultado",
    "no longer in the configuration": "ya no está en la configuración",
    "already gone from the platform": "ya no está en la plataforma",
    "it was deleted outside reconciler": "se eliminó fuera de reconciler",
    "with --no-refresh the plan compares the configuration with the state":
        "con --no-refresh el plan compara la configuración con el estado",
}

def _n(text: str) -> str:
    """An English-grouped count (2,020) as Spanish groups it (2.020)."""
    return text.replace(",", ".")


# ChileMedido's notes carry counts and times: (pattern, Spanish wording from its groups).
_PATTERNS_ES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^([\d,]+) new measurements? to upload$"), lambda m: f"{_n(m[1])} mediciones nuevas que subir"),
    (re.compile(r"^([\d,]+) new rows? from (\S+) to (\S+) \(local (.+) to (.+)\), read from ([\d,]+) files?$"),
     lambda m: f"{_n(m[1])} filas nuevas de {m[2]} a {m[3]} (hora local {m[4]} a {m[5]}), leídas de {_n(m[6])} "
               f"archivo{'' if m[6] == '1' else 's'}"),
    (re.compile(r"^([\d,]+) requests? of at most (\d+) measurements within one day, the fewest the limits allow: "
                r"(.+) measurements$"),
     lambda m: f"{_n(m[1])} solicitud{'' if m[1] == '1' else 'es'} de hasta {m[2]} mediciones dentro de un día, las "
               f"menos que permiten los límites: {m[3].replace(' of ', ' de ').replace('smaller', 'menores')} "
               "mediciones"),
    (re.compile(r"^the bodies are built from the files at apply time$"),
     lambda m: "los cuerpos se arman desde los archivos al hacer apply"),
    (re.compile(r"^([\d,]+) local times? in the hour that happened twice \(clocks went back\) read by the rule "
                r"dst.ambiguous: (\S+)$"),
     lambda m: f"{_n(m[1])} horas locales en la hora que ocurrió dos veces (se atrasaron los relojes) leídas según la "
               f"regla dst.ambiguous: {m[2]}"),
    (re.compile(r"^([\d,]+) local times? in the hour that never happened \(clocks went forward\) moved forward one "
                r"hour by the rule dst.nonexistent: (\S+)$"),
     lambda m: f"{_n(m[1])} horas locales en la hora que no existió (se adelantaron los relojes) movidas una hora "
               f"adelante según la regla dst.nonexistent: {m[2]}"),
    (re.compile(r"^([\d,]+) rows? without any reading skipped$"), lambda m: f"{_n(m[1])} filas sin lecturas omitidas"),
]


def _part_es(part: str) -> str:
    if part in _NOTES_ES:
        return _NOTES_ES[part]
    for pattern, word in _PATTERNS_ES:
        m = pattern.match(part)
        if m:
            return str(word(m))
    return part


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


# Diagnostics and manual actions in Spanish, by their code (English is the summary the engine or the
# provider wrote). Each is worded from the params the code carries; a missing param falls back to
# the summary as written.
_CODES_ES: dict[str, str] = {
    "plan.prevent_destroy": "{address} tiene lifecycle.prevent_destroy y este plan lo {verb}",
    "plan.import_ignored": "se ignora el bloque import de {address}: la configuración no lo declara",
    "siem.evse_uid_reused": "{address} se eliminó antes y OCPI prohíbe reutilizar el uid de un EVSE",
    "siem.needs_refresh": "{address} se envía completo, a partir del objeto vivo, que este plan no leyó: apply "
                          "hace este cambio solo con una lectura de la plataforma (lo predeterminado), para conservar "
                          "los campos que otros fijaron",
    "sec.tariff_ids_unknown": "{n} tarifa(s) SEC se crearon pero SEC no respondió con sus ID ({addresses}); antes "
                              "de cambiar o eliminar una de ellas, lea su ID en el sitio web de la SEC y ejecute: "
                              "{command}",
    "sec.remove_on_site": "ya no está en la configuración; si se retiró de servicio, elimínelo en el sitio web de "
                          "la SEC",
    "sec.clear_on_site": "{field} ya no se declara, pero la SEC conserva {value}; bórrelo en el sitio web de la SEC "
                         "si debe desaparecer",
    "sec.pending_create": "creación pendiente: se envió POST /{endpoint} a las {sent}; el apply se detuvo antes de "
                          "registrar la respuesta; la SEC puede tener o no esta tarifa",
    "sec.pending_create_reason": "creación pendiente: se envió POST /{endpoint} a las {sent}; {reason}",
    "medido.token_not_jwt": "el refresh token de ChileMedido no es un JWT: no se puede comprobar cuándo vence",
    "medido.token_expiring": "el refresh token de ChileMedido vence en {days} días ({date})",
    "medido.token_expired": "el refresh token de ChileMedido venció el {date}",
    "medido.no_files": "ningún archivo coincide con {path}",
    "medido.unknown_sensor": "'{sensor}' no es un nombre de sensor de ChileMedido",
    "medido.bound_elsewhere": "{address} está asociado al id de ChileMedido {id}, que pertenece a otro proveedor",
    "medido.bound_mismatch": "{address} está asociado al id de ChileMedido {id}, cuyo número es '{found}', no "
                             "'{number}'",
    "medido.meter_unregistered": "el medidor número '{number}' no está registrado en ChileMedido para este proveedor",
    "medido.meter_unregistered_id": "el medidor con id de ChileMedido {id} no está registrado en ChileMedido para "
                                    "este proveedor",
    "medido.sensors_disabled": "sensor(es) {sensors} no habilitado(s) en el medidor '{number}' (id de ChileMedido "
                               "{id})",
    "medido.upload_lost": "se perdió la respuesta a una carga de {rows} mediciones ({first} a {last}): pueden estar "
                          "guardadas o no",
}
_VERBS_ES = {"replace": "reemplazaría", "remove": "eliminaría"}


def coded(lang: str, code: str | None, params: dict[str, Any], summary: str) -> str:
    """A diagnostic's or manual action's text in `lang`, from its code when Spanish has words for it."""
    if lang != "es" or not code or code not in _CODES_ES:
        return summary
    kw = dict(params)
    if code == "plan.prevent_destroy":
        kw["verb"] = _VERBS_ES.get(str(kw.get("verb")), kw.get("verb"))
    try:
        return _CODES_ES[code].format(**kw)
    except (KeyError, IndexError):
        return summary


def diagnostic(lang: str, d: dict[str, Any]) -> str:
    """A plan diagnostic in `lang`: worded from its code and params when it has them (tariff lint,
    policies), else its summary as the engine wrote it."""
    from reconciler.tariffs import lint

    code, params = d.get("code"), d.get("params") or {}
    if code and code.startswith("tariff.") and "tariff" in params:
        said = lint.words(code, params, lang, schedule_words(lang))
        if said is not None:
            return text(lang, "lint_head", tariff=params["tariff"]) + ": " + said
    if code in _TEXT:
        try:
            return text(lang, code, **params)
        except (KeyError, IndexError):
            pass
    return coded(lang, code, params, str(d.get("summary") or ""))


def manual(lang: str, m: dict[str, Any]) -> str:
    """A manual action's summary in `lang`."""
    return coded(lang, m.get("code"), m.get("params") or {}, str(m.get("summary") or ""))


def note(lang: str, value: str) -> str:
    """A provider's note in `lang`: each of its `; `-separated parts that has a translation."""
    if lang != "es":
        return value
    whole = _part_es(value)
    if whole != value:
        return whole
    return "; ".join(_part_es(part) for part in value.split("; "))


def connectors_at(lang: str, n: int, m: int) -> str:
    words = {"en": (("connector", "connectors"), ("station", "stations")),
             "es": (("conector", "conectores"), ("estación", "estaciones"))}[lang]
    return text(lang, "connectors_at", n=n, m=m, cw=words[0][n != 1], sw=words[1][m != 1])


def vat_rounding(lang: str, r: dict[str, Any]) -> str:
    """`ENERGY 320 + 19% VAT = 380.8 → 381 CLP` (numbers as the language writes them)."""
    def num(v: str | None) -> str:
        return number(lang, v or "0")
    kw = {"component": r["component"], "price": num(r["price"]), "vat": num(r.get("vat")), "exact": num(r["exact"]),
          "sent": num(r["sent"]), "currency": r["currency"]}
    bound = r["component"] in ("min_price", "max_price")
    exact = r["exact"] == r["sent"]
    key = ("bound" if bound else "vat") + ("_exact" if exact else "_rounding")
    return text(lang, key, **kw)


def number(lang: str, value: str) -> str:
    """A decimal text as the language writes it, without rounding: 380.8 / 380,8; 29750 / 29.750."""
    try:
        d = Decimal(value)
    except InvalidOperation:
        return value
    places = max(0, -int(d.as_tuple().exponent)) if d.is_finite() else 0
    out = f"{d:,.{places}f}"
    if lang == "es":
        out = out.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return out


def money(lang: str, amount: str | None, currency: str | None) -> str:
    """An amount rounded to the currency's minor units, grouped as the language writes numbers."""
    if amount is None:
        return "—"
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return amount
    places = minor_units(currency)
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text_ = f"{value:,.{places}f}"
    if lang == "es":
        text_ = text_.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{currency} {text_}" if currency else text_


_ES_WORDS = Words(
    days=("lun", "mar", "mié", "jue", "vie", "sáb", "dom"), all_day="todo el día", always="toda la semana",
    any_time="en todo momento", from_date="desde el {date}", until_date="hasta el {date}",
    dates="del {start} al {end}", duration_from="desde {v} de sesión", duration_below="en las primeras {v} de sesión",
    duration_range="de {lo} a {hi} de sesión", kwh_from="desde {v} kWh cargados", kwh_below="los primeros {v} kWh",
    kwh_range="de {lo} a {hi} kWh cargados", power_from="a {v} kW o más", power_below="bajo {v} kW",
    power_range="de {lo} a {hi} kW", current_from="a {v} A o más", current_below="bajo {v} A",
    current_range="de {lo} a {hi} A", reservation="reserva ({kind})", decimal_point=",", vat="IVA",
    new_charge="nuevo: antes no se cobraba", dropped_charge="deja de cobrarse (antes {was})")


def schedule_words(lang: str) -> Words:
    """The words of the weekly schedule and the element descriptions (`tariffs.schedule`)."""
    return _EN_WORDS if lang == "en" else _ES_WORDS
