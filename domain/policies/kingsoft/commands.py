"""Kingsoft's feed commands (interface.md, "Kingsoft-style instances"): decide, then record.

Each handler checks the command against what the ledger knows (raising a `LedgerError` that names the field)
and records one fact on the instance's stream; it returns the instance the line is recorded on. Refund
requests and their settlement follow the console application (`domain.applications`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain import applications
from domain.errors import Conflict, Inconsistent, LedgerError
from domain.instance import Instance
from domain.money import fmt
from domain.policies.kingsoft.events import BOUND, BillingModeChanged, Downgraded, Purchased, Renewed, Upgraded
from domain.policies.kingsoft.orders import build_orders, expiry, term_price
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.policies.kingsoft.view import bound
from domain.policy import Policy, Session
from domain.timeutil import readable

ZONE = KingsoftParameters.calendar_tz  # the business time zone its messages are written in

BINDINGS: dict[str, tuple[str, bool, str, str]] = {
    # command: (attribute, adds?, product of the instance, product of the bound one ("" = not checked))
    "bind_eip": ("eip", True, "KEC", "EIP"),
    "unbind_eip": ("eip", False, "KEC", "EIP"),
    "mount_disk": ("disk", True, "KEC", "EBS"),
    "unmount_disk": ("disk", False, "KEC", "EBS"),
    "associate_kdrds": ("kdrds", True, "KRDS", ""),
    "delete_kdrds": ("kdrds", False, "KRDS", ""),
}


def check_payment(payment: Any, price: Decimal | None, monthly_price: Decimal, months: int,
                  discounts: dict[str, Decimal], promotion: dict[str, Any] | None) -> None:
    """Tenders must add up to the order's price: the given ``price``, or else (no promotion)
    the term's list price ``months x monthly_price x f(months)`` to the cent."""
    if price is None:
        if promotion:
            return  # a promotion sets its own price (K-P1); give ``price`` to have it checked
        exact = term_price(monthly_price, months, tuple(sorted((int(k), v) for k, v in discounts.items())))
        if exact * 100 != int(exact * 100):
            return  # the list price is not a whole number of cents: only an explicit price can be checked
        price = Decimal(int(exact * 100)) / 100
    if payment.total != price:
        raise Inconsistent(f"payment tenders add up to {fmt(payment.total)}, not the price {fmt(price)}", "payment")


def _check_order(inst: Instance, at: datetime, currency: str | None) -> None:
    """K-M3 one currency; no order before the purchase; none on a released instance (K-L3)."""
    purchase = inst.require_purchase()
    inst.check_not_released()
    if currency is not None and currency != purchase.currency:
        raise Inconsistent(f"instance {inst.name!r} is billed in {purchase.currency}, not {currency} (K-M3)",
                           "currency")
    if at < purchase.at:
        raise Inconsistent(f"an order cannot precede the instance's purchase at "
                           f"{readable(purchase.at, ZONE, exact=True)}", "at")


def purchase(session: Session, c: Any, ts: datetime) -> str:
    """A new purchase; the instance must not already have a live purchase."""
    inst = session.open(c.instance, c.at, ts, Instance)
    if inst.purchase is not None:
        raise Conflict(f"instance {inst.name!r} was already purchased (order {inst.purchase.order!r})", "instance")
    payment = c.payment.value()
    promotion = c.promotion.model_dump() if c.promotion else None
    check_payment(payment, c.price, c.monthly_price, c.months, dict(c.discounts), promotion)
    if c.activated_at is not None and c.activated_at < c.at:
        raise Inconsistent("activation cannot precede the purchase", "activated_at")
    inst.trigger_event(Purchased, timestamp=ts, at=c.at, line=c.id, order=c.order, account=c.account,
                       product=c.product, months=c.months, monthly_price=c.monthly_price, payment=payment,
                       currency=c.currency, discounts=dict(c.discounts), activated_at=c.activated_at,
                       trial_started_at=c.trial_started_at, billing=c.billing, image=c.image,
                       bandwidth_mbps=c.bandwidth_mbps, promotion=promotion, spec=c.spec)
    session.claim("order", c.order, c.instance, "", ts)
    return c.instance


def renew(session: Session, c: Any, ts: datetime) -> str:
    inst = session.require(c.instance)
    _check_order(inst, c.at, c.currency)
    payment = c.payment.value()
    check_payment(payment, c.price, c.monthly_price, c.months, dict(c.discounts), None)
    inst.trigger_event(Renewed, timestamp=ts, at=c.at, line=c.id, order=c.order, months=c.months,
                       monthly_price=c.monthly_price, payment=payment, discounts=dict(c.discounts))
    session.claim("order", c.order, c.instance, "", ts)
    return c.instance


def change(session: Session, c: Any, ts: datetime) -> str:
    """An upgrade or downgrade: K-T3 validity ``[at, expiry)``, so the instance must be in effect."""
    inst = session.require(c.instance)
    _check_order(inst, c.at, c.currency)
    orders = build_orders(f for f in inst.live_facts() if f.at <= c.at)
    first_start = min(o.start for o in orders if o.is_base)
    end = expiry(orders)
    assert end is not None  # there is a base order (``min`` above found one), so there is an expiry
    if not (first_start <= c.at < end):
        raise Inconsistent(f"an {c.type} must fall within the instance's validity "
                           f"[{readable(first_start, ZONE, exact=True)}, {readable(end, ZONE, exact=True)})",
                           "at")
    if c.type == "upgrade":
        payment = c.payment.value()
        if c.price is not None and payment.total != c.price:
            raise Inconsistent(f"payment tenders add up to {fmt(payment.total)}, not the price {fmt(c.price)}",
                               "payment")
        inst.trigger_event(Upgraded, timestamp=ts, at=c.at, line=c.id, order=c.order, monthly_price=c.monthly_price,
                           payment=payment, spec=c.spec)
    else:
        inst.trigger_event(Downgraded, timestamp=ts, at=c.at, line=c.id, order=c.order,
                           monthly_price=c.monthly_price, credit=c.credit, spec=c.spec)
    session.claim("order", c.order, c.instance, "", ts)
    return c.instance


def billing_mode(session: Session, c: Any, ts: datetime) -> str:
    session.require(c.instance).record(BillingModeChanged, timestamp=ts, at=c.at, line=c.id, mode=c.mode)
    return c.instance


def binding(session: Session, c: Any, ts: datetime) -> str:
    """bind/unbind an EIP, mount/unmount an EBS, associate/delete a KDRDS (facts K-F6..K-F8 judge)."""
    attr, adds, product, other_product = BINDINGS[c.type]
    inst = session.require(c.instance)
    head = inst.require_purchase()
    other = getattr(c, attr)
    if head.product != product:
        raise Inconsistent(f"{c.type} needs a {product} instance; {c.instance!r} is a {head.product}", "instance")
    if other_product:
        target = session.require(other, attr).require_purchase(attr)
        if target.product != other_product or target.account != head.account:
            raise Inconsistent(f"{other!r} is not an {other_product} of account {head.account!r}", attr)
    if adds == (other in bound(inst.live_facts(), attr)):
        state = "already" if adds else "not"
        raise Inconsistent(f"{other!r} is {state} bound to {c.instance!r}", attr)
    inst.record(BOUND[attr][0 if adds else 1], timestamp=ts, at=c.at, line=c.id, **{attr: other})
    return c.instance


def request_refund(policy: Policy) -> Any:
    """A console application (K-F*, K-S*, K-E1), judged at once; exception refunds do not count against K-Q1."""

    def handle(session: Session, inst: Instance, c: Any, ts: datetime) -> None:
        for name in ("email", "invoice", "explanation"):
            if getattr(c, name) is not None:
                raise LedgerError(f"{name} is not a field of a {policy.name} refund request "
                                  f"({inst.name!r} is judged by {policy.name})", name)
        applications.apply(policy, session, inst, c, ts, mode=c.mode,
                           counts_quota=lambda q: q.mode != "exception")

    return handle


COMMANDS = {"purchase": purchase, "renew": renew, "upgrade": change, "downgrade": change,
            "change_billing_mode": billing_mode, **dict.fromkeys(BINDINGS, binding)}
