"""What a refund policy is, for this ledger.

A policy has a name, a base version, parameters (a frozen dataclass whose fields are the spec's
**Parameter** lines, overridable per call: what-if replays use this), and pure functions that judge a
request against an instance's replayed history. Each policy lives in its own modules
(``domain/kingsoft.py`` + ``projections/eligibility.py``; ``domain/korpro.py`` + ``projections/korpro.py``)
and is registered in ``projections/policies.py`` with the products it covers: adding a third policy adds
its own modules and one registry entry, and touches neither of the others.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    base_version: str
    products: frozenset[str] | None  # None: every product no other policy claims
