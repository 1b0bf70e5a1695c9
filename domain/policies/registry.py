"""The policy registry: which policy judges an instance, owns a feed command, or set a deadline.

One line per policy in `POLICIES`. The first policy that claims an instance's product judges it; the last one
claims every product (``products`` None). Everything else reaches a policy through `domain.policy.Policy`.

A policy is loaded when first used, not when registered: each line is the ``POLICY`` of a policy's package,
a `domain.policy.Lazy` that holds only its `domain.policy.About` (name, products, modes, read-ahead ids, former
topics) and imports the policy's module (aggregate, events, commands, rules) on first use of anything else. So
choosing a policy (`for_product`, `for_events`, `named`) loads none, a quote loads only the policy that judges
it, and what reads every policy (`command`, `aggregates`, `posted_version`, `own` and `check` with overrides)
loads every policy. A third policy: its folder, with a light ``__init__`` whose ``POLICY`` is a `Lazy`
naming its ``policy`` module, whose ``POLICY`` is an instance of a `domain.policy.PolicyBase` subclass (the
optional parts' defaults), and one line here (docs/policies.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from functools import cache
from typing import Any

from domain.errors import LedgerError, UnknownInstance
from domain.instance import Instance, opening
from domain.policies import kingsoft, korpro
from domain.policy import Context, Handler, Load, Marks, Policy
from domain.quote import Quote

POLICIES: list[Policy] = [
    korpro.POLICY,
    kingsoft.POLICY,  # the fallback: every product no policy above claims
]


def for_product(product: str) -> Policy:
    for policy in POLICIES:
        if policy.products is None or product in policy.products:
            return policy
    raise AssertionError("the registry ends with a fallback policy")


def for_events(name: str, events: Iterable[Any]) -> Policy:
    """The policy of an instance, from its opening fact."""
    head = opening(events)
    if head is None:
        raise UnknownInstance(f"{name!r} has no purchase or subscription", "instance")
    return for_product(head.product)


def named(policy: str) -> Policy:
    """The policy whose quotes say ``policy`` (its name, or its name and a version)."""
    for p in POLICIES:
        if policy == p.name or policy.startswith(p.name + "-"):
            return p
    raise LookupError(f"no registered policy judges quotes of {policy!r}")


def calendar_tz(policy: Policy) -> str | None:
    """``policy``'s business time zone: its ``calendar_tz`` parameter (±HH:MM), the offset its calendar months
    and working days are counted in and its times are shown in; None for a policy without one (its times are
    then read in UTC, written ``Z``: `domain.timeutil.readable`)."""
    zone = getattr(policy.parameters(), "calendar_tz", None)  # optional, as ``marks``
    return zone if isinstance(zone, str) else None


def command(kind: str) -> Handler | None:
    """The handler of a feed command that a policy owns."""
    return next((p.commands[kind] for p in POLICIES if kind in p.commands), None)


def aggregates() -> list[type[Instance]]:
    """Every instance aggregate class a policy reconstructs its streams into."""
    return list(dict.fromkeys(p.aggregate for p in POLICIES))


def posted_version(load: Load, version: str) -> dict[str, Any] | None:
    """The parameters of a posted ``version`` of a policy that keeps versions (P-V1), or None."""
    for p in POLICIES:
        found = p.posted_version(load, version)  # None but for a policy that keeps versions
        if found is not None:
            return found
    return None


def marks(policy: Policy, head: Any, facts: list[Any]) -> Marks:
    """What ``policy`` draws on an instance's timeline (its windows, the overlaps it forbids, its release rule)."""
    return policy.marks(head, facts)


@cache
def _names(parameters: type) -> frozenset[str]:
    """A parameters dataclass's field names (fixed with the class: computed once, not per quote)."""
    return frozenset(f.name for f in fields(parameters))


def own(overrides: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The overrides ``policy``'s parameters know; a name that no registered policy knows is bad input."""
    if not overrides:  # the common case (every ledger-wide job, most quotes): nothing to sort out
        return {}
    every = {name for p in POLICIES for name in _names(p.parameters)}
    unknown = sorted(set(overrides) - every)
    if unknown:
        raise LedgerError(f"unknown policy parameter(s) {unknown}; known: {sorted(every)}", "--set")
    mine = _names(policy.parameters)
    return {k: v for k, v in overrides.items() if k in mine}


def check(overrides: dict[str, Any]) -> None:
    """Bad overrides are bad input now, whichever policy they belong to."""
    for p in POLICIES:
        p.parameters().override(own(overrides, p))


def modes(policy: Policy) -> tuple[str, ...]:
    """What a request judged by ``policy`` may ask to be judged as: ``auto``, or one of the policy's modes."""
    return ("auto", *policy.modes)


def check_mode(policy: Policy, mode: str) -> str:
    """``mode`` if ``policy`` knows it; else bad input naming ``mode`` and listing the policy's modes."""
    if mode != "auto" and mode not in policy.modes:  # on every quote of a ledger-wide job: no tuple made
        raise LedgerError(f"{mode!r} is not a mode of {policy.name}, which judges this instance; its modes: "
                          f"{', '.join(modes(policy))}", "mode")
    return mode


def assess(ctx: Context) -> Quote:
    """Judge a request by the policy of its (primary) instance, with the overrides that policy knows; a mode the
    policy does not know is bad input (``mode``)."""
    name, events = ctx.instances[0]
    policy = for_events(name, events)
    check_mode(policy, ctx.mode)
    overrides = own(ctx.overrides, policy)
    return policy.assess(ctx if overrides == ctx.overrides else replace(ctx, overrides=overrides))


def register(policy: Policy) -> Callable[[], None]:
    """The hook for a policy outside this package (a plug-in's, or a test's): add ``policy`` to `POLICIES`
    ahead of the fallback, as its own line would be; returns what removes it again (docs/policies.md)."""
    if any(p.name == policy.name for p in POLICIES):
        raise ValueError(f"a policy named {policy.name!r} is already registered")
    POLICIES.insert(len(POLICIES) - 1, policy)

    def unregister() -> None:
        POLICIES.remove(policy)

    return unregister
