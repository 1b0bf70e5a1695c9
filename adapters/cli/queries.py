"""Queries for support staff, customers and analysts: a quote, an instance's history and timeline, overdue
refunds. Each writes nothing to the ledger."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Optional

import typer
from rich.text import Text

from adapters import services
from adapters.cli.app import application, cli, out
from adapters.cli.options import Force, Json, KnownAt, parse_sets, writable
from adapters.cli.render import new_table
from adapters.formats import answers, chain, output
from adapters.formats.params import day, instant, optional_instant


@cli.command("quote")
def quote_cmd(
    instance: str,
    at: Annotated[str, typer.Option("--at", help="business time of the refund request (ISO 8601 with offset)")],
    known_at: Annotated[Optional[str], typer.Option("--known-at", help="judge on what was recorded by then")] = None,
    mode: Annotated[str, typer.Option("--mode", help="auto, or a mode or refund reason of the instance's policy "
                                                      "(a wrong one lists them all)")] = "auto",
    invoice: Annotated[Optional[str], typer.Option("--invoice", help="the invoice concerned, where the policy "
                                                                     "refunds per invoice")] = None,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="override a policy parameter: NAME=VALUE")] = None,
    with_: Annotated[Optional[list[str]], typer.Option("--with", help="instances refunded together")] = None,
    exception_report: Annotated[Optional[str], typer.Option("--exception-report",
                                                            help="written exception report (K-E1)")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="e.g. product_retirement (K-E1)")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="each line's formula, each reason's facts")] = False,
    as_json: Json = False,
) -> None:
    """What a refund requested at --at would pay, as known at --known-at. Writes nothing."""
    t, k = instant("at", at), optional_instant("known_at", known_at)
    q = services.quote(application(), instance, t, k, mode, with_ or [], parse_sets(sets),
                       exception_report=exception_report, reason=reason, invoice=invoice)
    if as_json:
        print(json.dumps(q.as_json(), indent=2, ensure_ascii=False))
        return
    zone = output.calendar_tz(q.policy)  # the policy's business time zone: every time below is shown in it
    table = new_table(f"Refund quote for {q.instance} at {output.when(q.at, zone, exact=True)} "
                      f"(known at {output.when(q.known_at, zone, exact=known_at is not None)})",
                      "instance", "order", "kind", "rule", f"paid ({q.currency})", f"consumed ({q.currency})",
                      f"refund ({q.currency})", "explanation")
    for line in q.lines:
        j = line.as_json()
        table.add_row(j["instance"], j["order"], j["kind"], j["rule"], j["paid"], j.get("consumed", "—"),
                      j["refund"], j["formula"])
    out.print(table)
    for r in q.reasons:
        out.print(f"  {r.rule}: {r.message}")
        if explain:
            for f in r.facts:
                out.print(f"      rests on {f.fact} {f.ref or ''} at {output.when(f.at, zone)} "
                          f"(recorded {output.when(f.recorded_at, zone)})")
    if explain:
        out.print("How each line was computed:")
        for line in q.lines:
            out.print(f"  {line.instance} {line.order} [{line.rule}]: {line.formula}")
    ceiling = f" · staff decision needed, ceiling {q.ceiling}" if q.ceiling is not None else ""
    eligible = "yes" if q.eligible else "no"
    out.print(Text.assemble(output.plain(f"policy {q.policy} · mode {q.mode} · eligible {eligible}"
                                         f" · outcome {q.outcome} · amount "),
                            (output.plain(f"{q.currency} {q.amount}"), "bold"), output.plain(ceiling)))


def _brief(key: str, value: Any, zone: str | None, time: bool) -> str:
    """A fact's detail for the human table (``--json`` has everything); a time (``time``) in ``zone``."""
    if time:
        return output.when(value, zone)
    if key == "quote":
        return f"(frozen quote: {value['mode']}, {value['amount']}, {len(value['lines'])} line(s))"
    if key == "payment":
        return json.dumps({t: a for t, a in value.items() if Decimal(a)})
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


@cli.command("history")
def history_cmd(
    instance: str,
    known_at: KnownAt = None,
    as_json: Json = False,
) -> None:
    """Every fact about the instance, with both times, the line id, and retractions."""
    h = services.history(application(), instance, optional_instant("known_at", known_at))
    if as_json:
        print(json.dumps(h.as_json(), indent=2))
        return
    zone = h.zone  # the instance's policy's business time zone (None: UTC)
    table = new_table(f"History of {instance} (known at {output.when(h.known_at, zone, exact=known_at is not None)})",
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
    out.print(table)
    if h.unverified_from:
        out.print(chain.UNVERIFIED_NOTE, markup=False)


@cli.command("timeline")
def timeline_cmd(
    instance: str,
    at: Annotated[Optional[str], typer.Option("--at", help="business time (default: --known-at)")] = None,
    known_at: KnownAt = None,
    html: Annotated[Optional[str], typer.Option("--html", help="write a self-contained SVG page here")] = None,
    force: Force = False,
    as_json: Json = False,
) -> None:
    """Each order's validity period and amount, whether it had taken effect at --at, the overlaps the policy
    forbids (K-S3), retracted facts and what retracted them, refund requests with their frozen amounts, the
    release (K-L3) and the policy's windows (K-F2)."""
    k = optional_instant("known_at", known_at)
    t = optional_instant("at", at)
    if html:
        writable("--html", html, force)
        output.write_text(html, services.timeline_html(application(), instance, t, k))
        out.print(f"wrote {html}")
        return
    tl = services.timeline(application(), instance, t, k)
    if as_json:
        print(json.dumps(tl.as_json(), indent=2))
        return
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
    out.print(table)
    for w in j["windows"]:
        out.print(f"{w['label']} ({w['rule']}): {when(w['start'])} to {when(w['end'])}")
    for v in j["rule_overlaps"]:
        out.print(f"{v['rule']}: {v['message']} from {when(v['start'])} to {when(v['end'])}")
    for x in j["retracted"]:
        r = x["retracted"]
        what = f"{x['fact']} {x['order']}" if x["order"] else x["fact"]
        out.print(f"retracted: {what} (line {x['id']}, at {when(x['at'])}, recorded {when(x['recorded_at'])}) by "
                  f"line {r['by']} recorded {when(r['recorded_at'])}: {r['reason']}")
    for x in j["refunds"]:
        if x["state"] == "denied":
            what = f"denied ({', '.join(x['rules'])})"
        elif not x["primary"]:
            what = f"{x['state']}, refunded with {x['with']}'s application"
        else:
            what = f"{x['state']}, {cur} {x['amount']} (frozen quote {cur} {x['quoted']})"
        out.print(f"refund {x['refund']} ({x['mode']}) requested at {when(x['requested_at'])}, recorded "
                  f"{when(x['recorded_at'])}: {what}" + (f", settled at {when(x['settled_at'])}" if x["settled_at"]
                                                         else ""))
    if j["release"]:
        rel = j["release"]
        rule = f" ({rel['rule']})" if rel["rule"] else ""
        out.print(f"released{rule} by refund {rel['refund']} at {when(rel['at'])} (recorded "
                  f"{when(rel['recorded_at'])})")


@cli.command("overdue")
def overdue_cmd(
    at: Annotated[str, typer.Option("--at", help="business time to judge deadlines at")],
    holiday: Annotated[Optional[list[str]], typer.Option("--holiday", help="a non-working day, YYYY-MM-DD")] = None,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="override a policy parameter: NAME=VALUE")] = None,
    as_json: Json = False,
) -> None:
    """Refunds past the deadline of their open stage, each on its policy's calendar: K-L2 (5 working days);
    P-R2 / P-D1 (review_days / escalation_days) and P-R3 (processing_days: flagged), from the policy version
    in force at the request (P-V1)."""
    t = instant("at", at)
    holidays = tuple(day("holiday", h) for h in holiday or [])
    late = services.overdue(application(), t, parse_sets(sets), holidays)
    if as_json:
        print(json.dumps(answers.overdue(t, late), indent=2))
        return
    zone, note = output.one_zone(o.stage.calendar_tz for o in late)  # the calendars their deadlines are counted on
    table = new_table(f"Refunds past a deadline at {output.when(t, zone, exact=True)}" + (f" · {note}" if late else ""),
                      "refund", "instance", "rule", "waiting for", "since", "due", "amount", "severity")
    for o in late:
        j = o.as_json()
        table.add_row(j["refund"], j["instance"], j["rule"], j["waiting_for"], output.when(j["since"], zone),
                      output.when(j["due"], zone), f"{j['currency']} {j['amount']}", j["severity"])
    out.print(table)
    out.print(f"{len(late)} past a deadline")
