"""Read models in SQL (SQLAlchemy 2 Core), materialised from the event log with exactly-once tracking.

Tables: ``rm_orders``, ``rm_refund_applications``, ``rm_account_months`` and ``rm_tracking``. Money is
integer cents (exact on SQLite too), with CHECK constraints: no negative payment or refund, and every month's
closing balance = opening + paid - consumed - refunded.

The account ledger is stored per account, currency and month (`rm_account_months`), not per day: a day of an
account is made when it is asked for (`projections.segments.account_days`, from the account's rows in
``rm_orders`` and ``rm_refund_applications``; ``export account-ledger``), see docs/performance.md.

`catch_up` reads notifications after the tracked position, recomputes the rows of every instance (and
account) they touch from that instance's events up to the version seen, and writes the rows and the new
position in one transaction: a crash at any moment leaves either the old rows and position or the new
ones, so a restart continues exactly where the last commit ended. `replace_all` (``project --rebuild``)
writes every partition's rows (``projections.partitions.finance_rows``, computed as of one pinned log
position) and that position in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    inspect,
    select,
    update,
)

from adapters.store.ledger import Ledger
from domain.instance import Instance
from projections.finance import OrderRow, RefundRow, instance_rows, lines_json
from projections.segments import MonthTuple, month_tuples

metadata = MetaData()
TIME = String(40)  # ISO 8601 with offset: exact and comparable as text in UTC-normalised form

orders = Table(
    "rm_orders", metadata,
    Column("instance", String(200), primary_key=True), Column("order_id", String(200), primary_key=True),
    Column("account", String(200), nullable=False, index=True), Column("product", String(100), nullable=False),
    Column("kind", String(20), nullable=False), Column("placed_at", TIME, nullable=False),
    Column("valid_from", TIME, nullable=False), Column("valid_until", TIME, nullable=False),
    Column("currency", String(3), nullable=False), Column("paid_cents", BigInteger, nullable=False),
    Column("credit_cents", BigInteger, nullable=False), Column("status", String(20), nullable=False),
    Column("cash_cents", BigInteger, nullable=False),
    CheckConstraint("paid_cents >= 0 AND credit_cents >= 0 AND cash_cents >= 0", name="ck_orders_amounts"),
)
refund_applications = Table(
    "rm_refund_applications", metadata,
    Column("refund", String(200), primary_key=True), Column("instance", String(200), nullable=False, index=True),
    Column("account", String(200), nullable=False, index=True), Column("policy", String(100), nullable=False),
    Column("mode", String(40), nullable=False), Column("requested_at", TIME, nullable=False),
    Column("recorded_at", TIME, nullable=False), Column("currency", String(3), nullable=False),
    Column("amount_cents", BigInteger, nullable=False), Column("state", String(20), nullable=False),
    Column("settled_at", TIME), Column("lines", Text, nullable=False), Column("releases", Boolean, nullable=False),
    CheckConstraint("amount_cents >= 0", name="ck_refunds_amount"),
)
account_months = Table(
    "rm_account_months", metadata,
    Column("account", String(200), primary_key=True), Column("currency", String(3), primary_key=True),
    Column("month", Date, primary_key=True), Column("opening_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False), Column("consumed_cents", BigInteger, nullable=False),
    Column("refunded_cents", BigInteger, nullable=False), Column("closing_cents", BigInteger, nullable=False),
    CheckConstraint("paid_cents >= 0 AND refunded_cents >= 0", name="ck_months_flows"),
    CheckConstraint("closing_cents = opening_cents + paid_cents - consumed_cents - refunded_cents",
                    name="ck_months_balances"),
)
RETIRED = ("rm_account_ledger",)  # one row per account and day, until 2026-12: replaced by rm_account_months
tracking = Table(
    "rm_tracking", metadata,
    Column("name", String(100), primary_key=True), Column("position", Integer, nullable=False),
)
TRACKER = "finance"
TABLES = (orders, refund_applications, account_months)


def engine_for(url: str, pool_size: int | None = None, **options: Any) -> Engine:
    """The read models' engine; ``pool_size`` (the composition root's setting) when given."""
    return create_engine(url, **options) if pool_size is None else create_engine(url, pool_size=pool_size, **options)


def iso(t: Any) -> str | None:
    return t.isoformat() if t is not None else None


def order_values(r: OrderRow) -> dict[str, Any]:
    return {"instance": r.instance, "order_id": r.order, "account": r.account, "product": r.product,
            "kind": r.kind, "placed_at": iso(r.placed_at), "valid_from": iso(r.start), "valid_until": iso(r.end),
            "currency": r.currency, "paid_cents": r.paid_cents, "credit_cents": r.credit_cents, "status": r.status,
            "cash_cents": r.cash_cents}


def refund_values(r: RefundRow) -> dict[str, Any]:
    return {"refund": r.refund, "instance": r.instance, "account": r.account, "policy": r.policy, "mode": r.mode,
            "requested_at": iso(r.requested_at), "recorded_at": iso(r.recorded_at), "currency": r.currency,
            "amount_cents": r.amount_cents, "state": r.state, "settled_at": iso(r.settled_at),
            "lines": lines_json(r.lines), "releases": r.releases}


def position(engine: Engine) -> int:
    _retire(engine)
    metadata.create_all(engine)
    with engine.connect() as conn:
        found = conn.execute(select(tracking.c.position).where(tracking.c.name == TRACKER)).scalar()
    return int(found or 0)


def rebuild(engine: Engine) -> None:
    """Drop the read models and start again from event zero."""
    metadata.drop_all(engine)
    metadata.create_all(engine)


def _t(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _at(v: str) -> datetime:
    return datetime.fromisoformat(v)


def _order_row(r: Any) -> OrderRow:
    return OrderRow(r.instance, r.order_id, r.account, r.product, r.kind, _at(r.placed_at), _at(r.valid_from),
                    _at(r.valid_until), r.currency, r.paid_cents, r.credit_cents, r.status, r.cash_cents)


def _refund_row(r: Any) -> RefundRow:
    return RefundRow(r.refund, r.instance, r.account, r.policy, r.mode, _at(r.requested_at), _at(r.recorded_at),
                     r.currency, r.amount_cents, r.state, _t(r.settled_at),
                     tuple((ln["instance"], ln["order"], ln["refund_cents"]) for ln in json.loads(r.lines)),
                     r.releases)


def _rows_of_account(conn: Any, account: str) -> tuple[list[OrderRow], list[RefundRow]]:
    order_rows = [_order_row(r) for r in conn.execute(select(orders).where(orders.c.account == account))]
    refund_rows = [_refund_row(r) for r in conn.execute(
        select(refund_applications).where(refund_applications.c.account == account))]
    return order_rows, refund_rows


def _write_account(conn: Any, account: str, tz: str | None = None) -> None:
    """Recompute one account's months (of the reporting calendar ``tz``, `projections.finance.reporting_zone`)
    from its order and refund rows as they stand in this transaction."""
    conn.execute(delete(account_months).where(account_months.c.account == account))
    _insert_months(conn, month_tuples(*_rows_of_account(conn, account), tz))


def _insert_months(conn: Any, months: list[Any]) -> None:
    """Insert month rows (`projections.segments.month_tuples`: the month's first day as its ordinal). The values
    are exactly what the ``Date`` and ``BigInteger`` columns store: on SQLite the day as ``YYYY-MM-DD`` text
    (SQLAlchemy's own storage format for ``Date``), elsewhere the date."""
    text_days = conn.dialect.name == "sqlite"
    fromordinal = date.fromordinal
    _executemany(conn, account_months, [
        (a, c, fromordinal(m).isoformat() if text_days else fromordinal(m), *figures) for a, c, m, *figures in months])


def _executemany(conn: Any, table: Table, rows: list[tuple]) -> None:
    """Insert ``rows`` (values in the table's column order, as the driver takes them) through the driver's own
    ``executemany``: a rebuild writes hundreds of thousands of rows, where SQLAlchemy's per-row parameter
    processing cost more than the insert."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = [c.name for c in table.columns]
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})",
                         rows)


def _retire(engine: Engine) -> None:
    """A read model written before `rm_account_months` (its days in ``rm_account_ledger``) is dropped whole,
    tracking included, so the next `catch_up` replays the log from the start: every account gets its months,
    and no stale day row stays behind for a query to find."""
    names = set(inspect(engine).get_table_names())
    if names.isdisjoint(RETIRED):
        return
    with engine.begin() as conn:
        for name in RETIRED:
            if name in names:
                conn.exec_driver_sql(f"DROP TABLE {name}")
        metadata.drop_all(conn)
        metadata.create_all(conn)


def _track(conn: Any, pos: int) -> None:
    changed = conn.execute(update(tracking).where(tracking.c.name == TRACKER).values(position=pos)).rowcount
    if not changed:
        conn.execute(insert(tracking).values(name=TRACKER, position=pos))


def replace_all(engine: Engine, position: int,
                parts: Iterable[tuple[list[OrderRow], list[RefundRow], list[MonthTuple]]], *,
                recreate: bool = False) -> int:
    """Replace every read-model row by ``parts`` (each partition's order rows, refund rows and its accounts'
    months, `projections.partitions.finance_months`: a partition holds whole accounts, so its months are
    complete), as of log ``position``, and track ``position``: all in one transaction, so a crash (or a failed
    partition) leaves the old rows and position or the new ones (exactly once). Rows are written as each
    partition's arrive, so memory holds one partition's rows. ``recreate`` (``project --rebuild``): drop and
    create the tables first, in the same transaction (after a first statement, so SQLite's driver has begun
    it). Returns ``position``.

    On SQLite the transaction holds the file's write lock from its first insert to its commit: feeds recorded
    meanwhile wait for it (and retry)."""
    _retire(engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(delete(table))
        if recreate:
            metadata.drop_all(conn)
            metadata.create_all(conn)
        for order_rows, refund_rows, months in parts:
            _insert(conn, order_rows, refund_rows)
            _insert_months(conn, months)
        if position:
            _track(conn, position)
        else:
            conn.execute(delete(tracking).where(tracking.c.name == TRACKER))
    return position


def _insert(conn: Any, order_rows: list[OrderRow], refund_rows: list[RefundRow]) -> set[str]:
    """Insert rows; returns the accounts whose per-day ledger they touch."""
    if order_rows:
        conn.execute(insert(orders), [order_values(r) for r in order_rows])
    if refund_rows:
        conn.execute(insert(refund_applications), [refund_values(r) for r in refund_rows])
    return {r.account for r in order_rows}


def catch_up(ledger: Ledger, engine: Engine, *, batch: int = 200,
             progress: Callable[[int, int], None] | None = None, tz: str | None = None) -> int:
    """Bring the read models up to the end of the log (months of the reporting calendar ``tz``); returns the
    position reached."""
    pos = position(engine)
    top = ledger.recorder.max_notification_id() or 0
    while pos < top:
        notes = ledger.recorder.select_notifications(start=pos + 1, limit=batch)
        if not notes:
            break
        versions: dict[Any, int] = {}
        for n in notes:
            versions[n.originator_id] = max(versions.get(n.originator_id, 0), n.originator_version)
        with engine.begin() as conn:  # rows and position: one transaction (exactly once)
            accounts: set[str] = set()
            for aggregate_id, version in versions.items():
                events = list(ledger.events.get(aggregate_id, lte=version))
                if not events or not isinstance(events[0], Instance.Opened):
                    continue  # keys, accounts, the chain, the policy book: no finance rows of their own
                name = events[0].name
                accounts.update(r.account for r in conn.execute(select(orders.c.account).where(
                    orders.c.instance == name)))
                order_rows, refund_rows = instance_rows(name, events)
                conn.execute(delete(orders).where(orders.c.instance == name))
                conn.execute(delete(refund_applications).where(refund_applications.c.instance == name))
                accounts.update(_insert(conn, order_rows, refund_rows))
            for account in sorted(accounts):
                _write_account(conn, account, tz)
            pos = notes[-1].id
            _track(conn, pos)
        if progress:
            progress(pos, top)
    return pos


def dump(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every read model, sorted (to compare two runs)."""
    with engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in TABLES}


def refund_counts(engine: Engine) -> list[tuple[str, str, int]]:
    """How many refund requests the read models hold, by policy and state (``/metrics``)."""
    from sqlalchemy import func

    position(engine)  # the tables exist
    with engine.connect() as conn:
        rows = conn.execute(select(refund_applications.c.policy, refund_applications.c.state, func.count())
                            .group_by(refund_applications.c.policy, refund_applications.c.state))
        return sorted((str(p), str(s), int(n)) for p, s, n in rows)
