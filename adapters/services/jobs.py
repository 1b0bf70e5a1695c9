"""Finance use cases over the whole ledger: project the SQL read models, reconcile a payment statement,
export rows. Each takes the App and plain values and returns plain data; none prints."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.bootstrap import App
from adapters.formats.feed import BadInput
from adapters.formats.statement import read_statement
from adapters.services import finance
from adapters.store import readmodels
from projections.reconcile import Scope, expected_items
from projections.reconcile import reconcile as compare

EXPORTS = finance.EXPORTS


@dataclass(frozen=True)
class Projected:
    start: int  # the tracked position before
    reached: int  # the position after

    @property
    def advanced(self) -> bool:
        return self.reached > self.start


def project(app: App, *, rebuild: bool = False, batch: int = 200,
            progress: Callable[[int, int], None] | None = None) -> Projected:
    """Catch the read models up with the event log (``rebuild``: drop them and replay from event zero);
    ``progress(position, top)`` after each committed batch."""
    ledger = app.ledger
    engine = app.readmodels
    if rebuild:
        readmodels.rebuild(engine)
    start = readmodels.position(engine)
    return Projected(start, readmodels.catch_up(ledger, engine, batch=batch, progress=progress))


@dataclass(frozen=True)
class Reconciliation:
    findings: list[dict[str, Any]]  # one row per finding (`projections.reconcile.Finding.as_json`)
    counts: dict[str, int]  # findings per status, in order of first appearance

    @property
    def ok(self) -> bool:
        return all(f["status"] == "matched" for f in self.findings)


def reconcile(app: App, statement: str | Iterable[str]) -> Reconciliation:
    """Compare the ledger with a payment statement (CSV text, or its lines). A malformed row raises
    `BadInput` naming its row and column before the ledger is read; the ledger is read one instance at a
    time, keeping only what the statement can be compared with."""
    lines = read_statement(io.StringIO(statement, newline="") if isinstance(statement, str) else statement)
    expected, scope = {}, Scope.of(lines)
    for orders, refunds in finance.iter_rows(app.ledger):
        expected.update(expected_items(orders, refunds, scope))
    findings = [f.as_json() for f in compare(lines, expected)]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["status"]] = counts.get(f["status"], 0) + 1
    return Reconciliation(findings, counts)


def export(app: App, what: str, start: datetime, end: datetime,
           known_at: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The rows of one export (``refunds``, ``orders`` or ``account-ledger``), business time in
    ``[start, end)``, as known at ``known_at``; streamed (the account ledger reads every row first)."""
    if what not in EXPORTS:
        raise BadInput(None, f"WHAT: {what!r} is not one of {', '.join(EXPORTS)}")
    return finance.export_rows(app.ledger, what, start, end, known_at or app.now())
