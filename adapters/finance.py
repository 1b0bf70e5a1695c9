"""Finance jobs over the whole ledger: reading every instance's rows (streamed), reading a payment
provider's statement (CSV, strictly: every malformed row is an error naming its row and column)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, TextIO

from eventsourcing.utils import get_topic

from adapters.feed import BadInput
from adapters.prefetch import select_many
from adapters.store import Ledger
from domain.instance import Instance
from domain.korpro import Subscription
from projections.finance import FAR, OrderRow, RefundRow, account_days, instance_rows
from projections.reconcile import StatementLine

STATEMENT_COLUMNS = ("kind", "reference", "account", "amount", "currency", "booked_at")
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")


def instance_names(ledger: Ledger, page: int = 1000) -> Iterator[tuple[Any, str]]:
    """Every instance (id, name), in the order they were opened, read page by page (flat memory)."""
    topics = [get_topic(Instance.Opened), get_topic(Subscription.Opened)]
    start = 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=page, topics=topics)
        for note in batch:
            yield note.originator_id, ledger.mapper.to_domain_event(note).name
        if len(batch) < page:
            return
        start = batch[-1].id + 1


def stream_instances(ledger: Ledger, batch: int = 500) -> Iterator[tuple[str, list[Any]]]:
    """Every instance with its events, reading ``batch`` instances per query (memory stays flat)."""
    pending: list[tuple[Any, str]] = []

    def flush() -> Iterator[tuple[str, list[Any]]]:
        stored = select_many(ledger.recorder, [i for i, _ in pending])
        for aggregate_id, name in pending:
            rows = stored[aggregate_id] if stored is not None else ledger.recorder.select_events(aggregate_id)
            yield name, [ledger.mapper.to_domain_event(s) for s in rows]
        pending.clear()

    for pair in instance_names(ledger):
        pending.append(pair)
        if len(pending) >= batch:
            yield from flush()
    yield from flush()


def iter_rows(ledger: Ledger, known_at: datetime = FAR) -> Iterator[tuple[list[OrderRow], list[RefundRow]]]:
    """Each instance's order and refund rows, one instance at a time (flat memory)."""
    for name, events in stream_instances(ledger):
        yield instance_rows(name, events, known_at)


def ledger_rows(ledger: Ledger, known_at: datetime = FAR) -> tuple[list[OrderRow], list[RefundRow]]:
    """Every row of the ledger, in memory (the account ledger needs an account's rows together)."""
    orders, refunds = [], []
    for o, r in iter_rows(ledger, known_at):
        orders += o
        refunds += r
    return orders, refunds


def read_statement(handle: TextIO) -> list[StatementLine]:
    """A payment statement (CSV with a header row). Bad input names the row (header = row 1) and column."""
    reader = csv.DictReader(handle)
    missing = [c for c in STATEMENT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BadInput(None, f"row 1 (header): missing column(s) {', '.join(missing)}")
    unknown = [c for c in reader.fieldnames or [] if c not in STATEMENT_COLUMNS]
    if unknown:
        raise BadInput(None, f"row 1 (header): unknown column(s) {', '.join(unknown)}")
    lines = []
    for n, raw in enumerate(reader, start=2):
        if None in raw or any(raw[c] is None for c in STATEMENT_COLUMNS):
            raise BadInput(None, f"row {n}: expected {len(STATEMENT_COLUMNS)} columns")

        def bad(column: str, what: str, n: int = n) -> BadInput:
            return BadInput(None, f"row {n}, column {column}: {what}")

        kind = raw["kind"].strip()
        if kind not in ("charge", "refund"):
            raise bad("kind", f"{kind!r} is neither charge nor refund")
        for column in ("reference", "account"):
            if not raw[column].strip():
                raise bad(column, "empty")
        amount = raw["amount"].strip()
        if not _AMOUNT.match(amount):
            raise bad("amount", f"{amount!r} is not a non-negative amount with at most 2 decimals")
        currency = raw["currency"].strip()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise bad("currency", f"{currency!r} is not a 3-letter currency code")
        try:
            booked = datetime.fromisoformat(raw["booked_at"].strip())
        except ValueError:
            raise bad("booked_at", f"{raw['booked_at']!r} is not an ISO 8601 time") from None
        if booked.tzinfo is None:
            raise bad("booked_at", f"{raw['booked_at']!r} has no offset")
        lines.append(StatementLine(n, kind, raw["reference"].strip(), raw["account"].strip(),
                                   int(Decimal(amount) * 100), currency, booked))
    return lines


# ----- exports -----

EXPORTS = ("refunds", "orders", "account-ledger")


def _money(c: int) -> Decimal:
    return (Decimal(c) / 100).quantize(Decimal("0.01"))


def export_rows(ledger: Ledger, what: str, start: datetime, end: datetime,
                known_at: datetime) -> Iterator[dict[str, Any]]:
    """The rows of one export, business time in ``[start, end)``, as the ledger knew it at ``known_at``.
    Orders and refunds are streamed instance by instance; the account ledger reads every row first."""
    if what == "orders":
        for orders, _ in iter_rows(ledger, known_at):
            yield from ({"instance": o.instance, "order": o.order, "account": o.account, "product": o.product,
                         "kind": o.kind, "placed_at": o.placed_at, "valid_from": o.start, "valid_until": o.end,
                         "currency": o.currency, "paid": _money(o.paid_cents), "cash": _money(o.cash_cents),
                         "credit": _money(o.credit_cents), "status": o.status}
                        for o in orders if start <= o.placed_at < end)
        return
    if what == "refunds":
        for _, refunds in iter_rows(ledger, known_at):
            yield from ({"refund": r.refund, "instance": r.instance, "account": r.account, "policy": r.policy,
                         "mode": r.mode, "requested_at": r.requested_at, "recorded_at": r.recorded_at,
                         "currency": r.currency, "amount": _money(r.amount_cents), "state": r.state,
                         "settled_at": r.settled_at}
                        for r in refunds if start <= r.requested_at < end)
        return
    orders, refunds = ledger_rows(ledger, known_at)
    by_account: dict[str, tuple[list[OrderRow], list[RefundRow]]] = {}
    for o in orders:
        by_account.setdefault(o.account, ([], []))[0].append(o)
    for r in refunds:
        by_account.setdefault(r.account, ([], []))[1].append(r)
    for account in sorted(by_account):
        for d in account_days(*by_account[account]):
            if start.date() <= d.day < end.date():
                yield {"account": d.account, "currency": d.currency, "day": d.day,
                       "opening": _money(d.opening_cents), "paid": _money(d.paid_cents),
                       "consumed": _money(d.consumed_cents), "refunded": _money(d.refunded_cents),
                       "closing": _money(d.closing_cents)}


def write_csv(rows: Iterable[dict[str, Any]], path: str, columns: list[str]) -> int:
    """Write ``rows`` as they come; returns how many."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (v.isoformat() if hasattr(v, "isoformat") else "" if v is None else str(v))
                             for k, v in row.items()})
            n += 1
    return n


PARQUET_BATCH = 10_000


def write_parquet(rows: Iterable[dict[str, Any]], path: str, columns: list[str]) -> int:
    """Money as decimal128(18, 2), times as timestamps with their UTC instant, days as dates (`TYPES`);
    written ``PARQUET_BATCH`` rows at a time. Returns how many rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {"money": pa.decimal128(18, 2), "time": pa.timestamp("us", tz="UTC"), "day": pa.date32(),
             "text": pa.string()}
    schema = pa.schema([(c, kinds[TYPES.get(c, "text")]) for c in columns])
    n, batch = 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            batch.append(row)
            if len(batch) >= PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n, batch = n + len(batch), []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return n + len(batch)


TYPES = {**dict.fromkeys(("paid", "cash", "credit", "amount", "opening", "consumed", "refunded", "closing"), "money"),
         **dict.fromkeys(("placed_at", "valid_from", "valid_until", "requested_at", "recorded_at", "settled_at"),
                         "time"),
         "day": "day"}


COLUMNS = {
    "orders": ["instance", "order", "account", "product", "kind", "placed_at", "valid_from", "valid_until",
               "currency", "paid", "cash", "credit", "status"],
    "refunds": ["refund", "instance", "account", "policy", "mode", "requested_at", "recorded_at", "currency",
                "amount", "state", "settled_at"],
    "account-ledger": ["account", "currency", "day", "opening", "paid", "consumed", "refunded", "closing"],
}
