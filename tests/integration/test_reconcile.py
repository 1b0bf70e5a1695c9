"""Reconciliation against a payment statement: one of each discrepancy kind, and malformed rows."""

import json
from pathlib import Path

import pytest

from tests.integration.conftest import CLI


def buy(instance, order, price, day, currency="CNY"):
    return {"type": "purchase", "at": f"2026-03-{day:02d}T10:00:00+00:00", "instance": instance, "account": "acme",
            "product": "KEC", "order": order, "months": 1, "monthly_price": price, "payment": {"cash": price},
            "currency": currency}


FEED = [
    buy("kec-a", "o-a", "120.00", 1), buy("kec-b", "o-b", "30.00", 2), buy("kec-c", "o-c", "50.00", 3),
    buy("kec-d", "o-d", "20.00", 4, "USD"), buy("kec-e", "o-e", "40.00", 5),
    {"type": "request_refund", "at": "2026-03-20T10:00:00+00:00", "instance": "kec-b", "refund": "rf-b"},
    {"type": "complete_refund", "at": "2026-03-22T10:00:00+00:00", "refund": "rf-b"},
    {"type": "request_refund", "at": "2026-03-25T10:00:00+00:00", "instance": "kec-a", "refund": "rf-a"},
    {"type": "complete_refund", "at": "2026-03-27T10:00:00+00:00", "refund": "rf-a"},
]
STATEMENT = """kind,reference,account,amount,currency,booked_at
charge,o-a,acme,120.00,CNY,2026-03-01T10:05:00+00:00
charge,o-b,acme,31.00,CNY,2026-03-02T10:05:00+00:00
charge,o-d,acme,20.00,CNY,2026-03-04T10:05:00+00:00
charge,o-e,other,40.00,CNY,2026-03-05T10:05:00+00:00
charge,o-zzz,acme,5.00,CNY,2026-03-06T10:05:00+00:00
refund,rf-b,acme,12.00,CNY,2026-03-22T11:00:00+00:00
refund,rf-b,acme,12.00,CNY,2026-03-22T11:00:00+00:00
refund,rf-a,acme,120.00,CNY,2026-03-27T11:00:00+00:00
"""


@pytest.fixture
def books(cli: CLI) -> CLI:
    cli.ok("record", "-", input="\n".join(json.dumps(x) for x in FEED) + "\n")
    return cli


def test_one_of_each_discrepancy_kind(books: CLI, tmp_path: Path):
    statement = tmp_path / "statement.csv"
    statement.write_text(STATEMENT)
    report = tmp_path / "report.csv"
    done = books.run("reconcile", "--statement", str(statement), "--json", "--out", str(report))
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    by = {(f["status"], f["reference"]) for f in result["findings"]}
    # rf-b: 30 - 18 days x 1.00 = 12.00 (K-A1); rf-a: 120 - 24 days x 4.00 = 24.00, paid 120.00 above the quote
    assert by == {("matched", "o-a"), ("amount_mismatch", "o-b"), ("currency_mismatch", "o-d"),
                  ("account_mismatch", "o-e"), ("missing_in_ledger", "o-zzz"), ("matched", "rf-b"),
                  ("duplicate", "rf-b"), ("refund_above_quote", "rf-a"), ("missing_in_statement", "o-c")}
    assert result["counts"] == {"matched": 2, "amount_mismatch": 1, "currency_mismatch": 1, "account_mismatch": 1,
                                "missing_in_ledger": 1, "duplicate": 1, "refund_above_quote": 1,
                                "missing_in_statement": 1}
    above = next(f for f in result["findings"] if f["status"] == "refund_above_quote")
    assert (above["statement_amount"], above["ledger_amount"], above["row"]) == ("120.00", "24.00", 9)
    assert len(report.read_text().splitlines()) == 1 + 9
    (mismatch,) = [f for f in result["findings"] if f["status"] == "amount_mismatch"]  # o-b: ledger 30.00
    assert mismatch["detail"] == "the statement is larger by 1.00 (statement 31.00, ledger 30.00)"  # issue 25


def test_a_clean_statement_reconciles(books: CLI, tmp_path: Path):
    statement = tmp_path / "clean.csv"
    statement.write_text("kind,reference,account,amount,currency,booked_at\n"
                         "charge,o-b,acme,30.00,CNY,2026-03-02T10:05:00+00:00\n"
                         "refund,rf-b,acme,12.00,CNY,2026-03-02T11:00:00+00:00\n")
    done = books.run("reconcile", "--statement", str(statement))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matched 2" in done.stdout


@pytest.mark.parametrize("text, message", [
    ("kind,reference,account,amount,currency,booked_at\ncharge,o-a,acme,120.00,CNY,2026-03-01T10:05:00+00:00\n"
     "charge,o-b,acme,12.345,CNY,2026-03-02T10:05:00+00:00\n", "row 3, column amount: '12.345'"),
    ("kind,reference,account,amount,currency,booked_at\nrefnd,o-a,acme,1.00,CNY,2026-03-01T10:05:00+00:00\n",
     "row 2, column kind"),
    ("kind,reference,account,amount,currency,booked_at\ncharge,o-a,acme,1.00,CNY,2026-03-01\n",
     "row 2, column booked_at: '2026-03-01' has no offset"),
    ("kind,reference,account,amount,booked_at\ncharge,o-a,acme,1.00,2026-03-01T10:05:00+00:00\n",
     "row 1 (header): missing column(s) currency"),
    ("kind,reference,account,amount,currency,booked_at\ncharge,o-a,acme,1.00\n", "row 2: expected 6 columns"),
])
def test_malformed_rows_are_named_never_skipped(books: CLI, tmp_path: Path, text, message):
    statement = tmp_path / "bad.csv"
    statement.write_text(text)
    done = books.run("reconcile", "--statement", str(statement))
    assert done.returncode == 2 and done.stderr.startswith(message), done.stderr
