"""What a refund policy is, for this ledger: a plug-in.

A policy lives in one folder, ``domain/policies/<name>/``, and is one line of ``domain/policies/registry.py``.
The folder holds its parameters (the spec's **Parameter** lines), its events, its amount and eligibility
rules, its deadlines and the feed commands it owns; its ``__init__`` exposes one object that satisfies
`Policy`. Nothing outside the folder names its rules, parameters or products: the ledger reaches them only
through this protocol, so a third policy adds a folder and a registry line and touches nothing else.

A policy's ``__init__`` is light: its ``POLICY`` is a `Lazy`, which holds what choosing a policy needs (its
`About`: name, products, modes, read-ahead ids and former topics, stated there once) and imports the policy's
module (its aggregate and events, commands and rules) on the first use of anything else. A command thus loads
only the policies it uses: a Kingsoft quote never imports KorPro's subscription or rules; what needs every
policy (recording a feed, the ledger-wide jobs, ``--set`` validation) touches every policy and so loads them all.

Everything here is pure: a policy judges and records through a `Session` (the unit of work's face), reads
other streams through a `Context`'s ``load``, and is given every time it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from domain.lifecycle import Refund
from domain.quote import Quote

if TYPE_CHECKING:  # for annotations only: a policy's ``__init__`` stays light (`Lazy`)
    from domain.instance import Instance

Load = Callable[[Any], Sequence[Any]]  # the events of another aggregate (an account, a policy book), as far as known


@dataclass(frozen=True)
class Context:
    """Everything a policy may read to judge one request, as known at ``known_at``."""

    instances: list[tuple[str, Sequence[Any]]]  # primary first, then the instances refunded with it
    load: Load
    at: datetime
    known_at: datetime
    mode: str = "auto"  # how the request asks to be judged (each policy says which modes it knows)
    exception_report: str | None = None
    reason: str | None = None
    invoice: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # this policy's parameter overrides, as given
    # False: a ledger-wide job's lean quote (what-if, the replay benchmark): the same mode, outcome, amount and
    # lines, without what explains them (no reasons, the lines' formulas empty) where the policy can leave it out
    explain: bool = True


@dataclass(frozen=True)
class Paid:
    """One order (or invoice) of an instance, as the finance rows see it: what was paid, over which period."""

    order: str
    kind: str
    placed_at: datetime
    start: datetime
    end: datetime
    paid: Decimal | Fraction  # the actual (refundable) payment
    cash: Decimal | Fraction  # what a payment provider moved
    credit: Decimal = Decimal("0")  # returned at once (a downgrade's credit)
    unrefunded: tuple[tuple[str, Decimal], ...] = ()  # tenders that are never refunded (K-M1), by name


@dataclass(frozen=True)
class Deadline:
    """When a refund's open stage is due: ``days`` working days on the policy's calendar."""

    rule: str
    days: int
    calendar_tz: str
    holidays: tuple[date, ...]
    policy: str  # the policy (and version) whose parameters set it
    severity: str = "overdue"  # or "flag": past it is noted, not failed


@dataclass(frozen=True)
class Window:
    """A period a rule opens on an instance (K-F2: the five-day window), drawn on its timeline."""

    rule: str
    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class RuleOverlap:
    """Two orders whose validity periods overlap in a way a rule forbids (K-S3), and over which period."""

    rule: str
    orders: tuple[str, str]
    start: datetime
    end: datetime
    message: str


@dataclass(frozen=True)
class Marks:
    """What a policy adds to an instance's timeline: its windows, the overlaps its rules forbid, and the rule
    by which an accepted refund releases the instance (K-L3), if it has one (`PolicyBase.marks`: none)."""

    windows: tuple[Window, ...] = ()
    overlaps: tuple[RuleOverlap, ...] = ()
    overlap_rules: tuple[str, ...] = ()  # the rules whose overlaps it flags (a timeline column each)
    release_rule: str | None = None


@dataclass(frozen=True)
class QuotaPeriod:
    """The period an accepted application counts against its account's quota in (K-Q1: a calendar month in the
    policy's time zone), and how many count in one."""

    rule: str
    period: str  # e.g. ``YYYY-MM``
    zone: str  # the time zone the period is read in, ±HH:MM
    limit: int


@dataclass(frozen=True)
class Postings:
    """How the double-entry journal books a policy's payments and refunds (docs/journal.md, docs/policies.md):
    the rules an order's payment is booked under, the rule under which an accepted refund becomes payable, the
    rule of each mode (or reason) it was judged under, the rule under which an accepted refund releases its
    instance (if the policy has one), and where a completed refund goes, under which rule: ``"balance"``
    (credited to the customer's account balance) or ``"payout"`` (paid back to the original payment)."""

    accepted: str
    completed: str
    settles_to: str  # "balance" or "payout"
    modes: Mapping[str, str] = field(default_factory=dict)  # mode or reason -> the rule it books
    released: str | None = None
    paid: tuple[str, ...] = ()  # the rules under which an order's (or charge's) payment is deferred revenue

    def __post_init__(self) -> None:
        if self.settles_to not in ("balance", "payout"):
            raise ValueError(f"settles_to is 'balance' or 'payout', not {self.settles_to!r}")


class Session(Protocol):
    """The unit of work as a policy sees it: aggregates loaded or created while one feed is applied."""

    denied: int

    def instance(self, name: str) -> Any: ...
    def require(self, name: str, field_name: str = "instance") -> Any: ...
    def open(self, name: str, at: datetime, timestamp: datetime, kind: type) -> Any: ...
    def account(self, name: str, timestamp: datetime) -> Any: ...
    def key(self, kind: str, value: str) -> Any: ...
    def claim(self, kind: str, value: str, owner: str, digest: str, timestamp: datetime) -> None: ...
    def get(self, aggregate_id: UUID, create: Callable[[], Any] | None = None) -> Any: ...
    def facts(self, aggregate_id: UUID) -> list[Any]: ...


Handler = Callable[[Session, Any, datetime], str]  # a feed command -> the instance (stream) it is recorded on
RefundHandler = Callable[[Session, Any, Any, datetime], None]  # (session, owning instance, command, recorded at)


class Parameters(Protocol):
    """A policy's Parameter lines: a frozen dataclass; ``override`` parses values given as text or JSON."""

    def override(self, values: Mapping[str, Any]) -> Parameters: ...


@dataclass(frozen=True)
class About:
    """What choosing a policy needs, stated once (its package's ``__init__``): read without importing the rest
    of its folder (`Lazy`), and by the full policy object (`PolicyBase`).

    ``former_topics`` maps a topic its events were written under before a move to where they are now, as topics
    (``"old.module"`` -> ``"new.module"``, or ``"old.module:Class"`` -> ``"new.module:Class"``): see
    `domain.topics`, which registers them without importing the policy."""

    name: str  # the ``policy`` of its quotes (a versioned policy's quotes say ``name-version``)
    products: frozenset[str] | None  # the products it judges; None: those no other policy claims (one fallback)
    modes: tuple[str, ...]  # what a request may ask to be judged as (a quote's ``mode``), besides ``auto``
    prefetch: tuple[UUID, ...] = ()  # aggregates every feed may need (read ahead in the same query)
    former_topics: Mapping[str, str] = field(default_factory=dict)
    feed: str | None = None  # the module of its feed commands' models (its ``MODELS``: type -> pydantic model)
    # the fields of a ``request_refund`` line (docs/feed.md) a request of it takes, the first the one that names
    # its choice among ``modes`` (``mode``, or a reviewed request's ``reason``): what a form asks (the console)
    asks: tuple[str, ...] = ("mode",)

    def feed_models(self) -> Mapping[str, type]:
        """The models of the feed commands it declares (its ``feed`` module is imported by the first call)."""
        return importlib.import_module(self.feed).MODELS if self.feed else {}


class Policy(Protocol):
    """A refund policy, as the ledger reaches it (the registry's entries are typed as one, so mypy checks each).
    Its data are read-only here: a `PolicyBase` subclass sets them as plain (class or instance) attributes."""

    @property
    def name(self) -> str:
        """The ``policy`` of its quotes (a versioned policy's quotes say ``name-version``)."""

    @property
    def products(self) -> frozenset[str] | None:
        """The products it judges; None: those no other policy claims (one fallback)."""

    @property
    def aggregate(self) -> type[Instance]:
        """The instance aggregate its streams are reconstructed into (opened by its ``Opened`` event)."""

    @property
    def parameters(self) -> type:
        """Its `Parameters` class (a dataclass); ``parameters()`` are the defaults."""

    @property
    def modes(self) -> tuple[str, ...]:
        """What a request may ask to be judged as (a quote's ``mode``), besides ``auto``."""

    @property
    def asks(self) -> tuple[str, ...]:
        """The ``request_refund`` fields a request of it takes, the first naming its choice of mode (`About`)."""

    @property
    def commands(self) -> Mapping[str, Handler]:
        """The feed commands it owns."""

    @property
    def refund_commands(self) -> Mapping[str, RefundHandler]:
        """request_refund and the steps of its lifecycle."""

    @property
    def prefetch(self) -> tuple[UUID, ...]:
        """Aggregates every feed may need (read ahead in the same query)."""

    @property
    def former_topics(self) -> Mapping[str, str]:
        """Topics its events were written under before a move (`About`)."""

    @property
    def postings(self) -> Postings:
        """How the journal books its refunds."""

    def assess(self, ctx: Context) -> Quote:
        """Judge a refund request: eligible with its lines, or denied with every reason (pure)."""

    def deadline(self, refund: Refund, load: Load, known_at: datetime, overrides: dict[str, Any]) -> Deadline:
        """When ``refund``'s open stage (``refund.stage``) is due."""

    def orders(self, head: Any, facts: Iterable[Any]) -> list[Paid]:
        """The instance's orders (or invoices) from its live facts, for the finance rows."""

    def feed_models(self) -> Mapping[str, type]:
        """The edge's models of the feed commands it declares, by type (`About.feed`)."""

    def marks(self, head: Any, facts: Iterable[Any]) -> Marks:
        """What it draws on an instance's timeline (`PolicyBase`: nothing)."""

    def posted_version(self, load: Load, version: str) -> dict[str, Any] | None:
        """The parameters of a posted ``version`` (P-V1), for a policy that keeps versions (`PolicyBase`: None)."""

    def quota_period(self, at: datetime) -> QuotaPeriod | None:
        """The quota period an application accepted at ``at`` counts in, for a policy that limits applications
        per account (K-Q1; `PolicyBase`: None)."""


class PolicyBase:
    """The defaults of `Policy`'s optional parts, for a policy class to inherit: its `About` (given to
    ``__init__``) as attributes, no feed or refund commands, no read-ahead, no timeline marks, no versions, no
    quota."""

    commands: Mapping[str, Handler] = {}
    refund_commands: Mapping[str, RefundHandler] = {}

    def __init__(self, about: About) -> None:
        self.about = about
        self.name, self.products, self.modes, self.asks = about.name, about.products, about.modes, about.asks
        self.prefetch, self.former_topics = about.prefetch, about.former_topics

    def feed_models(self) -> Mapping[str, type]:
        return self.about.feed_models()

    def marks(self, head: Any, facts: Iterable[Any]) -> Marks:
        return Marks()

    def posted_version(self, load: Load, version: str) -> dict[str, Any] | None:
        return None

    def quota_period(self, at: datetime) -> QuotaPeriod | None:
        return None


class Lazy:
    """A policy as its folder's ``__init__`` exposes it: its `About` now, everything else from ``module``'s
    ``POLICY`` (the full policy object, built from the same `About`), imported on the first use of any other
    part of `Policy`."""

    def __init__(self, module: str, about: About) -> None:
        self.module = module
        self.about = about
        self.name, self.products, self.modes, self.asks = about.name, about.products, about.modes, about.asks
        self.prefetch, self.former_topics = about.prefetch, about.former_topics

    def feed_models(self) -> Mapping[str, type]:
        """Its feed commands' models, without loading the rest of the policy."""
        return self.about.feed_models()

    def load(self) -> Policy:
        """The full policy (its module is imported by the first call, and the policy kept)."""
        policy: Policy | None = self.__dict__.get("_policy")
        if policy is None:
            policy = self.__dict__["_policy"] = importlib.import_module(self.module).POLICY
        return policy

    # The rest of `Policy`, from the full policy: spelt out (not a ``__getattr__``), so mypy checks a `Lazy`
    # against the protocol as it checks the full policy (``POLICY: Policy`` in the policy's module).
    @property
    def aggregate(self) -> type[Instance]:
        return self.load().aggregate

    @property
    def parameters(self) -> type:
        return self.load().parameters

    @property
    def commands(self) -> Mapping[str, Handler]:
        return self.load().commands

    @property
    def refund_commands(self) -> Mapping[str, RefundHandler]:
        return self.load().refund_commands

    @property
    def postings(self) -> Postings:
        return self.load().postings

    def assess(self, ctx: Context) -> Quote:
        return self.load().assess(ctx)

    def deadline(self, refund: Refund, load: Load, known_at: datetime, overrides: dict[str, Any]) -> Deadline:
        return self.load().deadline(refund, load, known_at, overrides)

    def orders(self, head: Any, facts: Iterable[Any]) -> list[Paid]:
        return self.load().orders(head, facts)

    def marks(self, head: Any, facts: Iterable[Any]) -> Marks:
        return self.load().marks(head, facts)

    def posted_version(self, load: Load, version: str) -> dict[str, Any] | None:
        return self.load().posted_version(load, version)

    def quota_period(self, at: datetime) -> QuotaPeriod | None:
        return self.load().quota_period(at)

    def __repr__(self) -> str:
        return f"Lazy({self.module!r}, name={self.name!r})"
