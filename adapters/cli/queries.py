"""Queries for support staff, customers and analysts: a quote, an instance's history and timeline, overdue
refunds. Each writes nothing to the ledger."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from adapters.cli import views
from adapters.cli.app import application, cli, out
from adapters.cli.options import Force, Json, KnownAt, parse_sets, writable
from adapters.formats import answers, output
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
    from adapters.services import queries

    t, k = instant("at", at), optional_instant("known_at", known_at)
    q = queries.quote(application(), instance, t, k, mode, with_ or [], parse_sets(sets),
                      exception_report=exception_report, reason=reason, invoice=invoice)
    if as_json:
        print(json.dumps(q.as_json(), indent=2, ensure_ascii=False))
        return
    for shown in views.quote(q, known_at is not None, explain):
        out.print(shown)


@cli.command("history")
def history_cmd(
    instance: str,
    known_at: KnownAt = None,
    as_json: Json = False,
) -> None:
    """Every fact about the instance, with both times, the line id, and retractions."""
    from adapters.services import queries

    h = queries.history(application(), instance, optional_instant("known_at", known_at))
    if as_json:
        print(output.json_text(h.as_json()))
        return
    for shown in views.history(h, instance, known_at is not None):
        out.print(shown)


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
    from adapters.services import queries

    k = optional_instant("known_at", known_at)
    t = optional_instant("at", at)
    if html:
        writable("--html", html, force)
        output.write_text(html, queries.timeline_html(application(), instance, t, k))
        out.print(f"wrote {html}")
        return
    tl = queries.timeline(application(), instance, t, k)
    if as_json:
        print(output.json_text(tl.as_json()))
        return
    for shown in views.timeline(tl, instance, t, k):
        out.print(shown)


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
    from adapters.services import queries

    t = instant("at", at)
    holidays = tuple(day("holiday", h) for h in holiday or [])
    late = queries.overdue(application(), t, parse_sets(sets), holidays)
    if as_json:
        print(output.json_text(answers.overdue(t, late)))
        return
    for shown in views.overdue(t, late):
        out.print(shown)
