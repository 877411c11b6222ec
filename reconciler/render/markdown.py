"""The pull-request comment (`plan --markdown FILE`), from the plan's JSON form.

Order, for a reviewer at the end of the day: summary counts; warnings above everything else
(deletions, large price changes, drift, errors); the price-change table; then one collapsible
block per changed object with its identifying fields and field-level changes. A comment longer
than GitHub's 65,536 characters is cut at a block boundary with a note saying where the full
plan is.
"""

from __future__ import annotations

from typing import Any

from reconciler.render import values as fmt

MARKER = "<!-- reconciler-plan -->"
GITHUB_LIMIT = 65536
LARGE_PRICE_CHANGE_PCT = 10.0


def _esc(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(v: Any) -> str:
    return "`" + fmt.value(v, 120).replace("`", "'") + "`"


def _warnings(doc: dict[str, Any], threshold: float) -> list[str]:
    out = []
    for d in doc.get("diagnostics") or []:
        if d["severity"] == "error":
            out.append(f"- :no_entry: **Error**: {_esc(d['summary'])}")
    for ch in doc.get("changes") or []:
        if ch["action"] in ("delete", "replace") and not ch.get("covered_by"):
            what = "removed" if ch["action"] == "delete" else "replaced (deleted, then created)"
            ident = fmt.identity(ch)
            out.append(f"- :warning: `{ch['address']}` will be **{what}**" + (f" ({_esc(ident)})" if ident else ""))
        for pc in ch.get("price_changes") or []:
            if pc.get("pct") is not None and abs(pc["pct"]) >= threshold:
                out.append(f"- :warning: large price change: tariff `{pc['tariff']}` {pc['component']} "
                           f"{pc['before']} → {pc['after']} ({fmt.pct(pc['pct'])}) on {pc['connectors']} connectors")
        if any(fc.get("drift") for fc in ch.get("changes") or []):
            out.append(f"- :mag: `{ch['address']}` was changed outside reconciler; this plan corrects it")
    for m in doc.get("manual_actions") or []:
        out.append(f"- :raising_hand: manual action for `{m['address']}`: {_esc(m['summary'])}")
    for d in doc.get("drift") or []:
        out.append(f"- :mag: drift on `{d['address']}` `{d['path']}` (reported only, `drift: warn`)")
    for p in doc.get("platforms") or []:
        if not p["refreshed"]:
            out.append(f"- :information_source: platform `{p['platform']}` was not refreshed: "
                       f"{_esc(p.get('note') or 'live state not read')}")
    return out


def _price_table(doc: dict[str, Any]) -> list[str]:
    rows = []
    for ch in doc.get("changes") or []:
        for pc in ch.get("price_changes") or []:
            comp = pc["component"] if pc["element"] < 0 else f"#{pc['element']} {pc['component']}"
            if pc["field"] != "price" and pc["element"] >= 0:
                comp += f" ({pc['field']} %)"
            rows.append(f"| `{_esc(pc['tariff'])}` | {_esc(pc['platform'])} | {_esc(comp)} | "
                        f"{pc['before'] if pc['before'] is not None else '—'} | "
                        f"{pc['after'] if pc['after'] is not None else '—'} | {pc.get('currency') or ''} | "
                        f"{fmt.pct(pc.get('pct')) or '—'} | {pc['connectors']} |")
    if not rows:
        return []
    return ["### Price changes", "",
            "| Tariff | Platform | Component | Before | After | Currency | Change | Connectors |",
            "|---|---|---|---:|---:|---|---:|---:|", *rows, ""]


def _details(ch: dict[str, Any], children: list[dict[str, Any]]) -> str:
    sym = fmt.SYMBOL.get(ch["action"], " ")
    ident = fmt.identity(ch)
    lines = [f"<details><summary><code>{sym}</code> <code>{ch['address']}</code> {fmt.VERBS.get(ch['action'], '')}"
             + (f" — {_esc(ident)}" if ident else "") + "</summary>", ""]
    if ch.get("reason"):
        lines += [f"Reason: {_esc(ch['reason'])}", ""]
    if ch.get("after"):
        lines += ["| Field | Value |", "|---|---|"]
        for name, val in ch["after"].items():
            lines.append(f"| `{_esc(name)}` | {_esc(_code(val))} |")
        lines.append("")
    if ch.get("changes"):
        lines += ["| Field | Before | After |", "|---|---|---|"]
        for fc in ch["changes"]:
            after = "*(cleared)*" if fc["op"] == "clear" else _code(fc["after"])
            before = "—" if fc["before"] is None else _code(fc["before"])
            flag = " *(changed outside reconciler)*" if fc.get("drift") else ""
            lines.append(f"| `{_esc(fc['path'])}` | {_esc(before)} | {_esc(after)}{flag} |")
        lines.append("")
    for kid in children:
        lines.append(f"- also `{fmt.SYMBOL.get(kid['action'], '')}` `{kid['address']}` (sent with this request)")
    for note in ch.get("notes") or []:
        lines.append(f"- note: {_esc(note)}")
    for r in ch.get("requests") or []:
        lines.append(f"- request: `{fmt.request_line(r)}`")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def render(doc: dict[str, Any], *, full_plan_hint: str = "the job summary or the `plan --json` artifact",
           limit: int = GITHUB_LIMIT, threshold: float = LARGE_PRICE_CHANGE_PCT) -> str:
    s = doc.get("summary") or {}
    head = [MARKER, f"## reconciler plan: {fmt.summary_line(s).removeprefix('Plan: ')}", ""]
    if not doc.get("changes"):
        head += ["**No changes.** The platforms match the configuration.", ""]
    warnings = _warnings(doc, threshold)
    if warnings:
        head += ["### :warning: Review these first", "", *warnings, ""]
    head += _price_table(doc)
    covered: dict[str, list[dict[str, Any]]] = {}
    for ch in doc.get("changes") or []:
        if ch.get("covered_by"):
            covered.setdefault(ch["covered_by"], []).append(ch)
    blocks = [_details(ch, covered.get(ch["address"], [])) for ch in doc.get("changes") or []
              if not ch.get("covered_by")]
    body = "\n".join(head)
    if blocks:
        body += "\n### Changes\n\n"
    note_room = 400
    for i, block in enumerate(blocks):
        if len(body) + len(block) + note_room > limit:
            body += (f"\n> **This comment is cut here**: {len(blocks) - i} more changed objects are not shown "
                     f"(GitHub limits a comment to {limit} characters). The full plan is in {full_plan_hint}.\n")
            break
        body += block
    return body
