"""The refund center's dry run (issue 28, the console's confirmation step): `preview_application` answers the
application that recording it now would make (its frozen quote, state, a denial's rules, its deadline) and
writes nothing; confirming records exactly that application. Through a real store (both kinds)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.formats.errors import BadInput
from adapters.services import feeds, listings, refund_center, refund_steps
from domain.errors import UnknownInstance
from tests.stores import STORES, store_url, stored_rows

NOW = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)  # a Wednesday; 10:00 in Kingsoft's zone (+08:00)


def _purchase(instance: str, account: str, product: str) -> str:
    return json.dumps({"type": "purchase", "at": (NOW - timedelta(days=1)).isoformat(), "instance": instance,
                       "account": account, "product": product, "order": f"o-{instance}", "months": 12,
                       "monthly_price": "30.00", "payment": {"cash": "360.00"}})


@pytest.fixture(params=STORES)
def app(request, tmp_path):
    ticks = iter(NOW + timedelta(seconds=n) for n in range(10_000))
    app = bootstrap(Settings(url=store_url(request.param, tmp_path), clock=lambda: next(ticks)))
    feeds.record_feed(app, "\n".join([_purchase("kec-p", "acme", "KEC"), _purchase("mongo-p", "acme", "MongoDB")]))
    yield app
    app.close()


def test_a_preview_answers_the_application_recording_would_make_and_writes_nothing(app):
    who = refund_steps.Who("key-1", "key:k_1", ("acme",))
    before = stored_rows(app.settings.url)
    shown = refund_steps.preview_application(app, "kec-p", {"refund": "rf-p"}, who)
    assert stored_rows(app.settings.url) == before  # a dry run: not a row written
    assert listings.refunds(app, account="acme") == []
    assert (shown["state"], shown["mode"], shown["amount"], shown["currency"]) == ("accepted", "five_day", "360.00",
                                                                                 "CNY")  # K-F2: within five days
    assert shown["actor"] == "key:k_1" and [d["rule"] for d in shown["deadlines"]] == ["K-L2"]
    recorded = refund_steps.apply_for_refund(app, "kec-p", {"refund": "rf-p"}, who).as_json()
    for volatile in ("recorded_at", "known_at", "requested_at"):  # judged again when recorded: its own times
        shown.pop(volatile), recorded.pop(volatile)
    shown["quote"].pop("known_at"), recorded["quote"].pop("known_at")
    shown["quote"].pop("at"), recorded["quote"].pop("at")
    for d in (*shown["deadlines"], *recorded["deadlines"]):
        d.pop("since")
    assert shown == recorded  # K-L1: the same frozen quote, state and deadline


def test_a_preview_of_a_denied_request_shows_its_rules_and_a_refusal_names_the_field(app):
    who = refund_steps.Who("key-1", "key:k_1", ("acme",))
    denied = refund_steps.preview_application(app, "mongo-p", {"mode": "five_day"}, who)
    assert denied["state"] == "denied" and denied["rules"] == ["K-F1"] and denied["deadlines"] == []
    with pytest.raises(BadInput, match="^mode: "):
        refund_steps.preview_application(app, "kec-p", {"mode": "whenever"}, who)
    with pytest.raises(UnknownInstance):  # another account's instance: the same as an unknown one
        refund_steps.preview_application(app, "kec-p", {}, refund_steps.Who("key-2", "key:k_2", ("initech",)))
    assert listings.refunds(app) == []


def test_the_next_steps_of_a_refund_are_those_its_state_allows_and_its_policy_takes():
    kingsoft, korpro = "kingsoft-2021-05-27", "korpro-2025-12-20"
    assert refund_center.next_steps(kingsoft, "accepted") == ("complete_refund", "reject_refund")  # K-L2, K-Q2
    assert refund_center.next_steps(kingsoft, "rejected") == ()  # no escalation in Kingsoft's process
    assert refund_center.next_steps(korpro, "requested") == ("decide_refund",)  # P-R2
    assert refund_center.next_steps(korpro, "rejected") == ("escalate",)  # P-D1
    assert refund_center.next_steps(korpro, "rejected", escalated=True) == ()  # P-D1: once
    assert refund_center.next_steps(korpro, "escalated") == ("decide_escalation",)
    assert refund_center.next_steps(korpro, "approved") == ("complete_refund",)  # P-R3
    assert refund_center.next_steps(korpro, "denied") == refund_center.next_steps(korpro, "completed") == ()
