"""A feed's every bad line (issue 25 item 8): `BadFeed` lists them, each judged as if the refused lines before
it were not in the feed (the refused line is undone, `UnitOfWork.undo`), and nothing is written."""

import io

import pytest

from adapters.formats import envelope
from adapters.formats.errors import BadFeed
from adapters.formats.feed import lines_of, parse_feed
from adapters.services import reads
from adapters.services import record as service
from domain.instance import instance_id
from tests.feedkit import RECORDED, jsonl, ledger_with, purchase, renew


def test_a_refused_line_is_undone_before_the_next_line_is_judged_K_T3():
    """Line 2 renews with the purchase's order id: its Renewed is triggered before the id is found taken, and
    undone; line 4's purchase opens kec-9 and is refused (tenders): kec-9 is gone again; the good lines stay."""
    ledger = ledger_with(purchase(order="o-buy"))
    lines = parse_feed(jsonl(renew(order="o-1", months=1, at="2026-02-01T00:00:00+08:00"),
                             renew(order="o-buy", months=1, at="2026-02-02T00:00:00+08:00"),
                             renew(order="o-2", months=1, at="2026-02-03T00:00:00+08:00"),
                             purchase("kec-9", payment={"cash": "1.00"})).splitlines())
    uow = service.UnitOfWork(ledger)
    with pytest.raises(BadFeed) as raised:
        service.apply_feed(uow, ledger, lines, RECORDED, False)
    assert [(p.line, p.message.split(":")[0]) for p in raised.value.problems] == [(2, "order"), (4, "payment")]
    kec1 = uow.instance("kec-1")
    assert [getattr(f, "order", None) for f in kec1.facts] == ["o-buy", "o-1", "o-2"]
    assert [type(e).__name__ for e in kec1.pending_events] == ["Renewed", "Renewed"]
    assert uow.instance("kec-9") is None and uow.loaded[instance_id("kec-9")] is None
    with pytest.raises(BadFeed):  # through the use case: nothing written
        service.record(ledger, lines, RECORDED)
    assert [getattr(f, "order", None) for f in reads.events_of(ledger, "kec-1")[1:]] == ["o-buy"]


def test_a_too_long_line_read_from_a_file_is_one_bad_line_and_the_next_keeps_its_number():
    feed = io.BytesIO(b"x" * (envelope.LINE_BYTES_MAX + 10) + b"\n" + b"nope\n")
    with pytest.raises(BadFeed) as raised:
        parse_feed(lines_of(feed))
    assert [(p.line, p.message.split(" ")[0]) for p in raised.value.problems] == [(1, "the"), (2, "malformed")]
    assert str(raised.value).splitlines()[-1] == "2 bad lines; nothing was recorded"


def test_one_bad_line_reads_as_before():
    with pytest.raises(BadFeed) as raised:
        parse_feed(['{"type": "renew"}', "{}"])
    assert str(raised.value).splitlines()[0].startswith("line 1: ")
    with pytest.raises(BadFeed) as raised:
        parse_feed(["{}"])
    assert str(raised.value) == "line 1: type: missing required field"
