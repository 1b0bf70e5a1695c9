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


def test_the_chart_fits_its_width_at_any_ledger_length_and_its_labels_never_overlap():
    """Issue 25, item 13: the chart's width grew by 82 units a month (24 months: 2,048, cut off by its box); now
    at most `WIDTH`, each bar inside it, and the month labels at least `LABEL` apart."""
    from adapters.http.console.chart import LABEL, WIDTH

    for n in (1, 2, 11, 12, 24, 120, 1200):
        months = [month("CNY", f"{2000 + i // 12}-{i % 12 + 1:02d}", "10.00", "1.00", "0.00", "9.00")
                  for i in range(n)]
        (chart,) = ledger_charts(months)
        assert chart.width <= WIDTH, n
        assert all(0 < b.x and b.x + b.width <= chart.width for b in chart.bars), n
        assert len(chart.bars) == 4 * n  # every month drawn, each bar with its month
        xs = [x for _, x in chart.months]
        assert xs and all(b - a >= LABEL for a, b in zip(xs, xs[1:], strict=False)), n
        assert xs[-1] < chart.width
    (few,) = ledger_charts([month("CNY", "2026-01", "1.00", "0.00", "0.00", "1.00")])
    assert few.bars[0].width == 14  # a short ledger keeps full-size bars
