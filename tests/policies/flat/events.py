"""A widget's stream: `Widget`, opened by `Widget.Bought` (FLAT-0); refunds use the shared lifecycle events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.errors import Conflict
from domain.instance import Instance


class Widget(Instance):
    """One widget, bought once."""

    class Bought(Instance.Event):
        OPENS = True  # its opening fact: what the ledger reads a head's account, product and currency from
        account: str
        product: str
        order: str
        price: Decimal
        currency: str
        days: int  # the term, from ``at``

    def buy(self, *, timestamp: datetime, **fields: Any) -> None:
        if self.purchase is not None:
            raise Conflict(f"widget {self.name!r} was already bought (order {self.purchase.order!r})", "instance")
        self.trigger_event(Widget.Bought, timestamp=timestamp, **fields)
