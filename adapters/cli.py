"""``billing-ledger``: the command-line entry point (interface.md, "CLI").

Exit status: 0 done, 2 bad input (the message names the line or option and the field), 1 anything else.
The CLI holds no rules: it parses, calls the services and projections, and prints.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from adapters.bootstrap import App, Settings, StoreURLError, bootstrap
from adapters.formats import tables
from adapters.formats.feed import BadInput, _instant, parse_feed
from adapters.formats.statement import read_statement
from adapters.formats.timeline_html import render as render_timeline
from adapters.services import finance, whatif
from adapters.services import record as service
from adapters.store import readmodels
from adapters.store.integrity import verify
from adapters.store.ledger import Ledger
from domain.errors import LedgerError
from domain.instance import known, retractions
from domain.money import Payment
from domain.policies.kingsoft.view import replay
from domain.policies.korpro.subscription import REASONS
from projections.reconcile import Scope, expected_items, reconcile

app = typer.Typer(add_completion=False, no_args_is_help=True, help="An event-sourced billing ledger.")
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


class State:
    """The process's settings (resolved once, in the callback) and its application (built once, lazily)."""

    settings: Settings | None = None
    app: App | None = None


def application() -> App:
    if State.app is None:
        State.app = bootstrap(State.settings or Settings.resolve())
    return State.app


def now() -> datetime:
    """The adapter owns the clock."""
    return application().now()


def instant(option: str, value: str | None, default: datetime | None = None) -> datetime:
    if value is None:
        if default is None:
            raise BadInput(None, f"{option}: missing")
        return default
    try:
        return _instant(value)
    except ValueError as e:
        raise BadInput(None, f"{option}: {e}") from None


def parse_sets(sets: list[str] | None) -> dict[str, str]:
    out = {}
    for item in sets or []:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise BadInput(None, f"--set: {item!r} is not NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def ledger() -> Ledger:
    return application().ledger


@app.callback()
def main_options(
    db: Annotated[Optional[str], typer.Option("--db", envvar="BILLING_LEDGER_DB",
                                              help="SQLAlchemy URL; default sqlite:///billing-ledger.db")] = None,
) -> None:
    State.settings = Settings.resolve(db)
    State.app = None


@app.command("record")
def record_cmd(
    feed_path: Annotated[str, typer.Argument(metavar="FEED.jsonl", help="the feed, or - for standard input")],
    preserve_recorded_at: Annotated[bool, typer.Option("--preserve-recorded-at",
                                                       help="take each line's recorded_at (migrations)")] = False,
) -> None:
    """Append a feed of commands, all or nothing."""
    if feed_path == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(feed_path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise BadInput(None, f"FEED.jsonl: cannot read {feed_path!r}: {e.strerror}") from None
    lines = parse_feed(text.splitlines())
    result = service.record(ledger(), lines, now(), preserve_recorded_at=preserve_recorded_at)
    out.print(f"recorded {result.recorded}, duplicates {result.duplicates}, denied {result.denied}")


@app.command("quote")
def quote_cmd(
    instance: str,
    at: Annotated[str, typer.Option("--at", help="business time of the refund request (ISO 8601 with offset)")],
    known_at: Annotated[Optional[str], typer.Option("--known-at", help="judge on what was recorded by then")] = None,
    mode: Annotated[str, typer.Option("--mode", help="Kingsoft: auto, five_day, self_service, exception; "
                                                      "KorPro: the refund reason")] = "auto",
    invoice: Annotated[Optional[str], typer.Option("--invoice", help="KorPro: the invoice concerned")] = None,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="override a policy parameter: NAME=VALUE")] = None,
    with_: Annotated[Optional[list[str]], typer.Option("--with", help="instances refunded together")] = None,
    exception_report: Annotated[Optional[str], typer.Option("--exception-report",
                                                            help="written exception report (K-E1)")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="e.g. product_retirement (K-E1)")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="each line's formula, each reason's facts")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What a refund requested at --at would pay, as known at --known-at. Writes nothing."""
    t = instant("--at", at)
    k = instant("--known-at", known_at, now())
    modes = ("auto", "five_day", "self_service", "exception", *REASONS)
    if mode not in modes:
        raise BadInput(None, f"--mode: {mode!r} is not one of {', '.join(modes)}")
    q = service.quote(ledger(), instance, t, k, mode, with_ or [], exception_report=exception_report, reason=reason,
                      invoice=invoice, overrides=parse_sets(sets))
    if as_json:
        print(json.dumps(q.as_json(), indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Refund quote for {q.instance} at {q.at.isoformat()} (known at {q.known_at.isoformat()})")
    for col in ("instance", "order", "kind", "rule", "paid", "consumed", "refund", "explanation"):
        table.add_column(col, justify="right" if col in ("paid", "consumed", "refund") else "left")
    for line in q.lines:
        j = line.as_json()
        table.add_row(j["instance"], j["order"], j["kind"], j["rule"], j["paid"], j.get("consumed", "—"),
                      j["refund"], j["formula"])
    out.print(table)
    for r in q.reasons:
        out.print(f"  {r.rule}: {r.message}", markup=False)
        if explain:
            for f in r.facts:
                out.print(f"      rests on {f.fact} {f.ref or ''} at {f.at} (recorded {f.recorded_at})", markup=False)
    if explain:
        out.print("How each line was computed:")
        for line in q.lines:
            out.print(f"  {line.instance} {line.order} [{line.rule}]: {line.formula}", markup=False)
    ceiling = f" · staff decision needed, ceiling {q.ceiling}" if q.ceiling is not None else ""
    out.print(f"policy {q.policy} · mode {q.mode} · eligible {'yes' if q.eligible else 'no'} · "
              f"outcome {q.outcome} · amount [bold]{q.currency} {q.amount}[/bold]{ceiling}")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Payment):
        return value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _brief(key: str, value: Any) -> str:
    """A fact's detail for the human table (``--json`` has everything)."""
    if key == "quote":
        return f"(frozen quote: {value['mode']}, {value['amount']}, {len(value['lines'])} line(s))"
    if key == "payment":
        return json.dumps({t: a for t, a in value.items() if Decimal(a)})
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


HIDDEN = {"originator_id", "originator_version", "timestamp", "at", "line"}


def history_rows(events: list[Any], known_at: datetime) -> list[dict[str, Any]]:
    facts = known(events, known_at)
    void = retractions(facts)
    rows = []
    for f in facts:
        row = {"version": f.originator_version, "recorded_at": f.timestamp.isoformat(), "at": f.at.isoformat(),
               "fact": type(f).__name__, "id": f.line,
               "details": {x.name: _plain(getattr(f, x.name)) for x in fields(f) if x.name not in HIDDEN}}
        r = void.get(f.line) if f.line else None
        if r is not None:
            row["retracted"] = {"by": r.line, "version": r.originator_version,
                                "recorded_at": r.timestamp.isoformat(), "reason": r.reason}
        rows.append(row)
    return rows


@app.command("history")
def history_cmd(
    instance: str,
    known_at: Annotated[Optional[str], typer.Option("--known-at")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every fact about the instance, with both times, the line id, and retractions."""
    k = instant("--known-at", known_at, now())
    (_, events), = service.iter_events(ledger(), [instance])
    rows = history_rows(events, k)
    if as_json:
        print(json.dumps({"instance": instance, "known_at": k.isoformat(), "facts": rows}, indent=2))
        return
    table = Table(title=f"History of {instance} (known at {k.isoformat()})")
    for col in ("#", "recorded at", "business at", "fact", "id", "details", "status"):
        table.add_column(col)
    for r in rows:
        status = ""
        if "retracted" in r:
            x = r["retracted"]
            status = f"retracted by #{x['version']} ({x['by']}) at {x['recorded_at']}: {x['reason']}"
        details = ", ".join(f"{k}={_brief(k, v)}" for k, v in r["details"].items() if v not in (None, {}, []))
        table.add_row(str(r["version"]), r["recorded_at"], r["at"], r["fact"], r["id"] or "", details, status,
                      style="dim" if status else None)
    out.print(table)


def timeline_rows(instance: str, events: list[Any], at: datetime, known_at: datetime) -> list[dict[str, Any]]:
    view = replay(instance, events, FAR_FUTURE, known_at)
    if view is None:
        return []
    rows = []
    for o in view.orders:
        overlaps = [p.order for p in view.orders if p is not o and p.start < o.end and o.start < p.end]
        rows.append({"order": o.order, "kind": o.kind, "placed_at": o.at.isoformat(),
                     "start": o.start.isoformat(), "end": o.end.isoformat(),
                     "taken_effect": o.taken_effect(at), "in_effect": o.start <= at < o.end, "overlaps": overlaps})
    return rows


@app.command("timeline")
def timeline_cmd(
    instance: str,
    at: Annotated[Optional[str], typer.Option("--at")] = None,
    known_at: Annotated[Optional[str], typer.Option("--known-at", help="as recorded by then")] = None,
    html: Annotated[Optional[str], typer.Option("--html", help="write a self-contained SVG page here")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Each order's validity period, whether it had taken effect at --at, and overlaps."""
    k = instant("--known-at", known_at, now())
    t = instant("--at", at, k)
    (_, events), = service.iter_events(ledger(), [instance])
    if html:
        with open(html, "w", encoding="utf-8") as f:
            f.write(render_timeline(instance, events, t, k))
        out.print(f"wrote {html}")
        return
    rows = timeline_rows(instance, events, t, k)
    if as_json:
        print(json.dumps({"instance": instance, "at": t.isoformat(), "known_at": k.isoformat(), "orders": rows},
                         indent=2))
        return
    table = Table(title=f"Timeline of {instance} at {t.isoformat()}")
    for col in ("order", "kind", "placed at", "valid from", "valid until", "taken effect", "overlaps"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["order"], r["kind"], r["placed_at"], r["start"], r["end"],
                      "yes" if r["taken_effect"] else "no", ", ".join(r["overlaps"]))
    out.print(table)


@app.command("overdue")
def overdue_cmd(
    at: Annotated[str, typer.Option("--at", help="business time to judge deadlines at")],
    holiday: Annotated[Optional[list[str]], typer.Option("--holiday", help="a non-working day, YYYY-MM-DD")] = None,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="override a policy parameter: NAME=VALUE")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Refunds past a deadline: K-L2 (Kingsoft, 5 working days), P-R2 / P-D1 (KorPro decisions, review_days /
    escalation_days business days), P-R3 (KorPro payment, processing_days business days: flagged); KorPro
    days from the policy version in force at the request (P-V1)."""
    t = instant("--at", at)
    try:
        holidays = tuple(date.fromisoformat(h) for h in holiday or [])
    except ValueError as e:
        raise BadInput(None, f"--holiday: {e}") from None
    late = service.overdue(ledger(), t, now(), parse_sets(sets), holidays)
    if as_json:
        print(json.dumps({"at": t.isoformat(), "overdue": [o.as_json() for o in late]}, indent=2))
        return
    table = Table(title=f"Refunds past a deadline at {t.isoformat()}")
    for col in ("refund", "instance", "rule", "waiting for", "since", "due", "amount", "severity"):
        table.add_column(col)
    for o in late:
        j = o.as_json()
        table.add_row(j["refund"], j["instance"], j["rule"], j["waiting_for"], j["since"], j["due"], j["amount"],
                      j["severity"])
    out.print(table)
    out.print(f"{len(late)} past a deadline")


@app.command("project")
def project_cmd(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="drop the read models and replay from event zero")] = False,
    batch: Annotated[int, typer.Option("--batch", help="notifications per transaction")] = 200,
) -> None:
    """Catch the SQL read models (orders, refund applications, account ledger) up with the event log."""
    from rich.progress import Progress

    lg = ledger()
    engine = application().readmodels
    if rebuild:
        readmodels.rebuild(engine)
    start = readmodels.position(engine)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("projecting", total=None)

        def advance(pos: int, top: int) -> None:
            bar.update(task, completed=pos, total=top)

        reached = readmodels.catch_up(lg, engine, batch=batch, progress=advance)
    out.print(f"projected events {start + 1}..{reached}" if reached > start else f"up to date at {reached}")


@app.command("reconcile")
def reconcile_cmd(
    statement: Annotated[str, typer.Option("--statement", help="the payment provider's CSV statement")],
    out_csv: Annotated[Optional[str], typer.Option("--out", help="write every finding to this CSV")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compare the ledger with a payment statement; exit 1 when anything does not reconcile."""
    try:
        with open(statement, encoding="utf-8", newline="") as handle:
            lines = read_statement(handle)
    except OSError as e:
        raise BadInput(None, f"--statement: cannot read {statement!r}: {e.strerror}") from None
    expected, scope = {}, Scope.of(lines)
    for orders, refunds in finance.iter_rows(ledger()):  # one instance at a time: memory follows the statement
        expected.update(expected_items(orders, refunds, scope))
    findings = reconcile(lines, expected)
    rows = [f.as_json() for f in findings]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    if out_csv:
        tables.write_csv(rows, out_csv, list(rows[0]) if rows else ["status"])
    if as_json:
        print(json.dumps({"counts": counts, "findings": rows}, indent=2))
    else:
        table = Table(title=f"Reconciliation against {statement}")
        for col in ("status", "kind", "reference", "statement", "ledger", "currency", "row", "detail"):
            table.add_column(col)
        for r in rows:
            if r["status"] != "matched":
                table.add_row(r["status"], r["kind"], r["reference"], r["statement_amount"] or "—",
                              r["ledger_amount"] or "—", r["currency"] or "", str(r["row"] or ""), r["detail"])
        out.print(table)
        out.print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty statement")
    if any(f.status != "matched" for f in findings):
        raise typer.Exit(1)


@app.command("what-if")
def what_if_cmd(
    instance: Annotated[Optional[str], typer.Argument(help="one instance's scenario (with --add / --drop)")] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="instance scenario: the request's business time")] = None,
    add: Annotated[Optional[str], typer.Option("--add", help="facts to add (a feed, JSON Lines)")] = None,
    drop: Annotated[Optional[list[str]], typer.Option("--drop", help="the id of a recorded line to leave out")] = None,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="a policy parameter: NAME=VALUE")] = None,
    policy_version: Annotated[Optional[str], typer.Option("--policy-version",
                                                          help="judge KorPro requests by this posted version")] = None,
    account: Annotated[Optional[str], typer.Option("--account", help="only this account's requests")] = None,
    mode: Annotated[str, typer.Option("--mode")] = "auto",
    csv_out: Annotated[Optional[str], typer.Option("--csv", help="write the per-request rows to this CSV")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute refunds under a scenario, writing nothing: one instance with facts added or dropped, or
    every recorded request (or an account's) with policy parameters overridden."""
    lg = ledger()
    overrides = parse_sets(sets)
    if instance is not None:
        t = instant("--at", at)
        added = []
        if add:
            try:
                with open(add, encoding="utf-8") as f:
                    added = [x for x in f.read().splitlines() if x.strip()]
            except OSError as e:
                raise BadInput(None, f"--add: cannot read {add!r}: {e.strerror}") from None
        before, after = whatif.scenario(lg, instance, t, now(), added, drop or [], mode, overrides=overrides)
        result = {"instance": instance, "at": t.isoformat(), "today": before.as_json(), "scenario": after.as_json(),
                  "difference": str(after.amount - before.amount)}
        if as_json:
            print(json.dumps(result, indent=2))
        else:
            out.print(f"{instance} at {t.isoformat()}: today {before.currency} {before.amount} ({before.mode}), "
                      f"scenario {after.amount} ({after.mode}), difference {after.amount - before.amount}")
        return
    if policy_version:
        overrides = {**whatif.policy_version_parameters(lg, policy_version), **overrides}
    rows, totals = [], {}
    for r in whatif.rejudge_all(lg, overrides, account):
        rows.append(r.as_json())
        base, scen = totals.get(r.currency, (Decimal(0), Decimal(0)))
        totals[r.currency] = (base + r.baseline, scen + r.scenario)
    summary = {c: {"baseline": str(b), "scenario": str(s), "difference": str(s - b)} for c, (b, s) in totals.items()}
    if csv_out:
        tables.write_csv(rows, csv_out, list(rows[0]) if rows else ["instance"])
    if as_json:
        print(json.dumps({"overrides": overrides, "requests": rows, "totals": summary}, indent=2))
        return
    table = Table(title=f"What-if: {', '.join(f'{k}={v}' for k, v in overrides.items()) or 'no change'}")
    for col in ("instance", "refund", "policy", "at", "today", "scenario", "difference"):
        table.add_column(col, justify="right" if col in ("today", "scenario", "difference") else "left")
    for r in rows:
        if r["difference"] not in ("0", "0.00"):
            table.add_row(r["instance"], r["refund"], r["policy"], r["at"], r["baseline"], r["scenario"],
                          r["difference"])
    out.print(table)
    for currency, t in summary.items():
        out.print(f"total {currency}: today {t['baseline']}, scenario {t['scenario']}, difference {t['difference']}")


@app.command("export")
def export_cmd(
    what: Annotated[str, typer.Argument(help="refunds | orders | account-ledger")],
    start: Annotated[str, typer.Option("--from", help="business time, inclusive")],
    end: Annotated[str, typer.Option("--to", help="business time, exclusive")],
    out_path: Annotated[str, typer.Option("--out", help="the file to write")],
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet")] = "csv",
    known_at: Annotated[Optional[str], typer.Option("--known-at", help="as the ledger knew it then")] = None,
) -> None:
    """Export refunds, orders or the account ledger for a period, as known at --known-at."""
    if what not in finance.EXPORTS:
        raise BadInput(None, f"WHAT: {what!r} is not one of {', '.join(finance.EXPORTS)}")
    if fmt not in ("csv", "parquet"):
        raise BadInput(None, f"--format: {fmt!r} is not csv or parquet")
    t1, t2, k = instant("--from", start), instant("--to", end), instant("--known-at", known_at, now())
    rows = finance.export_rows(ledger(), what, t1, t2, k)
    n = (tables.write_csv if fmt == "csv" else tables.write_parquet)(rows, out_path, tables.COLUMNS[what])
    out.print(f"wrote {n} {what} rows to {out_path}")


@app.command("diff")
def diff_cmd(
    instance: str,
    at: Annotated[str, typer.Option("--at", help="business time of the refund request")],
    known_at: Annotated[str, typer.Option("--known-at", help="the first knowledge time")],
    vs: Annotated[str, typer.Option("--vs", help="the second knowledge time")],
    mode: Annotated[str, typer.Option("--mode")] = "auto",
    with_: Annotated[Optional[list[str]], typer.Option("--with")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How the quote for --at changed between --known-at and --vs, and which recorded events caused it."""
    t, k1, k2 = instant("--at", at), instant("--known-at", known_at), instant("--vs", vs)
    d = service.diff(ledger(), instance, t, k1, k2, mode, with_ or [])
    if as_json:
        print(json.dumps(d, indent=2))
        return
    out.print(f"Quote for {instance} at {t.isoformat()}: known at {k1.isoformat()} vs {k2.isoformat()}")
    if not (d["changed"] or d["lines"] or d["reasons"]["added"] or d["reasons"]["removed"]):
        out.print("  no change")
    for c in d["changed"]:
        out.print(f"  {c['field']}: {c['from']} -> {c['to']}", markup=False)
    for ln in d["lines"]:
        a, b = (x["refund"] if x else "—" for x in (ln["from"], ln["to"]))
        out.print(f"  line {ln['instance']}/{ln['order']}: {a} -> {b}", markup=False)
    for rule in d["reasons"]["added"]:
        out.print(f"  reason added: {rule}")
    for rule in d["reasons"]["removed"]:
        out.print(f"  reason removed: {rule}")
    out.print("Caused by (recorded in between):")
    for c in d["caused_by"]:
        extra = f" of line {c['target']} ({c['reason']})" if "target" in c else ""
        out.print(f"  {c['recorded_at']}  {c['stream']}: {c['fact']}{extra} id={c['id']} at {c['at']}", markup=False)


@app.command("verify")
def verify_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Re-walk the hash-chained log; exit 1 and name the first row that was edited, deleted, inserted or
    reordered."""
    result = verify(ledger())
    if as_json:
        print(json.dumps(result.as_json(), indent=2))
    elif result.ok:
        out.print(f"ok: {result.rows} rows under {result.seals} seals, head {result.head}")
    else:
        if result.finding:
            out.print(f"BROKEN at position {result.finding.position}: {result.finding.message}")
        for problem in result.seal_problems:
            out.print(f"BROKEN: {problem}")
    if not result.ok:
        raise typer.Exit(1)


def main() -> None:
    """Exit status: 0 done, 2 bad input, 1 anything else."""
    try:
        code = app(standalone_mode=False)
    except (BadInput, LedgerError, StoreURLError) as e:
        err.print(str(e), markup=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - the CLI's last resort: say what failed, status 1
        if hasattr(e, "show") and hasattr(e, "exit_code"):  # click's usage and parameter errors: status 2
            e.show()
            sys.exit(e.exit_code)
        err.print(f"error: {type(e).__name__}: {e}", markup=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
