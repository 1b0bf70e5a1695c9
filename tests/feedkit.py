"""Readable feeds for tests: build lines as dicts, record them through the real service on an
in-memory store (the library's POPO module), and quote."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from adapters.formats.feed import parse_feed
from adapters.services import reads
from adapters.services import record as service
from adapters.store.ledger import Ledger
from domain.quote import Quote

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 1, 1, tzinfo=CST)
RECORDED = datetime(2030, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def day(n: float, hours: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(days=n, hours=hours, seconds=seconds)


def iso(t: datetime | str) -> str:
    return t if isinstance(t, str) else t.isoformat()


def purchase(instance: str = "kec-1", *, order: str | None = None, months: int = 12, price: str = "10.00",
             cash: str | None = None, at: datetime = T0, product: str = "KEC", account: str = "acme",
             **extra: Any) -> dict[str, Any]:
    """A purchase paid in cash at list price (no discounts unless given)."""
    line = {"type": "purchase", "at": iso(at), "instance": instance, "account": account, "product": product,
            "order": order or f"{instance}-buy", "months": months, "monthly_price": price}
    line["payment"] = extra.pop("payment", {"cash": cash or str(months * Decimal(price))})
    line.update({k: iso(v) if isinstance(v, datetime) else v for k, v in extra.items()})
    return line


def renew(instance: str = "kec-1", *, order: str, months: int = 12, price: str = "10.00", cash: str | None = None,
          at: datetime, **extra: Any) -> dict[str, Any]:
    line = {"type": "renew", "at": iso(at), "instance": instance, "order": order, "months": months,
            "monthly_price": price, "payment": {"cash": cash or str(months * Decimal(price))}}
    line.update(extra)
    return line


def upgrade(instance: str = "kec-1", *, order: str, price: str, cash: str, at: datetime, **extra: Any):
    line = {"type": "upgrade", "at": iso(at), "instance": instance, "order": order, "monthly_price": price,
            "payment": {"cash": cash}}
    line.update(extra)
    return line


def downgrade(instance: str = "kec-1", *, order: str, price: str, credit: str, at: datetime, **extra: Any):
    line = {"type": "downgrade", "at": iso(at), "instance": instance, "order": order, "monthly_price": price,
            "credit": credit}
    line.update(extra)
    return line


# A fixed-rate KorPro subscription with a billing error on its first invoice, and the request that refunds it.
KORPRO_BILLING_ERROR = [
    {"type": "subscribe", "at": "2026-01-10T00:00:00Z", "instance": "kp-2", "account": "umbrella", "plan": "fixed",
     "cpus": 25},
    {"type": "charge", "at": "2026-01-10T00:00:00Z", "instance": "kp-2", "invoice": "inv-1", "amount": "650.00",
     "period_start": "2026-01-10T00:00:00Z", "period_end": "2026-02-10T00:00:00Z"},
    {"type": "report_billing_error", "at": "2026-01-11T00:00:00Z", "instance": "kp-2", "invoice": "inv-1",
     "incorrect_amount": "50.00"},
    {"type": "request_refund", "at": "2026-01-12T00:00:00Z", "instance": "kp-2", "refund": "r-kp",
     "reason": "billing_error", "email": "ap@umbrella.example", "invoice": "inv-1", "explanation": "wrong price"},
]


def jsonl(*lines: dict[str, Any]) -> str:
    return "\n".join(json.dumps(x) for x in lines) + "\n"


def memory_ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def record(ledger: Ledger, *lines: dict[str, Any], now: datetime = RECORDED, **kw: Any) -> service.RecordResult:
    return service.record(ledger, parse_feed(jsonl(*lines).splitlines()), now, **kw)


def ledger_with(*lines: dict[str, Any]) -> Ledger:
    ledger = memory_ledger()
    record(ledger, *lines)
    return ledger


def quote(ledger: Ledger, instance: str = "kec-1", *, at: datetime, known_at: datetime = FAR,
          mode: str = "self_service", **kw: Any) -> Quote:
    """A quote; amount tests judge under self-service (whose amount is K-S4: K-A*, K-U1, K-D1, K-R1)."""
    return reads.assess(ledger, instance, at, known_at, mode=mode, **kw)


def refund(ledger: Ledger, instance: str = "kec-1", *, at: datetime, **kw: Any) -> str:
    return quote(ledger, instance, at=at, **kw).as_json()["amount"]


def lines_by_order(q: Quote) -> dict[str, dict[str, str]]:
    return {ln["order"]: ln for ln in q.as_json()["lines"]}
