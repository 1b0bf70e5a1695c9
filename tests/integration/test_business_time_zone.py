"""Human output shows every time in the business time zone of the policy it concerns (issue 14, item 9):
Kingsoft's ``calendar_tz`` (+08:00) even when the feed wrote UTC, KorPro's (+00:00) even when the feed wrote
+08:00, each row of a mixed listing in its own policy's zone; error messages and reasons in the policy's zone
(issue 25, item 7); JSON keeps the times exactly as stored."""

import json
import re
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


def test_an_error_message_shows_its_times_in_the_policys_zone_to_the_second(mixed: CLI):
    """A time in an error is in the business zone of the instance's policy, without the clock's microseconds;
    a time with no business zone (recorded time) is UTC, written Z."""
    done = mixed.run("quote", "kec-z", "--at", "2025-01-01T00:00:00Z")
    assert done.returncode == 2
    assert re.fullmatch(r"instance: 'kec-z' had no purchase at 2025-01-01T08:00:00\+08:00 as known at "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00\n", done.stderr), done.stderr
    done = mixed.run("quote", "kp-z", "--at", "2025-01-01T00:00:00+08:00", "--mode", "trial")
    assert re.fullmatch(r"instance: 'kp-z' had no subscription at 2024-12-31T16:00:00\+00:00 as known at "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\n", done.stderr), done.stderr
    early = {"type": "complete_refund", "at": "2026-01-03T00:00:00Z", "refund": "rf-z"}
    done = mixed.run("record", "-", input=json.dumps(early) + "\n")
    assert done.returncode == 2 and "refund 'rf-z' was applied for at 2026-01-04T07:30:00+08:00" in done.stderr
    charge = {"type": "charge", "at": "2026-01-09T00:00:00+08:00", "instance": "kp-z", "invoice": "inv-early",
              "amount": "1.00", "period_start": "2026-01-09T00:00:00+08:00", "period_end": "2026-01-10T00:00:00+08:00"}
    done = mixed.run("record", "-", input=json.dumps(charge) + "\n")
    assert done.returncode == 2 and "cannot precede the subscription at 2026-01-10T00:00:00+00:00" in done.stderr


def test_a_reasons_times_are_in_the_policys_zone_in_the_json_too_K_F2(mixed: CLI):
    """The reasons' messages are text people read (and JSON carries as such): K-F2's window end in +08:00
    though the feed wrote UTC (purchase 02:00Z + 120 h)."""
    q = mixed.json("quote", "kec-z", "--at", "2026-01-07T00:00:00Z", "--mode", "five_day")
    messages = [r["message"] for r in q["reasons"] if r["rule"] == "K-F2"]
    assert messages and "closed at 2026-01-06T10:00:00+08:00 (activation + 120 h)" in messages[0], messages
    assert "closed at 2026-01-06T10:00:00+08:00" in mixed.ok("quote", "kec-z", "--at", "2026-01-07T00:00:00Z",
                                                             "--mode", "five_day")
