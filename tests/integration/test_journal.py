"""The journal checked by beancount's own tools (issue 18), on each store: `bean-check` accepts the export of
the demo ledger and of a generated one (both policies, refunds accepted, approved, completed and rejected,
staff decisions, retractions), and `bean-query` balances per account and currency equal the read models'
sums (`rm_account_months` as `project` wrote it) to the cent; the trial balance balances and agrees."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.store import readmodels
from bench.generate import generate
from tests.integration.conftest import CLI, ROOT, InProcessCLI
from tests.stores import STORES, store_url

BIN = Path(sys.executable).parent
FROM, TO = "2025-01-01T00:00:00Z", "2031-01-01T00:00:00Z"
CENT = Decimal("0.01")
INSTANCES = int(os.environ.get("JOURNAL_TEST_INSTANCES", "250"))  # the generated ledger (more: a longer run)


def bean_check(path: Path) -> None:
    done = subprocess.run([str(BIN / "bean-check"), str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "" and done.stderr.strip() == ""


def bean_query(path: Path, query: str) -> list[dict[str, str]]:
    done = subprocess.run([str(BIN / "bean-query"), "-f", "csv", str(path), query], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def journal_balances(path: Path) -> dict[tuple[str, str], Decimal]:
    """Every account's balance per currency, as beanquery (bean-query's engine, in this process) sums it."""
    import beanquery

    cursor = beanquery.connect(f"beancount:{path}").execute(
        "SELECT account, currency, sum(number) AS total GROUP BY account, currency")
    return {(account, currency): total for account, currency, total in cursor.fetchall()}


def read_model_figures(url: str, before: date | None = None) -> dict[str, dict[str, Decimal]]:
    """Per currency: paid, consumed, refunded (sums over the months) and deferred (each account's last closing),
    straight from rm_account_months (``before``: a month's first day)."""
    engine = readmodels.engine_for(url)
    t = readmodels.account_months
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    last: dict[tuple[str, str], tuple[date, int]] = {}
    with engine.connect() as conn:
        for r in conn.execute(select(t)):
            if before is not None and r.month >= before:
                continue
            s = sums[r.currency]
            s["paid"] += r.paid_cents
            s["consumed"] += r.consumed_cents
            s["refunded"] += r.refunded_cents
            if (r.account, r.currency) not in last or last[(r.account, r.currency)][0] < r.month:
                last[(r.account, r.currency)] = (r.month, r.closing_cents)
    engine.dispose()
    for (_, currency), (_, closing) in last.items():
        sums[currency]["deferred"] += closing
    return {c: {k: (Decimal(v) / 100).quantize(CENT) for k, v in s.items()} for c, s in sums.items()}


def journal_figures(balances: dict[tuple[str, str], Decimal]) -> dict[str, dict[str, Decimal]]:
    """The read models' four figures from the journal's balances (docs/journal.md, "Chart of accounts")."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: Decimal("0.00")))
    for (account, currency), v in balances.items():
        f = out[currency]
        if account.startswith("Assets:Receipts:"):
            f["paid"] += v
        elif account.startswith("Income:Revenue:"):
            f["consumed"] -= v
        elif account in ("Liabilities:RefundsPayable", "Liabilities:CustomerBalance",
                         "Assets:Payouts:OriginalPayment"):
            f["refunded"] -= v
        elif account == "Liabilities:Deferred":
            f["deferred"] -= v
    return {c: dict(f) for c, f in out.items()}


def check_against_read_models(cli: CLI, path: Path, before: date | None = None) -> dict:
    bean_check(path)
    balances = journal_balances(path)
    for currency in {c for _, c in balances}:
        assert sum(v for (_, c), v in balances.items() if c == currency) == 0
    expected = read_model_figures(cli.url, before)
    got = journal_figures(balances)
    assert set(got) == set(expected)
    for currency, figures in expected.items():
        for name, value in figures.items():
            assert got[currency].get(name, Decimal("0.00")) == value, (currency, name)
    return balances


def export(cli: CLI, out: Path, *extra: str, start: str = FROM, end: str = TO) -> Path:
    cli.ok("journal", "--from", start, "--to", end, "--format", "beancount", "--out", str(out), *extra)
    return out


def test_the_demo_ledgers_journal_passes_bean_check_and_equals_the_read_models(real_cli):
    """The acceptance of issue 18: the ledger `make demo` records, exported as beancount by the console script,
    checked by bean-check and bean-query (the other commands run in this process)."""
    cli = real_cli
    fast = InProcessCLI(cli.url, cli.cwd)
    fast.ok("record", "--preserve-recorded-at", str(ROOT / "examples" / "audit-story.jsonl"))  # first, as make demo
    fast.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    fast.ok("record", str(ROOT / "examples" / "korpro-examples.jsonl"))
    fast.ok("project")
    path = export(cli, cli.cwd / "demo.beancount", start="2026-01-01T00:00:00Z", end="2028-01-01T00:00:00Z")
    balances = check_against_read_models(cli, path)
    assert balances[("Liabilities:RefundsPayable", "USD")] == Decimal("-50.00")  # P-B1, approved at once
    queried = bean_query(path, "SELECT account, currency, sum(number) AS total GROUP BY account, currency")
    assert {(r["account"].strip(), r["currency"].strip()): Decimal(r["total"]) for r in queried} == balances
    tb = fast.json("trial-balance", "--at", "2028-01-01T00:00:00Z")
    assert tb["balanced"] is True
    for row in tb["accounts"]:
        assert Decimal(row["debit"]) - Decimal(row["credit"]) == balances[(row["account"], row["currency"])]
    for currency, t in tb["totals"].items():
        assert t["debit"] == t["credit"], currency
    # never overwritten without --force
    done = fast.run("journal", "--from", FROM, "--to", TO, "--out", str(path))
    assert done.returncode == 2 and "--force" in done.stderr


# ----- a generated ledger -----

def follow_up(feed: list[dict], refunds: list[dict]) -> list[dict]:
    """What happens after the generated feed: Kingsoft applications completed (K-L2) or rejected (K-Q2), KorPro
    requests decided (P-R2) and paid (P-R3), and some purchases retracted (never provisioned)."""
    lines: list[dict] = []
    for n, r in enumerate(refunds):
        at = datetime.fromisoformat(r["requested_at"])
        if r["state"] == "accepted":
            if n % 7 == 0:
                lines.append({"type": "reject_refund", "at": (at + timedelta(days=1)).isoformat(),
                              "refund": r["refund"], "reason": "abnormal application"})
            elif n % 2 == 0:
                lines.append({"type": "complete_refund", "at": (at + timedelta(days=2)).isoformat(),
                              "refund": r["refund"]})
        elif r["state"] in ("requested", "approved"):
            if r["state"] == "requested":
                lines.append({"type": "decide_refund", "at": (at + timedelta(days=1)).isoformat(),
                              "refund": r["refund"], "approve": True})
            lines.append({"type": "complete_refund", "at": (at + timedelta(days=3)).isoformat(),
                          "refund": r["refund"]})
    touched = {f["instance"] for f in feed if f["type"] in ("request_refund", "bind_eip", "mount_disk")}
    touched |= {f.get("eip") or f.get("disk") for f in feed if f["type"] in ("bind_eip", "mount_disk")}
    purchases = [f for f in feed if f["type"] == "purchase" and f["instance"] not in touched]
    for f in purchases[::15]:
        lines.append({"type": "retract", "at": f["at"], "target": f["id"], "reason": "never provisioned"})
    return lines


@pytest.fixture(scope="module", params=STORES)
def generated(request, tmp_path_factory) -> tuple[CLI, datetime]:
    """A generated ledger, then its follow-up recorded later; returns the time between the two feeds. The
    entry point runs in this process (`InProcessCLI`); the demo's test runs the console script. Built once per
    store for this module's tests, which only read it."""
    tmp_path = tmp_path_factory.mktemp(f"generated-{request.param}")
    cli = InProcessCLI(store_url(request.param, tmp_path), tmp_path)
    feed = list(generate(INSTANCES, seed=5))
    (tmp_path / "feed.jsonl").write_text("".join(json.dumps(f) + "\n" for f in feed))
    cli.ok("record", str(tmp_path / "feed.jsonl"))
    cli.ok("record", str(ROOT / "examples" / "korpro-examples.jsonl"))
    between = datetime.now(UTC)
    refunds = cli.json("refunds")["refunds"]
    later = follow_up(feed, refunds)
    assert any(f["type"] == "retract" for f in later) and any(f["type"] == "complete_refund" for f in later)
    (tmp_path / "later.jsonl").write_text("".join(json.dumps(f) + "\n" for f in later))
    cli.ok("record", str(tmp_path / "later.jsonl"))
    cli.ok("project")
    return cli, between


def test_a_generated_ledgers_journal_passes_bean_check_and_equals_the_read_models(generated):
    cli, between = generated
    balances = check_against_read_models(cli, export(cli, cli.cwd / "all.beancount"))
    for account in ("Liabilities:CustomerBalance", "Income:Revenue:Released", "Assets:Payouts:OriginalPayment",
                    "Expenses:NonRefundable:Voucher"):
        assert any(a == account and v for (a, _), v in balances.items()), f"nothing booked on {account}"
    # a period's journal brings its opening balances forward: its closing balances are the ledger's own
    check_against_read_models(cli, export(cli, cli.cwd / "q3.beancount", start="2026-07-01T00:00:00Z",
                                          end="2026-10-01T00:00:00Z"), before=date(2026, 10, 1))
    tb = cli.json("trial-balance", "--at", "2026-10-01T00:00:00Z")
    assert tb["balanced"] is True
    q3 = journal_balances(cli.cwd / "q3.beancount")
    assert {(r["account"], r["currency"]): Decimal(r["debit"]) - Decimal(r["credit"]) for r in tb["accounts"]} == \
        {k: v for k, v in q3.items() if v}


def test_a_closed_period_keeps_what_was_known_at_the_close_and_is_corrected_on_the_next_day(generated):
    """Completions, rejections and retractions recorded after the close change closed days: they are booked
    as corrections on the first open day, linked to their line ids; the closed days equal the journal as known
    at the close (`--known-at`), and the final balances still equal the read models (as known now)."""
    cli, between = generated
    closed = ("--closed-through", "2026-06-30", "--closed-at", between.isoformat())
    path = export(cli, cli.cwd / "closed.beancount", *closed)
    check_against_read_models(cli, path)
    as_closed = export(cli, cli.cwd / "as-closed.beancount", "--known-at", between.isoformat())
    import beanquery

    def closed_days(p: Path) -> list[tuple]:
        return sorted(beanquery.connect(f"beancount:{p}").execute(
            "SELECT date, narration, account, currency, number WHERE date <= 2026-06-30").fetchall())

    assert closed_days(path) == closed_days(as_closed)
    fixes = beanquery.connect(f"beancount:{path}").execute(
        "SELECT DISTINCT date, entry_meta('caused_by') WHERE 'correction' IN tags").fetchall()
    assert fixes and all(d == date(2026, 7, 1) and caused for d, caused in fixes)
    # the same journal as CSV: one row per posting, each entry balanced, the same balances
    cli.ok("journal", "--from", FROM, "--to", TO, "--format", "csv", "--out", str(cli.cwd / "closed.csv"), *closed)
    rows = list(csv.DictReader((cli.cwd / "closed.csv").open(encoding="utf-8")))
    per_entry: dict[str, Decimal] = defaultdict(Decimal)
    per_account: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        per_entry[r["entry"]] += Decimal(r["amount"])
        per_account[(r["account"], r["currency"])] += Decimal(r["amount"])
    assert set(per_entry.values()) == {Decimal("0.00")}
    assert {k: v for k, v in per_account.items() if v} == {k: v for k, v in journal_balances(path).items() if v}


def test_bad_journal_options_are_bad_input_and_write_nothing(cli):
    fast = cli
    fast.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    out = cli.cwd / "j.beancount"
    for args, says in ((("--format", "ledger"), "--format"), (("--closed-at", "2026-02-01T00:00:00Z"), "--closed-at"),
                       (("--closed-through", "2026-02-30"), "--closed-through"), (("--known-at", "yesterday"),
                                                                                 "--known-at")):
        done = fast.run("journal", "--from", FROM, "--to", TO, "--out", str(out), *args)
        assert done.returncode == 2 and says in done.stderr, (args, done.stderr)
    done = fast.run("journal", "--from", TO, "--to", FROM, "--out", str(out))
    assert done.returncode == 2 and "--from" in done.stderr
    assert not out.exists()
    assert fast.run("trial-balance", "--at", "soon").returncode == 2
