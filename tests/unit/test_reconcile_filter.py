"""Reconciliation keeps only what a statement can be compared with, so a ledger-wide job holds little: the
findings are the same as when every expected item of the ledger is held."""

from datetime import UTC, datetime, timedelta

from projections.finance import OrderRow
from projections.reconcile import Scope, StatementLine, expected_items, reconcile


def order(name: str, day: int, cash: int = 1000) -> OrderRow:
    at = datetime(2026, 3, day, 10, tzinfo=UTC)
    return OrderRow(name, f"o-{name}", "acme", "KEC", "purchase", at, at, at + timedelta(days=30), "CNY", cash, 0,
                    "active", cash)


def line(row: int, reference: str, day: int, cents: int = 1000) -> StatementLine:
    return StatementLine(row, "charge", reference, "acme", cents, "CNY", datetime(2026, 3, day, 11, tzinfo=UTC))


def test_only_named_items_and_items_due_in_the_period_are_kept():
    orders = [order("a", 1), order("b", 5), order("c", 7), order("d", 20), order("e", 28)]
    statement = [line(2, "o-b", 5), line(3, "o-e", 9, 999), line(4, "o-zzz", 8)]  # period: 5 to 9 March

    kept = expected_items(orders, [], Scope.of(statement))
    assert set(kept) == {("charge", "o-b"), ("charge", "o-c"), ("charge", "o-e")}
    every = expected_items(orders, [])
    assert len(every) == 5
    assert reconcile(statement, kept) == reconcile(statement, every)
    assert {(f.status, f.reference) for f in reconcile(statement, kept)} == {
        ("matched", "o-b"), ("amount_mismatch", "o-e"), ("missing_in_ledger", "o-zzz"),
        ("missing_in_statement", "o-c")}


def test_an_empty_statement_keeps_nothing():
    assert expected_items([order("a", 1)], [], Scope.of([])) == {}


def test_an_amount_mismatch_says_which_side_is_larger():
    """Issue 25 item 15: no signed difference to decode."""
    from projections.reconcile import _larger

    assert _larger(3100, 3000) == "the statement is larger by 1.00 (statement 31.00, ledger 30.00)"
    assert _larger(2900, 3000) == "the ledger is larger by 1.00 (statement 29.00, ledger 30.00)"
