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

import datetime as dt
import html
import json
import re
from decimal import Decimal
from typing import Any

from reconciler.plans import digest as digest_mod
from reconciler.render import i18n
from reconciler.render import values as fmt
from reconciler.tariffs import review as tariff_review
from reconciler.tariffs import schedule

MARKER = "<!-- reconciler-plan -->"
REVIEWED = "<!-- reconciler-reviewed "   # + JSON {"digest", "changes"?} + " -->": what this comment showed
RESULT = "<!-- reconciler-result -->"    # the apply-on-merge result appended below the reviewed plan
RESULT_ROOM = 8000                        # room kept in a comment for that result
PER_CHANGE_BUDGET = 16_000                # the per-change hashes are kept when they fit in this
_REVIEWED_RE = re.compile(re.escape(REVIEWED) + r"(\{.*?\}) -->", re.S)
GITHUB_LIMIT = 65536
# Warnings a reviewer must see in the comment (the others are said there another way: credentials by
# the note on live state, targeting and whole-object sends by their own lines, tariff lint and
# policies above).
SHOWN_WARNINGS = frozenset({"plan.import_ignored", "sec.tariff_ids_unknown", "medido.token_not_jwt",
                            "medido.token_expiring", "medido.no_files"})
SUMMARY_LIMIT = 1_000_000   # GitHub's job summary takes 1 MiB per step
LARGE_PRICE_CHANGE_PCT = 10.0
USED_BY_SHOWN = 10        # connectors listed by address under a tariff; the rest are counted
CELL_LIMIT = 120          # longer values are shown whole under their table, never cut


def _esc(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _warnings(doc: dict[str, Any], threshold: float, lang: str) -> list[str]:
    def say(key: str, **kw: Any) -> str:
        return i18n.text(lang, key, **kw)

    def money(r: dict[str, Any], side: str) -> str:
        return i18n.money(lang, (r.get(side) or {}).get("incl_vat"), r.get("currency"))

    out = []
    if doc.get("targets"):
        out.append("- :dart: " + say("targeting", targets=", ".join(f"`{t}`" for t in doc["targets"])))
    changed = {ch["address"].split(".", 2)[2].split("@", 1)[0] for ch in doc.get("changes") or []
               if ch.get("kind") == "tariff"}
    unchanged = 0
    for d in doc.get("diagnostics") or []:
        if d["severity"] == "error":
            blocked = d.get("code") == "plan.prevent_destroy"
            out.append(f"- {':shield:' if blocked else ':no_entry:'} **{say('prevent_destroy' if blocked else 'error')}**: "
                       f"{_esc(i18n.diagnostic(lang, d))}")
        elif d["severity"] == "warning" and (d.get("field") or "").startswith("review."):
            out.append(f"- :no_entry_sign: **{say('policy')}**: {_esc(i18n.diagnostic(lang, d))}")
        elif d["severity"] == "warning" and (d.get("code") or "").startswith("tariff."):
            if (d.get("params") or {}).get("tariff") not in changed:
                unchanged += 1   # said on every plan until fixed: counted here, listed by validate
                continue
            where = f"`{d['file']}:{d['line']}` " if d.get("file") and d.get("line") else ""
            out.append(f"- :warning: {where}{_esc(i18n.diagnostic(lang, d))}")
        elif d["severity"] == "warning" and d.get("code") in SHOWN_WARNINGS:
            out.append(f"- :warning: {_esc(i18n.diagnostic(lang, d))}")
    if unchanged:
        out.append("- :information_source: " + say("lint_elsewhere", n=unchanged))
    for ch in doc.get("changes") or []:
        if ch["action"] in ("delete", "replace") and not ch.get("covered_by"):
            what = say("removed") if ch["action"] == "delete" else say("replaced")
            ident = fmt.identity(ch)
            out.append(f"- :warning: `{ch['address']}` {say('will_be')} **{what}**"
                       + (f" ({_esc(ident)})" if ident else ""))
        review = ch.get("tariff_review") or {}
        by_schedule = bool(review) and not review.get("note")
        for sh in review.get("shifts") or [] if by_schedule else []:
            if sh.get("pct") is not None and abs(sh["pct"]) >= threshold:
                when, what = shift_line(sh, review.get("currency") or "", lang)
                n = next((pc["connectors"] for pc in ch.get("price_changes") or [] if pc.get("connectors")), 0)
                users = "" if not n else say("span_user") if n == 1 else say("span_users", n=n)
                out.append("- :warning: " + say("large_span", tariff=f"`{ch['address'].split('.', 2)[2]}`",
                                               when=_esc(when), what=_esc(what), users=users))
        for pc in ch.get("price_changes") or []:
            if by_schedule and pc["element"] >= 0:
                continue
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
            out.append("- :warning: " + say("large_session", session=_esc(session_name(r, lang)),
                                           tariff=f"`{r['tariff']}`",
                                           before=money(r, "before"), after=money(r, "after"),
                                           pct=i18n.pct(lang, r["pct"])))
    for m in doc.get("manual_actions") or []:
        out.append("- :raising_hand: " + say("manual", address=f"`{m['address']}`", summary=_esc(i18n.manual(lang, m))))
    for d in doc.get("drift") or []:
        out.append("- :mag: " + say("drift", address=f"`{d['address']}`", path=f"`{d['path']}`"))
    if doc.get("refresh", True):   # without a refresh, the note above the warnings says it once
        for p in doc.get("platforms") or []:
            if not p["refreshed"]:
                out.append("- :information_source: " + say("platform_not_refreshed", platform=f"`{p['platform']}`",
                                                          note=_esc(i18n.note(lang, p["note"]) if p.get("note")
                                                                   else say("live_not_read"))))
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
        rows.append(f"| {_esc(session_name(r, lang))} | `{_esc(r['tariff'])}` | {_esc(r['platform'])} | {cells[0]} | "
                    f"{cells[1]} | {i18n.pct(lang, r.get('pct')) or '—'}{note} |")
    if not rows:
        return []
    typical = any(r.get("typical") for r in doc.get("reference_costs") or [])
    return [f"### {i18n.text(lang, 'sessions')}\n\n{i18n.text(lang, 'sessions_header')}\n"
            "|---|---|---|---:|---:|---:|", *rows, "",
            *([i18n.text(lang, "typical_note"), ""] if typical else [])]


def _used_by(ch: dict[str, Any], lang: str) -> list[str]:
    """Who a tariff change reaches: its platform's connectors that use it, by address (collapsed
    past USED_BY_SHOWN; the full list is in the plan JSON)."""
    if ch.get("kind") != "tariff" or ch.get("action") == "delete":
        return []
    users = ch.get("used_by") or []
    if not users:
        return [i18n.text(lang, "used_by_none", platform=ch["platform"]), ""]
    stations = {u.split(".", 2)[2].split("/", 1)[0] for u in users}
    shown = ", ".join(f"`{_esc(u)}`" for u in users[:USED_BY_SHOWN])
    if len(users) > USED_BY_SHOWN:
        shown += ", " + i18n.text(lang, "more", n=len(users) - USED_BY_SHOWN)
    head = i18n.text(lang, "used_by", n=i18n.connectors_at(lang, len(users), len(stations)), platform=ch["platform"])
    return [f"{head} {shown}", ""]


def _cell(path: str, v: Any, lang: str, full: list[tuple[str, str]]) -> str:
    """A value for a table cell, whole: one too long for a cell is shown whole below the table."""
    whole = fmt.value(v, None)
    if len(whole) <= CELL_LIMIT:
        return "`" + whole.replace("`", "'") + "`"
    full.append((path, json.dumps(v, ensure_ascii=False, indent=2)))
    return i18n.text(lang, "see_below")


def _full_values(full: list[tuple[str, str]], lang: str) -> list[str]:
    out = []
    for path, text in full:
        fence = "````" if "```" in text else "```"
        out += [f"<details><summary>{i18n.text(lang, 'full_value', path=html.escape(path))}</summary>", "",
                f"{fence}json", text, fence, "", "</details>", ""]
    return out


def session_name(r: dict[str, Any], lang: str) -> str:
    """A declared session's name, or a typical session described in the comment's language."""
    t = r.get("typical")
    if not t:
        return str(r["session"])
    words = i18n.schedule_words(lang)
    start = dt.datetime.fromisoformat(t["start"])
    parked = t.get("parking_minutes") or 0
    return i18n.text(lang, "typical_session", kind=t["power_type"],
                     kw=schedule.number(Decimal(t["power_kw"]), words),
                     duration=schedule.duration(Decimal(t["minutes"]) * 60, words),
                     parked=i18n.text(lang, "typical_parked", duration=schedule.duration(Decimal(parked) * 60, words))
                     if parked else "",
                     start=f"{words.days[start.weekday()]} {start:%H:%M}")


def shift_line(sh: dict[str, Any], currency: str, lang: str, action: str = "update") -> tuple[str, str]:
    """(when, what) of one schedule shift: (`Mon–Fri 18:00–22:00`, `ENERGY 980 → 1180 COP/kWh (+20.41%)`).
    A created tariff's prices stand alone; in a changed tariff, a dimension charged only after (or
    only before) says so in words."""
    words = i18n.schedule_words(lang)
    s = tariff_review.shift_from_json(sh)
    when = schedule.describe_where(s, words)
    unit = f" {currency}{schedule.UNITS.get(s.dimension, '')}".rstrip()
    if s.before is not None and s.after is not None:
        vat = s.before.vat != s.after.vat
        what = (f"{s.dimension} {tariff_review.price_words(s.before, words, vat)} → "
                f"{tariff_review.price_words(s.after, words, vat)}{unit}")
        if s.before.step_size != s.after.step_size:
            what += f", step_size {s.before.step_size} → {s.after.step_size}"
    elif s.after is not None:
        what = f"{s.dimension} {schedule.number(s.after.price, words)}{unit}" + (
            "" if action == "create" else f" ({words.new_charge})")
    else:
        assert s.before is not None
        what = f"{s.dimension} {schedule.number(s.before.price, words)} → —{unit}" if action == "delete" else \
            f"{s.dimension} {words.dropped_charge.format(was=f'{schedule.number(s.before.price, words)}{unit}')}"
    pct = i18n.pct(lang, sh.get("pct"))
    return when, what + (f" ({pct})" if pct else "")


def element_line(ec: dict[str, Any], currency: str, lang: str) -> str:
    words = i18n.schedule_words(lang)
    old = tariff_review.element_from_json(ec["before"]) if ec.get("before") else None
    new = tariff_review.element_from_json(ec["after"]) if ec.get("after") else None
    i, j = ec.get("before_index"), ec.get("after_index")
    if ec["change"] == "added" and new is not None:
        return i18n.text(lang, "element_added", i=j, what=tariff_review.element_text(new, currency, words))
    if ec["change"] == "removed" and old is not None:
        return i18n.text(lang, "element_removed", i=i, what=tariff_review.element_text(old, currency, words))
    if ec["change"] == "moved" and new is not None:
        return i18n.text(lang, "element_moved", i=i, j=j, what=tariff_review.element_text(new, currency, words))
    assert old is not None and new is not None
    what = tariff_review.changed_text(old, new, currency, words)
    if i == j:
        return i18n.text(lang, "element_changed", i=i, what=what)
    return i18n.text(lang, "element_changed_moved", i=i, j=j, what=what)


def when_text(spans: list[dict[str, Any]], lang: str) -> str:
    return schedule.describe_when(tariff_review.when_from_json(spans), i18n.schedule_words(lang))


def tariff_block(ch: dict[str, Any], lang: str, limit: float | None) -> list[str]:
    """The headline of a tariff's block: what drivers pay, when, before and after; then the elements."""
    review = ch.get("tariff_review")
    if not review:
        return []
    if review.get("note"):
        return [f"{i18n.text(lang, 'not_evaluated', note=_esc(review['note']))}", ""]
    currency = review.get("currency") or ""
    head = {"create": "pays_new", "delete": "pays_gone"}.get(ch["action"], "pays")
    vat = i18n.text(lang, "incl_vat" if review.get("prices_include_vat") else "excl_vat")
    lines = [i18n.text(lang, head, vat=vat), ""]
    shifts = review.get("shifts") or []
    for sh in shifts:
        when, what = shift_line(sh, currency, lang, ch["action"])
        mark = ""
        if limit is not None and sh.get("pct") is not None and ch["action"] not in ("create", "delete"):
            over = abs(sh["pct"]) > limit
            mark = (" — :no_entry_sign: " + i18n.text(lang, "over_limit", limit=f"{limit:g}")) if over else \
                (" — " + i18n.text(lang, "within_limit", limit=f"{limit:g}"))
        lines.append(f"- **{_esc(when)}**: {_esc(what)}{mark}")
    if not shifts:
        lines.append(f"- {i18n.text(lang, 'no_price_shift')}")
    elif review.get("unchanged_elsewhere") and ch["action"] not in ("create", "delete"):
        lines.append(f"- {i18n.text(lang, 'elsewhere_unchanged')}")
    if review.get("partial"):
        lines.append(f"- :information_source: {i18n.text(lang, 'schedule_partial')}")
    lines.append("")
    elements = review.get("elements") or []
    if elements and ch["action"] not in ("create", "delete"):
        lines += [i18n.text(lang, "elements"), ""]
        lines += [f"- {_esc(element_line(ec, currency, lang))}" for ec in elements]
        if review.get("reordered"):
            effect = review.get("order_effect")
            if effect is None:
                lines.append(f"- {i18n.text(lang, 'reorder_no_effect')}")
            else:
                lines.append(f"- {i18n.text(lang, 'reorder_effect', when=_esc(when_text(effect, lang)))}")
        lines.append("")
    return lines


def _details(ch: dict[str, Any], children: list[dict[str, Any]], lang: str = "en", limit: float | None = None) -> str:
    sym = fmt.SYMBOL.get(ch["action"], " ")
    ident = fmt.identity(ch)
    lines = [f"<details><summary><code>{sym}</code> <code>{ch['address']}</code> {i18n.verb(lang, ch['action'])}"
             + (f" — {_esc(ident)}" if ident else "") + "</summary>", ""]
    if ch.get("reason"):
        lines += [f"{i18n.text(lang, 'reason')}: {_esc(i18n.note(lang, ch['reason']))}", ""]
    lines += tariff_block(ch, lang, limit)
    lines += _used_by(ch, lang)
    full: list[tuple[str, str]] = []
    if ch.get("after"):
        lines += [i18n.text(lang, "value_header"), "|---|---|"]
        for name, val in ch["after"].items():
            lines.append(f"| `{_esc(name)}` | {_esc(_cell(name, val, lang, full))} |")
        lines.append("")
    if ch.get("changes"):
        if ch.get("tariff_review") and not ch["tariff_review"].get("note"):
            lines += [i18n.text(lang, "fields_as_sent"), ""]
        lines += [i18n.text(lang, "field_header"), "|---|---|---|"]
        for fc in ch["changes"]:
            after = i18n.text(lang, "cleared") if fc["op"] == "clear" else _cell(fc["path"], fc["after"], lang, full)
            before = "—" if fc["before"] is None else _cell(fc["path"], fc["before"], lang, full)
            flag = i18n.text(lang, "outside_flag") if fc.get("drift") else ""
            lines.append(f"| `{_esc(fc['path'])}` | {_esc(before)} | {_esc(after)}{flag} |")
        lines.append("")
    lines += _full_values(full, lang)
    if ch.get("vat_roundings"):
        lines.append(f"- {i18n.text(lang, 'vat_sent')}: "
                     + "; ".join(i18n.vat_rounding(lang, vr) for vr in ch["vat_roundings"]))
    for kid in children:
        lines.append(f"- {i18n.text(lang, 'also')} `{fmt.SYMBOL.get(kid['action'], '')}` `{kid['address']}` "
                     f"{i18n.text(lang, 'sent_with')}")
    for note in ch.get("notes") or []:
        lines.append(f"- {i18n.text(lang, 'note')}: {_esc(i18n.note(lang, note))}")
    for r in ch.get("requests") or []:
        lines.append(f"- {i18n.text(lang, 'request')}: `{fmt.request_line(r)}`")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def reviewed_marker(doc: dict[str, Any]) -> str:
    """The hidden record of what this comment shows: the plan digest, and the per-change hashes when
    they fit (so that a later plan can say which addresses differ)."""
    record: dict[str, Any] = {"digest": doc.get("digest") or digest_mod.plan_digest(doc)}
    changes = digest_mod.per_change(doc)
    if len(json.dumps(changes)) <= PER_CHANGE_BUDGET:
        record["changes"] = changes
    else:
        record["count"] = len(changes)
    text = json.dumps(record, separators=(",", ":"), sort_keys=True).replace(">", "\\u003e")
    return f"\n{REVIEWED}{text} -->"


def read_reviewed(body: str) -> dict[str, Any] | None:
    """The record `reviewed_marker` wrote into a comment, or None."""
    found = _REVIEWED_RE.search(body)
    if found is None:
        return None
    try:
        record = json.loads(found.group(1))
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("digest"), str) else None


def _provenance(doc: dict[str, Any], lang: str) -> list[str]:
    """`commit 1a2b3c4 · [run](…) · made 2026-12-04 02:41 UTC`: what the reviewer is reading."""
    source = doc.get("source") or {}
    parts = []
    if source.get("commit"):
        parts.append(i18n.text(lang, "commit", sha=f"`{source['commit'][:12]}`"))
    if source.get("run_url"):
        parts.append(i18n.text(lang, "run", url=source["run_url"]))
    made = _utc(doc.get("created_at"))
    if made:
        parts.append(i18n.text(lang, "made_at", time=made))
    return [" · ".join(parts), ""] if parts else []


def _utc(value: Any) -> str | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _hint(doc: dict[str, Any], lang: str) -> str:
    url = (doc.get("source") or {}).get("run_url")
    return i18n.text(lang, "hint_run", url=url) if url else i18n.text(lang, "hint")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def render(doc: dict[str, Any], *, full_plan_hint: str | None = None, limit: int = GITHUB_LIMIT,
           threshold: float | None = None, lang: str = "en") -> str:
    """The comment. `threshold` (percent) marks large price changes: by default the plan's
    review.max_price_change_pct, else 10."""
    i18n.check(lang)
    if threshold is None:
        threshold = (doc.get("policy") or {}).get("max_price_change_pct") or LARGE_PRICE_CHANGE_PCT
    head = [MARKER + reviewed_marker(doc), f"## {i18n.text(lang, 'title')}: {i18n.summary(lang, doc.get('summary') or {})}",
            "", *_provenance(doc, lang)]
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
    limit_pct = (doc.get("policy") or {}).get("max_price_change_pct")
    blocks = [_details(ch, covered.get(ch["address"], []), lang, limit_pct) for ch in doc.get("changes") or []
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
                                       hint=full_plan_hint or _hint(doc, lang)) + "\n"
            break
        body += item
    return body


def applied_section(doc: dict[str, Any], commit: str, *, state_commit: str = "",
                    state_info: dict[str, Any] | None = None, lang: str = "en") -> str:
    """The apply-on-merge result: the commit, how many changes and requests, and where the state was
    recorded (the state commit, or the PostgreSQL state from `state info --json`: its name, host and
    database, lineage and serial; never the URL, which may hold a password)."""
    summ = doc.get("summary") or {}
    n = sum(int(summ.get(k) or 0) for k in ("create", "update", "delete", "replace", "forget"))
    m = int(summ.get("requests") or 0)
    changes = i18n.text(lang, "change_one") if n == 1 else i18n.text(lang, "change_many", n=n)
    requests = i18n.text(lang, "request_one") if m == 1 else i18n.text(lang, "request_many", n=m)
    line = i18n.text(lang, "applied_body", commit=commit[:12], changes=changes, requests=requests,
                     digest=str(doc["digest"])[:19])
    info = state_info or {}
    if info.get("backend") == "postgres" and info.get("serial") is not None:
        line += " " + i18n.text(lang, "state_postgres", name=info.get("name"), database=info.get("database"),
                                lineage=info.get("lineage"), serial=info.get("serial"))
    elif state_commit:
        line += " " + i18n.text(lang, "state_commit", commit=state_commit[:12])
    return f"### {i18n.text(lang, 'applied_head')}\n\n{line}\n"
