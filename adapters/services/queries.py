"""Read-only use cases: a quote, an instance's history and timeline, how a quote changed, overdue refunds,
and the hash chain's verification. Each takes the App and plain values, returns plain data, writes nothing.

An omitted ``known_at`` is the App's clock now (what the ledger knows today).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from adapters.bootstrap import App
from adapters.formats import envelope
from adapters.formats.errors import BadInput
from adapters.services import reads
from domain.errors import LedgerError
from domain.instance import Instance, known, opening, retractions
from domain.money import Payment
from domain.policies import registry
from domain.quote import Quote
from domain.stream import actor_of
from projections.deadlines import Overdue

if TYPE_CHECKING:
    from adapters.services.anchors import Audit
    from projections.timeline import InstanceTimeline as Timeline


def quote_modes(policy: str | None = None) -> tuple[str, ...]:
    """What ``mode`` may be: ``auto``, or a mode (or refund reason) of a registered policy; given a policy's name
    (a timeline's ``policy``), only that policy's."""
    if policy is not None:
        return registry.modes(registry.named(policy))
    return ("auto", *dict.fromkeys(m for p in reversed(registry.POLICIES) for m in p.modes))  # fallback first


def instance_policy(app: App, instance: str) -> str | None:
    """The name of the policy that judges ``instance`` (None while it has no opening fact)."""
    head = opening(reads.events_of(app.ledger, instance))
    return registry.for_product(head.product).name if head is not None else None


def check_overrides(overrides: dict[str, str]) -> dict[str, str]:
    """``set`` overrides (NAME=VALUE), each within the envelope for its parameter's type and parsed by every
    policy that knows the name: a bad name or value is bad input naming ``set`` (and the policy parameter)."""
    for name, value in overrides.items():
        try:
            for p in registry.POLICIES:
                envelope.parameter(p.parameters, name, value)
            registry.check({name: value})
        except envelope.Refused as e:
            raise BadInput(None, f"{name}={value}: {e.message}", param="set") from None
        except LedgerError as e:
            raise BadInput(None, f"{name}={value}: {e.message}", param="set") from None
    return overrides


def check_mode(mode: str, policy: str | None = None) -> str:
    """A quote's ``mode``: ``auto``, or a mode (or refund reason) of a registered policy; given the name of the
    instance's policy, one of that policy's (`domain.policies.registry.check_mode`, which every quote applies)."""
    if policy is not None:
        try:
            return registry.check_mode(registry.named(policy), mode)
        except LedgerError as e:
            raise BadInput(None, e.message, param="mode") from None
    modes = quote_modes()
    if mode not in modes:
        raise BadInput(None, f"{mode!r} is not one of {', '.join(modes)}", param="mode")
    return mode


PARAMS = {"with": "with", "invoice": "invoice", "reason": "mode", "mode": "mode"}  # a request's field: its parameter


@contextmanager
def naming_params() -> Iterator[None]:
    """A refusal that concerns a request's field given by a parameter of the call names the parameter (``with``,
    ``mode`` for a reason: what the caller gave)."""
    try:
        yield
    except LedgerError as e:
        if e.field in PARAMS:
            raise BadInput(None, e.message, param=PARAMS[e.field]) from None
        raise


def quote(app: App, instance: str, at: datetime, known_at: datetime | None = None, mode: str = "auto",
          with_: Sequence[str] = (), overrides: dict[str, str] | None = None, *, exception_report: str | None = None,
          reason: str | None = None, invoice: str | None = None) -> Quote:
    """What a refund of ``instance`` (and ``with_``) requested at ``at`` would pay, as known at ``known_at``."""
    known_at = known_at or app.now()
    check_mode(mode)
    with naming_params():
        return reads.assess(app.ledger, instance, at, known_at, mode, list(with_),
                            exception_report=exception_report, reason=reason, invoice=invoice,
                            overrides=dict(overrides or {}))


# ----- history -----

@dataclass(frozen=True)
class History:
    instance: str
    known_at: datetime
    facts: list[dict[str, Any]]  # one row per fact, recorded order (see `history_rows`)
    policy: str | None = None  # the instance's policy (its business time zone is how people read the times)
    currency: str | None = None  # the instance's currency (what its money fields are in)
    # per fact (as ``facts``), its details as recorded: Decimal, Payment, bool, datetime..., for a reader that
    # labels them for people (the console); not in the JSON, whose ``details`` are these as JSON data
    values: list[dict[str, Any]] = field(default_factory=list)
    times: tuple[frozenset[str], ...] = ()  # per fact, the names of its details that are times (not in JSON)
    zone: str | None = None  # that business time zone (±HH:MM); None: none applies (times read in UTC)
    unverified_from: int | None = None  # the first version its seals do not vouch for (`mark_unverified`)

    def as_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "known_at": self.known_at.isoformat(),
                "unverified_from": self.unverified_from, "facts": self.facts}


def _plain(value: Any) -> Any:
    """A fact's field as JSON data: times ISO 8601, money strings, payments per tender."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Payment):
        return value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


HIDDEN = {"originator_id", "originator_version", "timestamp", "at", "line"}


def details(fact: Any) -> dict[str, Any]:
    """A fact's own fields (not its ids, versions or times), as recorded, each by its feed name: a field stored
    under a Python-safe name (a refund request's ``with_``) is shown as the feed writes it (``with``; issue 25,
    item 15; docs/cli.md)."""
    return {x.name.removesuffix("_"): getattr(fact, x.name) for x in fields(fact) if x.name not in HIDDEN}


def fact_row(f: Any, own: dict[str, Any] | None = None) -> dict[str, Any]:
    """One fact as ``history --json`` shows it (and the change feed, `adapters.services.changes`): its version,
    both times, its type, line id, actor and details (``own``: `details` of ``f``, when already made)."""
    own = details(f) if own is None else own
    row = {"version": f.originator_version, "recorded_at": f.timestamp.isoformat(), "at": f.at.isoformat(),
           "fact": type(f).__name__, "id": f.line, "actor": actor_of(f),
           "details": {k: _plain(v) for k, v in own.items()}}
    # the stored name too, so a reader of the JSON before issue 25 still finds it (interface.md: fields may
    # be added, never renamed); only the JSON carries it
    row["details"].update({x.name: row["details"][x.name[:-1]] for x in fields(f)
                           if x.name.endswith("_") and x.name not in HIDDEN})
    return row


def history_rows(events: Sequence[Any], known_at: datetime) -> list[dict[str, Any]]:
    """Every fact recorded by ``known_at``, with both times, its line id, its details, and its retraction."""
    return [row for row, _ in _history(events, known_at)]


def _history(events: Sequence[Any], known_at: datetime) -> list[tuple[dict[str, Any], frozenset[str]]]:
    """`history_rows`, each with the names of its details that are times (people read them in a zone)."""
    facts = known(events, known_at)
    void = retractions(facts)
    rows = []
    for f in facts:
        own = details(f)
        row = fact_row(f, own)
        r = void.get(f.line) if f.line else None
        if r is not None:
            row["retracted"] = {"by": r.line, "version": r.originator_version,
                                "recorded_at": r.timestamp.isoformat(), "reason": r.reason}
        rows.append((row, frozenset(k for k, v in own.items() if isinstance(v, datetime))))
    return rows


def history(app: App, instance: str, known_at: datetime | None = None) -> History:
    """Every fact about ``instance`` as known at ``known_at``, retractions linked to what they void."""
    known_at = known_at or app.now()
    (_, events), = reads.iter_events(app.ledger, [instance])
    facts = known(events, known_at)
    head = opening(f for f in facts if not isinstance(f, Instance.Retracted))
    policy = registry.for_product(head.product) if head is not None else None
    from adapters.store.integrity import unverified_from  # the instance's rows against their seals

    rows = _history(events, known_at)
    first = unverified_from(app.ledger, events[0].originator_id) if events else None
    mark_unverified([row for row, _ in rows], first)
    return History(instance, known_at, [row for row, _ in rows], policy=policy.name if policy else None,
                   currency=head.currency if head is not None else None, values=[details(f) for f in facts],
                   times=tuple(times for _, times in rows),
                   zone=registry.calendar_tz(policy) if policy else None, unverified_from=first or None)


def mark_unverified(rows: list[dict[str, Any]], first: int | None) -> None:
    """``verified`` on each row: false from the first version the instance's seals do not vouch for on (a row
    edited, deleted or inserted behind the ledger's back: `adapters.store.integrity.unverified_from`), since
    nothing after a broken row is proven; None (not checked) on a store without that check (``first`` 0)."""
    for row in rows:
        row["verified"] = None if first == 0 else first is None or row["version"] < first


# ----- timeline -----


def timeline(app: App, instance: str, at: datetime | None = None, known_at: datetime | None = None) -> Timeline:
    """The instance's orders, retracted facts, refund requests, release and its policy's windows and forbidden
    overlaps on a time axis, at ``at`` (default: ``known_at``) as known at ``known_at``."""
    from projections.timeline import timeline as fold_timeline

    known_at = known_at or app.now()
    at = at or known_at
    (_, events), = reads.iter_events(app.ledger, [instance])
    return fold_timeline(instance, list(events), at, known_at)


def timeline_html(app: App, instance: str, at: datetime | None = None, known_at: datetime | None = None) -> str:
    """The timeline as a self-contained HTML page (inline SVG)."""
    from adapters.formats.timeline_html import render as render_timeline

    return render_timeline(timeline(app, instance, at, known_at))


# ----- audit and deadlines -----

def diff(app: App, instance: str, at: datetime, known_at: datetime, vs: datetime, mode: str = "auto",
         with_: Sequence[str] = ()) -> dict[str, Any]:
    """How the quote for ``at`` changed between ``known_at`` and ``vs``, and the recorded events that caused it."""
    check_mode(mode)
    with naming_params():
        return reads.diff(app.ledger, instance, at, known_at, vs, mode, list(with_))


def overdue(app: App, at: datetime, overrides: dict[str, str] | None = None, holidays: Sequence[date] = (),
            known_at: datetime | None = None) -> list[Overdue]:
    """Refunds past a deadline at business time ``at`` (K-L2; P-R2, P-R3, P-D1), as known at ``known_at``."""
    known_at = known_at or app.now()
    return reads.overdue(app.ledger, at, known_at, dict(overrides or {}), tuple(holidays))


def verify(app: App, expect_heads: Sequence[str] = (), checkpoints: str | None = None,
           public_key: str | None = None) -> Audit:
    """Re-walk the hash-chained log: the first row edited, deleted, inserted or reordered, and bad seals.

    ``expect_heads``: heads published earlier (``verify --json``). Each must be the head of some seal; a head
    is a running hash over every earlier digest, so finding it (its rows intact) proves the prefix it covers
    is intact and in place, and not finding it means the ledger was truncated before it, or rewritten and
    re-sealed. ``checkpoints``: a signed checkpoint file; every line's signature is checked (against
    ``public_key``, a key file, if given, else the key the line names) and the ledger must still extend it
    (its head found at its position and seal). See `adapters.services.anchors`."""
    from adapters.services import anchors  # the chain and checkpoints: only for verify

    return anchors.audit(app, list(expect_heads), checkpoints, public_key)
