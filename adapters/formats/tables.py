"""Tabular outputs: CSV and Parquet writers, and the columns of each export."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from adapters.formats import output


def write_csv(rows: Iterable[dict[str, Any]], path: str, columns: list[str]) -> int:
    """Write ``rows`` as they come (formula-like text neutralised, `output.csv_cell`), to a temporary file renamed
    over ``path`` when complete; returns how many."""
    n = 0
    with output.replacing(path) as temp, open(temp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: output.csv_cell(v.isoformat() if hasattr(v, "isoformat") else "" if v is None
                                                else str(v)) for k, v in row.items()})
            n += 1
    return n


PARQUET_BATCH = 10_000


def write_parquet(rows: Iterable[dict[str, Any]], path: str, columns: list[str]) -> int:
    """Money as decimal128(38, 2), times as timestamps with their UTC instant, days as dates (`TYPES`);
    written ``PARQUET_BATCH`` rows at a time, to a temporary file renamed over ``path`` when complete. Values are
    raw (Parquet cells are typed, never executed). Returns how many rows. (38 digits: an account's running
    balance is a sum of many amounts, each up to 10^12; 18 digits would overflow after 5,000 of them, see
    `adapters.formats.envelope`.)"""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {"money": pa.decimal128(38, 2), "time": pa.timestamp("us", tz="UTC"), "day": pa.date32(),
             "text": pa.string()}
    schema = pa.schema([(c, kinds[TYPES.get(c, "text")]) for c in columns])
    n, batch = 0, []
    with output.replacing(path) as temp, pq.ParquetWriter(temp, schema) as writer:
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
