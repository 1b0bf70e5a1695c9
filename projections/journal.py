"""The double-entry journal (docs/journal.md): every money movement of both policies as balanced postings, a
pure projection of the same rows as the read models.

Each posting function books one kind of movement and cites the rules it books; all of them take the rows of
`projections.finance` (`OrderRow`, `RefundRow`) and the per-order flows of `account_flows` (the very figures
`segments.month_tuples` sums into ``rm_account_months``), so the journal's balances equal the read models' sums by
construction: paid = ``Assets:Receipts``, consumed = -``Income:Revenue``, deferred = -``Liabilities:Deferred``,
refunded = -(``Liabilities:RefundsPayable`` + ``Liabilities:CustomerBalance`` + ``Assets:Payouts``).

Amounts are integer cents (debit positive, credit negative); every `Entry` sums to 0 in its one currency.
Days are business days of the reporting calendar, as in the read models (`projections.finance.reporting_zone`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from domain.policies import registry
from domain.policy import Postings
from projections.daytotals import DayTotals
from projections.daytotals import recognition as segment_recognition
from projections.finance import (
    AccountFlows,
    Credit,
    OrderRow,
    RefundRow,
    account_flows,
    business_day,
    flow_inputs,
    refund_zone,
    reporting_zone,
)
from projections.segments import order_segments

# ----- the chart of accounts -----

CASH = "Assets:Receipts:Cash"
CLOUD_TICKET = "Assets:Receipts:CloudTicket"
PAYOUTS = "Assets:Payouts:OriginalPayment"
DEFERRED = "Liabilities:Deferred"
PAYABLE = "Liabilities:RefundsPayable"
BALANCE = "Liabilities:CustomerBalance"
CONSUMED = "Income:Revenue:Consumed"
RELEASED = "Income:Revenue:Released"
UNREFUNDED_INCOME = {"voucher": "Income:NonRefundable:Voucher", "gift_balance": "Income:NonRefundable:GiftBalance"}
UNREFUNDED_EXPENSE = {"voucher": "Expenses:NonRefundable:Voucher",
                      "gift_balance": "Expenses:NonRefundable:GiftBalance"}

CHART: dict[str, str] = {
    CASH: "cash received: the cash tender of an order (K-M1), a charge (P-M1, P-M2)",
    CLOUD_TICKET: "cloud tickets received: the cloud-ticket tender of an order (K-M1, refundable)",
    PAYOUTS: "refunds completed, paid back to the original payment (P-R3)",
    DEFERRED: "actual payment not yet consumed or refunded (the read models' deferred balance)",
    PAYABLE: "refunds accepted or approved, not yet completed (K-L1, K-L2; P-R2, P-R3)",
    BALANCE: "refunds completed, credited to the account balance (K-L2); downgrade credits (K-D1)",
    CONSUMED: "revenue recognised straight-line over each order's validity or charge's billing period",
    RELEASED: "revenue recognised when a refund releases an instance: what was still deferred beyond the refund "
              "(K-L3)",
    UNREFUNDED_INCOME["voucher"]: "the part of an order's price paid with vouchers: revenue at once, never "
                                  "refunded (K-M1)",
    UNREFUNDED_INCOME["gift_balance"]: "the part of an order's price paid with gift balance: revenue at once, "
                                       "never refunded (K-M1)",
    UNREFUNDED_EXPENSE["voucher"]: "vouchers honoured (the promotion's cost; K-M1)",
    UNREFUNDED_EXPENSE["gift_balance"]: "gift balance honoured (the promotion's cost; K-M1)",
}

SETTLED = {"balance": BALANCE, "payout": PAYOUTS}  # where a completed refund goes (`domain.policy.Postings`)
KINDS = ("opening", "order_paid", "downgrade_credit", "refund_accepted", "released", "refund_completed",
         "recognised", "correction")  # the order of a day's entries


@dataclass(frozen=True)
class Entry:
    """One balanced transaction in one currency: ``legs`` (account, cents), debit positive, summing to 0."""

    day: date
    kind: str
    currency: str
    legs: tuple[tuple[str, int], ...]
    narration: str
    rules: tuple[str, ...]
    customer: str | None = None  # the ledger's account (a customer), when the entry concerns one
    instance: str | None = None
    ref: str | None = None  # the order, invoice or refund the entry books
    caused_by: tuple[str, ...] = ()  # a correction: the line ids of the facts that changed a closed day

    def __post_init__(self) -> None:
        if sum(c for _, c in self.legs) != 0:
            raise ValueError(f"unbalanced entry {self.kind} {self.ref}: {self.legs}")

    @property
    def key(self) -> tuple:
        return (self.day, KINDS.index(self.kind), self.currency, self.customer or "", self.instance or "",
                self.ref or "")


def legs(*pairs: tuple[str, int]) -> tuple[tuple[str, int], ...]:
    """The non-zero legs, one per account (amounts on the same account added), in the order first named."""
    total: dict[str, int] = {}
    for account, c in pairs:
        total[account] = total.get(account, 0) + c
    return tuple((a, c) for a, c in total.items() if c)


# ----- one posting function per kind of movement -----

def order_paid(o: OrderRow, unrefunded: Iterable[tuple[str, int]] = (), tz: str | None = None) -> Entry:
    """K-M1: an order's actual payment (cash and cloud tickets) to deferred revenue; its vouchers and gift
    balance, never refunded, recognised at once against the promotion's cost. P-M1, P-M2: a KorPro charge,
    paid in cash, to deferred revenue."""
    extra = [leg for t, c in unrefunded for leg in ((UNREFUNDED_EXPENSE[t], c), (UNREFUNDED_INCOME[t], -c))]
    rules = registry.for_product(o.product).postings.paid
    return Entry(business_day(o.placed_at, reporting_zone(o.product, tz)), "order_paid", o.currency,
                 legs((CASH, o.cash_cents), (CLOUD_TICKET, o.paid_cents - o.cash_cents), (DEFERRED, -o.paid_cents),
                      *extra),
                 f"{o.kind} {o.order} paid", rules, o.account, o.instance, o.order)


def recognised(day: date, currency: str, c: int, customer: str | None = None) -> Entry:
    """K-T3, P-M2: revenue recognised straight-line over each order's validity (a charge's billing period),
    the same consumption as the read models (one entry per day and currency for the whole ledger)."""
    return Entry(day, "recognised", currency, legs((DEFERRED, c), (CONSUMED, -c)), "revenue recognised",
                 ("K-T3", "P-M2"), customer)


def postings(r: RefundRow) -> Postings:
    """How the policy that judged ``r`` books its refunds (the registry's, by the quote's policy)."""
    return registry.named(r.policy).postings


def refund_rules(r: RefundRow, releases: bool) -> tuple[str, ...]:
    p = postings(r)
    rules = [p.accepted]
    if r.mode in p.modes:
        rules.append(p.modes[r.mode])
    if releases and p.released:
        rules.append(p.released)
    return tuple(rules)


def refund_accepted(r: RefundRow, booked: int, released: int = 0, tz: str | None = None) -> Entry:
    """K-L1 (the frozen quote), P-R2 (approved; P-B1 at once) and the rule of its mode or reason (K-F9, K-S4,
    K-E1; P-G1, P-G2, P-G3, P-F1, P-B1, P-O1, P-X1, P-X2; a staff decision's amount when one was given): the
    refund comes off deferred revenue and is payable; K-L3: what the released instance still had deferred
    beyond the refund is revenue. ``booked``: the refund's lines on orders the ledger knows."""
    return Entry(business_day(r.requested_at, refund_zone(r.policy, tz)), "refund_accepted", r.currency,
                 legs((DEFERRED, booked), (PAYABLE, -booked), (DEFERRED, released), (RELEASED, -released)),
                 f"refund {r.refund} accepted ({r.mode})", refund_rules(r, bool(released)), r.account, r.instance,
                 r.refund)


def released(r: RefundRow, day: date, c: int) -> Entry:
    """K-L3: what a released instance still had deferred, recognised on a day other than the refund's (an
    order whose validity had not started when the refund was accepted)."""
    return Entry(day, "released", r.currency, legs((DEFERRED, c), (RELEASED, -c)),
                 f"released by refund {r.refund}", tuple(filter(None, (postings(r).released,))), r.account,
                 r.instance, r.refund)


def downgrade_credit(c: Credit, tz: str | None = None) -> Entry:
    """K-D1: a downgrade's credit, returned at once to the account balance, comes off the deferred revenue of
    the base order in effect."""
    o = c.downgrade
    return Entry(business_day(o.placed_at, reporting_zone(o.product, tz)), "downgrade_credit", o.currency,
                 legs((DEFERRED, o.credit_cents), (BALANCE, -o.credit_cents)),
                 f"downgrade {o.order} credit on {c.base.order}", ("K-D1",), o.account, o.instance, o.order)


def refund_completed(r: RefundRow, booked: int, tz: str | None = None) -> Entry:
    """A completed refund goes where its policy's `domain.policy.Postings` say, under their rule: credited to
    the account balance (Kingsoft, K-L2) or paid back to the original payment (KorPro, P-R3)."""
    assert r.settled_at is not None, "a completed refund has settled"
    p = postings(r)
    return Entry(business_day(r.settled_at, refund_zone(r.policy, tz)), "refund_completed", r.currency,
                 legs((PAYABLE, booked), (SETTLED[p.settles_to], -booked)),
                 f"refund {r.refund} completed", (p.completed,), r.account, r.instance, r.refund)


# ----- one customer account, then the ledger -----

Unrefunded = Mapping[tuple[str, str], tuple[tuple[str, int], ...]]  # (instance, order) -> ((tender, cents), ...)


@dataclass(frozen=True)
class AccountJournal:
    """One customer account's entries, and its straight-line recognition per (day, currency)."""

    entries: list[Entry]
    recognition: dict[tuple[date, str], int]


def account_journal(orders: list[OrderRow], refunds: list[RefundRow], unrefunded: Unrefunded,
                    tz: str | None = None) -> AccountJournal:
    """Every entry of one customer account, from its rows (`account_flows`: the read models' own figures), on
    the business days of the reporting calendar (``tz``: the ledger's ``reporting_tz`` setting, or None). The
    reference path: one figure per order and day (`bulk_account_journal` computes the same from segments)."""
    flows: AccountFlows = account_flows(orders, refunds, tz)
    recognition: dict[tuple[date, str], int] = defaultdict(int)
    releases: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for f in flows.orders:
        for d, (_, consumed, _, rel) in f.days.items():
            recognition[(d, f.order.currency)] += consumed - rel
            if rel:
                assert f.released_by is not None, "only a released instance has a release"
                releases[f.released_by][d] += rel
    entries = _entries([f.order for f in flows.orders], flows.credits, flows.refunds, releases, unrefunded, tz)
    return AccountJournal(entries, {k: v for k, v in recognition.items() if v})


def bulk_account_journal(orders: list[OrderRow], refunds: list[RefundRow], unrefunded: Unrefunded,
                         tz: str | None, recognition: DayTotals) -> list[Entry]:
    """`account_journal` from each order's segments (`projections.segments`): the same entries; the
    recognition per day and currency is added to ``recognition``, without a figure per order and day."""
    inputs = flow_inputs(orders, refunds)
    segs = [order_segments(o, events, tz, by) for o, events, by in inputs.orders]
    by_refund = segment_recognition(segs, recognition)
    releases = {r: {date.fromordinal(d): c for d, c in days.items()} for r, days in by_refund.items()}
    return _entries([o for o, _, _ in inputs.orders], inputs.credits, inputs.refunds, releases, unrefunded, tz)


def _entries(orders: list[OrderRow], credits: list[Credit], payable: list[tuple[RefundRow, int]],
             releases: dict[str, dict[date, int]], unrefunded: Unrefunded, tz: str | None) -> list[Entry]:
    entries = [order_paid(o, unrefunded.get((o.instance, o.order), ()), tz)
               for o in orders if o.paid_cents or unrefunded.get((o.instance, o.order))]
    entries += [downgrade_credit(c, tz) for c in credits]
    releases = {r: dict(days) for r, days in releases.items()}
    for r, booked in payable:
        mine = releases.pop(r.refund, {})
        day = business_day(r.requested_at, refund_zone(r.policy, tz))
        entries.append(refund_accepted(r, booked, mine.pop(day, 0), tz))
        entries += [released(r, d, c) for d, c in sorted(mine.items()) if c]
        if r.state == "completed" and r.settled_at is not None:
            entries.append(refund_completed(r, booked, tz))
    assert not any(releases.values()), f"a release by a refund that is not payable: {dict(releases)}"
    return [e for e in entries if e.legs]  # a refund of 0.00 that releases nothing moves nothing


@dataclass(frozen=True)
class AccountRows:
    """The rows of one customer account, and the line ids of facts recorded after a close (corrections)."""

    orders: list[OrderRow]
    refunds: list[RefundRow]
    unrefunded: dict[tuple[str, str], tuple[tuple[str, int], ...]]


def group(parts: Iterable[tuple[list[OrderRow], list[RefundRow], dict]]) -> dict[str, AccountRows]:
    """Every partition's rows (`projections.partitions.journal_rows`), grouped by customer account."""
    out: dict[str, AccountRows] = {}
    for orders, refunds, unrefunded in parts:
        for o in orders:
            out.setdefault(o.account, AccountRows([], [], {})).orders.append(o)
            if (o.instance, o.order) in unrefunded:
                out[o.account].unrefunded[(o.instance, o.order)] = unrefunded[(o.instance, o.order)]
        for r in refunds:
            out.setdefault(r.account, AccountRows([], [], {})).refunds.append(r)
    return out


def ledger_entries(accounts: Mapping[str, AccountRows], tz: str | None = None, *,
                   bulk: bool = True) -> Iterator[Entry]:
    """Every entry of the ledger: each customer account's (by name), then the straight-line recognition, one
    entry per day and currency (not in date order: `window` sorts). ``bulk`` (the default): each account's
    entries from its orders' segments (`bulk_account_journal`); False: the reference path, a figure per order
    and day (`account_journal`); the same entries."""
    if not bulk:
        by_day: dict[tuple[date, str], int] = defaultdict(int)
        for name in sorted(accounts):
            a = accounts[name]
            j = account_journal(a.orders, a.refunds, a.unrefunded, tz)
            yield from j.entries
            for k, c in j.recognition.items():
                by_day[k] += c
        for (d, currency), c in sorted(by_day.items()):
            if c:
                yield recognised(d, currency, c)
        return
    total = DayTotals()
    for name in sorted(accounts):
        a = accounts[name]
        yield from bulk_account_journal(a.orders, a.refunds, a.unrefunded, tz, total)
    for (ordinal, currency), c in total.items():
        yield recognised(date.fromordinal(ordinal), currency, c)


Balances = dict[tuple[str, str], int]  # (account, currency) -> cents, debit positive


def balances(entries: Iterable[Entry], before: date | None = None) -> Balances:
    """Every account's balance per currency from ``entries`` dated before ``before`` (all when None)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries:
        if before is None or e.day < before:
            for account, c in e.legs:
                out[(account, e.currency)] += c
    return {k: v for k, v in sorted(out.items()) if v}


def opening(day: date, brought: Balances) -> list[Entry]:
    """The balances brought forward to ``day``, one entry per currency (they sum to 0: every entry does)."""
    by_currency: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (account, currency), c in sorted(brought.items()):
        by_currency[currency].append((account, c))
    return [Entry(day, "opening", currency, legs(*pairs), f"balances brought forward to {day.isoformat()}", ())
            for currency, pairs in sorted(by_currency.items())]


def window(entries: Iterable[Entry], start: date, end: date) -> list[Entry]:
    """The entries dated in ``[start, end)``, in date order, after the balances brought forward from before
    ``start`` (so the window's closing balances are the ledger's own)."""
    kept, before = [], []
    for e in entries:
        if e.day < start:
            before.append(e)
        elif e.day < end:
            kept.append(e)
    return opening(start, balances(before)) + sorted(kept, key=lambda e: e.key)


# ----- corrections: a closed period is never rewritten -----

def corrections(now: Mapping[str, AccountRows], at_close: Mapping[str, AccountRows], closed_through: date,
                caused_by: Mapping[str, tuple[str, ...]], tz: str | None = None) -> Iterator[Entry]:
    """For each customer account whose closed days (through ``closed_through``) differ as known now from as
    known at the close: one correcting entry per currency on the first open day, its legs the difference,
    linked to the facts recorded after the close on that account's instances (``caused_by``)."""
    first_open = closed_through + timedelta(days=1)
    for name in sorted(set(now) | set(at_close)):
        diff: dict[tuple[str, str], int] = defaultdict(int)
        for sign, rows in ((1, now.get(name)), (-1, at_close.get(name))):
            if rows is None:
                continue
            for k, c in _closed_balances(rows, first_open, tz).items():
                diff[k] += sign * c
        by_currency: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for (account, currency), c in sorted(diff.items()):
            if c:
                by_currency[currency].append((account, c))
        for currency, pairs in sorted(by_currency.items()):
            yield Entry(first_open, "correction", currency, legs(*pairs),
                        f"correction of the period closed through {closed_through.isoformat()}", (),
                        name, None, None, caused_by.get(name, ()))


def _closed_balances(rows: AccountRows, first_open: date, tz: str | None = None) -> Balances:
    by_day = DayTotals()
    entries = bulk_account_journal(rows.orders, rows.refunds, rows.unrefunded, tz, by_day)
    before = first_open.toordinal()
    recognition = [recognised(date.fromordinal(d), currency, c) for (d, currency), c in by_day.items() if d < before]
    return balances([*entries, *recognition], first_open)


def closed_journal(now: Mapping[str, AccountRows], at_close: Mapping[str, AccountRows], closed_through: date,
                   caused_by: Mapping[str, tuple[str, ...]], tz: str | None = None) -> Iterator[Entry]:
    """The journal with the period through ``closed_through`` closed: its days as known at the close, every
    later day as known now, and the difference for the closed days as correcting entries on the first open
    day (`corrections`). Its balances from the first open day on are those known now."""
    for e in ledger_entries(at_close, tz):
        if e.day <= closed_through:
            yield e
    for e in ledger_entries(now, tz):
        if e.day > closed_through:
            yield e
    yield from corrections(now, at_close, closed_through, caused_by, tz)
