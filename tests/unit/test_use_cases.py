"""The application layer on the library's in-memory store: App and plain values in, plain data out;
the App's clock stamps feeds and is the default knowledge time."""

from datetime import UTC, datetime

import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.formats.feed import BadInput
from adapters.services import feeds, listings, queries, whatif
from domain.errors import UnknownInstance
from tests.feedkit import KORPRO_BILLING_ERROR as KP
from tests.feedkit import T0, day, jsonl, memory_ledger, purchase

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def app_at(now: datetime = NOW):
    return bootstrap(Settings(url="unused://", clock=lambda: now), ledger=memory_ledger())


@pytest.fixture
def app():
    app = app_at()
    result = feeds.record_feed(app, jsonl(
        purchase("kec-1", account="acme"), purchase("kec-2", account="acme", product="KRDS"),
        purchase("kec-3", account="globex"),
        {"type": "request_refund", "id": "req-1", "at": day(10).isoformat(), "instance": "kec-3", "refund": "r-1"},
        *KP))
    assert (result.recorded, result.denied) == (8, 0)
    return app


def test_a_feed_is_stamped_by_the_apps_clock_and_the_default_known_at_is_now(app):
    history = queries.history(app, "kec-1")
    assert history.known_at == NOW
    assert [f["recorded_at"] for f in history.facts] == [NOW.isoformat()]
    q = queries.quote(app, "kec-1", day(20))
    assert q.known_at == NOW
    assert q.as_json() == queries.quote(app, "kec-1", day(20), NOW).as_json()
    with pytest.raises(UnknownInstance):  # before the feed was recorded
        queries.quote(app, "kec-1", day(20), datetime(2029, 1, 1, tzinfo=UTC))


def test_a_quote_refuses_an_unknown_mode_before_reading_the_store():
    app = bootstrap(Settings(url="foo://never-opened"))
    with pytest.raises(BadInput, match="mode: 'sometimes' is not one of auto, five_day"):
        queries.quote(app, "kec-1", T0, mode="sometimes")


def test_instances_are_listed_by_name_as_known_at(app):
    rows = listings.instances(app)
    assert [(r.instance, r.account, r.product, r.released_by) for r in rows] == [
        ("kec-1", "acme", "KEC", None), ("kec-2", "acme", "KRDS", None), ("kec-3", "globex", "KEC", "r-1"),
        ("kp-2", "umbrella", "KorPro", None)]
    assert [r.instance for r in listings.instances(app, account="acme", product="KRDS")] == ["kec-2"]
    assert [r.instance for r in listings.instances(app, limit=1)] == ["kec-1"]
    assert listings.instances(app, known_at=datetime(2029, 1, 1, tzinfo=UTC)) == []
    assert [(a.account, a.instances) for a in listings.accounts(app)] == [("acme", 2), ("globex", 1), ("umbrella", 1)]


def test_refunds_list_every_request_and_open_means_awaiting_a_decision_or_payment(app):
    rows = listings.refunds(app)
    assert [(r.refund, r.state, r.open) for r in rows] == [("r-1", "accepted", True), ("r-kp", "approved", True)]
    feeds.record_feed(app, jsonl({"type": "complete_refund", "at": day(12).isoformat(), "refund": "r-1"}))
    assert [r.refund for r in listings.refunds(app, open_only=True)] == ["r-kp"]
    assert [r.refund for r in listings.refunds(app, account="globex")] == ["r-1"]
    assert listings.refunds(app)[0].as_json()["state"] == "completed"


def test_the_ledger_wide_what_if_totals_each_currency(app):
    w = whatif.ledger_scenario(app, {"refundable_tenders": "cash"})
    assert w.overrides == {"refundable_tenders": "cash"}
    assert {r.refund for r in w.requests} == {"r-1", "r-kp"}
    for currency, total in w.totals.items():
        mine = [r for r in w.requests if r.currency == currency]
        assert total.baseline == sum(r.baseline for r in mine)
        assert total.difference == sum(r.scenario for r in mine) - total.baseline
