"""Kingsoft Cloud's refund policy (``kingsoft-2021-05-27``, rules-kingsoft.md: K-*), as a plug-in.

- ``events``: the facts of a Kingsoft instance (orders, billing mode, bindings);
- ``commands``: the feed commands that record them, and the console application (``domain.applications``);
- ``orders``: orders and their validity (K-T3, K-T4);
- ``parameters``: the settings a what-if replay may override (K-M1, K-Q1, K-L2);
- ``amount``: the refund amount (K-M*, K-A*, K-U1, K-D1, K-R1, K-P1);
- ``view``: an instance and its account's applications, replayed at a business time as known at another;
- ``rules``: the modes and every rule that denies them (K-F*, K-S*, K-Q*, K-E1, K-L3, K-P1);
- ``policy``: the policy object (`domain.policy.Policy`) that puts them together.

Kingsoft is the registry's fallback: it judges every product no other policy claims (its rules treat an
unknown product as "in no self-service list").

This module is light (`domain.policy.Lazy`): ``policy`` and the rest are imported on the policy's first use.
"""

from __future__ import annotations

from domain.policy import About, Lazy

NAME = "kingsoft-2021-05-27"
MODES = ("five_day", "self_service", "exception")
_MOVED = ("Purchased", "Renewed", "Upgraded", "Downgraded", "BillingModeChanged", "EipBound", "EipUnbound",
          "DiskMounted", "DiskUnmounted", "KdrdsAssociated", "KdrdsDeleted")

ABOUT = About(NAME, products=None, modes=MODES, feed="domain.policies.kingsoft.feed",
              asks=("mode", "exception_report", "reason"),  # a console application (K-S4; K-E1's report)
              # its events were nested in Instance
              former_topics={f"domain.instance:Instance.{c}": f"domain.policies.kingsoft.events:{c}"
                             for c in _MOVED})
POLICY = Lazy("domain.policies.kingsoft.policy", ABOUT)
