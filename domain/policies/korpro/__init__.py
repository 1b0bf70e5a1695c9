"""KorPro's refund policy (``korpro-2025-12-20``, rules-korpro.md: P-*), as a plug-in.

- ``parameters``: the spec's Parameter lines, overridden by a posted version (P-V1) or a what-if;
- ``events``: the facts of a subscription (its charges, reported savings and outages, billing errors, its end);
- ``subscription``: the `Subscription` aggregate with its refund lifecycle events, and the policy book (P-V1);
- ``amount``: the pricing formulas (P-M1, P-M2, P-O1);
- ``commands``: the feed commands and the refund lifecycle (P-R1, P-R2, P-R3, P-D1, P-B1);
- ``view``: the subscription replayed at a business time as known at another;
- ``rules``: one judge per refund reason (P-G*, P-F*, P-B1, P-O1, P-X*, P-N*);
- ``policy``: the policy object (`domain.policy.Policy`) that puts them together.

This module is light (`domain.policy.Lazy`): ``policy`` and the rest are imported on the policy's first use.
"""

from __future__ import annotations

import uuid

from domain.instance import NAMESPACE
from domain.policy import About, Lazy

NAME = "korpro"
PRODUCT = "KorPro"
_MOVED = ("Subscribed", "Charged", "SavingsReported", "OutageReported", "BillingErrorReported", "Cancelled",
          "TerminatedForViolation")  # its facts, nested in Subscription until they moved to ``events``
REASONS = ("money_back", "savings_shortfall", "early_termination", "trial", "billing_error", "duplicate_payment",
           "outage", "not_as_described", "technical_incompatibility", "change_of_mind", "user_error", "third_party")


def policy_book_id() -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"policy:{NAME}")


ABOUT = About(NAME, products=frozenset({PRODUCT}),
              modes=REASONS,  # a request names its reason
              asks=("reason", "invoice", "email", "explanation"),  # P-R1
              prefetch=(policy_book_id(),), feed="domain.policies.korpro.feed",
              # its module until the policies moved into folders; its facts, nested in Subscription (in either
              # module) until they moved to ``events`` (issue 26)
              former_topics={"domain.korpro": "domain.policies.korpro.subscription",
                             **{f"{module}:Subscription.{c}": f"domain.policies.korpro.events:{c}"
                                for module in ("domain.korpro", "domain.policies.korpro.subscription")
                                for c in _MOVED}})
POLICY = Lazy("domain.policies.korpro.policy", ABOUT)
