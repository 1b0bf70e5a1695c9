"""``billing-ledger``: the command-line entry point (interface.md, "CLI").

Exit status: 0 done, 2 bad input (the message names the line or option and the field), 1 anything else.
The CLI holds no rules and no infrastructure: each command parses its options, calls one use case of
`adapters.services` with the App (`adapters.bootstrap`, built once per process) and renders the answer.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from adapters import services
from adapters.bootstrap import App, Settings, StoreURLError, bootstrap
from adapters.formats import answers, chain, envelope, output, tables
from adapters.formats.errors import BadFeed, BadInput
from adapters.formats.wording import count
from domain.errors import LedgerError


class _Argument(typer.core.TyperArgument):
    """An argument as usage lines name it by click's convention: ``INSTANCE``, ``FEED.jsonl``, ``[NAME]`` when
    optional (typer writes ``{instance}``)."""

    def make_metavar(self, ctx: Any, *, usage: bool = False) -> str:  # type: ignore[override]
        var = (self.metavar or (self.name or "").upper()) + ("..." if self.nargs != 1 else "")
        return f"[{var}]" if usage and not self.required else var


typer.main.TyperArgument = _Argument  # type: ignore[misc] - the class typer builds every argument with

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="An event-sourced billing ledger.")
out = output.SafeConsole(highlight=False, markup=False,  # COLUMNS (or the terminal's width), else 200 to a pipe
                         width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200)
err = output.SafeConsole(stderr=True, highlight=False, markup=False, soft_wrap=True)  # one error, one line

Json = Annotated[bool, typer.Option("--json", help="print JSON (every field, full precision) instead of a table")]
KnownAt = Annotated[Optional[str], typer.Option("--known-at", help="as recorded by then (default: now)")]
Limit = Annotated[Optional[int], typer.Option("--limit", min=0, help="at most this many")]
Account = Annotated[Optional[str], typer.Option("--account", help="only this account's")]
Mode = Annotated[str, typer.Option("--mode", help="auto, or a mode or refund reason of the instance's policy")]
Force = Annotated[bool, typer.Option("--force", help="replace the file if it exists (never the ledger's own)")]
Workers = Annotated[Optional[int], typer.Option(
    "--workers", metavar="N", help="run the partitions on a local Dask cluster of N worker processes (default 1: "
                                   "in this process; needs billing-ledger[dask] above 1)")]
Scheduler = Annotated[Optional[str], typer.Option(
    "--scheduler", metavar="tcp://HOST:PORT", help="run the partitions on an existing Dask cluster (a PostgreSQL "
                                                   "ledger only: the workers open it by its URL)")]
PartitionSize = Annotated[Optional[int], typer.Option(
    "--partition-size", metavar="N", min=1, help="instances per partition (default: balanced ranges of at least "
                                                 "1,000)")]


class State:
    """The process's settings (resolved once, in the callback) and its application (built once, lazily)."""

    settings: Settings | None = None
    app: App | None = None


def application() -> App:
    if State.app is None:
        State.app = bootstrap(State.settings or Settings.resolve())
    return State.app


@contextmanager
def running(workers: int | None, scheduler: str | None, bar: bool = True) -> Iterator[Any]:
    """Where a ledger-wide job runs its partitions (``--workers``, ``--scheduler``), for the ``with`` block; a
    bar over the partitions on standard error when it is a terminal (``bar``); a local cluster's addresses
    printed there when it starts."""
    from rich.progress import Progress

    show = bar and err.is_terminal
    with Progress(console=err, transient=True, disable=not show) as progress:
        task = progress.add_task("partitions", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        tick: Callable[[int, int], None] | None = advance if show else None
        with application().mapper(workers, scheduler, progress=tick, notice=err.print) as mapped:
            yield mapped


def instant(option: str, value: str | None, default: datetime | None = None) -> datetime:
    if value is None:
        if default is None:
            raise BadInput(None, f"{option}: missing")
        return default
    try:
        return envelope.instant(value)
    except ValueError as e:
        raise BadInput(None, f"{option}: {e}") from None


def optional_instant(option: str, value: str | None) -> datetime | None:
    return None if value is None else instant(option, value)


def parse_sets(sets: list[str] | None) -> dict[str, str]:
    """``--set NAME=VALUE`` overrides, each checked now (a bad name or value is bad input naming --set)."""
    out = {}
    for item in sets or []:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise BadInput(None, f"--set: {item!r} is not NAME=VALUE")
        out[name.strip()] = value.strip()
    return services.check_overrides(out)


def writable(option: str, path: str, force: bool) -> None:
    """Refuse (status 2) to write onto the ledger's database, or onto an existing file without --force."""
    output.check_target(path, option, (State.settings or Settings.resolve()).url, force)


def day(option: str, value: str) -> date:
    try:
        return envelope.day(value)
    except ValueError as e:
        raise BadInput(None, f"{option}: {e}") from None


def read_text(option: str, path: str, newline: str | None = None) -> str:
    """A UTF-8 text file (``newline=None``: universal newlines); invalid UTF-8 names its line."""
    data = output.read_bytes(option, path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise BadInput(None, f"{option}: line {line}: not valid UTF-8") from None
    return text if newline is not None else text.replace("\r\n", "\n").replace("\r", "\n")


def show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"billing-ledger {version('billing-ledger')}")
        raise typer.Exit()


@cli.callback()
def main_options(
    db: Annotated[Optional[str], typer.Option("--db", envvar="BILLING_LEDGER_DB",
                                              help="SQLAlchemy URL; default sqlite:///billing-ledger.db")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=show_version,
                                          help="print the version and exit")] = False,
) -> None:
    State.settings = Settings.resolve(db)
    State.app = None


@cli.command("record")
def record_cmd(
    feed_path: Annotated[str, typer.Argument(metavar="FEED.jsonl", help="the feed, or - for standard input")],
    preserve_recorded_at: Annotated[bool, typer.Option("--preserve-recorded-at",
                                                       help="take each line's recorded_at (migrations)")] = False,
) -> None:
    """Append a feed of commands, all or nothing."""
    if feed_path == "-":
        result = services.record_feed(application(), sys.stdin.buffer, preserve_recorded_at=preserve_recorded_at,
                                      actor=services.local_actor())
    else:
        try:
            handle = open(feed_path, "rb")  # read a line at a time: invalid UTF-8 and long lines name their line
        except OSError as e:
            raise BadInput(None, f"FEED.jsonl: cannot read {feed_path!r}: {e.strerror}") from None
        with handle:
            result = services.record_feed(application(), handle, preserve_recorded_at=preserve_recorded_at,
                                          actor=services.local_actor())
    if result.lines == 0:
        err.print(f"{'standard input' if feed_path == '-' else feed_path}: the feed is empty; nothing was recorded")
    out.print(f"recorded {result.recorded}, duplicates {result.duplicates}, denied {result.denied}")


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
    t, k = instant("--at", at), optional_instant("--known-at", known_at)
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
    h = services.history(application(), instance, optional_instant("--known-at", known_at))
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
    k = optional_instant("--known-at", known_at)
    t = optional_instant("--at", at)
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
    t = instant("--at", at)
    holidays = tuple(day("--holiday", h) for h in holiday or [])
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


@cli.command("project")
def project_cmd(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="drop the read models and replay from event zero")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, help="notifications per transaction")] = 200,
    workers: Workers = None,
    scheduler: Scheduler = None,
    size: PartitionSize = None,
) -> None:
    """Catch the SQL read models (orders, refund applications, account ledger) up with the event log."""
    from rich.progress import Progress

    if not rebuild and (workers, scheduler, size) != (None, None, None):
        raise BadInput(None, "--workers, --scheduler and --partition-size apply to project --rebuild only")
    with running(workers, scheduler, bar=False) as mapped, Progress(console=err, transient=True) as bar:
        task = bar.add_task("projecting", total=None)

        def advance(pos: int, top: int) -> None:
            bar.update(task, completed=pos, total=top)

        p = services.project(application(), rebuild=rebuild, batch=batch, progress=advance, size=size, map=mapped)
    out.print(f"projected events {p.start + 1}..{p.reached}" if p.advanced else f"up to date at {p.reached}")


@cli.command("reconcile")
def reconcile_cmd(
    statement: Annotated[str, typer.Option("--statement", help="the payment provider's CSV statement")],
    out_csv: Annotated[Optional[str], typer.Option("--out", help="write every finding to this CSV")] = None,
    force: Force = False,
    as_json: Json = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    size: PartitionSize = None,
) -> None:
    """Compare the ledger with a payment statement; exit 1 when anything does not reconcile."""
    if out_csv:
        writable("--out", out_csv, force)
    text = read_text("--statement", statement, newline="")
    with running(workers, scheduler) as mapped:
        r = services.reconcile(application(), text, size=size, map=mapped)
    rows = r.findings
    if out_csv:
        tables.write_csv(rows, out_csv, list(rows[0]) if rows else ["status"])
    if as_json:
        print(json.dumps(r.as_json(), indent=2))
    else:
        table = new_table(f"Reconciliation against {statement}",
                          "status", "kind", "reference", "statement", "ledger", "currency", "row", "detail")
        for f in rows:
            if f["status"] != "matched":
                table.add_row(f["status"], f["kind"], f["reference"], f["statement_amount"] or "—",
                              f["ledger_amount"] or "—", f["currency"] or "", str(f["row"] or ""), f["detail"])
        out.print(table)
        out.print(", ".join(f"{k} {v}" for k, v in sorted(r.counts.items())) or "empty statement")
    if not r.ok:
        raise typer.Exit(1)


@cli.command("what-if")
def what_if_cmd(
    instance: Annotated[Optional[str], typer.Argument(help="one instance's scenario (with --add / --drop); without "
                                                           "it, every instance's refund exposure at --at, or (no "
                                                           "--at) every recorded request judged again")] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="business time of the request: the instance's, or "
                                                          "(without INSTANCE) every instance's")] = None,
    add: Annotated[Optional[str], typer.Option("--add", help="facts to add (a feed, JSON Lines)")] = None,
    drop: Annotated[Optional[list[str]], typer.Option("--drop", help="the id of a recorded line to leave out")] = None,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="a policy parameter: NAME=VALUE")] = None,
    policy_version: Annotated[Optional[str], typer.Option("--policy-version",
                                                          help="judge by this posted policy version (P-V1)")] = None,
    account: Account = None,
    mode: Annotated[Optional[list[str]], typer.Option(
        "--mode", help="auto, or a mode or refund reason of the instance's policy; for every instance's exposure, "
                       "one per policy (repeatable; the others: auto)")] = None,
    csv_out: Annotated[Optional[str], typer.Option("--csv", help="write the per-request (per-instance) rows to "
                                                                 "this CSV")] = None,
    force: Force = False,
    every: Annotated[bool, typer.Option("--all", help="list every row, unchanged ones too")] = False,
    as_json: Json = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    size: PartitionSize = None,
) -> None:
    """Recompute refunds under a scenario, writing nothing to the ledger: one instance with facts added or
    dropped; every instance's refund exposure at --at; or every recorded request (or an account's) judged again.
    The baseline is the ledger as recorded, by its own parameters; only the scenario gets --set, --add, --drop
    and --policy-version."""
    if csv_out:
        writable("--csv", csv_out, force)
    overrides = parse_sets(sets)
    modes = mode or []
    if instance is not None:
        if (workers, scheduler, size) != (None, None, None):
            raise BadInput(None, "--workers, --scheduler and --partition-size apply to the ledger-wide what-if only")
        if len(modes) > 1:
            raise BadInput(None, f"--mode: one instance's request has one mode, not {', '.join(modes)}")
        t = instant("--at", at)
        added = read_text("--add", add).split("\n") if add else []
        s = services.instance_scenario(application(), instance, t, added, drop or [], modes[0] if modes else "auto",
                                       overrides, policy_version)
        if as_json:
            print(json.dumps(s.as_json(), indent=2))
        else:
            zone = output.calendar_tz(s.today.policy)
            out.print(f"{instance} at {output.when(t, zone, exact=True)}: baseline {s.today.currency} "
                      f"{s.today.amount} ({s.today.mode}), scenario {s.scenario.amount} ({s.scenario.mode}), "
                      f"difference {s.difference}")
        return
    if add or drop:
        raise BadInput(None, f"{'--add' if add else '--drop'}: facts are added or left out in one instance's "
                             "scenario: give INSTANCE")
    if at is not None:
        what_if_exposure(instant("--at", at), modes, overrides, policy_version, account, csv_out, every, as_json,
                         workers, scheduler, size)
        return
    if any(m != "auto" for m in modes):
        raise BadInput(None, "--mode: recorded requests are judged again under the mode they were recorded with; "
                             "--mode is for one instance, or with --at for every instance's exposure")
    with running(workers, scheduler) as mapped:
        w = services.ledger_scenario(application(), overrides, policy_version, account, size=size, map=mapped)
    if csv_out:
        rows = [r.as_json() for r in w.requests]
        tables.write_csv(rows, csv_out, list(rows[0]) if rows else ["instance"])
    if as_json:
        print(json.dumps(w.as_json(), indent=2))
        return
    rows = [r.as_json() for r in w.requests]
    summary = {c: t.as_json() for c, t in w.totals.items()}
    listed = [r for r in rows if every or r["difference"] not in ("0", "0.00")]
    zone, note = output.one_zone(output.calendar_tz(r["policy"]) for r in listed)
    table = new_table(f"What-if: {', '.join(f'{k}={v}' for k, v in w.overrides.items()) or 'no change'}"
                      + (f" · {note}" if listed else ""),
                      "instance", "refund", "policy", "at", "baseline", "scenario", "difference")
    for r in listed:
        table.add_row(r["instance"], r["refund"], r["policy"], output.when(r["at"], zone),
                      f"{r['currency']} {r['baseline']}", f"{r['currency']} {r['scenario']}",
                      f"{r['currency']} {r['difference']}")
    out.print(table)
    if not summary:
        out.print("no refund request was judged" + (f" for account {account}" if account else ""))
    for currency, t in summary.items():
        out.print(f"{currency}: {t['judged']} request(s) judged, {t['changed']} changed" +
                  ("" if every else " (listed; --all lists every one)") +
                  f"; baseline {currency} {t['baseline']}, scenario {currency} {t['scenario']}, "
                  f"difference {currency} {t['difference']}")


EXPOSURE_COLUMNS = ["instance", "account", "policy", "product", "currency", "mode", "baseline", "scenario",
                    "difference", "error"]


def what_if_exposure(at: datetime, modes: list[str], overrides: dict[str, str], policy_version: str | None,
                     account: str | None, csv_out: str | None, every: bool, as_json: bool, workers: int | None,
                     scheduler: str | None, size: int | None) -> None:
    """``what-if --at T`` without INSTANCE: every instance's refund exposure at T, today and under the scenario."""
    with running(workers, scheduler) as mapped:
        x = services.ledger_exposure(application(), at, modes, overrides, policy_version, account,
                                     every=every or bool(csv_out), size=size, map=mapped)
    if csv_out:
        tables.write_csv([r.as_json() for r in x.instances], csv_out, EXPOSURE_COLUMNS)
    if as_json:
        print(json.dumps(x.as_json(), indent=2))
        return
    asked = ", ".join(f"{m} ({p})" for p, m in x.modes.items()) or "auto"
    scenario = ", ".join(f"{k}={v}" for k, v in x.overrides.items()) or "no change"
    table = new_table(f"Refund exposure at {at.isoformat()}, mode {asked}: {scenario}",
                      "instance", "account", "policy", "product", "baseline", "scenario", "difference")
    for r in x.instances:
        if every or r.changed:
            if r.error is not None:
                table.add_row(r.instance, r.account, r.policy, r.product, "—", "—", "not judged (below)")
            else:
                table.add_row(r.instance, r.account, r.policy, r.product, f"{r.currency} {r.baseline}",
                              f"{r.currency} {r.scenario}", f"{r.currency} {r.difference}")
    out.print(table)
    if not x.totals:
        out.print(f"no instance was open at {at.isoformat()}" + (f" for account {account}" if account else ""))
    for t in x.totals:
        c = t.currency
        out.print(f"{c} {t.policy} {t.product}: {t.instances} instance(s) judged, {t.changed} changed" +
                  ("" if every else " (listed; --all lists every one)") +
                  f"; exposure {c} {t.baseline}, scenario {c} {t.scenario}, difference {c} {t.difference}" +
                  (f"; {t.unjudged} not judged ({t.unjudged_because}; --mode names the request's mode or reason)"
                   if t.unjudged else ""))


@cli.command("export")
def export_cmd(
    what: Annotated[str, typer.Argument(help="refunds | orders | account-ledger")],
    start: Annotated[str, typer.Option("--from", help="business time, inclusive")],
    end: Annotated[str, typer.Option("--to", help="business time, exclusive")],
    out_path: Annotated[str, typer.Option("--out", help="the file to write")],
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet")] = "csv",
    known_at: Annotated[Optional[str], typer.Option("--known-at", help="as the ledger knew it then")] = None,
    force: Force = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    size: PartitionSize = None,
) -> None:
    """Export refunds, orders or the account ledger for a period, as known at --known-at."""
    writable("--out", out_path, force)
    if fmt not in ("csv", "parquet"):
        raise BadInput(None, f"--format: {fmt!r} is not csv or parquet")
    t1, t2, k = instant("--from", start), instant("--to", end), optional_instant("--known-at", known_at)
    if t1 >= t2:
        raise BadInput(None, f"--from: {start} is not before --to {end}: the period [from, to) would be empty")
    with running(workers, scheduler) as mapped:
        rows = services.export(application(), what, t1, t2, k, size=size, map=mapped)
        n = (tables.write_csv if fmt == "csv" else tables.write_parquet)(rows, out_path, tables.COLUMNS[what])
    out.print(f"wrote {n} {what} rows to {out_path}")


@cli.command("journal")
def journal_cmd(
    start: Annotated[str, typer.Option("--from", help="the first day's business time (days start 00:00 UTC)")],
    end: Annotated[str, typer.Option("--to", help="business time, exclusive")],
    out_path: Annotated[str, typer.Option("--out", help="the file to write")],
    fmt: Annotated[str, typer.Option("--format", help="beancount | csv")] = "beancount",
    known_at: KnownAt = None,
    closed_through: Annotated[Optional[str], typer.Option(
        "--closed-through", help="YYYY-MM-DD: days through it keep what was known at the close; changes to "
                                 "them are corrections on the next day")] = None,
    closed_at: Annotated[Optional[str], typer.Option(
        "--closed-at", help="when the period was closed (default: the end of --closed-through, UTC)")] = None,
    force: Force = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    size: PartitionSize = None,
) -> None:
    """The double-entry journal (docs/journal.md) of a period: every money movement as balanced postings."""
    writable("--out", out_path, force)
    if fmt not in services.JOURNAL_FORMATS:
        raise BadInput(None, f"--format: {fmt!r} is not {' or '.join(services.JOURNAL_FORMATS)}")
    t1, t2, k = instant("--from", start), instant("--to", end), optional_instant("--known-at", known_at)
    closed = day("--closed-through", closed_through) if closed_through is not None else None
    if closed_at is not None and closed is None:
        raise BadInput(None, "--closed-at: only with --closed-through")
    with running(workers, scheduler) as mapped:
        j = services.journal(application(), t1, t2, k, closed, optional_instant("--closed-at", closed_at),
                             size=size, map=mapped)
    n = services.write_journal(j, out_path, fmt)
    out.print(f"wrote {n} entries to {out_path}")


@cli.command("trial-balance")
def trial_balance_cmd(
    at: Annotated[str, typer.Option("--at", help="business time: the days that start before it")],
    known_at: KnownAt = None,
    as_json: Json = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    size: PartitionSize = None,
) -> None:
    """Every journal account's balance per currency; per currency, total debits equal total credits."""
    t, k = instant("--at", at), optional_instant("--known-at", known_at)
    with running(workers, scheduler) as mapped:
        tb = services.trial_balance(application(), t, k, size=size, map=mapped)
    if as_json:
        print(json.dumps(tb.as_json(), indent=2))
        return
    table = new_table(_title(f"Trial balance at {output.when(tb.at, None, exact=True)}", tb.known_at,
                             exact=known_at is not None), "account", "currency", "debit", "credit")
    for r in tb.rows:
        table.add_row(r["account"], r["currency"], r["debit"] if r["debit"] != "0.00" else "",
                      r["credit"] if r["credit"] != "0.00" else "")
    for currency, t in tb.totals.items():
        table.add_row("total", currency, t["debit"], t["credit"])
    out.print(table)
    out.print("balanced" if tb.balanced else "NOT BALANCED")
    if not tb.balanced:
        raise typer.Exit(1)


@cli.command("diff")
def diff_cmd(
    instance: str,
    at: Annotated[str, typer.Option("--at", help="business time of the refund request")],
    known_at: Annotated[str, typer.Option("--known-at", help="the first knowledge time")],
    vs: Annotated[str, typer.Option("--vs", help="the second knowledge time")],
    mode: Mode = "auto",
    with_: Annotated[Optional[list[str]], typer.Option("--with", help="instances refunded together")] = None,
    as_json: Json = False,
) -> None:
    """How the quote for --at changed between --known-at and --vs, and which recorded events caused it."""
    t, k1, k2 = instant("--at", at), instant("--known-at", known_at), instant("--vs", vs)
    d = services.diff(application(), instance, t, k1, k2, mode, with_ or [])
    if as_json:
        print(json.dumps(d, indent=2))
        return
    zone = services.instance_zone(application(), instance)  # one zone: the instance's policy's
    out.print(f"Quote for {instance} at {output.when(t, zone, exact=True)}: known at "
              f"{output.when(k1, zone, exact=True)} vs {output.when(k2, zone, exact=True)}")
    if not (d["changed"] or d["lines"] or d["reasons"]["added"] or d["reasons"]["removed"]):
        out.print("  no change")
    for c in d["changed"]:
        out.print(f"  {c['field']}: {c['from']} -> {c['to']}")
    for ln in d["lines"]:
        a, b = (x["refund"] if x else "—" for x in (ln["from"], ln["to"]))
        out.print(f"  line {ln['instance']}/{ln['order']}: {a} -> {b}")
    for rule in d["reasons"]["added"]:
        out.print(f"  reason added: {rule}")
    for rule in d["reasons"]["removed"]:
        out.print(f"  reason removed: {rule}")
    out.print("Caused by (recorded in between):")
    for c in d["caused_by"]:
        extra = f" of line {c['target']} ({c['reason']})" if "target" in c else ""
        out.print(f"  {output.when(c['recorded_at'], zone)}  {c['stream']}: {c['fact']}{extra} id={c['id']} "
                  f"at {output.when(c['at'], zone)}")


@cli.command("verify")
def verify_cmd(
    as_json: Json = False,
    expect_head: Annotated[Optional[list[str]], typer.Option(
        "--expect-head", metavar="HASH",
        help="a head published earlier (verify --json): exit 1 unless some seal of the chain has exactly this "
             "head. A head is a running hash over every earlier row's digest, so finding it proves the prefix "
             "it covers is intact and in place; not finding it means truncated, or rewritten and re-sealed. "
             "Repeatable")] = None,
    checkpoints: Annotated[Optional[str], typer.Option(
        "--checkpoints", metavar="FILE",
        help="a signed checkpoint file (billing-ledger checkpoint): exit 1 unless every line's signature "
             "verifies and the ledger still extends every checkpoint (its head at its position)")] = None,
    public_key: Annotated[Optional[str], typer.Option(
        "--public-key", metavar="PUBFILE",
        help="with --checkpoints: check every signature against this key (PEM, or the base64 key keygen "
             "prints); without it, against the key each line names")] = None,
) -> None:
    """Re-walk the hash-chained log; exit 1 and name the first row that was edited, deleted, inserted or
    reordered. With --expect-head or --checkpoints, also prove that the ledger still contains what was
    anchored earlier: plain verify cannot tell a ledger whose last feed was deleted, seal and all, or that
    was rewritten and consistently re-sealed, from an honest one; an anchor can."""
    result = services.verify(application(), expect_head or [], checkpoints, public_key)
    v = result.verification
    if as_json:
        print(json.dumps(result.as_json(), indent=2))
        if not result.ok:
            raise typer.Exit(1)
        return
    if v.ok:
        out.print(f"ok: {count(v.rows, 'row')} under {count(v.seals, 'seal')}, head {v.head} (position {v.position})")
    else:
        if v.finding:
            for line in chain.problem_lines(v.as_json()["first_problem"]):
                out.print(line, markup=False)
        for problem in v.seal_problems:
            out.print(f"BROKEN: {problem}")
    for h in result.heads:
        out.print(f"{'ok' if h.ok else 'NOT FOUND' if h.anchor is None else 'BROKEN'}: head {h.head}: {h.message}",
                  markup=False)
    if result.checkpoints is not None:
        report = result.checkpoints
        out.print(f"checkpoints {report.file}: {len(report.checks)} checked against {report.key_source}",
                  markup=False)
        for c in report.checks:
            cp = c.checkpoint
            out.print(f"  {'ok' if c.ok else 'FAILED'}: line {c.line}: seal {cp.seals}, position {cp.position}, "
                      f"made {output.when(cp.made_at, None)}" + ("" if c.ok else f": {c.message}"), markup=False)
        first = report.first_failure
        if first is not None:
            out.print(f"FAILED: the checkpoint at line {first.line} of {report.file}: {first.message}",
                      markup=False)
    if not result.ok:
        raise typer.Exit(1)


@cli.command("keygen")
def keygen_cmd(
    key_out: Annotated[str, typer.Option("--out", metavar="KEYFILE",
                                         help="the new private key (PEM, mode 0600); the public key goes to "
                                              "KEYFILE.pub. Never overwrites a file")],
    as_json: Json = False,
) -> None:
    """Make a new Ed25519 key for signing checkpoints. Keep the private key outside the database (and off the
    ledger's host, ideally); publish the public key to the auditors."""
    pair = services.keygen(application(), key_out)
    if as_json:
        print(json.dumps(pair.as_json(), indent=2))
        return
    out.print(f"wrote the private key to {pair.private_path} (mode 0600) and the public key to {pair.public_path}",
              markup=False)
    out.print(f"public key: {pair.public_key}", markup=False)


@cli.command("checkpoint")
def checkpoint_cmd(
    key: Annotated[str, typer.Option("--key", metavar="KEYFILE", help="the private key (billing-ledger keygen)")],
    file: Annotated[str, typer.Option("--file", metavar="CHECKPOINTS",
                                      help="the checkpoint file to append to (created when missing)")],
    as_json: Json = False,
) -> None:
    """Verify the ledger, then append a signed checkpoint of its head (head, position, seals, recorded_at,
    made_at, public key, signature: one JSON line) to the checkpoint file. Refuses (exit 1) when the chain is
    broken or the ledger no longer extends a checkpoint already in the file."""
    try:
        made = services.checkpoint(application(), key, file)
    except services.Refused as refused:
        err.print(f"refused: {refused}", markup=False)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(made.as_json(), indent=2))
        return
    cp = made.checkpoint
    recorded = output.when(cp.recorded_at, None) or "never (an empty ledger)"
    out.print(f"checkpoint at line {made.line} of {made.file}: head {cp.head}, position {cp.position}, "
              f"{count(cp.seals, 'seal')}, recorded {recorded}", markup=False)


keys = typer.Typer(no_args_is_help=True, help="API keys for the HTTP service (docs/http.md): create, list, revoke.")
cli.add_typer(keys, name="keys")


def _key_row(r: services.KeyRow) -> list[str]:
    return [r.id, r.role, ", ".join(r.accounts), r.name or "", output.when(r.created_at, None), r.created_by,
            f"{output.when(r.revoked_at, None)} by {r.revoked_by}" if r.revoked_at else ""]


KEY_COLUMNS = ("id", "role", "accounts", "name", "created at", "created by", "revoked")


@keys.command("create")
def keys_create_cmd(
    role: Annotated[str, typer.Option("--role", help=f"what the key may do: {', '.join(services.ROLES)}")],
    accounts: Annotated[Optional[list[str]], typer.Option(
        "--account", help="only this account's instances (repeatable; a customer key needs one)")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="a name for people (who holds the key)")] = None,
    as_json: Json = False,
) -> None:
    """Create an API key and print its secret, once: it is stored only as a hash."""
    made = services.create_key(application(), role, accounts or [], name, actor=services.local_actor())
    if as_json:
        print(json.dumps(made.as_json(), indent=2))
        return
    out.print(f"key {made.id} ({made.role}{': ' + ', '.join(made.accounts) if made.accounts else ''}); its "
              "secret, shown only now:")
    out.print(made.key)


@keys.command("list")
def keys_list_cmd(as_json: Json = False) -> None:
    """Every key (never a secret): role, accounts, who created it, when, and whether it was revoked."""
    rows = services.list_keys(application())
    if as_json:
        print(json.dumps({"keys": [r.as_json() for r in rows]}, indent=2))
        return
    table = new_table("API keys", *KEY_COLUMNS)
    for r in rows:
        table.add_row(*_key_row(r))
    out.print(table)
    out.print(f"{len(rows)} key(s)")


@keys.command("revoke")
def keys_revoke_cmd(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="the key's id (keys list)")],
    as_json: Json = False,
) -> None:
    """Revoke a key: every later request with it is refused (401) at once."""
    r = services.revoke_key(application(), key_id, actor=services.local_actor())
    if as_json:
        print(json.dumps(r.as_json(), indent=2))
        return
    out.print(f"revoked {r.id} at {output.when(r.revoked_at, None)} by {r.revoked_by}")


def _title(what: str, known_at: datetime | None, zone: str | None = None, exact: bool = True) -> str:
    """A title echoing ``--known-at`` in the answer's zone: as typed (``exact``: with its microseconds, if any),
    or to the second (the default, now)."""
    return f"{what} (known at {output.when(known_at, zone, exact=exact)})" if known_at else what


def new_table(title: str, *columns: str, below: tuple[str, ...] = ("explanation", "details", "detail")) -> Table:
    """``below``: the columns of prose, on their own lines under each row on a narrow terminal (`SafeTable`)."""
    table = output.SafeTable(title=title, below=below)
    for col in columns:
        table.add_column(col, justify="right" if col.split(" (")[0] in RIGHT or AMOUNT.fullmatch(col) else "left")
    return table


RIGHT = ("paid", "consumed", "today", "baseline", "scenario", "difference", "instances", "amount", "debit",
         "credit")  # amounts, counts
AMOUNT = re.compile(r".+ \([A-Z]{3}\)")  # a header naming its currency ("refund (CNY)") heads amounts; "refund" an id


def listing(name: str, rows: list[dict[str, Any]], title: str, known_at: datetime | None, columns: dict[str, Any],
            as_json: bool, zone: Callable[[dict[str, Any]], str | None] | None = None,
            times: tuple[str, ...] = ()) -> None:
    """A listing: ``{name: rows}`` as JSON, or a table of ``columns`` (header -> field, or a function of the
    row) and how many rows. ``times``: the fields that are times, shown in one zone for the whole table: the
    business time zone of every row's policy (``zone``: a row's) when they share one, else UTC, and the title
    says which (`output.one_zone`)."""
    if as_json:
        print(json.dumps({name: rows}, indent=2))
        return
    shown, note = output.one_zone(zone(r) for r in rows) if zone and rows else (None, "")
    table = new_table(_title(title, known_at, shown) + (f" · {note}" if note else ""), *columns)
    for r in rows:
        cells = (output.when(r[field], shown) if field in times else field(r) if callable(field) else r[field]
                 for field in columns.values())
        table.add_row(*("" if c is None else str(c) for c in cells))
    out.print(table)
    out.print(f"{len(rows)} {name.removesuffix('s')}(s)")


@cli.command("instances")
def instances_cmd(
    account: Account = None,
    product: Annotated[Optional[str], typer.Option("--product", help="only this product, e.g. KEC")] = None,
    known_at: KnownAt = None,
    limit: Limit = None,
    as_json: Json = False,
) -> None:
    """Every instance the ledger knows, by name: account, product, currency, when opened, what released it."""
    k = optional_instant("--known-at", known_at)
    rows = [r.as_json() for r in services.instances(application(), k, account, product, limit)]
    listing("instances", rows, "Instances", k, {
        "instance": "instance", "account": "account", "product": "product", "currency": "currency",
        "opened at": "opened_at", "recorded at": "recorded_at", "released by": "released_by"}, as_json,
        zone=lambda r: output.calendar_tz(product=r["product"]), times=("opened_at", "recorded_at"))


@cli.command("accounts")
def accounts_cmd(
    known_at: KnownAt = None,
    as_json: Json = False,
) -> None:
    """Every account with instances, and how many."""
    k = optional_instant("--known-at", known_at)
    rows = [r.as_json() for r in services.accounts(application(), k)]
    listing("accounts", rows, "Accounts", k, {"account": "account", "instances": "instances"}, as_json)


@cli.command("refunds")
def refunds_cmd(
    open_only: Annotated[bool, typer.Option("--open", help="only those awaiting a decision or payment")] = False,
    account: Account = None,
    known_at: KnownAt = None,
    limit: Limit = None,
    as_json: Json = False,
) -> None:
    """Every refund request, by request time: its policy, mode or reason, amount and state."""
    k = optional_instant("--known-at", known_at)
    rows = [r.as_json() for r in services.refunds(application(), k, open_only, account, limit)]
    listing("refunds", rows, "Open refunds" if open_only else "Refunds", k, {
        "refund": "refund", "instance": "instance", "account": "account", "policy": "policy", "mode": "mode",
        "requested at": "requested_at",
        "amount": lambda r: f"{r['currency']} {r['amount']}", "state": "state", "settled at": "settled_at"}, as_json,
        zone=lambda r: output.calendar_tz(r["policy"]), times=("requested_at", "settled_at"))


@cli.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="the TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="worker processes (more than one needs "
                                                                   "PostgreSQL)")] = 1,
    fd: Annotated[Optional[int], typer.Option("--fd", min=0, hidden=True,
                                              help="serve on this already bound socket (tests)")] = None,
) -> None:
    """Serve the HTTP API (docs/http.md) with uvicorn: OpenAPI at /openapi.json, docs at /docs."""
    settings = State.settings or Settings.resolve()
    if workers > 1 and not settings.url.startswith("postgresql"):
        raise BadInput(None, f"--workers: {workers} workers need PostgreSQL (--db postgresql+psycopg://...); "
                             "an SQLite ledger is served by one")
    where = ["--fd", str(fd)] if fd is not None else ["--host", host, "--port", str(port)]
    argv = [sys.executable, "-m", "adapters.http.serve", "--workers", str(workers), *where]
    os.environ["BILLING_LEDGER_DB"] = settings.url
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # uvicorn takes over this process: its signals, its exit status


_ONLY: dict[str, typer.Typer] = {}


def invoked(args: list[str]) -> typer.Typer:
    """The app to run ``args`` with: when they name a command after the global options (``--db URL``), an app
    holding only that command (and the callback), else the whole app (no command, ``--help``, ``--version``, an
    unknown name: the group's own help, errors and suggestions). typer builds click's parameters from every
    command's signature before parsing (about 20 ms of CPU for the 22 commands); a call needs one command's.
    The same per name (``_ONLY``), so the app a command runs in is one object for the whole process."""
    rest = iter(args)
    for arg in rest:
        if arg == "--db":
            next(rest, None)
        elif not arg.startswith("--db="):
            name = arg
            break
    else:
        return cli
    if name not in _ONLY:
        commands = [c for c in cli.registered_commands if c.name == name]
        groups = [g for g in cli.registered_groups if g.name == name]
        if not commands and not groups:  # an option, a typo: the whole app says what is wrong
            return cli
        only = copy.copy(cli)
        only.registered_commands, only.registered_groups = commands, groups
        _ONLY[name] = only
    return _ONLY[name]


def main() -> None:
    """Exit status: 0 done, 2 bad input, 1 anything else."""
    try:
        for i, arg in enumerate(sys.argv[1:], start=1):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in arg):  # undecodable bytes (surrogateescape)
                raise BadInput(None, f"argument {i}: not valid UTF-8")
        code = invoked(sys.argv[1:])(standalone_mode=False)
    except (BadInput, LedgerError, StoreURLError) as e:
        for message in e.messages() if isinstance(e, BadFeed) else [str(e)]:  # a feed: each bad line on its own
            err.print(message)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - the CLI's last resort: say what failed, status 1
        if hasattr(e, "show") and hasattr(e, "exit_code"):  # click's usage and parameter errors: status 2
            e.show()
            sys.exit(e.exit_code)
        err.print(f"error: {type(e).__name__}: {e}")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
