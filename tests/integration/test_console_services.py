"""The two use cases the web console added: `search` (instances and accounts by a piece of their name) and
`account_overview` (one account's instances, applications, K-Q1 quota per month and account ledger per month),
on the audit story and the examples, through a real store. Expected figures are worked out from the feeds and
from the account-ledger export of the same ledger, never pasted."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.services import feeds, jobs, listings, overview
from tests.integration.conftest import ROOT
from tests.stores import STORES, store_url

AUDIT = ROOT / "examples" / "audit-story.jsonl"
BEFORE_THE_STORY = datetime.fromisoformat("2026-02-01T00:00:00+00:00")
AFTER_THE_REFUND = datetime.fromisoformat("2026-04-26T00:00:00+00:00")


@pytest.fixture(scope="module", params=STORES)
def app(request, tmp_path_factory):
    app = bootstrap(Settings.resolve(store_url(request.param, tmp_path_factory.mktemp("console"))))
    feeds.record_feed(app, AUDIT.read_bytes(), preserve_recorded_at=True)
    for example in ("seed-examples.jsonl", "korpro-examples.jsonl"):
        feeds.record_feed(app, (ROOT / "examples" / example).read_bytes())
    yield app
    app.close()


def test_search_finds_instances_by_name_account_or_product_and_accounts_by_name(app):
    assert [r.instance for r in listings.search(app, "kec").instances] == ["kec-1", "kec-2", "kec-7"]
    found = listings.search(app, "GLOBEX")
    assert [r.instance for r in found.instances] == ["kec-7"]
    assert [(a.account, a.instances) for a in found.accounts] == [("globex", 1)]
    assert [r.instance for r in listings.search(app, "korpro").instances] == ["kp-1", "kp-2"]
    everything = listings.search(app, "")
    assert [r.instance for r in everything.instances] == [r.instance for r in listings.instances(app)]
    assert listings.search(app, "no-such-thing").instances == []


def test_search_keeps_to_the_keys_accounts_and_to_what_was_known(app):
    narrowed = listings.search(app, "", accounts=["acme"])
    assert {r.account for r in narrowed.instances} == {"acme"}
    assert [a.account for a in narrowed.accounts] == ["acme"]
    assert listings.search(app, "kec-7", known_at=BEFORE_THE_STORY).instances == []
    assert len(listings.search(app, "", limit=2).instances) == 2


def test_the_account_overview_of_the_audit_story(app):
    o = overview.account_overview(app, "globex", AFTER_THE_REFUND)
    assert [r.instance for r in o.instances] == ["kec-7"]
    assert o.instances[0].released_by == "rf-7"  # K-L3
    assert [(r.refund, r.state) for r in o.applications] == [("rf-7", "accepted")]
    # K-Q1: one application in April 2026, in the Kingsoft policy's zone (+08:00)
    assert [(q.month, q.zone, q.used, q.limit, q.refunds) for q in o.quota] == [("2026-04", "+08:00", 1, 3, ("rf-7",))]


def test_the_account_ledger_per_month_sums_the_exported_days(app):
    """Each month is the sum of the account-ledger export's days (and its closing balance); a released instance's
    balance ends at exactly 0."""
    o = overview.account_overview(app, "globex", AFTER_THE_REFUND)
    days = [r for r in jobs.export(app, "account-ledger", datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
                                   datetime.fromisoformat("2028-01-01T00:00:00+00:00"), AFTER_THE_REFUND)
            if r["account"] == "globex"]
    expected: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for d in days:
        m = expected[(d["currency"], d["day"].strftime("%Y-%m"))]
        for name in ("paid", "consumed", "refunded"):
            m[name] += d[name]
        m["deferred"] = d["closing"]
    assert {(m.currency, m.month): {"paid": m.paid, "consumed": m.consumed, "refunded": m.refunded,
                                    "deferred": m.deferred} for m in o.ledger} == \
        {k: dict(v) for k, v in expected.items()}
    assert o.ledger[-1].deferred == Decimal("0.00")
    assert all(isinstance(v, Decimal) for m in o.ledger for v in (m.paid, m.consumed, m.refunded, m.deferred))


def test_an_account_outside_the_keys_accounts_is_unknown_exactly_as_an_unknown_one(app):
    with pytest.raises(overview.UnknownAccount) as other:
        overview.account_overview(app, "globex", accounts=["acme"])
    with pytest.raises(overview.UnknownAccount) as unknown:
        overview.account_overview(app, "no-such-account")
    assert str(other.value).replace("globex", "X") == str(unknown.value).replace("no-such-account", "X")
    assert overview.account_overview(app, "acme", accounts=["acme"]).account == "acme"
