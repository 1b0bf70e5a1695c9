"""Kingsoft eligibility: which mode a refund request is judged under, and every rule that denies it.

Rules are pure functions ``(Application) -> list[Reason]`` (beancount's plugin shape): each returns
*every* violation it finds, not the first. ``judge`` runs the rules of each candidate mode and turns
the outcome into a `Quote`:

- ``five_day`` (K-F1..K-F9): the whole actual payment of every instance in the application;
- ``self_service`` (K-S1..K-S4): the amount rules (K-A*, K-U1, K-D1, K-R1);
- ``exception`` (K-E1): the self-service amount, for a request citing a written exception report
  (or a product retirement / data-centre migration); no quota;
- every mode: K-L3 (released instances), K-P1 (denied when every paid order is a non-refundable
  promotion), and for console modes K-Q1 (quota).

``auto`` tries five-day, then self-service, then exception (only when the request cites a report).
Decision (K-F6): an application is judged as a whole; if any instance fails, it is denied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.policies.kingsoft import NAME
from domain.policies.kingsoft.amount import amount_lines, five_day_lines, total
from domain.policies.kingsoft.events import DiskMounted, KdrdsAssociated, Renewed
from domain.policies.kingsoft.orders import Order
from domain.policies.kingsoft.parameters import KingsoftParameters
from domain.policies.kingsoft.view import InstanceView, PriorApplication
from domain.quote import Quote, Reason, cite
from domain.timeutil import readable, tz_of

FIVE_DAY_WINDOW = timedelta(hours=5 * 24)
FIVE_DAY_PRODUCTS = ("KEC", "EBS", "KRDS")  # K-F1 (+ EIP bound to its KEC)
SELF_SERVICE_PRODUCTS = ("KEC", "EBS", "KRDS", "MongoDB", "KingAI")  # K-S1 (+ EIP bound to its KEC)
EXCEPTION_REASONS = ("product_retirement", "data_centre_migration", "data_center_migration")
QUOTA = 3  # K-Q1
# most specific first: facts about one instance, then the account's history, then product lists
SPECIFICITY = ("K-L3", "K-P1", "K-F8", "K-F6", "K-F7", "K-S3", "K-S2", "K-F3", "K-F2", "K-F5", "K-F4", "K-E1",
               "K-Q1", "K-S1", "K-F1")
RANK = {rule: i for i, rule in enumerate(SPECIFICITY)}  # every rule a reason cites is ranked (issue 26, item 4)


@dataclass(frozen=True)
class Request:
    at: datetime
    mode: str = "auto"  # auto | five_day | self_service | exception
    exception_report: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Application:
    """A refund request with everything it is judged on: the instances (primary first) and the
    account's earlier accepted applications, all as known at ``known_at``."""

    views: list[InstanceView]
    prior: list[PriorApplication]
    request: Request
    known_at: datetime
    params: KingsoftParameters = field(default_factory=KingsoftParameters)

    @property
    def primary(self) -> InstanceView:
        return self.views[0]

    @property
    def at(self) -> datetime:
        return self.request.at


Rule = Callable[[Application], list[Reason]]


def _bundled_eip(app: Application, v: InstanceView) -> bool:
    return v is not app.primary and v.product == "EIP" and app.primary.product == "KEC" and v.name in app.primary.eips


# ----- every mode -----

def released(app: Application) -> list[Reason]:
    """K-L3: a released instance cannot be refunded again."""
    return [Reason("K-L3", f"{v.name} was already released by refund {v.released_by}",
                   tuple(cite(f) for f in v.facts if getattr(f, "refund", None) == v.released_by))
            for v in app.views if v.released_by]


def quota(app: Application) -> list[Reason]:
    """K-Q1: at most 3 console applications per account per calendar month (policy time zone); denied
    requests and K-E1 exception refunds do not count; K-Q2-rejected ones do."""
    zone = app.params.calendar_tz
    month = quota_month(app.at, zone)
    used = [p for p in app.prior if p.counts_quota and quota_month(p.at, zone) == month]
    if len(used) >= QUOTA:
        return [Reason("K-Q1", f"account {app.primary.account} already made {len(used)} refund applications in "
                               f"{month} ({', '.join(p.refund for p in used)}); the limit is "
                               f"{QUOTA} a month", tuple(cite(p.event) for p in used))]
    return []


# ----- five-day unconditional refund -----

def five_day_products(app: Application) -> list[Reason]:
    """K-F1: KEC (with its bound EIP), EBS, KRDS, subscription billing only."""
    out = []
    for v in app.views:
        if v.product not in FIVE_DAY_PRODUCTS and not _bundled_eip(app, v) and v.product != "EIP":
            out.append(Reason("K-F1", f"{v.name} is a {v.product}: five-day refunds cover KEC (with its EIP), "
                                      "EBS and KRDS", (cite(v.purchase),)))
        if v.purchase.billing != "subscription":
            out.append(Reason("K-F1", f"{v.name} is billed {v.purchase.billing}, not by subscription",
                              (cite(v.purchase),)))
    return out


def window_opens(purchase: Any) -> datetime:
    """K-F2: the five-day window opens at the trial's start, else at activation, else at the purchase."""
    return purchase.trial_started_at or purchase.activated_at or purchase.at


def five_day_window(app: Application) -> list[Reason]:
    """K-F2: within 5 x 24 h of activation, inclusive; a trial starts the window."""
    out = []
    for v in app.views:
        start = window_opens(v.purchase)
        if app.at > start + FIVE_DAY_WINDOW:
            what = "trial start" if v.purchase.trial_started_at else "activation"
            out.append(Reason("K-F2", f"{v.name}: the five-day window closed at "
                                      f"{readable(start + FIVE_DAY_WINDOW, app.params.calendar_tz, exact=True)} "
                                      f"({what} + 120 h)",
                              (cite(v.purchase),)))
    return out


def new_purchase_only(app: Application) -> list[Reason]:
    """K-F3: not after a renewal, an upgrade or downgrade, or a billing-mode change."""
    out = []
    for v in app.views:
        changes = v.changes
        if changes:
            kinds = ", ".join(getattr(f, "KIND", "billing_mode_change") for f in changes)
            out.append(Reason("K-F3", f"{v.name} is no longer a new purchase (it had: {kinds})",
                              tuple(cite(f) for f in changes)))
    return out


def one_per_product(app: Application) -> list[Reason]:
    """K-F4: an account may five-day-refund at most one instance per product, ever."""
    out = []
    for v in app.views:
        earlier = [p for p in app.prior if p.mode == "five_day" and not p.rejected and v.product in p.products]
        if earlier:
            out.append(Reason("K-F4", f"account {v.account} already five-day-refunded a {v.product} "
                                      f"(refund {earlier[0].refund})", (cite(earlier[0].event),)))
    return out


def cooling_off(app: Application) -> list[Reason]:
    """K-F5: instances purchased in [t0, t0 + 5 x 24 h] after a five-day application at t0 are excluded."""
    out = []
    for v in app.views:
        for p in app.prior:
            if p.mode == "five_day" and p.at <= v.purchase.at <= p.at + FIVE_DAY_WINDOW:
                out.append(Reason("K-F5", f"{v.name} was purchased within five days after five-day refund "
                                          f"{p.refund} ({readable(p.at, app.params.calendar_tz, exact=True)})",
                                          (cite(p.event), cite(v.purchase))))
    return out


def eip_rides_with_kec(app: Application) -> list[Reason]:
    """K-F6: a bound EIP only together with its KEC, not renewed, bandwidth <= 200 Mbps."""
    out = []
    for v in app.views:
        if v.product != "EIP":
            continue
        if not _bundled_eip(app, v):
            out.append(Reason("K-F6", f"EIP {v.name} can be five-day-refunded only together with its KEC",
                              (cite(v.purchase),)))
        renewals = [f for f in v.facts if isinstance(f, Renewed)]
        if renewals:
            out.append(Reason("K-F6", f"EIP {v.name} was renewed", tuple(cite(f) for f in renewals)))
        if (v.purchase.bandwidth_mbps or 0) > 200:
            out.append(Reason("K-F6", f"EIP {v.name} has {v.purchase.bandwidth_mbps} Mbps (more than 200)",
                              (cite(v.purchase),)))
    return out


def one_ebs_per_kec(app: Application) -> list[Reason]:
    """K-F7: a KEC application may include at most one mounted EBS data disk."""
    disks = [v for v in app.views[1:] if v.product == "EBS"]
    if app.primary.product == "KEC" and len(disks) > 1:
        mounts = [f for f in app.primary.facts if isinstance(f, DiskMounted)]
        return [Reason("K-F7", f"a KEC application may include one EBS data disk, not {len(disks)} "
                               f"({', '.join(v.name for v in disks)})", tuple(cite(f, f.disk) for f in mounts))]
    return []


def kdrds_first(app: Application) -> list[Reason]:
    """K-F8: a KRDS associated with an undeleted KDRDS is not eligible."""
    return [Reason("K-F8", f"KRDS {v.name} is associated with KDRDS {', '.join(sorted(v.kdrds))}: delete it first",
                   tuple(cite(f, f.kdrds) for f in v.facts if isinstance(f, KdrdsAssociated)
                         and f.kdrds in v.kdrds))
            for v in app.views if v.product == "KRDS" and v.kdrds]


def promotion_forbids_five_day(app: Application) -> list[Reason]:
    """K-P1: a promotion's own rule (``five_day_refund: false``) wins."""
    return [Reason("K-P1", f"{v.name} was bought in promotion {v.purchase.promotion['id']}, which has no "
                           "five-day refund", (cite(v.purchase),))
            for v in app.views if v.purchase.promotion and v.purchase.promotion.get("five_day_refund") is False]


def promotion_forbids_refund(app: Application) -> list[Reason]:
    """K-P1 (Decisions): when every order of the application with an actual payment (K-M1, > 0 under the
    ``refundable_tenders``) is a promoted order marked ``refundable: false`` — or, when no order has an actual
    payment, at least one is such an order (a non-refundable promotion paid with vouchers only) — the request is
    denied, in every mode: nothing is refunded and the instance is not released (rather than cleared under
    K-M4). The denied quote has mode ``none`` like every denial (no mode allows it). An application with nothing
    paid and no such order is cleared under K-M4; one with any refundable paid order refunds it, each promoted
    order's line citing K-P1 at 0.00."""
    orders = [(v, o) for v in app.views for o in v.orders]
    paid = [(v, o) for v, o in orders if o.payment.actual(app.params.refundable_tenders) > 0]
    withheld = paid or [(v, o) for v, o in orders if not o.refundable]
    if not withheld or any(o.refundable for _, o in withheld):
        return []
    named = ", ".join(f"{v.name} order {o.order} (promotion {o.promotion['id']})"  # type: ignore[index]  # K-P1: in one
                      for v, o in withheld)
    message = (f"every paid order of the application was bought in a promotion that is not refundable: {named}"
               if paid else "no order of the application has an actual payment, and these were bought in a promotion "
                            f"that is not refundable: {named}")
    return [Reason("K-P1", message,
                   tuple(cite(f) for v, o in withheld for f in v.facts if getattr(f, "order", None) == o.order))]


# ----- self-service refund after five days -----

def self_service_products(app: Application) -> list[Reason]:
    """K-S1: KEC (with its bound EIP), EBS, KRDS, MongoDB, KingAI."""
    return [Reason("K-S1", f"{v.name} is a {v.product}, which has no self-service refund"
                           + (" (an EIP only together with its KEC)" if v.product == "EIP" else ""),
                   (cite(v.purchase),))
            for v in app.views if v.product not in SELF_SERVICE_PRODUCTS and not _bundled_eip(app, v)]


def market_image(app: Application) -> list[Reason]:
    """K-S2: a KEC that uses a Cloud Market image is not eligible."""
    return [Reason("K-S2", f"KEC {v.name} uses a Cloud Market image", (cite(v.purchase),))
            for v in app.views if v.product == "KEC" and v.purchase.image == "market"]


def k_s3_overlaps(orders: list[Order]) -> list[tuple[Order, Order, datetime, datetime]]:
    """K-S3: each (renewal, downgrade placed at or after it, overlap start, overlap end) whose validity periods
    overlap. Ordinary overlaps (an upgrade or downgrade covering its base order, K-T3) are not among them."""
    downgrades = [o for o in orders if o.kind == "downgrade"]
    return [(r, d, max(d.start, r.start), min(d.end, r.end))
            for r in (o for o in orders if o.kind == "renewal") for d in downgrades
            if d.at >= r.at and d.start < r.end and r.start < d.end]


def renewal_downgrade_overlap(app: Application) -> list[Reason]:
    """K-S3: renewed, then downgraded, with overlapping renewal and downgrade validity periods."""
    out = []
    for v in app.views:
        for r, d, a, b in k_s3_overlaps(v.orders):
            events = [f for f in v.facts if getattr(f, "order", None) in (r.order, d.order)]
            zone = app.params.calendar_tz
            out.append(Reason("K-S3", f"{v.name}: downgrade {d.order} overlaps renewal {r.order} "
                                      f"([{readable(a, zone, exact=True)}, {readable(b, zone, exact=True)}))",
                              tuple(cite(f) for f in events)))
    return out


# ----- exception refunds -----

def exception_cited(app: Application) -> list[Reason]:
    """K-E1: an exception refund cites a written exception report, or a product retirement or
    data-centre migration."""
    if app.request.exception_report or (app.request.reason or "") in EXCEPTION_REASONS:
        return []
    return [Reason("K-E1", "an exception refund must cite a written exception report (exception_report) or a "
                           "product retirement / data-centre migration (reason)")]


EVERY_MODE: tuple[Rule, ...] = (released, promotion_forbids_refund)  # rules of every mode, judged once (lean)
LEAN: dict[str, tuple[Rule, ...]] = {  # each mode's other rules, those that usually deny it (and cheap ones) first
    "five_day": (five_day_window, five_day_products, new_purchase_only, promotion_forbids_five_day, kdrds_first,
                 eip_rides_with_kec, one_ebs_per_kec, cooling_off, one_per_product, quota),
    "self_service": (self_service_products, market_image, quota, renewal_downgrade_overlap),
    "exception": (exception_cited,),
}
# The explained path judges each mode by the same rules, derived from the one table above (issue 26, item 2). Its
# order shows only through `ordered`, which sorts the reasons by RANK; of the two K-P1 rules,
# promotion_forbids_refund (EVERY_MODE) stays ahead of promotion_forbids_five_day, as before.
RULES: dict[str, tuple[Rule, ...]] = {mode: EVERY_MODE + rules for mode, rules in LEAN.items()}


def reasons_for(app: Application, mode: str) -> list[Reason]:
    return ordered([r for rule in RULES[mode] for r in rule(app)])


def ordered(reasons: list[Reason]) -> list[Reason]:
    first: dict[tuple[str, str], Reason] = {}
    for r in reasons:
        first.setdefault((r.rule, r.message), r)
    unique = list(first.values())
    return sorted(unique, key=lambda r: RANK[r.rule])  # a rule not ranked is a KeyError, not sorted last


def candidates(request: Request) -> tuple[str, ...]:
    if request.mode != "auto":
        return (request.mode,)
    cited = bool(request.exception_report) or (request.reason or "") in EXCEPTION_REASONS
    return ("five_day", "self_service", "exception") if cited else ("five_day", "self_service")


def judge(app: Application, explain: bool = True) -> Quote:
    """The mode the request is judged under, its amount, and every rule that denies the others.

    ``explain`` False (a ledger-wide job's lean quote): the same mode, outcome, amount and lines, with no
    reasons and the lines' formulas empty; a mode is passed over at the first rule that denies it."""
    if not explain:
        return _lean(app)
    passed_over: list[tuple[str, Reason]] = []
    for mode in candidates(app.request):
        reasons = reasons_for(app, mode)
        if not reasons:
            lines = five_day_lines(app) if mode == "five_day" else amount_lines(app.views, app.at, app.params)
            amount, outcome = total(lines)
            informational = [Reason(r.rule, f"{_label(m)} not available: {r.message}", r.facts)
                             for m, r in passed_over]
            return Quote(instance=app.primary.name, at=app.at, known_at=app.known_at, currency=app.primary.currency,
                         mode=mode, eligible=True, amount=amount, outcome=outcome, lines=lines,
                         reasons=informational, policy=NAME)
        passed_over += [(mode, r) for r in reasons]
    return Quote(instance=app.primary.name, at=app.at, known_at=app.known_at, currency=app.primary.currency,
                 mode="none", eligible=False, amount=Decimal("0.00"), outcome="denied", lines=[],
                 reasons=ordered([r for _, r in passed_over]), policy=NAME)


def _lean(app: Application) -> Quote:
    """`judge` without reasons: a mode is allowed when none of its rules denies it (`LEAN`, then `EVERY_MODE`,
    whose answer is the same for every mode); its lines have no formulas."""
    every_allows: bool | None = None
    for mode in candidates(app.request):
        if any(rule(app) for rule in LEAN[mode]):
            continue
        if every_allows is None:
            every_allows = not any(rule(app) for rule in EVERY_MODE)
        if not every_allows:
            break
        lines = five_day_lines(app, False) if mode == "five_day" else \
            amount_lines(app.views, app.at, app.params, False)
        amount, outcome = total(lines)
        return Quote(instance=app.primary.name, at=app.at, known_at=app.known_at, currency=app.primary.currency,
                     mode=mode, eligible=True, amount=amount, outcome=outcome, lines=lines, policy=NAME)
    return Quote(instance=app.primary.name, at=app.at, known_at=app.known_at, currency=app.primary.currency,
                 mode="none", eligible=False, amount=Decimal("0.00"), outcome="denied", lines=[], policy=NAME)


def _label(mode: str) -> str:
    return mode.replace("_", "-")


def quota_month(t: datetime, calendar_tz: str) -> str:
    """K-Q1: the calendar month (``YYYY-MM``) an application at ``t`` counts in, in the policy's time zone."""
    local = t.astimezone(tz_of(calendar_tz))
    return f"{local.year}-{local.month:02d}"
