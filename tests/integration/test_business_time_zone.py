"""Human output shows every time in the business time zone of the policy it concerns (issue 14, item 9):
Kingsoft's ``calendar_tz`` (+08:00) even when the feed wrote UTC, KorPro's (+00:00) even when the feed wrote
+08:00, each row of a mixed listing in its own policy's zone; JSON keeps the times exactly as stored."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.integration.conftest import CLI

KINGSOFT, KORPRO = timezone(timedelta(hours=8)), UTC  # the policies' calendar_tz defaults
FEED = [
    '{"type": "purchase", "id": "p-1", "at": "2026-01-01T02:00:00Z", "instance": "kec-z", "account": "acme",'
    ' "product": "KEC", "order": "o-z", "months": 1, "monthly_price": "30.00", "payment": {"cash": "30.00"}}',
    '{"type": "request_refund", "id": "r-1", "at": "2026-01-03T23:30:00Z", "instance": "kec-z", "refund": "rf-z",'
    ' "mode": "self_service"}',
    '{"type": "subscribe", "id": "s-1", "at": "2026-01-10T08:00:00+08:00", "instance": "kp-z", "account": "acme",'
    ' "plan": "fixed", "cpus": 25}',
    '{"type": "charge", "id": "c-1", "at": "2026-01-10T08:00:00+08:00", "instance": "kp-z", "invoice": "inv-z",'
    ' "amount": "600.00", "period_start": "2026-01-10T08:00:00+08:00", "period_end": "2026-02-10T08:00:00+08:00"}',
]


@pytest.fixture
def mixed(cli: CLI) -> CLI:
    cli.ok("record", "-", input="\n".join(FEED) + "\n")
    return cli


def shown(stored: str, zone: timezone) -> str:
    """How people are shown a stored time: in ``zone``, to the second."""
    return datetime.fromisoformat(stored).astimezone(zone).isoformat(timespec="seconds")


def test_a_kingsoft_history_reads_in_its_business_zone_though_the_feed_wrote_utc_K_Q1(mixed: CLI):
    facts = mixed.json("history", "kec-z")["facts"]
    assert facts[0]["at"] == "2026-01-01T02:00:00+00:00"  # JSON: as stored
    text = mixed.ok("history", "kec-z")
    assert "2026-01-01T10:00:00+08:00" in text and "2026-01-01T02:00:00" not in text
    for f in facts:
        assert shown(f["recorded_at"], KINGSOFT) in text and shown(f["at"], KINGSOFT) in text
    assert "+00:00" not in text.replace(mixed.json("history", "kec-z")["known_at"], "")


def test_a_korpro_history_reads_in_its_zone_though_the_feed_wrote_plus_eight_P_R2(mixed: CLI):
    facts = mixed.json("history", "kp-z")["facts"]
    assert facts[1]["details"]["period_start"] == "2026-01-10T08:00:00+08:00"  # JSON: as stored
    text = mixed.ok("history", "kp-z")
    assert "period_start=2026-01-10T00:00:00+00:00" in text and "+08:00" not in text
    assert all(shown(f["recorded_at"], KORPRO) in text for f in facts)


def test_quote_timeline_and_listings_show_each_instance_in_its_policys_zone(mixed: CLI):
    quote = mixed.ok("quote", "kec-z", "--at", "2026-01-02T00:00:00Z")
    assert "Refund quote for kec-z at 2026-01-02T08:00:00+08:00" in quote
    timeline = mixed.ok("timeline", "kec-z", "--at", "2026-01-02T00:00:00Z")
    assert "at 2026-01-02T08:00:00+08:00" in timeline and "2026-01-01T10:00:00+08:00" in timeline
    assert "released (K-L3) by refund rf-z at 2026-01-04T07:30:00+08:00" in timeline
    korpro = mixed.ok("timeline", "kp-z", "--at", "2026-01-20T00:00:00+08:00")
    assert "2026-01-10T00:00:00+00:00" in korpro and "2026-02-10T00:00:00+00:00" in korpro
    rows = {line.split("│")[1].strip(): line for line in mixed.ok("instances").splitlines() if line.startswith("│")}
    assert "2026-01-01T10:00:00+08:00" in rows["kec-z"] and "2026-01-10T00:00:00+00:00" in rows["kp-z"]
    refunds = mixed.ok("refunds")
    assert "2026-01-04T07:30:00+08:00" in refunds  # 23:30Z the day before, in +08:00
    assert mixed.json("refunds")["refunds"][0]["requested_at"] == "2026-01-03T23:30:00+00:00"
