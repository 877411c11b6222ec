"""The Terraform-like text plan, the apply result, and progress on stderr, from the plan's JSON form.

The text plan speaks English, or Spanish with `lang="es"` (`plan --lang es`): its own words from
`_T`, the rest (verbs, schedule, diagnostics, manual actions, notes) from `i18n`, as the comment."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

import click

from reconciler.plans.model import Plan, ResourceChange
from reconciler.render import (
    i18n,
    markdown,  # the tariff lines are the comment's, in English
)
from reconciler.render import values as fmt

USED_BY_SHOWN = 10

_T: dict[str, tuple[str, str]] = {
    "used_by": ("used by {n} connector{s}", "usada por {n} conector{es}"),
    "more": (", and {n} more", " y {n} más"),
    "init_only": ("  (sent at creation only)", "  (solo se envía al crear)"),
    "cleared": ("(cleared)", "(se borra)"),
    "unset": ("(unset)", "(sin valor)"),
    "drift": ("  (changed outside reconciler; will be corrected)", "  (cambiado fuera de reconciler; se corrige)"),
    "price": ("      price {where}: {before} -> {after}{cur} ({pct}, {n} connectors)",
              "      precio {where}: {before} -> {after}{cur} ({pct}, {n} conectores)"),
    "element": ("element {i} {c}", "elemento {i} {c}"),
    "vat": ("      sent with VAT: ", "      enviado con IVA: "),
    "with_request": (" (sent with this request)", " (va en esta solicitud)"),
    "note": ("      note: ", "      nota: "),
    "not_evaluated": ("      the schedule could not be evaluated: {note}", "      no se pudo evaluar el horario: {note}"),
    "incl_vat": ("incl. VAT, as sent", "con IVA, tal como se envían"),
    "excl_vat": ("excl. VAT", "sin IVA"),
    "pays_create": ("      what drivers will pay (prices {vat}, station local time):",
                    "      lo que pagarán los conductores (precios {vat}, hora local de la estación):"),
    "pays_delete": ("      what drivers paid (prices {vat}, station local time):",
                    "      lo que pagaban los conductores (precios {vat}, hora local de la estación):"),
    "pays": ("      what drivers pay (prices {vat}, station local time):",
             "      lo que pagan los conductores (precios {vat}, hora local de la estación):"),
    "above": ("  (above review.max_price_change_pct {limit}%)", "  (supera review.max_price_change_pct {limit} %)"),
    "no_shift": ("        no price changes at any time of the week",
                 "        ningún cambio de precio en ningún momento de la semana"),
    "elsewhere": ("        all other times: unchanged", "        el resto del tiempo: sin cambios"),
    "partial": ("        only the next 24 stretches of dates and the first 64 combinations of kWh, duration, power and "
                "current conditions are evaluated",
                "        solo se evalúan los próximos 24 tramos de fechas y las primeras 64 combinaciones de condiciones "
                "de kWh, duración, potencia y corriente"),
    "elements": ("      elements (matched by what they apply to):",
                 "      elementos (emparejados por lo que cobran, no por su posición):"),
    "order_same": ("        the new order changes nothing a driver pays: the same element applies at every time",
                   "        el nuevo orden no cambia lo que paga un conductor: se aplica el mismo elemento en todo "
                   "momento"),
    "order_effect": ("        the new order changes which element applies: {when}",
                     "        el nuevo orden cambia qué elemento se aplica: {when}"),
    "refreshed": ("Refreshed platform '{p}' ({t}): {n} read{s}.", "Se leyó la plataforma '{p}' ({t}): {n} lectura{s}."),
    "not_refreshed": ("Platform '{p}' ({t}) was NOT refreshed: {note}.", "La plataforma '{p}' ({t}) NO se leyó: {note}."),
    "not_read": ("its live state was not read", "no se leyó su estado real"),
    "warning": ("Warning: ", "Aviso: "),
    "drift_head": ("Drift (reported, not corrected: drift: warn):",
                   "Deriva (se informa, no se corrige: drift: warn):"),
    "drift_line": ("  ! {a} {path}: last applied {last}, live {live}", "  ! {a} {path}: último aplicado {last}, real {live}"),
    "manual_head": ("Manual actions (only a person can do these; nothing is sent):",
                    "Acciones manuales (solo una persona puede hacerlas; no se envía nada):"),
    "no_changes_manual_1": ("No changes to send. 1 manual action above needs a person.",
                            "Ningún cambio que enviar. 1 acción manual de arriba requiere a una persona."),
    "no_changes_manual": ("No changes to send. {n} manual actions above need a person.",
                          "Ningún cambio que enviar. {n} acciones manuales de arriba requieren a una persona."),
    "no_changes": ("No changes. The platforms match the configuration.",
                   "Sin cambios. Las plataformas coinciden con la configuración."),
    "actions": ("Reconciler will perform the following actions:", "Reconciler hará lo siguiente:"),
    "plan": ("Plan: ", "Plan: "),
}


def _t(lang: str, key: str, **kw: Any) -> str:
    return _T[key][0 if lang == "en" else 1].format(**kw)

COLORS = {"+": "green", "~": "yellow", "-": "red", "-/+": "magenta", "x": "bright_black"}


class _Out:
    def __init__(self, color: bool) -> None:
        self.lines: list[str] = []
        self.color = color

    def add(self, text: str = "", fg: str | None = None, bold: bool = False) -> None:
        self.lines.append(click.style(text, fg=fg, bold=bold) if self.color and (fg or bold) else text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _change(o: _Out, ch: dict[str, Any], children: list[dict[str, Any]], limit: float | None = None,
            lang: str = "en") -> None:
    action = ch["action"]
    sym = fmt.SYMBOL.get(action, " ")
    verb = fmt.VERBS.get(action, action) if lang == "en" else i18n.verb(lang, action)
    o.add(f"  # {ch['address']} {verb}" + (f" ({i18n.note(lang, ch['reason'])})" if ch.get("reason") else ""), bold=True)
    ident = fmt.identity(ch)
    o.add(f"  {sym} {ch['kind']} \"{ch['address'].split('.', 2)[2]}\"" + (f"  [{ident}]" if ident else ""),
          fg=COLORS.get(sym))
    _tariff_headline(o, ch, limit, lang)
    users = ch.get("used_by") or []
    if ch["kind"] == "tariff" and action != "delete":
        shown = ", ".join(users[:USED_BY_SHOWN]) + (_t(lang, "more", n=len(users) - USED_BY_SHOWN)
                                                    if len(users) > USED_BY_SHOWN else "")
        one = len(users) == 1
        o.add("      " + _t(lang, "used_by", n=len(users), s="" if one else "s", es="" if one else "es")
              + (f": {shown}" if users else ""))
    init_only = set(ch.get("init_only") or [])
    for name, val in (ch.get("after") or {}).items():
        o.add(f"      + {name} = {fmt.value(val)}" + (_t(lang, "init_only") if name in init_only else ""),
              fg=COLORS["+"])
    for fc in ch.get("changes") or []:
        if fc["op"] == "clear":
            mark, text = "-", f"{fc['path']}: {fmt.value(fc['before'])} -> {_t(lang, 'cleared')}"
        elif fc["op"] == "set":
            mark, text = "+", f"{fc['path']}: {_t(lang, 'unset')} -> {fmt.value(fc['after'])}"
        else:
            mark, text = "~", f"{fc['path']}: {fmt.value(fc['before'])} -> {fmt.value(fc['after'])}"
        if fc.get("drift"):
            text += _t(lang, "drift")
        o.add(f"      {mark} {text}", fg=COLORS.get(mark))
    by_schedule = bool(ch.get("tariff_review")) and not (ch.get("tariff_review") or {}).get("note")
    for pc in ch.get("price_changes") or []:
        if pc["field"] != "price" or pc.get("pct") is None or (by_schedule and pc["element"] >= 0):
            continue
        where = pc["component"] if pc["element"] < 0 else _t(lang, "element", i=pc["element"], c=pc["component"])
        cur = f" {pc['currency']}" if pc.get("currency") else ""
        o.add(_t(lang, "price", where=where, before=pc["before"], after=pc["after"], cur=cur,
                 pct=fmt.pct(pc["pct"]) if lang == "en" else i18n.pct(lang, pc["pct"]), n=pc["connectors"]))
    for vr in ch.get("vat_roundings") or []:
        o.add(_t(lang, "vat") + i18n.vat_rounding(lang, vr).replace("→", "->"))
    for kid in children:
        ks = fmt.SYMBOL.get(kid["action"], " ")
        o.add(f"      {ks} {kid['address']}" + _t(lang, "with_request"), fg=COLORS.get(ks))
    for note in ch.get("notes") or []:
        o.add(_t(lang, "note") + i18n.note(lang, note))
    for r in ch.get("requests") or []:
        o.add(f"      => {fmt.request_line(r)}")
    o.add()


def _tariff_headline(o: _Out, ch: dict[str, Any], limit: float | None, lang: str = "en") -> None:
    """What drivers pay, when, before and after (the weekly schedule), then the elements by meaning."""
    review = ch.get("tariff_review")
    if not review:
        return
    if review.get("note"):
        o.add(_t(lang, "not_evaluated", note=review["note"]), fg="yellow")
        return
    currency = review.get("currency") or ""
    created, removed = ch["action"] == "create", ch["action"] == "delete"
    vat = _t(lang, "incl_vat" if review.get("prices_include_vat") else "excl_vat")
    o.add(_t(lang, "pays_create" if created else "pays_delete" if removed else "pays", vat=vat))
    for sh in review.get("shifts") or []:
        when, what = markdown.shift_line(sh, currency, lang, ch["action"])
        over = limit is not None and sh.get("pct") is not None and abs(sh["pct"]) > limit
        o.add(f"        {when}: {what}"
              + (_t(lang, "above", limit=f"{limit:g}") if over else ""), fg="yellow" if over else None)
    if not review.get("shifts"):
        o.add(_t(lang, "no_shift"))
    elif review.get("unchanged_elsewhere") and not (created or removed):
        o.add(_t(lang, "elsewhere"))
    if review.get("partial"):
        o.add(_t(lang, "partial"))
    if review.get("elements") and not (created or removed):
        o.add(_t(lang, "elements"))
        for ec in review["elements"]:
            o.add(f"        {markdown.element_line(ec, currency, lang)}")
        if review.get("reordered"):
            effect = review.get("order_effect")
            if effect is None:
                o.add(_t(lang, "order_same"))
            else:
                o.add(_t(lang, "order_effect", when=markdown.when_text(effect, lang)))


def render(doc: dict[str, Any], color: bool = False, lang: str = "en") -> str:
    o = _Out(color)
    for p in doc.get("platforms") or []:
        if p["refreshed"]:
            # Reads, not objects found: on an empty platform every read finds nothing.
            n = p["reads"]
            o.add(_t(lang, "refreshed", p=p["platform"], t=p["platform_type"], n=n, s="" if n == 1 else "s"))
        else:
            note = i18n.note(lang, p["note"]) if p.get("note") else _t(lang, "not_read")
            o.add(_t(lang, "not_refreshed", p=p["platform"], t=p["platform_type"], note=note), fg="yellow")
    for d in doc.get("diagnostics") or []:
        if d["severity"] == "warning":
            said = d["summary"] if lang == "en" else i18n.diagnostic(lang, d).replace("`", "'")  # code marks: the comment's
            o.add(_t(lang, "warning") + fmt.where(d) + said, fg="yellow")
    if doc.get("drift"):
        o.add()
        o.add(_t(lang, "drift_head"), bold=True)
        for d in doc["drift"]:
            o.add(_t(lang, "drift_line", a=d["address"], path=d["path"], last=fmt.value(d["last_applied"]),
                     live=fmt.value(d["live"])), fg="yellow")
    if doc.get("manual_actions"):
        o.add()
        o.add(_t(lang, "manual_head"), bold=True)
        for m in doc["manual_actions"]:
            o.add(f"  ! {m['address']}: {i18n.manual(lang, m)}", fg="yellow")
            for line in (m.get("detail") or "").splitlines():
                o.add(f"      {line}")
    changes = doc.get("changes") or []
    s = doc.get("summary") or {}
    if not changes:
        o.add()
        manual = len(doc.get("manual_actions") or [])
        if manual:
            o.add(_t(lang, "no_changes_manual_1" if manual == 1 else "no_changes_manual", n=manual),
                  fg="yellow", bold=True)
        else:
            o.add(_t(lang, "no_changes"), fg="green", bold=True)
        return o.text()
    covered: dict[str, list[dict[str, Any]]] = {}
    for ch in changes:
        if ch.get("covered_by"):
            covered.setdefault(ch["covered_by"], []).append(ch)
    o.add()
    o.add(_t(lang, "actions"))
    o.add()
    for ch in changes:
        if ch.get("covered_by"):
            continue
        _change(o, ch, covered.get(ch["address"], []), (doc.get("policy") or {}).get("max_price_change_pct"), lang)
    o.add(fmt.summary_line(s) if lang == "en" else _t(lang, "plan") + i18n.summary(lang, s), bold=True)
    return o.text()


def result_counts(result: Any, plan: Plan) -> dict[str, int]:
    """What an apply did, counted as the plan's summary counts (`Plan: 18 to add` -> `18 added`): an
    EVSE sent inside its location's request counts as the plan counted it."""
    applied = set(result.applied)
    counts = {"add": 0, "change": 0, "replace": 0, "remove": 0, "forget": 0}
    key = {"create": "add", "update": "change", "replace": "replace", "delete": "remove", "forget": "forget"}
    for c in plan.changes:
        kind = key.get(c.action.value)
        if kind and (c.address in applied or (c.covered_by is not None and c.covered_by in applied)):
            counts[kind] += 1
    return counts


def _done_line(counts: dict[str, int], requests: int) -> str:
    parts = [f"{counts['add']} added", f"{counts['change']} changed", f"{counts['remove']} removed"]
    if counts["replace"]:
        parts.insert(2, f"{counts['replace']} replaced")
    if counts["forget"]:
        parts.append(f"{counts['forget']} forgotten")
    return ", ".join(parts) + f"; {requests} request{'' if requests == 1 else 's'} sent"


def render_result(result: Any, plan: Plan, color: bool = False) -> str:
    o = _Out(color)
    o.add()
    for note in getattr(result, "notes", None) or []:
        o.add(f"Note: {note}", fg="yellow")
    line = _done_line(result_counts(result, plan), result.requests)
    if result.ok:
        o.add(f"Apply complete: {line}.", fg="green", bold=True)
    else:
        n_failed, n_skipped = len(result.failed), len(result.skipped)
        o.add(f"Apply incomplete: {line}; {n_failed} change{'' if n_failed == 1 else 's'} failed, {n_skipped} "
              f"skipped because something {'it depends' if n_skipped == 1 else 'they depend'} on failed.",
              fg="red", bold=True)
        for a in result.skipped:
            o.add(f"  skipped: {a}")
        o.add("Everything applied is recorded in the state; run plan to see what is left.")
    return o.text()


class Progress:
    """A progress bar on stderr while applying (rich), only when stderr is a terminal; NO_COLOR kept."""

    def __init__(self, plan: Plan, stream: IO[str] = sys.stderr) -> None:
        self.total = sum(1 for c in plan.changes if c.requests or c.state_updates)
        self.live = bool(getattr(stream, "isatty", lambda: False)()) and self.total > 0
        if not self.live:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        console = Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")))
        self._bar = Bar(TextColumn("Applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[last]}"), console=console, transient=True)
        self._task = self._bar.add_task("apply", total=self.total, last="")
        self._bar.start()

    def update(self, change: ResourceChange, outcome: str) -> None:
        if self.live:
            self._bar.update(self._task, advance=1, last=f"{outcome}: {change.address[:60]}")

    def close(self) -> None:
        if self.live:
            self._bar.stop()


class RefreshProgress:
    """Reads done / expected on stderr while a plan refreshes (rich), only when stderr is a terminal,
    as `Progress` does for apply. Fed by `core.progress` listeners: `update(expected, done)`."""

    def __init__(self, stream: IO[str] = sys.stderr) -> None:
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self._started = self._closed = False
        self.expected = self.done = 0

    def update(self, expected: int, done: int) -> None:
        if not self.live or self._closed:
            return
        self.expected += expected
        self.done += done
        if not self._started:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            console = Console(file=self.stream, no_color=bool(os.environ.get("NO_COLOR")))
            self._bar = Bar(TextColumn("Refreshing"), BarColumn(), MofNCompleteColumn(), TextColumn("reads"),
                            TimeElapsedColumn(), console=console, transient=True)
            self._task = self._bar.add_task("refresh", total=self.expected, completed=self.done)
            self._bar.start()
            self._started = True
        self._bar.update(self._task, total=max(self.expected, self.done), completed=self.done)

    def close(self) -> None:
        """Take the bar away (the refresh is over); later reports are ignored."""
        self._closed = True
        if self._started:
            self._bar.stop()
            self._started = False

    def __enter__(self) -> RefreshProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
