"""Tabular outputs: CSV and Parquet writers, and the columns of each export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from adapters.formats import output
from projections import columns, exports, segments


def _cells(row: dict[str, Any]) -> dict[str, str]:
    return {k: output.csv_cell(v.isoformat() if hasattr(v, "isoformat") else "" if v is None else str(v))
            for k, v in row.items()}


def _cell(v: Any) -> str:
    """`_cells`' text of one value: a number's and a day's text are never formula-like (`output.csv_cell` keeps
    them), so they skip its test."""
    kind = type(v)
    if kind is Decimal or kind is int:
        return str(v)
    if kind is date:
        return v.isoformat()
    return output.csv_cell(v.isoformat() if hasattr(v, "isoformat") else "" if v is None else str(v))


def write_csv(rows: Iterable[dict[str, Any]], path: str, columns: list[str]) -> int:
    """Write ``rows`` as they come (formula-like text neutralised, `output.csv_cell`), to a temporary file renamed
    over ``path`` when complete, a thousand rows per write; returns how many. (The bytes of `csv.DictWriter` on
    `_cells`, which `csv_chunks` streams: one list of cells per row.)"""
    n = 0
    with output.replacing(path) as temp, open(temp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        if columns == COLUMNS["account-ledger"] and hasattr(rows, "csv_parts"):
            for part in rows.csv_parts():
                handle.write(part[0])
                n += part[1]
            return n
        if columns == COLUMNS["account-ledger"] and hasattr(rows, "tuples"):
            return _day_lines(rows.tuples(), handle)
        batch: list[list[str]] = []
        for row in rows:
            batch.append([_cell(row[c]) for c in columns])
            if len(batch) >= 1000:
                writer.writerows(batch)
                batch.clear()
            n += 1
        writer.writerows(batch)
    return n


def _cents(c: int) -> str:
    """The text of ``Decimal(c).scaleb(-2)`` (cents as money with two decimals), from the integer."""
    whole, part = divmod(-c if c < 0 else c, 100)
    return f"{'-' if c < 0 else ''}{whole}.{part:02d}"


def _day_lines(days: Iterable[tuple], handle: Any) -> int:
    """The account ledger's CSV lines straight from its day tuples (`projections.segments.DayTuple`): the bytes
    `csv.writer` writes for `_cell` of each dict's values (an account's and a currency's cell made once by
    `csv.writer` itself, quoted as it would be; money and days are digits, never quoted)."""
    quoted: dict[str, str] = {}

    def text(v: str) -> str:
        if v not in quoted:
            buffer = io.StringIO(newline="")
            csv.writer(buffer).writerow([_cell(v)])
            quoted[v] = buffer.getvalue()[:-2]
        return quoted[v]

    n = 0
    lines: list[str] = []
    day_text: dict[int, str] = {}
    for account, currency, d, opening, paid, consumed, refunded, closing in days:
        day = day_text.get(d) or day_text.setdefault(d, date.fromordinal(d).isoformat())
        lines.append(f"{text(account)},{text(currency)},{day},{_cents(opening)},{_cents(paid)},{_cents(consumed)},"
                     f"{_cents(refunded)},{_cents(closing)}\r\n")
        n += 1
        if len(lines) >= 1000:
            handle.write("".join(lines))
            lines.clear()
    handle.write("".join(lines))
    return n


def day_lines(days: list[tuple]) -> str:
    """`_day_lines`' text of ``days`` in bulk, with Arrow's string kernels (no Python step per line): each
    distinct account's and currency's cell and each distinct day's text made once, as `_day_lines` makes them,
    and taken by index; the money columns cast from integer cents to ``decimal128(38, 2)`` text (the digits of
    `_cents`: the cents' integer reinterpreted with two decimals, never a float). Held equal to `_day_lines` by
    `tests/unit/test_day_lines.py`."""
    if not days:
        return ""
    try:
        return _arrow_lines(days)
    except OverflowError:  # a figure past 64-bit cents (sums of amounts near `envelope`'s bound): line by line
        buffer = io.StringIO(newline="")
        _day_lines(days, buffer)
        return buffer.getvalue()


def _arrow_lines(days: list[tuple]) -> str:
    import pyarrow as pa

    accounts, currencies, ordinals, *money = zip(*days, strict=True)
    cells = [_by_value(accounts, _quoted), _by_value(currencies, _quoted),
             _by_value(ordinals, lambda d: date.fromordinal(d).isoformat())]
    for column in money:
        whole = pa.array(column, pa.int64()).cast(pa.decimal128(38, 0))
        cells.append(pa.Array.from_buffers(pa.decimal128(38, 2), len(whole), whole.buffers()).cast(pa.string()))
    return _joined(cells)


def _joined(cells: list[Any]) -> str:
    """The CSV lines of Arrow string columns (one cell each), ``\\r\\n`` after each line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, ","), "", "\r\n")
    _, offsets, data = lines.buffers()
    end = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offsets])[-1].as_py()
    return data[:end].to_pybytes().decode()


def _by_value(values: tuple, text: Any) -> Any:
    """An Arrow string column of ``text(v)`` for each of ``values``, ``text`` called once per distinct value."""
    import pyarrow as pa

    distinct = sorted(set(values))
    index = {v: i for i, v in enumerate(distinct)}
    return pa.array([text(v) for v in distinct], pa.string()).take(pa.array([index[v] for v in values], pa.int32()))


def _quoted(v: str) -> str:
    """`csv.writer`'s cell of one value (as `_day_lines` makes it)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow([_cell(v)])
    return buffer.getvalue()[:-2]


def dense_lines(dense: columns.DenseColumns) -> tuple[str, int]:
    """`day_lines` of the days `columns.dense_columns` gives, and how many, computed in columns: each day's
    movement and the running balance (`cumulative_sum_checked` per group from its opening), the days without a
    movement dropped; no Python step per day. Past 62-bit cents: `day_lines` of the reference tuples."""
    if not dense.names:
        return "", 0
    import pyarrow as pa
    import pyarrow.compute as pc

    s = dense.consumed
    try:
        ends = pa.array([*s.offset[1:], s.size], pa.int64())
        at = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), s.size)), 1)  # 0 .. size - 1

        def each(values: list[int]) -> pa.Array:  # one value per group -> one per day
            return pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(ends, pa.array(values, pa.int64())))

        gid = each(list(range(len(s.lo))))
        ordinals = pc.add_checked(each([lo - off for lo, off in zip(s.lo, s.offset, strict=True)]), at)
        cols = [pa.array(dense.paid, pa.int64()), s.column(), pa.array(dense.refunded, pa.int64())]
        moves = pc.subtract_checked(pc.subtract_checked(cols[0], cols[1]), cols[2])
        running = pc.cumulative_sum_checked(moves)
        before = running.take(pa.array([max(i - 1, 0) for i in s.offset], pa.int64())).to_pylist()
        base = pa.array([o - (b if i else 0) for o, i, b in zip(dense.openings, s.offset, before, strict=True)],
                        pa.int64())
        closing = pc.add_checked(running, base.take(gid))
        opening = pc.subtract_checked(closing, moves)
        keep = pc.or_(pc.or_(pc.not_equal(cols[0], 0), pc.not_equal(cols[1], 0)), pc.not_equal(cols[2], 0))
        kept = [pc.filter(a, keep) for a in (gid, ordinals, opening, *cols, closing)]
    except (OverflowError, pa.ArrowInvalid):
        days = [t for a, cur, lo, b, p, c, r in dense.groups() for t in segments.closed_days(a, cur, lo, b, p, c, r)]
        return day_lines(days), len(days)
    g_kept, day_kept, *money = kept
    if not len(g_kept):
        return "", 0
    cells = [pa.array([_quoted(a) for a, _ in dense.names], pa.string()).take(g_kept),
             pa.array([_quoted(c) for _, c in dense.names], pa.string()).take(g_kept)]
    distinct = pc.unique(day_kept)
    texts = pa.array([date.fromordinal(d).isoformat() for d in distinct.to_pylist()], pa.string())
    cells.append(texts.take(pc.index_in(day_kept, value_set=distinct)))
    for column in money:
        whole = column.cast(pa.decimal128(38, 0))
        cells.append(pa.Array.from_buffers(pa.decimal128(38, 2), len(whole), whole.buffers()).cast(pa.string()))
    return _joined(cells), len(g_kept)


def account_ledger_lines(instances: Iterable[tuple[str, list[Any]]], known_at: datetime, start: datetime,
                         end: datetime, tz: str | None = None) -> tuple[str, int]:
    """A partition's account-ledger CSV lines (no header) and how many: `projections.exports`'
    `account_ledger_days` formatted by `day_lines`, on the worker that computes them (a `Task`'s job), so only
    text travels back."""
    return dense_lines(exports.account_ledger_dense(instances, known_at, start, end, tz))


def csv_chunks(rows: Iterable[dict[str, Any]], columns: list[str], batch: int = 1000) -> Iterator[bytes]:
    """The CSV `write_csv` writes, as UTF-8 chunks of ``batch`` rows (a streamed answer)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        writer.writerow(_cells(row))
        if n % batch == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


PARQUET_BATCH = 10_000


def write_parquet(rows: Iterable[dict[str, Any]], path: str, columns: list[str]) -> int:
    """Money as decimal128(38, 2), times as timestamps with their UTC instant, days as dates (`TYPES`);
    written ``PARQUET_BATCH`` rows at a time, to a temporary file renamed over ``path`` when complete. Values are
    raw (Parquet cells are typed, never executed). Returns how many rows. (38 digits: an account's running
    balance is a sum of many amounts, each up to 10^12; 18 digits would overflow after 5,000 of them, see
    `adapters.formats.envelope`.)"""
    with output.replacing(path) as temp:
        return sum(_parquet(rows, columns, temp))


def _schema(columns: list[str]) -> Any:
    import pyarrow as pa

    kinds = {"money": pa.decimal128(38, 2), "time": pa.timestamp("us", tz="UTC"), "day": pa.date32(),
             "text": pa.string()}
    return pa.schema([(c, kinds[TYPES.get(c, "text")]) for c in columns])


def _parquet(rows: Iterable[dict[str, Any]], columns: list[str], sink: Any) -> Iterator[int]:
    """Write ``rows`` to ``sink`` (a path or a binary file), ``PARQUET_BATCH`` at a time; yields each batch's
    size once it is written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(columns)
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(sink, schema) as writer:
        for row in rows:
            batch.append(row)
            if len(batch) >= PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                yield len(batch)
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    yield len(batch)


class _Drain(io.RawIOBase):
    """A write-only binary file whose bytes are taken away as they come (a streamed answer's sink)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def parquet_chunks(rows: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[bytes]:
    """The Parquet file `write_parquet` writes, as chunks: one per batch of ``PARQUET_BATCH`` rows, then the
    footer."""
    sink = _Drain()
    for _ in _parquet(rows, columns, sink):
        if chunk := sink.take():
            yield chunk
    if chunk := sink.take():
        yield chunk


def primed(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``rows`` with the first one already read: a job that fails before its first row fails now, before a
    streamed answer has begun."""
    it = iter(rows)
    first = next(it, None)

    def chained() -> Iterator[dict[str, Any]]:
        if first is not None:
            yield first
            yield from it

    return chained()


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
