"""The decoded-stream cache (`adapters.store.streams`) and the memoised whole-history view: a quote served from
them is the quote a fresh process computes, and a fact recorded by another process is seen at once."""

from datetime import UTC, datetime

from adapters.formats.feed import parse_feed
from adapters.services import reads
from adapters.services import record as service
from adapters.store.ledger import open_ledger
from domain.instance import instance_id
from domain.policies.kingsoft.view import replay
from domain.stream import Stream
from tests.feedkit import RECORDED, day, jsonl, purchase, renew


def test_a_fact_recorded_elsewhere_is_seen_by_a_process_that_holds_the_stream(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    reader, writer = open_ledger(url), open_ledger(url)
    service.record(writer, parse_feed(jsonl(purchase(months=12, price="10.00")).splitlines()), RECORDED)
    at, now = day(100), datetime(2031, 1, 1, tzinfo=UTC)
    before = reads.assess(reader, "kec-1", at, now, mode="self_service")
    held = reader.streams.get(instance_id("kec-1"))
    assert before.amount > 0

    # K-A2: a renewal not yet in effect refunds its whole actual payment (120.00), on top of the purchase
    service.record(writer, parse_feed(jsonl(renew(order="r1", months=12, price="10.00", at=day(50))).splitlines()),
                   RECORDED)
    after = reads.assess(reader, "kec-1", at, now, mode="self_service")
    assert after.amount - before.amount == 120
    grown = reader.streams.get(instance_id("kec-1"))
    assert grown.version > held.version and grown[:len(held)] == held

    fresh = reads.assess(open_ledger(url), "kec-1", at, now, mode="self_service")
    assert after == fresh


def test_the_memoised_view_is_only_used_when_the_question_sees_every_event(tmp_path):
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    lines = [purchase(months=1, price="10.00"), renew(order="r1", months=1, price="10.00", at=day(20))]
    service.record(ledger, parse_feed(jsonl(*lines).splitlines()), RECORDED)
    stream = ledger.streams.get(instance_id("kec-1"))
    assert isinstance(stream, Stream)

    whole = replay("kec-1", stream, day(40), RECORDED)
    assert [o.order for o in whole.orders] == ["kec-1-buy", "r1"]
    assert replay("kec-1", stream, day(41), RECORDED) is whole  # same events seen: the same view

    before_renewal = replay("kec-1", stream, day(10), RECORDED)
    assert [o.order for o in before_renewal.orders] == ["kec-1-buy"]
    earlier = datetime(2029, 1, 1, tzinfo=UTC)  # before anything was recorded
    assert replay("kec-1", stream, day(40), earlier) is None
