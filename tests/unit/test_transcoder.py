"""The ledger's JSON transcoder (`adapters.store.ledger.Transcoder`) writes the very bytes the library's
`JSONTranscoder` writes, for every event a generated feed records (and the chain's seals), and refuses an
unregistered type with the library's error."""

import json
from datetime import UTC, datetime

import pytest
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

from adapters.formats.feed import parse_feed
from adapters.services import record as service
from adapters.store.ledger import Ledger, Transcoder
from bench.generate import generate


def test_same_bytes_as_the_librarys_transcoder():
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:"})
    assert type(ledger.mapper.transcoder) is Transcoder
    lines = [json.dumps(x) for x in generate(60, 5)]
    service.record(ledger, parse_feed(lines), datetime(2027, 1, 1, tzinfo=UTC))
    library = JSONTranscoder()
    ledger.register_transcodings(library)
    notes = ledger.recorder.select_notifications(start=1, limit=100_000)
    assert len(notes) > 200
    for note in notes:
        event = ledger.mapper.to_domain_event(note)
        state = {k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version")}
        assert ledger.mapper.transcoder.encode(state) == library.encode(state) == note.state


def test_an_unregistered_type_is_the_librarys_error():
    with pytest.raises(TranscodingNotRegisteredError, match="is not serializable"):
        Transcoder().encode({"x": object()})


def test_another_transcoder_asked_for_is_used():
    topic = "eventsourcing.persistence:JSONTranscoder"
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "TRANSCODER_TOPIC": topic})
    assert type(ledger.mapper.transcoder) is JSONTranscoder
