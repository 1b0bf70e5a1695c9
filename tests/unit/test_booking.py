"""The journal booked partition by partition (`projections.booking`, partitions of whole accounts) equals the
journal of every row together (`journal.ledger_entries`, `journal.closed_journal`), entry for entry and in the
same order, on random generated ledgers (both policies, refunds accepted, completed and rejected, K-L3 releases,
K-D1 credits, retractions, several currencies), cut into any number of partitions, with or without a closed
period (corrections of the closed days included) and in every reporting zone (issue 27)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.store.scan import stream_instances
from projections import booking, partitions
from projections import journal as book
from tests.feedkit import FAR
from tests.unit.test_segments import ZONES, ledger_of


def account_of(events) -> str:
    return next(e.account for e in events if getattr(e, "OPENS", False))


def cut_by_account(streams, cuts: int) -> list[list]:
    """The streams in ``cuts`` partitions of consecutive accounts (by name), each in opening order."""
    accounts = sorted({account_of(events) for _, events in streams})
    size = max(1, -(-len(accounts) // cuts))
    chunk = {a: i // size for i, a in enumerate(accounts)}
    parts: list[list] = [[] for _ in range(max(chunk.values()) + 1)]
    for name, events in streams:
        parts[chunk[account_of(events)]].append((name, events))
    return parts


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instances=st.integers(10, 30), seed=st.integers(0, 3), cuts=st.integers(1, 6), tz=st.sampled_from(ZONES),
       closed_through=st.sampled_from([None, date(2026, 3, 31), date(2026, 8, 31), date(2027, 1, 31)]))
def test_the_journal_booked_per_partition_is_the_journal_of_all_rows_K_L3_K_D1_P_R3(instances, seed, cuts, tz,
                                                                                   closed_through):
    ledger = ledger_of(instances, seed)
    streams = list(stream_instances(ledger))
    close = open_from = None
    if closed_through is not None:
        open_from = datetime.combine(closed_through + timedelta(days=1), time.min, tzinfo=UTC)
        close = datetime(2030, 1, 1, tzinfo=UTC)  # the follow-ups (recorded in 2031) are late facts
    whole = partitions.journal_rows(streams, FAR, close, open_from)
    now = book.group([whole.now])
    if closed_through is None:
        reference = list(book.ledger_entries(now, tz))
    else:
        at_close = book.group([whole.at_close])
        reference = list(book.closed_journal(now, at_close, closed_through, partitions.causes([whole]), tz))
    parts = [booking.book_partition(p, FAR, close, open_from, closed_through, tz)
             for p in cut_by_account(streams, cuts)]
    assert list(booking.assemble(parts, closed_through)) == reference
    assert reference
