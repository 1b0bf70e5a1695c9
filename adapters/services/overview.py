"""Use case: one account at a glance (the web console's account page), as known at ``known_at``.

Its instances, its refund applications, the K-Q1 quota it used in each calendar month (the policy's time zone)
and its account ledger summed per month (paid, consumed, refunded, and the deferred balance at the month's
end), read from the account's own instances and its account stream only, never the whole ledger's rows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from adapters.bootstrap import App
from adapters.services import finance, listings, reads
from domain.errors import UnknownInstance
from domain.instance import Account, account_id, known
from domain.policies import registry
from projections.finance import instance_rows
from projections.segments import month_tuples


class UnknownAccount(UnknownInstance):
    """No instance of the account is known (or the key may not see it): the same answer for both."""


@dataclass(frozen=True)
class QuotaMonth:
    month: str  # YYYY-MM, in the policy's business time zone (K-Q1)
    zone: str  # that zone, ±HH:MM; "UTC" for a policy without one (its months are UTC months, said so)
    used: int  # accepted applications that count against the quota (K-Q2-rejected ones included)
    limit: int
    refunds: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"month": self.month, "zone": self.zone, "used": self.used, "limit": self.limit,
                "refunds": list(self.refunds)}


@dataclass(frozen=True)
class LedgerMonth:
    """The account ledger (business days of the reporting calendar) summed over one month: a row of
    `rm_account_months` (`projections.segments.month_tuples`); a month whose movements sum to 0 has none."""

    currency: str
    month: str  # YYYY-MM of the business days (the reporting calendar's)
    paid: Decimal
    consumed: Decimal
    refunded: Decimal
    deferred: Decimal  # the balance at the end of the month's last day with a movement

    def as_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "month": self.month, "paid": str(self.paid),
                "consumed": str(self.consumed), "refunded": str(self.refunded), "deferred": str(self.deferred)}


@dataclass(frozen=True)
class AccountOverview:
    account: str
    known_at: datetime
    instances: list[listings.InstanceRow]
    applications: list[listings.RefundListing]
    quota: list[QuotaMonth]
    ledger: list[LedgerMonth]

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "known_at": self.known_at.isoformat(),
                "instances": [r.as_json() for r in self.instances],
                "applications": [r.as_json() for r in self.applications],
                "quota": [q.as_json() for q in self.quota], "ledger": [m.as_json() for m in self.ledger]}


def account_overview(app: App, account: str, known_at: datetime | None = None, *,
                     accounts: Collection[str] | None = None) -> AccountOverview:
    """``account``'s instances, applications, quota per month and account ledger per month, as known at
    ``known_at``. An account with no instance known then, or outside ``accounts`` (a key's narrowing), is
    `UnknownAccount`."""
    known_at = known_at or app.now()
    if accounts is not None and account not in accounts:
        raise UnknownAccount(f"no account {account!r}", "account")
    rows = listings.instances(app, known_at, account=account)
    if not rows:
        raise UnknownAccount(f"no account {account!r}", "account")
    orders, refunds = [], []
    for name, events in reads.iter_events(app.ledger, [r.instance for r in rows]):
        o, r = instance_rows(name, events, known_at)
        orders += o
        refunds += r
    applications = sorted((listings.RefundListing(r.refund, r.instance, r.account, r.policy, r.mode, r.requested_at,
                                                  r.recorded_at, r.currency, finance.from_cents(r.amount_cents),
                                                  r.state, r.settled_at) for r in refunds),
                          key=listings.RefundListing.sort_key)
    return AccountOverview(account, known_at, rows, applications, _quota(app, account, known_at),
                           _months(orders, refunds, app.settings.reporting_tz))


def _quota(app: App, account: str, known_at: datetime) -> list[QuotaMonth]:
    """K-Q1: accepted applications that count, per quota period of their policy (its calendar month in its
    zone; K-Q2: a rejected one keeps its slot); a policy without a quota has none."""
    months: dict[tuple[str, str, int], list[str]] = {}
    for e in known(app.ledger.streams.get(account_id(account)), known_at):
        if isinstance(e, Account.ApplicationAccepted) and e.counts_quota:
            period = registry.for_product(e.products[0]).quota_period(e.at)
            if period is not None:
                months.setdefault((period.period, period.zone, period.limit), []).append(e.refund)
    return [QuotaMonth(month, zone, len(refs), limit, tuple(refs))
            for (month, zone, limit), refs in sorted(months.items())]


def _months(orders: list, refunds: list, tz: str | None = None) -> list[LedgerMonth]:
    """The account's months as the read model stores them (`projections.segments.month_tuples`)."""
    return [LedgerMonth(currency, date.fromordinal(month).strftime("%Y-%m"),
                        *(finance.from_cents(v) for v in (paid, consumed, refunded, closing)))
            for _, currency, month, _, paid, consumed, refunded, closing in month_tuples(orders, refunds, tz)]
