"""Human output shows every time in the business time zone of the policy it concerns (issue 14, item 9; issue
25, item 7): Kingsoft's ``calendar_tz`` (+08:00) even when the feed wrote UTC, KorPro's (+00:00) even when the
feed wrote +08:00; one zone per answer (a listing over both policies: UTC, said so); the echo of --at and
--known-at, error messages and reasons in that zone; ids never rewritten; JSON keeps the times as stored."""

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.integration.conftest import CLI, ROOT

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


def test_quote_and_timeline_show_each_instance_in_its_policys_zone(mixed: CLI):
    quote = mixed.ok("quote", "kec-z", "--at", "2026-01-02T00:00:00Z")
    assert "Refund quote for kec-z at 2026-01-02T08:00:00+08:00" in quote
    timeline = mixed.ok("timeline", "kec-z", "--at", "2026-01-02T00:00:00Z")
    assert "at 2026-01-02T08:00:00+08:00" in timeline and "2026-01-01T10:00:00+08:00" in timeline
    assert "released (K-L3) by refund rf-z at 2026-01-04T07:30:00+08:00" in timeline
    korpro = mixed.ok("timeline", "kp-z", "--at", "2026-01-20T00:00:00+08:00")
    assert "2026-01-10T00:00:00+00:00" in korpro and "2026-02-10T00:00:00+00:00" in korpro


def table_rows(text: str) -> dict[str, str]:
    return {line.split("│")[1].strip(): line for line in text.splitlines() if line.startswith("│")}


def test_a_listing_over_both_policies_shows_one_zone_utc_and_says_so(mixed: CLI):
    """One zone per answer: rows of two business time zones are all shown in UTC (written Z) and the title says
    why; rows of one policy in its zone."""
    both = mixed.ok("instances")
    assert "times in UTC: the policies concerned have different business time zones (+00:00, +08:00)" in both
    rows = table_rows(both)
    assert "2026-01-01T02:00:00Z" in rows["kec-z"] and "2026-01-10T00:00:00Z" in rows["kp-z"]
    assert "+08:00 │" not in both and "+00:00 │" not in both
    kingsoft = table_rows(mixed.ok("instances", "--product", "KEC"))
    assert "2026-01-01T10:00:00+08:00" in kingsoft["kec-z"] and "kp-z" not in kingsoft
    refunds = mixed.ok("refunds")  # only Kingsoft's refund: its zone
    assert "times in +08:00" in refunds and "2026-01-04T07:30:00+08:00" in refunds  # 23:30Z the day before
    assert mixed.json("refunds")["refunds"][0]["requested_at"] == "2026-01-03T23:30:00+00:00"
    assert mixed.json("instances")["instances"][0]["opened_at"] == "2026-01-01T02:00:00+00:00"  # JSON: as stored


def test_ids_that_look_like_times_are_shown_as_they_are(cli: CLI):
    """Only fields that are times are formatted: an instance or order id that looks like a time is not
    rewritten into the policy's zone (it was, when every ISO-looking text was)."""
    name, order = "kec-2026-01-01T02:00:00Z", "o-2026-01-01T02:00:00.5Z"
    cli.ok("record", "-", input=FEED[0].replace('"kec-z"', f'"{name}"').replace('"o-z"', f'"{order}"') + "\n")
    for args in (("quote", name, "--at", "2026-01-02T00:00:00Z"), ("history", name), ("timeline", name),
                 ("instances",)):
        text = cli.ok(*args)
        assert name in text and order in text or args == ("instances",) and name in text, args
        assert "kec-2026-01-01T10:00:00+08:00" not in text and "o-2026-01-01T10:00:00" not in text


def test_the_echo_of_at_and_known_at_is_in_the_policys_zone_as_typed(tmp_path, cli: CLI):
    """kec-2 of the seed examples (Kingsoft, +08:00): --at and --known-at given in UTC are echoed in +08:00,
    with the microseconds the user typed; the default knowledge time (now) to the second."""
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    at, known = "2027-04-06T00:00:00Z", "2030-01-01T00:00:00.25Z"
    quote = cli.ok("quote", "kec-2", "--at", at, "--known-at", known)
    assert "Refund quote for kec-2 at 2027-04-06T08:00:00+08:00 (known at 2030-01-01T08:00:00.250000+08:00)" in quote
    assert "History of kec-2 (known at 2030-01-01T08:00:00.250000+08:00)" in cli.ok("history", "kec-2",
                                                                                   "--known-at", known)
    assert re.search(r"History of kec-2 \(known at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00\)",
                     cli.ok("history", "kec-2"))  # now: to the second
    diff = cli.ok("diff", "kec-2", "--at", at, "--known-at", "2020-01-01T00:00:00Z", "--vs", known)
    assert ("Quote for kec-2 at 2027-04-06T08:00:00+08:00: known at 2020-01-01T08:00:00+08:00 vs "
            "2030-01-01T08:00:00.250000+08:00") in diff
    assert "seed-3 at 2027-04-01T00:00:00+08:00" in diff
    timeline = cli.ok("timeline", "kec-2", "--at", at, "--known-at", known)
    assert "Timeline of kec-2 at 2027-04-06T08:00:00+08:00 (known at 2030-01-01T08:00:00.250000+08:00)" in timeline
    what_if = cli.ok("what-if", "kec-2", "--at", at, "--drop", "seed-3")
    assert what_if.startswith("kec-2 at 2027-04-06T08:00:00+08:00: baseline")
    assert cli.json("quote", "kec-2", "--at", at, "--known-at", known)["known_at"] == "2030-01-01T00:00:00.250000+00:00"


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


def test_history_details_that_are_times_are_in_the_zone_and_others_as_they_are(mixed: CLI):
    text = mixed.ok("history", "kp-z")
    assert "period_start=2026-01-10T00:00:00+00:00" in text and "period_end=2026-02-10T00:00:00+00:00" in text
    assert "invoice=inv-z" in text and "amount=600.00" in text


def test_times_no_policy_owns_are_utc_written_z_to_the_second(mixed: CLI):
    """The trial balance is ledger-wide: its --at echoed in UTC (Z); the default knowledge time (now) to the
    second, not with the clock's microseconds."""
    text = " ".join(mixed.ok("trial-balance", "--at", "2026-02-01T08:00:00+08:00").split())  # the title wraps
    assert re.search(r"Trial balance at 2026-02-01T00:00:00Z \(known at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)",
                     text), text

