"""Deadlines read their parameters (K-L2; P-R2, P-R3, P-D1 on the version of P-V1; calendar_tz, holidays).

Calendar: 2026-01-05 is a Monday. A stage's start day is day 0; it is due by the end of the n-th working
day after it (projections/deadlines.py).
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.formats.feed import BadInput
from adapters.services import reads
from domain.errors import LedgerError
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.policies.korpro.parameters import KorProParameters
from domain.policies.korpro.subscription import policy_book_id
from tests.feedkit import FAR, RECORDED, day, ledger_with, purchase, record

START = datetime(2026, 1, 5, tzinfo=UTC)  # Monday


def at(days: float) -> str:
    return (START + timedelta(days=days)).isoformat()


def utc(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


SUBSCRIPTION = (
    {"type": "subscribe", "at": at(0), "instance": "kp-1", "account": "initech", "plan": "performance",
     "estimated_monthly_savings": "10000.00"},
    {"type": "charge", "at": at(0), "instance": "kp-1", "invoice": "inv-1", "amount": "2000.00",
     "period_start": at(0), "period_end": at(30)},
)
# Thursday 2026-01-15: under the base version (review_days 3) decided by Tuesday 2026-01-20 (P-R2)
REQUEST = {"type": "request_refund", "at": at(10), "instance": "kp-1", "refund": "rf-1", "reason": "money_back",
           "email": "ap@initech.example", "invoice": "inv-1", "explanation": "see ticket"}


def version(name: str, at_days: float = 1, **parameters) -> dict:
    return {"type": "post_policy", "at": at(at_days), "policy": "korpro", "version": name, "parameters": parameters}


def late(ledger, when: str, known_at: datetime = FAR, **overrides) -> list[tuple[str, str, str]]:
    """(rule, due date, policy) of each refund past its deadline at ``when`` (UTC unless an offset is given)."""
    found = reads.overdue(ledger, utc(when), known_at, overrides)
    return [(o.stage.rule, o.due.date().isoformat(), o.stage.policy) for o in found]


BASE = "korpro-2025-12-20"


# ----- KorPro: the version in force at the request (P-V1) -----

def test_a_posted_review_days_1_makes_a_request_overdue_after_one_business_day_P_R2_P_V1():
    base = ledger_with(*SUBSCRIPTION, REQUEST)
    fast = ledger_with(*SUBSCRIPTION, version("fast", review_days=1), REQUEST)
    assert late(fast, "2026-01-16T23:59:59") == []  # Friday, the one business day: not yet
    assert late(fast, "2026-01-17T00:00:00") == [("P-R2", "2026-01-16", "korpro-fast")]
    assert late(base, "2026-01-17T00:00:00") == []  # the base version: 3 business days
    assert late(base, "2026-01-21T00:00:00") == [("P-R2", "2026-01-20", BASE)]


def test_a_version_posted_after_the_request_does_not_move_its_deadline_P_R2_P_V1():
    ledger = ledger_with(*SUBSCRIPTION, REQUEST, version("later", at_days=11, review_days=1))
    assert late(ledger, "2026-01-17T00:00:00") == []
    assert late(ledger, "2026-01-21T00:00:00") == [("P-R2", "2026-01-20", BASE)]


def test_the_version_governs_as_known_at_the_question_P_R2_P_V1():
    ledger = ledger_with(*SUBSCRIPTION, REQUEST)
    record(ledger, version("back-dated", review_days=1), now=RECORDED + timedelta(days=1))
    assert late(ledger, "2026-01-17T00:00:00", known_at=RECORDED) == []
    assert late(ledger, "2026-01-17T00:00:00") == [("P-R2", "2026-01-16", "korpro-back-dated")]


def test_a_posted_processing_days_flags_payment_after_that_many_business_days_P_R3_P_V1():
    decide = {"type": "decide_refund", "at": at(16), "refund": "rf-1", "approve": True}  # Wednesday 2026-01-21
    base = ledger_with(*SUBSCRIPTION, REQUEST, decide)
    fast = ledger_with(*SUBSCRIPTION, version("pay-fast", processing_days=2), REQUEST, decide)
    assert late(fast, "2026-01-23T23:00:00") == []
    assert late(fast, "2026-01-24T00:00:00") == [("P-R3", "2026-01-23", "korpro-pay-fast")]
    flagged = reads.overdue(fast, utc("2026-01-24T00:00:00"), FAR)
    assert flagged[0].as_json()["severity"] == "flag"
    assert late(base, "2026-01-24T00:00:00") == []  # 10 business days: Wednesday 2026-02-04
    assert late(base, "2026-02-05T00:00:00") == [("P-R3", "2026-02-04", BASE)]


def test_a_posted_escalation_days_decides_escalations_sooner_P_D1_P_V1():
    escalated = (REQUEST, {"type": "decide_refund", "at": at(11), "refund": "rf-1", "approve": False, "reason": "no"},
                 {"type": "escalate", "at": at(12), "refund": "rf-1"})  # Saturday 2026-01-17
    base = ledger_with(*SUBSCRIPTION, *escalated)
    fast = ledger_with(*SUBSCRIPTION, version("escalate-fast", escalation_days=1), *escalated)
    assert late(fast, "2026-01-19T12:00:00") == []
    assert late(fast, "2026-01-20T00:00:00") == [("P-D1", "2026-01-19", "korpro-escalate-fast")]
    assert late(base, "2026-01-20T00:00:00") == []  # 5 business days: Friday 2026-01-23
    assert late(base, "2026-01-24T00:00:00") == [("P-D1", "2026-01-23", BASE)]


def test_holidays_of_a_posted_version_push_the_due_date_P_R2_P_V1():
    off = ledger_with(*SUBSCRIPTION, version("friday-off", holidays=["2026-01-16"]), REQUEST)
    assert late(off, "2026-01-21T00:00:00") == []  # Mon 19, Tue 20, Wed 21
    assert late(off, "2026-01-22T00:00:00") == [("P-R2", "2026-01-21", "korpro-friday-off")]
    assert late(ledger_with(*SUBSCRIPTION, REQUEST), "2026-01-21T00:00:00") == [("P-R2", "2026-01-20", BASE)]


def test_business_days_are_counted_in_the_versions_calendar_tz_P_R2_P_V1():
    evening = {**REQUEST, "at": "2026-01-15T20:00:00+00:00"}  # Thursday in UTC, Friday 01:00 at +05:00
    east = ledger_with(*SUBSCRIPTION, version("east", calendar_tz="+05:00"), evening)
    assert late(east, "2026-01-21T00:00:00") == []  # due Wednesday 2026-01-21 23:59 +05:00
    assert late(east, "2026-01-21T19:00:00") == [("P-R2", "2026-01-21", "korpro-east")]
    assert late(ledger_with(*SUBSCRIPTION, evening), "2026-01-21T00:00:00") == [("P-R2", "2026-01-20", BASE)]


# ----- overrides (--set): what-if on deadlines -----

def test_set_overrides_apply_on_top_of_the_version_in_force_P_R2_P_D1():
    ledger = ledger_with(*SUBSCRIPTION, version("fast", review_days=1), REQUEST)
    assert late(ledger, "2026-01-17T00:00:00", review_days="3") == []
    assert late(ledger_with(*SUBSCRIPTION, REQUEST), "2026-01-17T00:00:00", review_days="1") == [
        ("P-R2", "2026-01-16", BASE)]
    assert late(ledger, "2026-01-17T00:00:00", holidays="2026-01-16") == []  # a holiday on the one business day


def test_kingsoft_holidays_via_set_push_the_due_date_K_L2():
    ledger = ledger_with(purchase(product="MongoDB"))
    record(ledger, {"type": "request_refund", "at": day(8, hours=10).isoformat(), "instance": "kec-1",
                    "refund": "r1"})  # Friday 2026-01-09 10:00 +08:00: due Friday 2026-01-16
    kingsoft = "kingsoft-2021-05-27"
    assert late(ledger, day(16).isoformat()) == [("K-L2", "2026-01-16", kingsoft)]
    assert late(ledger, day(16).isoformat(), holidays="2026-01-12") == []
    assert late(ledger, day(19).isoformat(), holidays="2026-01-12") == [("K-L2", "2026-01-19", kingsoft)]
    # the --holiday days are added to the parameter's
    assert reads.overdue(ledger, day(19), FAR, {"holidays": "2026-01-12"}, (date(2026, 1, 13),)) == []
    # K-L2's working days are counted in the Kingsoft calendar_tz: at -10:00 the request was on Thursday
    assert late(ledger, day(15, hours=20).isoformat()) == []
    assert late(ledger, day(15, hours=20).isoformat(), calendar_tz="-10:00") == [("K-L2", "2026-01-15", kingsoft)]


def test_set_with_an_unknown_name_is_bad_input_naming_set():
    with pytest.raises(LedgerError, match="--set: unknown policy parameter"):
        reads.overdue(ledger_with(*SUBSCRIPTION), utc("2026-01-17T00:00:00"), FAR, {"colour": "red"})
    with pytest.raises(LedgerError, match="review_days: give a whole number"):
        reads.overdue(ledger_with(*SUBSCRIPTION), utc("2026-01-17T00:00:00"), FAR, {"review_days": "soon"})


# ----- calendar_tz must be a ±HH:MM offset -----

@pytest.mark.parametrize("bad", ["+8:00", "08:00", "UTC", "+24:00", "+08:60", "+08:00 ", "+٠٨:00", ""])
def test_a_calendar_tz_that_is_not_an_offset_is_bad_input_K_Q1_K_L2_P_R2(bad):
    with pytest.raises(LedgerError, match="calendar_tz") as kingsoft:
        KingsoftParameters().override({"calendar_tz": bad})
    with pytest.raises(LedgerError, match="calendar_tz") as korpro:
        KorProParameters().override({"calendar_tz": bad})
    assert "±HH:MM" in str(kingsoft.value) and "±HH:MM" in str(korpro.value)
    with pytest.raises(LedgerError, match="calendar_tz"):
        reads.overdue(ledger_with(*SUBSCRIPTION), utc("2026-01-17T00:00:00"), FAR, {"calendar_tz": bad})


def test_a_calendar_tz_given_as_a_number_is_bad_input_P_V1():
    with pytest.raises(LedgerError, match="calendar_tz"):
        KorProParameters().override({"calendar_tz": 8})
    assert KorProParameters().override({"calendar_tz": "-03:30"}).calendar_tz == "-03:30"
    assert KingsoftParameters().override({"calendar_tz": "+00:00"}).calendar_tz == "+00:00"


def test_a_posted_version_with_a_bad_calendar_tz_is_refused_and_nothing_is_written_P_V1():
    ledger = ledger_with(*SUBSCRIPTION, REQUEST)
    with pytest.raises(BadInput, match="line 2: parameters.calendar_tz: .*±HH:MM"):
        record(ledger, version("good", review_days=1), version("tz", calendar_tz="Asia/Shanghai"))
    assert list(ledger.streams.get(policy_book_id())) == []
    assert late(ledger, "2026-01-17T00:00:00") == []  # "good" was not posted either (all or nothing)
