"""The edge's model of Flat's own feed command, ``buy_widget`` (FLAT-0), of the feed's shared field types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from adapters.formats.feed import Command, Currency, Id, Money

Days = Annotated[int, Field(ge=1, le=366, strict=True)]


class BuyWidget(Command):
    type: Literal["buy_widget"]
    instance: Id
    account: Id
    order: Id
    price: Money
    currency: Currency = "EUR"
    days: Days = 30


MODELS = {"buy_widget": BuyWidget}
