"""The account ledger's and the journal's days are business days of the reporting calendar (issue 25, item 7):
by default the ``calendar_tz`` of the policy that judges each row (Kingsoft +08:00, K-Q1/K-L2's calendar),
or one zone for every row when the ledger's ``BILLING_LEDGER_REPORTING_TZ`` setting names one; never the UTC day
by accident. kec-2 of the seed examples is bought at 2027-01-01T00:00:00+08:00 (2026-12-31T16:00Z) for 120.00
(K-M1): its payment is booked on 2027-01-01, in January."""

from __future__ import annotations

import csv
from datetime import date

import pytest
from sqlalchemy import select

from adapters.bootstrap import Settings, bootstrap
from adapters.services import overview
from adapters.store import readmodels
from tests.integration.conftest import CLI

PERIOD = ["--from", "2026-12-01T00:00:00+08:00", "--to", "2027-02-01T00:00:00+08:00"]


def paid_days(cli: CLI, tmp_path) -> dict[str, str]:
    """The days of acme's account ledger with a payment, as `export account-ledger` writes them."""
    out = tmp_path / "ledger.csv"
    cli.ok("export", "account-ledger", *PERIOD, "--out", str(out), "--force")
    with out.open() as f:
        return {r["day"]: r["paid"] for r in csv.DictReader(f) if r["paid"] != "0.00"}


def order_paid_day(cli: CLI, tmp_path, order: str) -> str:
    out = tmp_path / "journal.csv"
    cli.ok("journal", *PERIOD, "--format", "csv", "--out", str(out), "--force")
    with out.open() as f:
        days = {r["date"] for r in csv.DictReader(f) if r["kind"] == "order_paid" and r["ref"] == order}
    assert len(days) == 1, days
    return days.pop()


def stored_paid(url: str) -> dict[date, int]:
    """What the read model's months (`rm_account_months`) show acme paid, by the month's first day."""
    engine = readmodels.engine_for(url)
    t = readmodels.account_months
    with engine.connect() as conn:
        found = {r.month: r.paid_cents for r in conn.execute(select(t).where(t.c.account == "acme")) if r.paid_cents}
    engine.dispose()
    return found


def test_a_purchase_at_midnight_plus_eight_is_booked_on_its_business_day_K_M1(seeded: CLI, tmp_path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("BILLING_LEDGER_REPORTING_TZ", raising=False)
    assert paid_days(seeded, tmp_path) == {"2027-01-01": "120.00"}
    assert order_paid_day(seeded, tmp_path, "o-2") == "2027-01-01"
    seeded.ok("project")
    paid = stored_paid(seeded.url)
    assert paid[date(2027, 1, 1)] == 12000 and date(2026, 12, 1) not in paid
    app = bootstrap(Settings.resolve(seeded.url))  # the account page's months (console, HTTP)
    months = overview.account_overview(app, "acme").as_json()["ledger"]
    app.close()
    assert [m["paid"] for m in months if m["month"] == "2027-01"] == ["120.00"]
    assert all(m["paid"] == "0.00" for m in months if m["month"] == "2026-12")


def test_the_reporting_calendar_is_a_setting(seeded: CLI, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A finance team that reports in UTC days sets ``BILLING_LEDGER_REPORTING_TZ=+00:00``: the same purchase is
    then on 2026-12-31, in the account ledger, the journal and the read models alike."""
    monkeypatch.setenv("BILLING_LEDGER_REPORTING_TZ", "+00:00")
    assert paid_days(seeded, tmp_path) == {"2026-12-31": "120.00"}
    assert order_paid_day(seeded, tmp_path, "o-2") == "2026-12-31"
    seeded.ok("project", "--rebuild")
    paid = stored_paid(seeded.url)
    assert paid[date(2026, 12, 1)] == 12000 and date(2027, 1, 1) not in paid


def test_a_reporting_zone_that_is_not_an_offset_is_bad_input(seeded: CLI, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BILLING_LEDGER_REPORTING_TZ", "Asia/Shanghai")
    done = seeded.run("export", "account-ledger", *PERIOD, "--out", str(tmp_path / "x.csv"))
    assert done.returncode == 2
    assert "BILLING_LEDGER_REPORTING_TZ" in done.stderr and "±HH:MM" in done.stderr
    assert not (tmp_path / "x.csv").exists()
