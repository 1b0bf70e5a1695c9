"""A seeded, realistic feed: accounts with several instances of each product, terms of 1-36 months with
discount tables, renewals, upgrades, downgrades, bound EIPs and mounted disks, refund requests in every mode,
and KorPro subscriptions with charges, savings reports, outages and billing errors.

Every line passes the ledger's validation (tenders add up to the term price, orders fall inside validity,
nothing is ordered on an instance after its refund request). Requests are not completed: whether one is
accepted is for the ledger to judge.

    python -m bench.generate --instances 10000 --seed 1 > feed.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 1, 1, tzinfo=CST)
TERMS = (1, 3, 6, 12, 24, 36)
RATES = {"12": "0.15", "24": "0.30", "36": "0.40"}
SELF_SERVICE = ("KEC", "EBS", "KRDS", "MongoDB", "KingAI")


def _rate(months: int) -> Decimal:
    best = max((int(k) for k in RATES if int(k) <= months), default=None)
    return Decimal(RATES[str(best)]) if best else Decimal(0)


def _payment(rnd: random.Random, total: Decimal) -> dict[str, str]:
    """Split a price over cash, cloud tickets and vouchers (whole cents, adding up exactly)."""
    ticket = (total * Decimal(rnd.choice([0, 0, 0, 10, 20])) / 100).quantize(Decimal("0.01"))
    voucher = (total * Decimal(rnd.choice([0, 0, 5])) / 100).quantize(Decimal("0.01"))
    cash = total - ticket - voucher
    out = {"cash": str(cash)}
    if ticket:
        out["cloud_ticket"] = str(ticket)
    if voucher:
        out["voucher"] = str(voucher)
    return out


def _at(t: datetime) -> str:
    return t.isoformat()


def generate(instances: int, seed: int = 1) -> Iterator[dict]:
    rnd = random.Random(seed)
    n = 0
    account_no = 0
    while n < instances:
        account = f"acct-{account_no}"
        account_no += 1
        start = T0 + timedelta(days=rnd.randrange(0, 300), hours=rnd.randrange(0, 24))
        keca: list[str] = []
        for _ in range(rnd.randint(2, 8)):
            if n >= instances:
                break
            product = rnd.choices(["KEC", "EBS", "EIP", "KRDS", "MongoDB", "KingAI", "KorPro"],
                                  weights=[30, 12, 10, 10, 10, 6, 12])[0]
            name = f"{product.lower()}-{n}"
            n += 1
            t = start + timedelta(hours=rnd.randrange(0, 24 * 20))
            if product == "KorPro":
                yield from _korpro(rnd, name, account, t)
                continue
            refunding: set[str] = set()
            yield from _kingsoft(rnd, name, account, product, t, keca, refunding)
            if product == "KEC" and name not in refunding:
                keca.append(name)  # a KEC with a refund request may be released: bind nothing to it


def _kingsoft(rnd: random.Random, name: str, account: str, product: str, t: datetime,
              keca: list[str], refunding: set[str]) -> Iterator[dict]:
    months = rnd.choice(TERMS)
    price = Decimal(rnd.randrange(5, 200))
    total = price * months * (1 - _rate(months))
    line = {"type": "purchase", "id": f"{name}-p", "at": _at(t), "instance": name, "account": account,
            "product": product, "order": f"{name}-o1", "months": months, "monthly_price": str(price),
            "payment": _payment(rnd, total)}
    if months >= 12:
        line["discounts"] = RATES
    if product == "KEC":
        line["image"] = rnd.choice(["public", "public", "public", "market"])
    if product == "EIP":
        line["bandwidth_mbps"] = rnd.choice([10, 100, 200, 500])
    yield line
    end = t + timedelta(days=30 * months)
    if product in ("EIP", "EBS") and keca and rnd.random() < 0.6:
        kec = rnd.choice(keca)
        kind, attr = ("bind_eip", "eip") if product == "EIP" else ("mount_disk", "disk")
        yield {"type": kind, "at": _at(t + timedelta(hours=1)), "instance": kec, attr: name}
        return  # bound: refunded with its KEC, if at all
    if product == "KRDS" and rnd.random() < 0.2:
        yield {"type": "associate_kdrds", "at": _at(t + timedelta(hours=2)), "instance": name, "kdrds": f"kd-{name}"}
    now = t
    order = 1
    if rnd.random() < 0.15:
        now = t + timedelta(days=rnd.randrange(1, 30 * months))
        order += 1
        up = price + rnd.randrange(5, 50)
        yield {"type": "upgrade", "at": _at(now), "instance": name, "order": f"{name}-o{order}",
               "monthly_price": str(up), "payment": _payment(rnd, Decimal(rnd.randrange(10, 500)))}
    if rnd.random() < 0.2:
        now = now + timedelta(days=rnd.randrange(1, 20))
        order += 1
        renew = rnd.choice((1, 3, 12))
        yield {"type": "renew", "at": _at(now), "instance": name, "order": f"{name}-o{order}", "months": renew,
               "monthly_price": str(price), "payment": _payment(rnd, price * renew * (1 - _rate(renew))),
               **({"discounts": RATES} if renew >= 12 else {})}
        end = max(end, now) + timedelta(days=30 * renew)
    if rnd.random() < 0.06 and now + timedelta(days=2) < end:
        now = now + timedelta(days=1)
        order += 1
        yield {"type": "downgrade", "at": _at(now), "instance": name, "order": f"{name}-o{order}",
               "monthly_price": str(max(price - 3, Decimal(1))), "credit": str(Decimal(rnd.randrange(0, 30)))}
    if rnd.random() < 0.3:
        asked = now + timedelta(hours=rnd.choice([2, 30, 100, 24 * 20, 24 * 90]))
        request = {"type": "request_refund", "at": _at(asked), "instance": name, "refund": f"rf-{name}"}
        if product not in SELF_SERVICE or rnd.random() < 0.1:
            request["mode"] = "exception"
            request["exception_report"] = f"ER-{name}"
        refunding.add(name)
        yield request  # no completion: whether the ledger accepts it is the ledger's to judge


def _korpro(rnd: random.Random, name: str, account: str, t: datetime) -> Iterator[dict]:
    t = t.astimezone(UTC)
    plan = rnd.choice(["performance", "fixed"])
    sub = {"type": "subscribe", "at": _at(t), "instance": name, "account": account, "plan": plan}
    estimate = Decimal(rnd.randrange(1000, 20000))
    cpus = rnd.randrange(4, 200)
    if plan == "performance":
        sub["estimated_monthly_savings"] = str(estimate)
    else:
        sub["cpus"] = cpus
    yield sub
    fee = estimate / 5 if plan == "performance" else Decimal(500 + 4 * cpus)
    months = rnd.randint(1, 12)
    for m in range(months):
        start = t + timedelta(days=30 * m)
        charged = fee if rnd.random() > 0.05 else fee + 50
        yield {"type": "charge", "at": _at(start), "instance": name, "invoice": f"{name}-i{m}",
               "amount": str(charged.quantize(Decimal("0.01"))), "period_start": _at(start),
               "period_end": _at(start + timedelta(days=30))}
        if plan == "performance":
            yield {"type": "report_savings", "at": _at(start + timedelta(days=31)), "instance": name,
                   "invoice": f"{name}-i{m}",
                   "actual_savings": str((estimate * Decimal(rnd.randrange(20, 120)) / 100).quantize(Decimal("1")))}
        if charged != fee:
            yield {"type": "report_billing_error", "at": _at(start + timedelta(days=1)), "instance": name,
                   "invoice": f"{name}-i{m}", "incorrect_amount": "50.00"}
    if rnd.random() < 0.2:
        o = t + timedelta(days=rnd.randrange(0, 30 * months), hours=rnd.randrange(24))
        yield {"type": "report_outage", "at": _at(o + timedelta(days=3)), "instance": name, "start": _at(o),
               "end": _at(o + timedelta(hours=rnd.choice([6, 30, 72])))}
    if rnd.random() < 0.4:
        last = t + timedelta(days=30 * months + 32)
        reason = rnd.choice(["money_back", "savings_shortfall", "trial", "outage", "billing_error",
                             "change_of_mind", "not_as_described", "user_error"])
        yield {"type": "request_refund", "at": _at(last), "instance": name, "refund": f"rf-{name}", "reason": reason,
               "email": f"billing@{account}.example", "invoice": f"{name}-i{months - 1}",
               "explanation": "generated"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for line in generate(args.instances, args.seed):
        sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
