"""Issue 25, item 13: a fact's details for people are labelled values, money with its currency, flags yes or no,
objects as labelled items; never raw JSON or Python's ``True``."""

from datetime import UTC, datetime
from decimal import Decimal

from adapters.bootstrap import Settings, bootstrap
from adapters.formats.details import details
from adapters.services import feeds, queries
from domain.money import Payment
from tests.feedkit import jsonl, memory_ledger

WHEN = "2026-03-01T09:00:00+08:00"


def shown(values, currency="CNY"):
    return [(d.label, d.text) for d in details(values, currency, lambda t: t.isoformat())]


def test_money_carries_the_currency_and_a_payment_lists_the_tenders_used():
    assert shown({"monthly_price": Decimal("100.00"),
                  "payment": Payment(cash=Decimal("900.00"), cloud_ticket=Decimal("60.00"))}) == [
        ("monthly price", "100.00 CNY"), ("payment", "cash 900.00 CNY + cloud ticket 60.00 CNY")]
    assert shown({"payment": Payment()}) == [("payment", "0 CNY")]  # nothing paid is still said


def test_flags_are_yes_or_no_objects_are_labelled_items_and_empty_fields_are_left_out():
    assert shown({"counts_quota": True, "duplicate": False, "discounts": {"12": Decimal("0.20")},
                  "promotion": {"id": "p", "refundable": False}, "spec": {"cpu": 4}, "with_": [],
                  "reason": None, "currency": "CNY", "quote": {"amount": "1.00"}, "months": 12,
                  "start": datetime(2026, 2, 10, tzinfo=UTC)}) == [
        ("counts quota", "yes"), ("duplicate", "no"), ("discounts", "12: 0.20"),
        ("promotion", "id: p, refundable: no"), ("spec", "cpu: 4"), ("months", "12"),
        ("start", "2026-02-10T00:00:00+00:00")]


def test_the_history_use_case_keeps_each_facts_values_as_recorded_and_the_instances_currency():
    app = bootstrap(Settings(url="unused://", clock=lambda: datetime(2030, 1, 1, tzinfo=UTC)), ledger=memory_ledger())
    feeds.record_feed(app, jsonl({"type": "purchase", "id": "a-1", "at": WHEN, "instance": "kec-7",
                                  "account": "globex", "product": "KEC", "order": "o-71", "months": 12,
                                  "monthly_price": "100.00", "discounts": {"12": "0.20"},
                                  "payment": {"cash": "900.00", "cloud_ticket": "60.00"}}))
    h = queries.history(app, "kec-7")
    assert h.currency == "CNY" and len(h.values) == len(h.facts) == 1
    assert h.values[0]["monthly_price"] == Decimal("100.00") and isinstance(h.values[0]["payment"], Payment)
    assert "values" not in h.as_json() and h.as_json()["facts"][0]["details"]["monthly_price"] == "100.00"
