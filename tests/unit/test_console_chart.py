"""The account page's bar chart: every bar carries its amount as the use case's Decimal text (floats only size the
bars), heights are proportional to the amounts on a round axis, one chart per currency."""

from decimal import Decimal

from adapters.http.console.chart import PLOT_HEIGHT, SERIES, ledger_charts
from adapters.services.overview import LedgerMonth


def month(currency: str, m: str, paid: str, consumed: str, refunded: str, deferred: str) -> LedgerMonth:
    return LedgerMonth(currency, m, Decimal(paid), Decimal(consumed), Decimal(refunded), Decimal(deferred))


def test_each_bar_carries_its_decimal_text_and_a_proportional_height():
    months = [month("CNY", "2026-03", "900.00", "64.52", "0.00", "835.48"),
              month("CNY", "2026-04", "548.33", "1383.81", "0.00", "0.00"),
              month("USD", "2026-01", "2000.00", "0.00", "0.10", "2000.00")]
    cny, usd = ledger_charts(months)
    assert (cny.currency, usd.currency) == ("CNY", "USD")
    assert [(b.series, b.month, b.amount) for b in cny.bars] == [
        (s, m.month, str(getattr(m, s))) for m in months[:2] for s in SERIES]
    top = Decimal(cny.ticks[-1][0])
    assert top == Decimal("2000.00")  # the round axis end above the largest amount (1383.81)
    for b in cny.bars:
        assert abs(b.height - PLOT_HEIGHT * float(Decimal(b.amount) / top)) < 1e-6
        assert abs(b.y + b.height - cny.baseline) < 1e-9
    assert [r.month for r in cny.rows] == ["2026-03", "2026-04"]


def test_an_account_with_no_movement_draws_nothing():
    assert ledger_charts([]) == []
    (chart,) = ledger_charts([month("CNY", "2026-01", "0.00", "0.00", "0.00", "0.00")])
    assert all(b.height == 0 for b in chart.bars)
