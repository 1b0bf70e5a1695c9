"""Finance jobs, ledger-wide and partitioned (``--workers``, ``--scheduler``): projecting the read models,
reconciliation, what-if scenarios and exposure, exports, the journal and the trial balance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Optional

import typer

from adapters.cli.app import application, cli, err, out
from adapters.cli.options import (
    Account,
    Force,
    Json,
    KnownAt,
    OutFile,
    PartitionSize,
    Scheduler,
    Until,
    Workers,
    out_file,
    parse_sets,
    period,
    read_text,
    writable,
)
from adapters.cli.render import _title, new_table
from adapters.formats import output, tables
from adapters.formats.errors import BadInput
from adapters.formats.params import day, instant, optional_instant


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

    from adapters.services import jobs

    if not rebuild and (workers, scheduler, size) != (None, None, None):
        raise BadInput(None, "--workers, --scheduler and --partition-size apply to project --rebuild only")
    with running(workers, scheduler, bar=False) as mapped, Progress(console=err, transient=True) as bar:
        task = bar.add_task("projecting", total=None)

        def advance(pos: int, top: int) -> None:
            bar.update(task, completed=pos, total=top)

        p = jobs.project(application(), rebuild=rebuild, batch=batch, progress=advance, size=size, map=mapped)
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
    from adapters.services import jobs

    if out_csv:
        writable("--out", out_csv, force)
    text = read_text("--statement", statement, newline="")
    with running(workers, scheduler) as mapped:
        r = jobs.reconcile(application(), text, size=size, map=mapped)
    rows = r.findings
    if out_csv:
        tables.write_csv(rows, out_csv, list(rows[0]) if rows else ["status"])
    if as_json:
        print(output.json_text(r.as_json()))
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
    from adapters.services import whatif

    if csv_out:
        writable("--csv", csv_out, force)
    overrides = parse_sets(sets)
    modes = mode or []
    if instance is not None:
        if (workers, scheduler, size) != (None, None, None):
            raise BadInput(None, "--workers, --scheduler and --partition-size apply to the ledger-wide what-if only")
        if len(modes) > 1:
            raise BadInput(None, f"--mode: one instance's request has one mode, not {', '.join(modes)}")
        t = instant("at", at)
        added = read_text("--add", add).split("\n") if add else []
        s = whatif.instance_scenario(application(), instance, t, added, drop or [], modes[0] if modes else "auto",
                                     overrides, policy_version)
        if as_json:
            print(output.json_text(s.as_json()))
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
        what_if_exposure(instant("at", at), modes, overrides, policy_version, account, csv_out, every, as_json,
                         workers, scheduler, size)
        return
    if any(m != "auto" for m in modes):
        raise BadInput(None, "--mode: recorded requests are judged again under the mode they were recorded with; "
                             "--mode is for one instance, or with --at for every instance's exposure")
    with running(workers, scheduler) as mapped:
        w = whatif.ledger_scenario(application(), overrides, policy_version, account, size=size, map=mapped)
    if csv_out:
        rows = [r.as_json() for r in w.requests]
        tables.write_csv(rows, csv_out, list(rows[0]) if rows else ["instance"])
    if as_json:
        print(output.json_text(w.as_json()))
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
    for currency, totals in summary.items():
        out.print(f"{currency}: {totals['judged']} request(s) judged, {totals['changed']} changed" +
                  ("" if every else " (listed; --all lists every one)") +
                  f"; baseline {currency} {totals['baseline']}, scenario {currency} {totals['scenario']}, "
                  f"difference {currency} {totals['difference']}")


EXPOSURE_COLUMNS = ["instance", "account", "policy", "product", "currency", "mode", "baseline", "scenario",
                    "difference", "error"]


def what_if_exposure(at: datetime, modes: list[str], overrides: dict[str, str], policy_version: str | None,
                     account: str | None, csv_out: str | None, every: bool, as_json: bool, workers: int | None,
                     scheduler: str | None, size: int | None) -> None:
    """``what-if --at T`` without INSTANCE: every instance's refund exposure at T, today and under the scenario."""
    from adapters.services import whatif

    with running(workers, scheduler) as mapped:
        x = whatif.ledger_exposure(application(), at, modes, overrides, policy_version, account,
                                   every=every or bool(csv_out), size=size, map=mapped)
    if csv_out:
        tables.write_csv([r.as_json() for r in x.instances], csv_out, EXPOSURE_COLUMNS)
    if as_json:
        print(output.json_text(x.as_json()))
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
    end: Until,
    out_path: OutFile,
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet")] = "csv",
    known_at: Annotated[Optional[str], typer.Option("--known-at", help="as the ledger knew it then")] = None,
    force: Force = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    size: PartitionSize = None,
) -> None:
    """Export refunds, orders or the account ledger for a period, as known at --known-at."""
    from adapters.services import jobs

    out_file(out_path, fmt, ("csv", "parquet"), force)
    t1, t2, k = period(start, end, known_at)
    if t1 >= t2:
        raise BadInput(None, f"--from: {start} is not before --to {end}: the period [from, to) would be empty")
    with running(workers, scheduler) as mapped:
        rows = jobs.export(application(), what, t1, t2, k, size=size, map=mapped)
        n = (tables.write_csv if fmt == "csv" else tables.write_parquet)(rows, out_path, tables.COLUMNS[what])
    out.print(f"wrote {n} {what} rows to {out_path}")


@cli.command("journal")
def journal_cmd(
    start: Annotated[str, typer.Option("--from", help="the first day's business time (days start 00:00 UTC)")],
    end: Until,
    out_path: OutFile,
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
    from adapters.services import journal

    out_file(out_path, fmt, journal.JOURNAL_FORMATS, force)
    t1, t2, k = period(start, end, known_at)
    closed = day("closed_through", closed_through) if closed_through is not None else None
    if closed_at is not None and closed is None:
        raise BadInput(None, "--closed-at: only with --closed-through")
    with running(workers, scheduler) as mapped:
        j = journal.journal(application(), t1, t2, k, closed, optional_instant("closed_at", closed_at),
                            size=size, map=mapped)
    n = journal.write_journal(j, out_path, fmt)
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
    from adapters.services import journal

    t, k = instant("at", at), optional_instant("known_at", known_at)
    with running(workers, scheduler) as mapped:
        tb = journal.trial_balance(application(), t, k, size=size, map=mapped)
    if as_json:
        print(output.json_text(tb.as_json()))
        return
    table = new_table(_title(f"Trial balance at {output.when(tb.at, None, exact=True)}", tb.known_at,
                             exact=known_at is not None), "account", "currency", "debit", "credit")
    for r in tb.rows:
        table.add_row(r["account"], r["currency"], r["debit"] if r["debit"] != "0.00" else "",
                      r["credit"] if r["credit"] != "0.00" else "")
    for currency, totals in tb.totals.items():
        table.add_row("total", currency, totals["debit"], totals["credit"])
    out.print(table)
    out.print("balanced" if tb.balanced else "NOT BALANCED")
    if not tb.balanced:
        raise typer.Exit(1)
