"""The pull-request comment (`plan --markdown FILE`), from the plan's JSON form.

Order, for a reviewer at the end of the day: summary counts; a note when live state was not read;
warnings above everything else (errors, prevent_destroy, policies apply will enforce, deletions,
large price changes, creates that may end pending, manual actions, drift); the price-change
table; the reference sessions priced before and after; then one collapsible block per changed
object with its identifying fields and field-level changes. A comment longer than GitHub's
65,536 characters is cut at a row or block boundary with a note saying where the full plan is
(the size is counted in UTF-8 bytes, so the same code fits the 1 MiB job summary with
`limit=SUMMARY_LIMIT`). English by default; `lang="es"` for Spanish (`i18n`).
"""

from __future__ import annotations

from typing import Any

from reconciler.render import i18n
from reconciler.render import values as fmt

MARKER = "<!-- reconciler-plan -->"
GITHUB_LIMIT = 65536
SUMMARY_LIMIT = 1_000_000   # GitHub's job summary takes 1 MiB per step
LARGE_PRICE_CHANGE_PCT = 10.0


def _esc(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(v: Any) -> str:
    return "`" + fmt.value(v, 120).replace("`", "'") + "`"


def _warnings(doc: dict[str, Any], threshold: float, lang: str) -> list[str]:
    def say(key: str, **kw: Any) -> str:
        return i18n.text(lang, key, **kw)

    def money(r: dict[str, Any], side: str) -> str:
        return i18n.money(lang, (r.get(side) or {}).get("incl_vat"), r.get("currency"))

    out = []
    if doc.get("targets"):
        out.append("- :dart: " + say("targeting", targets=", ".join(f"`{t}`" for t in doc["targets"])))
    for d in doc.get("diagnostics") or []:
        if d["severity"] == "error":
            blocked = "prevent_destroy" in d["summary"]
            out.append(f"- {':shield:' if blocked else ':no_entry:'} **{say('prevent_destroy' if blocked else 'error')}**: "
                       f"{_esc(d['summary'])}")
        elif d["severity"] == "warning" and (d.get("field") or "").startswith("review."):
            out.append(f"- :no_entry_sign: **{say('policy')}**: {_esc(d['summary'])}")
    for ch in doc.get("changes") or []:
        if ch["action"] in ("delete", "replace") and not ch.get("covered_by"):
            what = say("removed") if ch["action"] == "delete" else say("replaced")
            ident = fmt.identity(ch)
            out.append(f"- :warning: `{ch['address']}` {say('will_be')} **{what}**"
                       + (f" ({_esc(ident)})" if ident else ""))
        for pc in ch.get("price_changes") or []:
            if pc.get("pct") is not None and abs(pc["pct"]) >= threshold:
                out.append("- :warning: " + say("large_change", tariff=f"`{pc['tariff']}`", component=pc["component"],
                                               before=pc["before"], after=pc["after"],
                                               pct=i18n.pct(lang, pc["pct"]), n=pc["connectors"]))
        if ch["action"] == "create" and any(not r.get("idempotent", True) for r in ch.get("requests") or []):
            out.append("- :hourglass: " + say("pending_create", address=f"`{ch['address']}`"))
        if ch.get("needs_refresh"):
            out.append("- :information_source: " + say("needs_refresh", address=f"`{ch['address']}`"))
        if any(fc.get("drift") for fc in ch.get("changes") or []):
            out.append("- :mag: " + say("outside", address=f"`{ch['address']}`"))
    for r in doc.get("reference_costs") or []:
        if r.get("pct") is not None and abs(r["pct"]) >= threshold:
            out.append("- :warning: " + say("large_session", session=_esc(r["session"]), tariff=f"`{r['tariff']}`",
                                           before=money(r, "before"), after=money(r, "after"),
                                           pct=i18n.pct(lang, r["pct"])))
    for m in doc.get("manual_actions") or []:
        out.append("- :raising_hand: " + say("manual", address=f"`{m['address']}`", summary=_esc(m["summary"])))
    for d in doc.get("drift") or []:
        out.append("- :mag: " + say("drift", address=f"`{d['address']}`", path=f"`{d['path']}`"))
    if doc.get("refresh", True):   # without a refresh, the note above the warnings says it once
        for p in doc.get("platforms") or []:
            if not p["refreshed"]:
                out.append("- :information_source: " + say("platform_not_refreshed", platform=f"`{p['platform']}`",
                                                          note=_esc(p.get("note") or say("live_not_read"))))
    return out


def _price_table(doc: dict[str, Any], lang: str) -> list[str]:
    rows = []
    for ch in doc.get("changes") or []:
        for pc in ch.get("price_changes") or []:
            comp = pc["component"] if pc["element"] < 0 else f"#{pc['element']} {pc['component']}"
            if pc["field"] != "price" and pc["element"] >= 0:
                comp += f" ({pc['field']} %)"
            rows.append(f"| `{_esc(pc['tariff'])}` | {_esc(pc['platform'])} | {_esc(comp)} | "
                        f"{pc['before'] if pc['before'] is not None else '—'} | "
                        f"{pc['after'] if pc['after'] is not None else '—'} | {pc.get('currency') or ''} | "
                        f"{i18n.pct(lang, pc.get('pct')) or '—'} | {pc['connectors']} |")
    if not rows:
        return []
    return [f"### {i18n.text(lang, 'price_changes')}\n\n{i18n.text(lang, 'price_header')}\n"
            "|---|---|---|---:|---:|---|---:|---:|", *rows, ""]


def _sessions(doc: dict[str, Any], lang: str) -> list[str]:
    """The reference sessions' cost incl. VAT before and after, one row per session and tariff."""
    rows = []
    for r in doc.get("reference_costs") or []:
        cells = []
        for side, missing in (("before", "new"), ("after", "gone")):
            cost = r.get(side)
            if cost is None:
                cells.append("?" if r.get("note") else f"*{i18n.text(lang, missing)}*")
            else:
                cells.append(i18n.money(lang, cost["incl_vat"], r.get("currency"))
                             + (f" ({cost['limited_by']})" if cost.get("limited_by") else ""))
        note = f" {_esc(r['note'])}" if r.get("note") else ""
        rows.append(f"| {_esc(r['session'])} | `{_esc(r['tariff'])}` | {_esc(r['platform'])} | {cells[0]} | "
                    f"{cells[1]} | {i18n.pct(lang, r.get('pct')) or '—'}{note} |")
    if not rows:
        return []
    return [f"### {i18n.text(lang, 'sessions')}\n\n{i18n.text(lang, 'sessions_header')}\n"
            "|---|---|---|---:|---:|---:|", *rows, ""]


def _details(ch: dict[str, Any], children: list[dict[str, Any]], lang: str = "en") -> str:
    sym = fmt.SYMBOL.get(ch["action"], " ")
    ident = fmt.identity(ch)
    lines = [f"<details><summary><code>{sym}</code> <code>{ch['address']}</code> {i18n.verb(lang, ch['action'])}"
             + (f" — {_esc(ident)}" if ident else "") + "</summary>", ""]
    if ch.get("reason"):
        lines += [f"{i18n.text(lang, 'reason')}: {_esc(ch['reason'])}", ""]
    if ch.get("after"):
        lines += [i18n.text(lang, "value_header"), "|---|---|"]
        for name, val in ch["after"].items():
            lines.append(f"| `{_esc(name)}` | {_esc(_code(val))} |")
        lines.append("")
    if ch.get("changes"):
        lines += [i18n.text(lang, "field_header"), "|---|---|---|"]
        for fc in ch["changes"]:
            after = i18n.text(lang, "cleared") if fc["op"] == "clear" else _code(fc["after"])
            before = "—" if fc["before"] is None else _code(fc["before"])
            flag = i18n.text(lang, "outside_flag") if fc.get("drift") else ""
            lines.append(f"| `{_esc(fc['path'])}` | {_esc(before)} | {_esc(after)}{flag} |")
        lines.append("")
    for kid in children:
        lines.append(f"- {i18n.text(lang, 'also')} `{fmt.SYMBOL.get(kid['action'], '')}` `{kid['address']}` "
                     f"{i18n.text(lang, 'sent_with')}")
    for note in ch.get("notes") or []:
        lines.append(f"- {i18n.text(lang, 'note')}: {_esc(note)}")
    for r in ch.get("requests") or []:
        lines.append(f"- {i18n.text(lang, 'request')}: `{fmt.request_line(r)}`")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def render(doc: dict[str, Any], *, full_plan_hint: str | None = None, limit: int = GITHUB_LIMIT,
           threshold: float | None = None, lang: str = "en") -> str:
    """The comment. `threshold` (percent) marks large price changes: by default the plan's
    review.max_price_change_pct, else 10."""
    i18n.check(lang)
    if threshold is None:
        threshold = (doc.get("policy") or {}).get("max_price_change_pct") or LARGE_PRICE_CHANGE_PCT
    head = [MARKER, f"## {i18n.text(lang, 'title')}: {i18n.summary(lang, doc.get('summary') or {})}", ""]
    parts: list[str] = []
    if not doc.get("refresh", True):
        parts.append(f"> {i18n.text(lang, 'not_refreshed')}\n")
    if not doc.get("changes"):
        parts.append(i18n.text(lang, "no_changes_manual" if doc.get("manual_actions") else "no_changes") + "\n")
    warnings = _warnings(doc, threshold, lang)
    if warnings:
        parts += [f"### {i18n.text(lang, 'review_first')}\n", *warnings, ""]
    parts += _price_table(doc, lang)
    parts += _sessions(doc, lang)
    covered: dict[str, list[dict[str, Any]]] = {}
    for ch in doc.get("changes") or []:
        if ch.get("covered_by"):
            covered.setdefault(ch["covered_by"], []).append(ch)
    blocks = [_details(ch, covered.get(ch["address"], []), lang) for ch in doc.get("changes") or []
              if not ch.get("covered_by")]
    if blocks:
        parts.append(f"### {i18n.text(lang, 'changes')}\n")
    # Every part is whole (a warning, a table row, an object's block): the cut never splits one.
    items = [p + "\n" for p in parts] + blocks
    body = "\n".join(head) + "\n"
    room = limit - 600   # for the note
    for i, item in enumerate(items):
        if _size(body) + _size(item) > room:
            body += "\n> " + i18n.text(lang, "cut", n=len(items) - i, limit=f"{limit:,}",
                                       hint=full_plan_hint or i18n.text(lang, "hint")) + "\n"
            break
        body += item
    return body
