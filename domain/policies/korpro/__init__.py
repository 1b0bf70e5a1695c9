"""KorPro's refund policy (``korpro-2025-12-20``, rules-korpro.md: P-*), as a plug-in.

- ``parameters``: the spec's Parameter lines, overridden by a posted version (P-V1) or a what-if;
- ``subscription``: the `Subscription` aggregate and its events, and the policy book (P-V1);
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
REASONS = ("money_back", "savings_shortfall", "early_termination", "trial", "billing_error", "duplicate_payment",
           "outage", "not_as_described", "technical_incompatibility", "change_of_mind", "user_error", "third_party")


def policy_book_id() -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"policy:{NAME}")


ABOUT = About(NAME, products=frozenset({PRODUCT}),
              modes=REASONS,  # a request names its reason
              asks=("reason", "invoice", "email", "explanation"),  # P-R1
              prefetch=(policy_book_id(),), feed="domain.policies.korpro.feed",
              # its module until the policies moved into folders
              former_topics={"domain.korpro": "domain.policies.korpro.subscription"})
POLICY = Lazy("domain.policies.korpro.policy", ABOUT)
