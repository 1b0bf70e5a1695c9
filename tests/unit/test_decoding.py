"""The dedicated decoder (`adapters.store.decoding`) makes the very events the library's mapper makes: same
classes, same field values in the same order, same timestamps; what it does not know goes to the library."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.formats.feed import parse_feed
from adapters.services import record as service
from adapters.store.decoding import EventDecoder
from adapters.store.ledger import Ledger, open_ledger
from adapters.store.scan import notifications
from bench.generate import generate

ROOT = Path(__file__).resolve().parents[2]


def both_ways(ledger: Ledger) -> int:
    """Decode every stored event of ``ledger`` with the dedicated decoder and with the library's mapper."""
    mapper = ledger.mapper
    assert isinstance(mapper.decoder, EventDecoder)
    n = 0
    for note in notifications(ledger.recorder):
        fast, generic = mapper.decoder.decode(note), mapper.generic(note)
        assert type(fast) is type(generic), note.topic
        assert list(vars(fast).items()) == list(vars(generic).items()), note.topic
        assert fast == generic and fast.timestamp == generic.timestamp
        assert mapper.to_domain_event(note) == generic
        n += 1
    return n


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from datetime import UTC, datetime

    path = tmp_path_factory.mktemp("decoding") / "ledger.db"
    ledger = open_ledger(f"sqlite:///{path}")
    lines = [json.dumps(x) for x in generate(400, 7)]
    for i in range(0, len(lines), 500):
        service.record(ledger, parse_feed(lines[i:i + 500]), datetime.now(UTC))
    return ledger


def test_every_event_of_a_generated_ledger_decodes_the_same_both_ways(generated):
    topics = {n.topic for n in notifications(generated.recorder)}
    assert {"domain.policies.kingsoft.events:Purchased", "domain.instance:Instance.RefundApplied",
            "domain.policies.korpro.events:Charged", "domain.chain:Chain.Sealed"} <= topics
    assert both_ways(generated) > 1000


def test_a_legacy_ledger_under_former_topics_decodes_the_same_both_ways(tmp_path):
    shutil.copy(ROOT / "tests" / "data" / "legacy" / "ledger.db", tmp_path / "ledger.db")
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", create=False)
    assert any(n.topic in ledger.mapper.moved for n in notifications(ledger.recorder))
    assert both_ways(ledger) > 0


def test_what_the_decoder_does_not_know_is_the_librarys(generated):
    """An unregistered typed value: the library's own error; a state that names its ``class_version``: the
    library's mapper (which reads it and drops it)."""
    from eventsourcing.persistence import MapperDeserialisationError

    note = next(n for n in notifications(generated.recorder) if n.topic.endswith(":Purchased"))
    state = json.loads(note.state)
    unknown = StoredEvent(note.originator_id, note.originator_version, note.topic, json.dumps(
        {**state, "payment": {"_type_": "no_such_type", "_data_": 1}}).encode())
    with pytest.raises(MapperDeserialisationError, match="no_such_type"):
        generated.mapper.to_domain_event(unknown)
    versioned = StoredEvent(note.originator_id, note.originator_version, note.topic,
                            json.dumps({**state, "class_version": 1}).encode())
    event = generated.mapper.to_domain_event(versioned)
    assert event == generated.mapper.generic(versioned) and "class_version" not in vars(event)


def test_a_compressed_store_is_read_by_the_library_alone():
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:",
                         "COMPRESSOR_TOPIC": "zlib"})
    assert ledger.mapper.decoder is None
    lines = [json.dumps(x) for x in generate(5, 3)]
    from datetime import UTC, datetime

    service.record(ledger, parse_feed(lines), datetime.now(UTC))
    assert sum(1 for _ in notifications(ledger.recorder)) > 5
    assert all(ledger.mapper.to_domain_event(n) is not None for n in notifications(ledger.recorder))


def test_a_decoder_error_that_is_not_its_own_signal_is_raised(generated, monkeypatch):
    """Issue 26.4: the mapper falls back to the library only on the decoder's `Unknown`; any other error of
    the dedicated decoder (here a broken decoding) is raised, never hidden by the library's answer."""
    note = next(n for n in notifications(generated.recorder) if n.topic.endswith(":Purchased"))
    mapper = generated.mapper
    assert mapper.to_domain_event(note) == mapper.generic(note)

    def broken(text: str) -> None:
        raise ArithmeticError(f"broken decoding of {text}")

    monkeypatch.setattr(mapper.decoder, "datetimes", {})
    monkeypatch.setattr(mapper.decoder, "_datetime", broken)
    with pytest.raises(ArithmeticError, match="broken decoding"):
        mapper.to_domain_event(note)
