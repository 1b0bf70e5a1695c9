"""Flat's policy object (FLAT-0..FLAT-4): its parameters, command, judge, deadline, orders and postings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from domain import applications
from domain.errors import LedgerError
from domain.instance import opening
from domain.lifecycle import Refund
from domain.lines import Line
from domain.money import round_cents
from domain.policy import Context, Deadline, Load, Paid, Policy, PolicyBase, Postings, Session
from domain.quote import Quote, Reason
from tests.policies.flat import ABOUT, PRODUCT
from tests.policies.flat.events import Widget


@dataclass(frozen=True)
class FlatParameters:
    share: Decimal = Decimal("0.50")  # FLAT-1
    settle_days: int = 2  # FLAT-2

    def override(self, values: Mapping[str, Any]) -> FlatParameters:
        out = self
        for name, raw in values.items():
            try:
                value: Any = int(raw) if name == "settle_days" else Decimal(str(raw))
            except (ValueError, InvalidOperation):
                raise LedgerError(f"{raw!r} is not a valid {name}", name) from None
            if name == "share" and not 0 <= value <= 1:
                raise LedgerError(f"a share is between 0 and 1, not {raw!r}", name)
            out = replace(out, **{name: value})
        return out


def buy(session: Session, c: Any, ts: datetime) -> str:
    """FLAT-0: a widget is bought once."""
    widget = session.open(c.instance, c.at, ts, Widget)
    widget.buy(timestamp=ts, at=c.at, line=c.id, account=c.account, product=PRODUCT, order=c.order,
               price=c.price, currency=c.currency, days=c.days)
    session.claim("order", c.order, c.instance, "", ts)
    return c.instance


def request(policy: Flat) -> Any:
    def handle(session: Session, inst: Widget, c: Any, ts: datetime) -> None:
        applications.apply(policy, session, inst, c, ts, mode=c.mode)

    return handle


class Flat(PolicyBase):
    aggregate = Widget
    parameters = FlatParameters
    commands = {"buy_widget": buy}
    postings = Postings(accepted="FLAT-1", completed="FLAT-3", settles_to="payout", released="FLAT-4",
                        paid=("FLAT-0",))

    def __init__(self) -> None:
        super().__init__(ABOUT)
        self.refund_commands = {"request_refund": request(self), "complete_refund": applications.complete,
                                "reject_refund": applications.reject}

    def assess(self, ctx: Context) -> Quote:
        """FLAT-1: ``share`` of the price, within the term."""
        name, events = ctx.instances[0]
        head = opening(events)
        params = FlatParameters().override(ctx.overrides)
        base = dict(instance=name, at=ctx.at, known_at=ctx.known_at, currency=head.currency, policy=self.name)
        end = head.at + timedelta(days=head.days)
        if not head.at <= ctx.at < end:
            return Quote(**base, mode="none", eligible=False, amount=Decimal("0.00"), outcome="denied", lines=[],
                         reasons=[Reason("FLAT-1", f"{name}'s term ran from {head.at.isoformat()} to "
                                                   f"{end.isoformat()}", ())])
        paid = Fraction(head.price)
        refund = round_cents(paid * Fraction(params.share), "half_up")
        line = Line(name, head.order, "purchase", "FLAT-1", paid, None, refund,
                    f"{params.share} × {head.price} = {refund}" if ctx.explain else "")
        return Quote(**base, mode="flat", eligible=True, amount=refund, outcome="refund", lines=[line])

    def deadline(self, refund: Refund, load: Load, known_at: datetime, overrides: dict[str, Any]) -> Deadline:
        """FLAT-2: settled within ``settle_days`` working days (UTC, no holidays)."""
        return Deadline("FLAT-2", FlatParameters().override(overrides).settle_days, "+00:00", (), self.name)

    def orders(self, head: Any, facts: Iterable[Any]) -> list[Paid]:
        return [Paid(f.order, "widget", f.at, f.at, f.at + timedelta(days=f.days), f.price, f.price)
                for f in facts if isinstance(f, Widget.Bought)]


POLICY: Policy = Flat()
