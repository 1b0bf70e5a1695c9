"""The account ledger as an inline SVG bar chart: per month, four bars (paid, consumed, refunded, deferred at
the month's end), one chart per currency. The amounts are the use case's Decimals; they become floats here only
to place the bars (geometry), never to show or add money: every number shown is the Decimal's own text, in the
table beside the chart too.

The chart is at most `WIDTH` wide whatever the ledger's length (issue 25, item 13): a month's group of bars is
`GROUP` wide until the months no longer fit, then narrower; the months are labelled every so many months
(`LABEL` apart at least, so labels never overlap), each bar keeps its month in its tooltip and its data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

SERIES = ("paid", "consumed", "refunded", "deferred")
BAR, GAP, GROUP_GAP, LEFT, RIGHT, TOP, PLOT_HEIGHT = 14, 2, 18, 70, 10, 16, 200
GROUP = len(SERIES) * (BAR + GAP) + GROUP_GAP  # a month's bars and the space after them, at full size
WIDTH = 960  # the widest chart (user units; the console's content is at most 1200 px wide)
LABEL = 60  # the room a month's label (YYYY-MM) needs


@dataclass(frozen=True)
class Bar:
    series: str
    month: str
    amount: str  # the Decimal's text
    x: float
    y: float
    height: float
    width: float


@dataclass(frozen=True)
class Chart:
    currency: str
    width: float
    height: float
    bars: list[Bar]
    months: list[tuple[str, float]]  # (YYYY-MM, x of its label)
    ticks: list[tuple[str, float]]  # (amount, y)
    baseline: float
    rows: list[Any]  # the months, for the table


def _nice(top: Decimal) -> Decimal:
    """A round upper end for the axis (1, 2 or 5 times a power of ten) at or above ``top``."""
    if top <= 0:
        return Decimal(1)
    exp = top.adjusted()
    for m in (1, 2, 5, 10):
        bound = Decimal(m).scaleb(exp)
        if bound >= top:
            return bound
    return Decimal(10).scaleb(exp)


def ledger_charts(months: Sequence[Any]) -> list[Chart]:
    """One chart per currency of the account ledger's months (`adapters.services.overview.LedgerMonth`)."""
    charts = []
    for currency in sorted({m.currency for m in months}):
        rows = [m for m in months if m.currency == currency]
        top = _nice(max((getattr(m, s) for m in rows for s in SERIES), default=Decimal(1)))
        scale = PLOT_HEIGHT / float(top)  # geometry only
        group = min(GROUP, (WIDTH - LEFT - RIGHT) / len(rows))
        shrink = group / GROUP
        bar, gap, space = BAR * shrink, GAP * shrink, GROUP_GAP * shrink
        every = math.ceil(LABEL / group)  # label one month in so many
        bars, labels = [], []
        for i, m in enumerate(rows):
            x0 = LEFT + space / 2 + i * group
            if i % every == 0:
                labels.append((m.month, x0 + len(SERIES) * (bar + gap) / 2))
            for j, s in enumerate(SERIES):
                value: Decimal = getattr(m, s)
                h = max(float(value), 0.0) * scale
                bars.append(Bar(s, m.month, str(value), x0 + j * (bar + gap), TOP + PLOT_HEIGHT - h, h, bar))
        ticks = [(str((top * k / 4).quantize(Decimal("0.01"))), TOP + PLOT_HEIGHT - PLOT_HEIGHT * k / 4)
                 for k in range(5)]
        charts.append(Chart(currency, LEFT + len(rows) * group + RIGHT, TOP + PLOT_HEIGHT + 40, bars, labels,
                            ticks, TOP + PLOT_HEIGHT, rows))
    return charts
