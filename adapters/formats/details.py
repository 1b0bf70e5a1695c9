"""A fact's details for people: each field a labelled value (issue 25, item 13), from the values as recorded
(`adapters.services.queries.History.values`), not from their JSON.

- a label is the field's name in words (``monthly_price`` -> ``monthly price``);
- money (a Decimal field of a fact, a payment's tenders) is its Decimal text with the instance's currency, a
  payment lists the tenders actually used (``cash 900.00 CNY + cloud ticket 60.00 CNY``);
- yes or no for a flag, a time in the reader's zone (``when``), an object or list as its labelled items
  (``12: 0.20``; a Decimal inside one, a discount rate or a spec, is a number, not money);
- a field with nothing in it, the currency itself (every amount carries it) and the frozen quote (shown on its
  own) are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.money import TENDERS, Payment

LEFT_OUT = frozenset({"currency", "quote"})


@dataclass(frozen=True)
class Detail:
    label: str
    text: str
    time: bool = False  # a time: one value that never wraps


def label(name: str) -> str:
    return str(name).replace("_", " ")


def _amount_text(amount: Decimal, currency: str | None) -> str:
    return f"{amount} {currency}" if currency else str(amount)


def _inner(value: Any, when: Callable[[datetime], str]) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{label(k)}: {_inner(v, when)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_inner(v, when) for v in value)
    return str(value)


def detail(name: str, value: Any, currency: str | None, when: Callable[[datetime], str]) -> Detail:
    if isinstance(value, Payment):
        used = [f"{label(t)} {_amount_text(getattr(value, t), currency)}" for t in TENDERS if getattr(value, t)]
        return Detail(label(name), " + ".join(used) or _amount_text(value.total, currency))
    if isinstance(value, Decimal):
        return Detail(label(name), _amount_text(value, currency))
    if isinstance(value, datetime):
        return Detail(label(name), when(value), time=True)
    return Detail(label(name), _inner(value, when))


def details(values: Mapping[str, Any], currency: str | None, when: Callable[[datetime], str]) -> list[Detail]:
    """The labelled values of one fact's ``values`` (field name -> value as recorded)."""
    return [detail(k, v, currency, when) for k, v in values.items()
            if k not in LEFT_OUT and v is not None and not (isinstance(v, (Mapping, list, tuple)) and not v)]
