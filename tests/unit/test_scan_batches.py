"""`instance_batches` reads the instances `stream_instances` reads, a batch at a time; `accounts_of` reads the
accounts a batch's instances were opened under in one query, each the stream the library reads for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.formats.feed import parse_feed
from adapters.services import record as service
from adapters.store.ledger import open_ledger
from adapters.store.scan import accounts_of, instance_batches, stream_instances
from bench.generate import generate
from domain.instance import account_id, opening
from tests.feedkit import memory_ledger


def test_batches_and_their_accounts(tmp_path):
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    service.record(ledger, parse_feed([json.dumps(x) for x in generate(60, 2)]), datetime.now(UTC))
    batches = list(instance_batches(ledger, batch=25))
    assert [len(b) for b in batches] == [25, 25, 10]
    assert [s for b in batches for s in b] == list(stream_instances(ledger))
    for batch in batches:
        accounts = accounts_of(ledger, batch)
        named = {account_id(opening(events).account) for _, events in batch if hasattr(opening(events), "account")}
        assert set(accounts) == named and any(accounts.values())
        assert all(accounts[i] == list(ledger.events.get(i)) for i in named)  # none stored: an empty stream


def test_a_store_without_a_many_aggregate_query_gives_no_accounts():
    ledger = memory_ledger()
    service.record(ledger, parse_feed([json.dumps(x) for x in generate(5, 2)]), datetime.now(UTC))
    batch = next(instance_batches(ledger))
    assert accounts_of(ledger, batch) == {}
