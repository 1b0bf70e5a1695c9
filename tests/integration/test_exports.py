"""Exports for finance's own tools: CSV and Parquet, for a period, as known at a time."""

import csv
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from tests.integration.conftest import CLI, ROOT

PERIOD = ["--from", "2026-01-01T00:00:00Z", "--to", "2027-01-01T00:00:00Z"]


def test_exports_as_known_before_and_after_a_retraction(cli: CLI, tmp_path: Path):
    cli.ok("record", "--preserve-recorded-at", str(ROOT / "examples" / "audit-story.jsonl"))
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    cli.ok("export", "orders", *PERIOD, "--known-at", "2026-04-10T00:00:00Z", "--out", str(before))
    cli.ok("export", "orders", *PERIOD, "--out", str(after))
    rows_before = list(csv.DictReader(before.open()))
    assert [(r["order"], r["kind"], r["paid"], r["cash"]) for r in rows_before] == [
        ("o-71", "purchase", "960.00", "900.00"), ("o-72", "upgrade", "548.33", "548.33")]
    assert [r["order"] for r in csv.DictReader(after.open())] == ["o-71"]

    refunds = tmp_path / "refunds.parquet"
    cli.ok("export", "refunds", *PERIOD, "--format", "parquet", "--out", str(refunds))
    (row,) = pq.read_table(refunds).to_pylist()
    schema = pq.read_schema(refunds)  # typed by column, even where every value is empty (settled_at here)
    assert (str(schema.field("amount").type), str(schema.field("settled_at").type)) == (
        "decimal128(38, 2)", "timestamp[us, tz=UTC]")
    assert (row["refund"], row["amount"], row["state"], row["mode"]) == ("rf-7", Decimal("773.33"), "accepted",
                                                                         "self_service")

    ledger = tmp_path / "ledger.csv"
    cli.ok("export", "account-ledger", *PERIOD, "--out", str(ledger))
    days = list(csv.DictReader(ledger.open()))
    paid = sum(Decimal(d["paid"]) for d in days)
    consumed = sum(Decimal(d["consumed"]) for d in days)
    refunded = sum(Decimal(d["refunded"]) for d in days)
    # 960 paid (cash + cloud tickets); 773.33 refunded on 25 April; the instance was released: nothing deferred
    assert (paid, refunded, paid - consumed - refunded, days[-1]["closing"]) == (
        Decimal("960.00"), Decimal("773.33"), Decimal("0.00"), "0.00")
    bad = cli.run("export", "invoices", *PERIOD, "--out", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and "WHAT" in bad.stderr
