"""Flat Widgets' refund policy (``flat-2026``): a third policy, written by following docs/policies.md.

It lives only in this folder and is registered by one line (`domain.policies.registry.register`, from its
test). The rules it states (there is no spec for it; these are its own):

- FLAT-0: a widget is bought with the feed command ``buy_widget`` (an order, a price, a term of ``days``);
- FLAT-1: a refund is ``share`` (a Parameter, 50% by default) of the price, rounded half-up, requested under
  the mode ``flat`` (or ``auto``) within the widget's term; accepted at once, payable;
- FLAT-2: staff settle an accepted refund within ``settle_days`` (2) working days of its request;
- FLAT-3: a completed refund is paid back to the original payment;
- FLAT-4: an accepted refund releases the widget (it is returned): what it still had deferred is revenue.

- ``events``: the `Widget` aggregate and its opening fact;
- ``feed``: the edge's model of ``buy_widget`` (the shared refund lifecycle needs none of its own);
- ``policy``: the policy object.
"""

from __future__ import annotations

from domain.policy import About, Lazy

NAME = "flat-2026"
PRODUCT = "Widget"

ABOUT = About(NAME, products=frozenset({PRODUCT}), modes=("flat",), feed="tests.policies.flat.feed")
POLICY = Lazy("tests.policies.flat.policy", ABOUT)
