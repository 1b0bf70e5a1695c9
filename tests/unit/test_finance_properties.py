"""Finance invariants (hypothesis): the account ledger balances to the cent, every payment and refund is
recognised exactly once, and nothing stays deferred once every order has run out."""

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.services import reads
from projections.finance import account_days, instance_rows
from tests.feedkit import day, downgrade, ledger_with, purchase, record, renew, upgrade

prices = st.integers(min_value=1, max_value=500).map(lambda p: Decimal(p))


@settings(max_examples=50, deadline=None)
@given(months=st.integers(1, 24), price=prices, renew_months=st.integers(0, 3), up_day=st.integers(0, 25),
       down=st.booleans(), refund_day=st.one_of(st.none(), st.integers(0, 800)))
# K-M4: the downgrade credit leaves the base line at -0.03, the amount is 0.00 and no order is refunded
@example(months=1, price=Decimal(1), renew_months=0, up_day=0, down=True, refund_day=26)
def test_paid_equals_consumed_plus_refunded_plus_deferred(months, price, renew_months, up_day, down, refund_day):
    lines = [purchase(months=months, price=str(price)),
             upgrade(order="u", price=str(price * 2), cash=str(price), at=day(up_day))]
    if renew_months:
        lines.append(renew(order="r", months=renew_months, price=str(price * 2), at=day(up_day + 1)))
    if down:
        lines.append(downgrade(order="d", price=str(price), credit="1.00", at=day(up_day + 2)))
    ledger = ledger_with(*lines)
    if refund_day is not None:
        record(ledger, {"type": "request_refund", "at": day(up_day + 3 + refund_day).isoformat(),
                        "instance": "kec-1", "refund": "rf", "mode": "exception", "exception_report": "ER"})
    orders, refunds = instance_rows("kec-1", reads.events_of(ledger, "kec-1"))
    days = account_days(orders, refunds)
    for d in days:
        assert d.closing_cents == d.opening_cents + d.paid_cents - d.consumed_cents - d.refunded_cents
    assert sum(d.paid_cents for d in days) == sum(o.paid_cents for o in orders)
    credits = sum(o.credit_cents for o in orders)
    granted = sum(r.amount_cents for r in refunds if r.state == "accepted")
    assert sum(d.refunded_cents for d in days) == granted + credits
    assert days[-1].closing_cents == 0  # every order has run out (or the instance was released)
