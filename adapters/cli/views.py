"""The CLI's human answers, as rich renderables (tables, lines), from a use case's result: pure functions, no
console and no App, so that each can be checked without running the CLI; a command prints them in order."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.text import Text

from adapters.cli.render import new_table
from adapters.formats import chain, output


def quote(q: Any, exact_known: bool, explain: bool) -> list[Any]:
    """A quote: its lines' table, its reasons (``explain``: with the facts each rests on, and each line's formula)
    and its outcome; every time in the policy's business time zone (``exact_known``: the knowledge time as typed)."""
    shown: list[Any] = []
    zone = output.calendar_tz(q.policy)  # the policy's business time zone: every time below is shown in it
    table = new_table(f"Refund quote for {q.instance} at {output.when(q.at, zone, exact=True)} "
                      f"(known at {output.when(q.known_at, zone, exact=exact_known)})",
                      "instance", "order", "kind", "rule", f"paid ({q.currency})", f"consumed ({q.currency})",
                      f"refund ({q.currency})", "explanation")
    for line in q.lines:
        j = line.as_json()
        table.add_row(j["instance"], j["order"], j["kind"], j["rule"], j["paid"], j.get("consumed", "—"),
                      j["refund"], j["formula"])
    shown.append(table)
    for r in q.reasons:
        shown.append(f"  {r.rule}: {r.message}")
        if explain:
            for f in r.facts:
                shown.append(f"      rests on {f.fact} {f.ref or ''} at {output.when(f.at, zone)} "
                             f"(recorded {output.when(f.recorded_at, zone)})")
    if explain:
        shown.append("How each line was computed:")
        for line in q.lines:
            shown.append(f"  {line.instance} {line.order} [{line.rule}]: {line.formula}")
    ceiling = f" · staff decision needed, ceiling {q.ceiling}" if q.ceiling is not None else ""
    eligible = "yes" if q.eligible else "no"
    shown.append(Text.assemble(output.plain(f"policy {q.policy} · mode {q.mode} · eligible {eligible}"
                                            f" · outcome {q.outcome} · amount "),
                               (output.plain(f"{q.currency} {q.amount}"), "bold"), output.plain(ceiling)))
    return shown


def history(h: Any, instance: str, exact_known: bool) -> list[Any]:
    """An instance's history: every fact with both times, its line id, details and retraction."""
    shown: list[Any] = []
    zone = h.zone  # the instance's policy's business time zone (None: UTC)
    table = new_table(f"History of {instance} (known at {output.when(h.known_at, zone, exact=exact_known)})",
                      "#", "recorded at", "business at", "fact", "id", "recorded by", "details", "status",
                      below=("details", "status"))
    number = {r["version"]: i for i, r in enumerate(h.facts, start=1)}  # facts numbered from 1, as listed
    for r, times in zip(h.facts, h.times, strict=True):
        status = "UNVERIFIED" if r["verified"] is False else ""
        if "retracted" in r:
            x = r["retracted"]
            status = ", ".join(filter(None, (status, f"retracted by #{number.get(x['version'], x['version'])} "
                                                     f"({x['by']}) at {output.when(x['recorded_at'], zone)}: "
                                                     f"{x['reason']}")))
        details = ", ".join(f"{k}={_brief(k, v, zone, k in times)}" for k, v in r["details"].items()
                            if v not in (None, {}, []) and not k.endswith("_"))  # not the JSON's old names
        table.add_row(str(number[r["version"]]), output.when(r["recorded_at"], zone), output.when(r["at"], zone),
                      r["fact"], r["id"] or "", r["actor"] or "", details, status, style="dim" if status else None)
    shown.append(table)
    if h.unverified_from:
        shown.append(chain.UNVERIFIED_NOTE)
    return shown


def _brief(key: str, value: Any, zone: str | None, time: bool) -> str:
    """A fact's detail for the human table (``--json`` has everything); a time (``time``) in ``zone``."""
    if time:
        return output.when(value, zone)
    if key == "quote":
        return f"(frozen quote: {value['mode']}, {value['amount']}, {len(value['lines'])} line(s))"
    if key == "payment":
        return json.dumps({t: a for t, a in value.items() if Decimal(a)})
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def timeline(tl: Any, instance: str, t: datetime | None, k: datetime | None) -> list[Any]:
    """An instance's timeline: its orders' table, then its windows, forbidden overlaps, retracted facts, refunds and
    release, one a line (``t``, ``k``: the times asked for, shown exactly when given)."""
    shown: list[Any] = []
    zone = tl.calendar_tz  # the policy's business time zone (None: UTC)

    def when(value: str | None) -> str:
        return output.when(value, zone)

    j = tl.as_json()
    cur = tl.currency or ""
    flagged = f"{' / '.join(tl.overlap_rules)} overlaps" if tl.overlap_rules else None
    table = new_table(f"Timeline of {instance} at {output.when(tl.at, zone, exact=(t or k) is not None)} "
                      f"(known at {output.when(tl.known_at, zone, exact=k is not None)})"
                      + ("" if zone else " · times in UTC: no business time zone applies"),
                      "order", "kind", "placed at", "valid from", "valid until", f"amount ({cur})", "taken effect",
                      *([flagged] if flagged else []), "released at")
    for r in j["orders"]:
        amount = f"credit {r['credit']}" if r["kind"] == "downgrade" else r["amount"]
        table.add_row(r["order"], r["kind"], when(r["placed_at"]), when(r["start"]), when(r["end"]), amount,
                      "yes" if r["taken_effect"] else "no",
                      *([", ".join(f"{x['order']} ({x['rule']})" for x in r["rule_overlaps"])] if flagged else []),
                      when(r["released_at"]))
    shown.append(table)
    for w in j["windows"]:
        shown.append(f"{w['label']} ({w['rule']}): {when(w['start'])} to {when(w['end'])}")
    for v in j["rule_overlaps"]:
        shown.append(f"{v['rule']}: {v['message']} from {when(v['start'])} to {when(v['end'])}")
    for x in j["retracted"]:
        r = x["retracted"]
        what = f"{x['fact']} {x['order']}" if x["order"] else x["fact"]
        shown.append(f"retracted: {what} (line {x['id']}, at {when(x['at'])}, recorded {when(x['recorded_at'])}) by "
                     f"line {r['by']} recorded {when(r['recorded_at'])}: {r['reason']}")
    for x in j["refunds"]:
        if x["state"] == "denied":
            what = f"denied ({', '.join(x['rules'])})"
        elif not x["primary"]:
            what = f"{x['state']}, refunded with {x['with']}'s application"
        else:
            what = f"{x['state']}, {cur} {x['amount']} (frozen quote {cur} {x['quoted']})"
        shown.append(f"refund {x['refund']} ({x['mode']}) requested at {when(x['requested_at'])}, recorded "
                     f"{when(x['recorded_at'])}: {what}" + (f", settled at {when(x['settled_at'])}" if x["settled_at"]
                                                            else ""))
    if j["release"]:
        rel = j["release"]
        rule = f" ({rel['rule']})" if rel["rule"] else ""
        shown.append(f"released{rule} by refund {rel['refund']} at {when(rel['at'])} (recorded "
                     f"{when(rel['recorded_at'])})")
    return shown


def overdue(t: datetime, late: list[Any]) -> list[Any]:
    """The refunds past a deadline at ``t``, on the calendars their deadlines are counted on."""
    shown: list[Any] = []
    zone, note = output.one_zone(o.stage.calendar_tz for o in late)  # the calendars their deadlines are counted on
    table = new_table(f"Refunds past a deadline at {output.when(t, zone, exact=True)}" + (f" · {note}" if late else ""),
                      "refund", "instance", "rule", "waiting for", "since", "due", "amount", "severity")
    for o in late:
        j = o.as_json()
        table.add_row(j["refund"], j["instance"], j["rule"], j["waiting_for"], output.when(j["since"], zone),
                      output.when(j["due"], zone), f"{j['currency']} {j['amount']}", j["severity"])
    shown.append(table)
    shown.append(f"{len(late)} past a deadline")
    return shown


def diff(d: dict[str, Any], instance: str, t: datetime, k1: datetime, k2: datetime, zone: str | None) -> list[Any]:
    """How a quote changed between two knowledge times (`queries.diff`), and the recorded events that caused it."""
    shown: list[Any] = []
    shown.append(f"Quote for {instance} at {output.when(t, zone, exact=True)}: known at "
                 f"{output.when(k1, zone, exact=True)} vs {output.when(k2, zone, exact=True)}")
    if not (d["changed"] or d["lines"] or d["reasons"]["added"] or d["reasons"]["removed"]):
        shown.append("  no change")
    for c in d["changed"]:
        shown.append(f"  {c['field']}: {c['from']} -> {c['to']}")
    for ln in d["lines"]:
        a, b = (x["refund"] if x else "—" for x in (ln["from"], ln["to"]))
        shown.append(f"  line {ln['instance']}/{ln['order']}: {a} -> {b}")
    for rule in d["reasons"]["added"]:
        shown.append(f"  reason added: {rule}")
    for rule in d["reasons"]["removed"]:
        shown.append(f"  reason removed: {rule}")
    shown.append("Caused by (recorded in between):")
    for c in d["caused_by"]:
        extra = f" of line {c['target']} ({c['reason']})" if "target" in c else ""
        shown.append(f"  {output.when(c['recorded_at'], zone)}  {c['stream']}: {c['fact']}{extra} id={c['id']} "
                     f"at {output.when(c['at'], zone)}")
    return shown
