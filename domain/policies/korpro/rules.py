"""KorPro refund quotes (rules-korpro.md): for the request's reason, judged on the subscription's view
(`domain.policies.korpro.view`), the eligible amount (one line per invoice) or every rule that denies it.

The version in force at the request's time (P-V1) supplies the parameters. Lines are rounded half-up.
No invoice is ever refunded beyond what was charged: earlier refunds that are not rejected (their frozen
lines) are taken off first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from domain.errors import LedgerError
from domain.lines import Line, formula_money, num
from domain.money import round_cents
from domain.policies.korpro import NAME as POLICY
from domain.policies.korpro import REASONS
from domain.policies.korpro.amount import add_months, fixed_fee, outage_share, performance_fee
from domain.policies.korpro.events import Cancelled, Charged, TerminatedForViolation
from domain.policies.korpro.parameters import KorProParameters
from domain.policies.korpro.view import DUPLICATE, KorProView
from domain.quote import Quote, Reason, cite
from domain.timeutil import ratio, readable, tz_of

DISCRETIONARY = ("early_termination", "not_as_described")  # P-G3, P-X1: a staff decision sets the amount
PER_INVOICE = ("billing_error", DUPLICATE, "not_as_described")  # reasons that concern one invoice's charge


@dataclass(frozen=True)
class KorProRequest:
    at: datetime
    reason: str
    invoice: str | None = None


@dataclass(frozen=True)
class Judged:
    lines: list[Line]
    reasons: list[Reason]
    ceiling: Decimal | None = None


Judge = Callable[[KorProView, KorProRequest, KorProParameters], Judged]


def _line(v: KorProView, c: Charged, rule: str, exact: Fraction, formula: str) -> Line:
    """One invoice's refund, rounded half-up: what was already granted for the same reason on this invoice
    comes off first (nothing is refunded twice), and the line never exceeds what is left of the invoice's
    charge. Decision (P-B1): a duplicate payment was paid beyond the charge, so it is refunded in full whatever
    else was refunded on the invoice (what was paid for the invoice counts the duplicate)."""
    same = v.refunded_for.get((c.invoice, v.reason), Fraction(0))
    left = exact - same if v.reason == DUPLICATE else Fraction(c.amount) - v.refunded.get(c.invoice, Fraction(0))
    capped = max(min(exact - same, left), Fraction(0))
    refund = round_cents(capped, "half_up")
    before = v.refunded.get(c.invoice, Fraction(0))
    note = f" (less {formula_money(before)} already refunded on {c.invoice})" if capped != exact else ""
    return Line(v.name, c.invoice, "charge", rule, Fraction(c.amount), None, refund, f"{formula} = {refund}{note}")


def _denied(rule: str, message: str, *facts: Any) -> Judged:
    return Judged([], [Reason(rule, message, tuple(cite(f) for f in facts))])


def _whole(v: KorProView, rule: str, what: str) -> Judged:
    lines = [_line(v, c, rule, Fraction(c.amount), f"{what}: whole fee {formula_money(c.amount)}")
             for c in v.charges.values()]
    return Judged(lines, []) if lines else _denied(rule, "no fee has been paid yet")


def _within(since: datetime, days: int, at: datetime) -> bool:
    return at <= since + timedelta(days=days)


def money_back(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-G1: within 30 days of the start of a performance-based subscription, every fee paid."""
    if v.sub.plan != "performance":
        return _denied("P-G1", "the money-back guarantee is for performance-based plans (fixed-rate: trial, P-F1)",
                       v.sub)
    if not _within(v.start, p.money_back_days, r.at):
        return _denied("P-G1", f"the {p.money_back_days}-day money-back guarantee ended at "
                               f"{readable(v.start + timedelta(days=p.money_back_days), p.calendar_tz, exact=True)}",
                       v.sub)
    return _whole(v, "P-G1", "money-back guarantee")


def trial(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-F1: cancellation within 14 days of the first payment of a fixed-rate plan, every fee paid.

    Decision: what must fall within the 14 days is the cancellation: a `cancel` recorded inside the window
    keeps the trial refund open for a request made later; without one, the request counts as the
    cancellation."""
    if v.sub.plan != "fixed":
        return _denied("P-F1", "the trial refund is for fixed-rate plans (performance: money-back, P-G1)", v.sub)
    if not v.charges:
        return _denied("P-F1", "no payment has been made yet")
    first = min(v.charges.values(), key=lambda c: c.at)
    cancelled = v.ended if isinstance(v.ended, Cancelled) else None
    when = cancelled.at if cancelled is not None else r.at
    if not _within(first.at, p.trial_days, when):
        ended = readable(first.at + timedelta(days=p.trial_days), p.calendar_tz, exact=True)
        if cancelled is not None:
            return _denied("P-F1", f"the cancellation on {readable(when, p.calendar_tz, exact=True)} came after the "
                                   f"{p.trial_days}-day trial, which ended at {ended}", first, cancelled)
        return _denied("P-F1", f"the {p.trial_days}-day trial after the first payment ended at {ended}", first)
    return _whole(v, "P-F1", "trial cancellation")


def change_of_mind(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-N1: a change of mind is refunded only within the trial (P-F1) or guarantee (P-G1) period."""
    within = (money_back if v.sub.plan == "performance" else trial)(v, r, p)
    if within.lines:
        return within
    denial = [Reason("P-N1", "no refund for a change of mind after the trial / guarantee period",
                     tuple(cite(f) for f in [v.sub]))]
    if v.sub.plan == "fixed":
        denial.append(Reason("P-F2", "no refund for a partial month: cancellation takes effect at the end of the "
                                     "current billing period"))
    return Judged([], denial + within.reasons)


def savings_shortfall(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-G2: each billed month whose reported actual savings are below 50% of the estimate is re-priced on
    the actual savings: fee - 20% x actual."""
    if v.sub.plan != "performance":
        return _denied("P-G2", "savings validation is for performance-based plans", v.sub)
    lines = []
    for invoice, s in v.savings.items():
        c = v.charges[invoice]
        estimate = c.estimated_savings if c.estimated_savings is not None else v.sub.estimated_monthly_savings
        if estimate and Fraction(s.actual_savings) < Fraction(p.shortfall_threshold) * Fraction(estimate):
            exact = Fraction(c.amount) - performance_fee(p, s.actual_savings)
            lines.append(_line(v, c, "P-G2", exact, f"{formula_money(c.amount)} − {num(p.performance_rate)} × "
                                                    f"{formula_money(s.actual_savings)} (actual < "
                                                    f"{num(p.shortfall_threshold)} × estimate "
                                                    f"{formula_money(estimate)})"))
    if not lines:
        return _denied("P-G2", "no billed month has reported actual savings below "
                               f"{num(p.shortfall_threshold * 100)}% of the estimate", *v.savings.values())
    return Judged(lines, [])


def early_termination(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-G3: before the commitment ends, at most the fees paid for months not yet used, by staff decision."""
    if v.sub.plan != "performance":
        return _denied("P-G3", "early termination refunds are for performance-based plans", v.sub)
    end = add_months(v.start, v.sub.commitment_months)
    if r.at >= end:
        return _denied("P-G3", f"the {v.sub.commitment_months}-month commitment ended at "
                               f"{readable(end, p.calendar_tz, exact=True)}", v.sub)
    unused = [c for c in v.charges.values() if c.period_start >= r.at]
    zone = tz_of(p.calendar_tz)
    lines = [_line(v, c, "P-G3", Fraction(c.amount), f"unused month {c.period_start.astimezone(zone).date()}: at most "
                                                     f"{formula_money(c.amount)}") for c in unused]
    if not lines or not sum(ln.refund for ln in lines):
        return _denied("P-G3", "no fee was paid for a month not yet used")
    return Judged(lines, [], ceiling=sum((ln.refund for ln in lines), Decimal("0.00")))


def billing_error(v: KorProView, r: KorProRequest, p: KorProParameters, duplicate: bool = False) -> Judged:
    """P-B1: the incorrect part of a charge (or a duplicate payment), in full, immediately; one line per
    invoice: the request's, or (a quote naming none) every invoice with such a report."""
    kind = [e for e in v.errors if e.duplicate == duplicate]
    what = "duplicate payment" if duplicate else "billing error"
    invoices = [r.invoice] if r.invoice is not None else list(dict.fromkeys(e.invoice for e in kind))
    lines = []
    for invoice in invoices:
        errors = [e for e in kind if e.invoice == invoice]
        if errors:
            exact = sum((Fraction(e.incorrect_amount) for e in errors), Fraction(0))
            lines.append(_line(v, v.charges[invoice], "P-B1", exact, f"{what} on {invoice}: "
                               + " + ".join(formula_money(e.incorrect_amount) for e in errors)))
    if not lines:
        where = f"invoice {r.invoice}" if r.invoice is not None else "any invoice"
        return _denied("P-B1", f"no {what} was reported for {where}")
    return Judged(lines, [])


def outage(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-O1: each outage longer than 24 consecutive hours refunds the fee of each affected billing period
    prorated by outage time / period length."""
    long_ = [o for o in v.outages if o.end - o.start > timedelta(hours=p.outage_min_hours)]
    lines = []
    for c in v.charges.values():
        shares = [(o, outage_share(c.amount, (c.period_start, c.period_end), (o.start, o.end))) for o in long_]
        shares = [(o, s) for o, s in shares if s]
        if shares:
            hours = " + ".join(num(ratio(min(o.end, c.period_end) - max(o.start, c.period_start),
                                         timedelta(hours=1))) + " h" for o, _ in shares)
            period = num(ratio(c.period_end - c.period_start, timedelta(hours=1)))
            lines.append(_line(v, c, "P-O1", sum((s for _, s in shares), Fraction(0)),
                               f"{formula_money(c.amount)} × ({hours}) / {period} h"))
    if not lines:
        return _denied("P-O1", f"no outage longer than {p.outage_min_hours} consecutive hours touched a billed "
                               "period", *v.outages)
    return Judged(lines, [])


def not_as_described(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-X1: within 30 days of the charge it concerns; amount decided by staff, up to that charge."""
    assert r.invoice is not None  # `judge` asks for it first: this reason concerns one charge
    c = v.charges[r.invoice]
    if not _within(c.at, p.described_days, r.at):
        return _denied("P-X1", f"more than {p.described_days} days after charge {c.invoice}", c)
    line = _line(v, c, "P-X1", Fraction(c.amount), f"charge {c.invoice}: at most {formula_money(c.amount)}")
    return Judged([line], [], ceiling=line.refund)


def incompatible(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
    """P-X2: within 30 days of the subscription start (requirements met): every fee paid."""
    if not _within(v.start, p.incompatibility_days, r.at):
        return _denied("P-X2", f"more than {p.incompatibility_days} days after the subscription started", v.sub)
    return _whole(v, "P-X2", "technical incompatibility")


def never(rule: str, message: str) -> Judge:
    def judge(v: KorProView, r: KorProRequest, p: KorProParameters) -> Judged:
        return _denied(rule, message)
    judge.__doc__ = f"{rule}: {message}"
    return judge


JUDGES: dict[str, Judge] = {
    "money_back": money_back, "trial": trial, "change_of_mind": change_of_mind,
    "savings_shortfall": savings_shortfall, "early_termination": early_termination,
    "billing_error": billing_error, "duplicate_payment": lambda v, r, p: billing_error(v, r, p, duplicate=True),
    "outage": outage, "not_as_described": not_as_described, "technical_incompatibility": incompatible,
    "user_error": never("P-N3", "user error or misconfiguration is not refunded"),
    "third_party": never("P-N4", "third-party cloud charges are not refunded by KorPro"),
}
assert set(JUDGES) == set(REASONS)


def suspected_billing_errors(v: KorProView, p: KorProParameters) -> list[Reason]:
    """P-M1 / P-M2: an invoice whose amount differs from the pricing formula is flagged, never rewritten."""
    out = []
    for c in v.charges.values():
        if v.sub.plan == "fixed" and v.sub.cpus is not None:
            expected, rule = Fraction(fixed_fee(p, v.sub.cpus)), "P-M2"
        elif v.sub.plan == "performance" and \
                (savings := c.estimated_savings or v.sub.estimated_monthly_savings) is not None:
            expected = performance_fee(p, savings)
            rule = "P-M1"
        else:
            continue
        if Fraction(c.amount) != expected:
            out.append(Reason(rule, f"suspected billing error: invoice {c.invoice} charged "
                                    f"{formula_money(c.amount)}, the formula gives {formula_money(expected)}",
                              (cite(c),)))
    return out


def judge(v: KorProView, request: KorProRequest, params: KorProParameters, version: str,
          known_at: datetime) -> Quote:
    """The quote for a KorPro request: eligible with its lines, or denied with every reason."""
    if request.reason not in JUDGES:
        raise LedgerError(f"a KorPro request needs a reason, one of: {', '.join(REASONS)}", "reason")
    if request.invoice is not None and request.reason in PER_INVOICE and request.invoice not in v.charges:
        raise LedgerError(f"invoice {request.invoice!r} is not a charge of {v.name} (its invoices: "
                          f"{', '.join(v.charges) or 'none'})", "invoice")
    if request.invoice is None and request.reason == "not_as_described":
        recent = [i for i, c in v.charges.items() if _within(c.at, params.described_days, request.at)]
        candidates = ", ".join(recent) or f"(none was charged in the {params.described_days} days before)"
        raise LedgerError(f"not_as_described concerns one charge: give the invoice, one of {candidates}",
                          "invoice")
    v = replace(v, reason=request.reason)
    judged = JUDGES[request.reason](v, request, params)
    reasons = list(judged.reasons)
    if isinstance(v.ended, TerminatedForViolation) and request.reason not in ("billing_error",
                                                                                            "duplicate_payment"):
        reasons.insert(0, Reason("P-N2", "the account was terminated for a Terms of Service violation: no refund "
                                         "except billing errors", (cite(v.ended),)))
    flags = suspected_billing_errors(v, params)
    policy = f"{POLICY}-{version}"
    if reasons or not judged.lines:
        return Quote(instance=v.name, at=request.at, known_at=known_at, currency=v.sub.currency, mode=request.reason,
                     eligible=False, amount=Decimal("0.00"), outcome="denied", lines=[], reasons=reasons,
                     policy=policy)
    amount = sum((ln.refund for ln in judged.lines), Decimal("0.00"))
    if amount <= 0:
        return Quote(instance=v.name, at=request.at, known_at=known_at, currency=v.sub.currency, mode=request.reason,
                     eligible=False, amount=Decimal("0.00"), outcome="denied", lines=[],
                     reasons=[Reason(judged.lines[0].rule, "nothing is left to refund on these invoices")],
                     policy=policy)
    info = flags
    if request.reason in DISCRETIONARY:
        rule = judged.lines[0].rule
        info = [Reason(rule, f"a staff decision is needed: the amount is at most {judged.ceiling} (the decision "
                             "records the amount, 0 allowed)")] + flags
    return Quote(instance=v.name, at=request.at, known_at=known_at, currency=v.sub.currency, mode=request.reason,
                 eligible=True, amount=amount, outcome="refund", lines=judged.lines, reasons=info, policy=policy,
                 ceiling=judged.ceiling)
