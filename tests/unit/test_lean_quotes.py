"""A ledger-wide job's lean quote (``Context.explain=False``: no reasons, no formulas) is the explained quote's
figures: the same mode, outcome and eligibility, the same amount and the same lines to the cent, on random
ledgers (bench.generate: every product, both policies, renewals, upgrades, downgrades, promotions, refunds)."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.store.ledger import Ledger
from adapters.store.scan import stream_instances
from bench.generate import generate
from domain.instance import opening
from domain.policies import registry
from domain.policy import Context
from domain.quote import Quote
from tests.feedkit import FAR, T0, memory_ledger, record


@cache
def generated(size: int, seed: int) -> tuple[Ledger, list[tuple[str, list]]]:
    ledger = memory_ledger()
    record(ledger, *(json.loads(json.dumps(x)) for x in generate(size, seed)))
    return ledger, list(stream_instances(ledger))


def figures(q: Quote) -> tuple:
    lines = q.as_json()["lines"]
    return (q.instance, q.at, q.known_at, q.policy, q.currency, q.mode, q.eligible, q.outcome, q.amount, q.ceiling,
            [ln._replace(formula="") for ln in q.lines], [{k: v for k, v in ln.items() if k != "formula"}
                                                          for ln in lines])


def judged(ledger: Ledger, name: str, events: list, explain: bool, **kw) -> tuple:
    ctx = Context(instances=[(name, events)], load=ledger.streams.get, known_at=FAR, explain=explain, **kw)
    try:
        return ("quote", figures(registry.assess(ctx)))
    except Exception as e:  # noqa: BLE001 - both ways must fail alike
        return ("error", type(e).__name__, str(e))


@settings(max_examples=30, deadline=None)
@given(size=st.integers(8, 40), seed=st.integers(0, 6), hours=st.integers(0, 500 * 24),
       mode=st.sampled_from(["auto", "five_day", "self_service", "exception"]),
       reason=st.sampled_from([None, "money_back", "product_retirement", "outage", "billing_error"]),
       report=st.sampled_from([None, "ER-7"]))
def test_a_lean_quote_has_the_explained_quotes_figures(size, seed, hours, mode, reason, report):
    ledger, streams = generated(size, seed)
    at = T0 + timedelta(hours=hours)
    for name, events in streams:
        kw = {"at": at, "mode": mode, "reason": reason, "exception_report": report}
        full, lean = judged(ledger, name, events, True, **kw), judged(ledger, name, events, False, **kw)
        assert lean == full, name
    assert streams


def test_the_lean_quote_leaves_the_explanations_out():
    """Quoted two days after each purchase (five-day refunds and denials among them)."""
    ledger, streams = generated(40, 1)
    quotes = []
    for name, events in streams:
        at = opening(events).at + timedelta(days=2)
        ctx = Context(instances=[(name, events)], load=ledger.streams.get, at=at, known_at=FAR, explain=False)
        try:
            quotes.append(registry.assess(ctx))
        except Exception:  # noqa: BLE001, S112 - no purchase by then
            continue
    kingsoft = [q for q in quotes if q.policy.startswith("kingsoft")]
    assert any(q.eligible for q in kingsoft) and any(not q.eligible for q in kingsoft)
    assert all(not q.reasons and all(ln.formula == "" for ln in q.lines) for q in kingsoft)
