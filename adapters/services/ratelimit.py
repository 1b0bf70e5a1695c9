"""Use case: count one request of an API key against the server's rate (``BILLING_LEDGER_HTTP_RATE``, the
`limits` notation: ``1200/minute``), in a moving window whose counters are in the ledger's database
(`adapters.store.ratelimit`): every worker process and every server on the ledger shares them, so the rate
holds whatever their number (docs/http.md, "Errors")."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from adapters.bootstrap import App
from adapters.store import ratelimit as store


@dataclass(frozen=True)
class Rate:
    amount: int  # at most this many requests...
    period: float  # ...in any window of this many seconds
    text: str  # as configured

    @classmethod
    def parse(cls, text: str) -> Rate:
        from limits import parse

        item = parse(text)
        return cls(item.amount, float(item.get_expiry()), str(item))


def address_bucket(host: str | None) -> str:
    """The counter of a client address (``@`` and the address: no key id starts so; a long one hashed, to fit
    the counters' 40 characters)."""
    name = host or "unknown"
    return "@" + (name if len(name) <= 39 else hashlib.sha256(name.encode()).hexdigest()[:39])


def hit(app: App, key_id: str, rate: Rate) -> float | None:
    """Count a request of ``key_id``: None when it is within ``rate``, else the seconds to wait (nothing is
    counted for a refused request)."""
    app.writer  # noqa: B018 - the store exists before its counters (as for keys)
    wait = store.hit(app.readmodels, key_id, rate.amount, int(rate.period * 1_000_000), time.time_ns() // 1000)
    return None if wait is None else wait / 1_000_000
