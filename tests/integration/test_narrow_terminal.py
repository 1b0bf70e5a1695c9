"""Terminal tables at 80 columns stay readable (issue 25, item 10).

The real CLI (a subprocess) with ``COLUMNS=80``, for every command that prints a table: no line is wider than
the terminal, no header is cut (``consum…``), and every value is printed whole: the quote's formula on its own
line under its order (K-A1), every listed name and time on one line."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.integration.conftest import CLI, EXE, ROOT

WIDTH = 80


class NarrowCLI(CLI):
    def run(self, *args: str, input: str | None = None, db: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
        env["COLUMNS"] = str(WIDTH)
        return subprocess.run([str(EXE), "--db", self.url, *args], input=input, capture_output=True, text=True,
                              cwd=self.cwd, env=env, timeout=120)


@pytest.fixture(scope="module")
def narrow(tmp_path_factory) -> CLI:
    tmp = tmp_path_factory.mktemp("narrow")
    cli = NarrowCLI(f"sqlite:///{tmp / 'ledger.db'}", tmp)
    for example in ("seed-examples.jsonl", "korpro-examples.jsonl"):
        cli.ok("record", str(ROOT / "examples" / example))
    return cli


def readable(text: str, headers: list[str]) -> list[str]:
    """The lines of ``text``, after checking that none is wider than the terminal, nothing is cut with an
    ellipsis, and every header is printed whole on one line."""
    lines = text.splitlines()
    assert lines, "no output"
    assert all(len(line) <= WIDTH for line in lines), "\n".join(x for x in lines if len(x) > WIDTH)
    assert "…" not in text, text
    for header in headers:
        assert any(header in line for line in lines), f"header {header!r} cut or missing:\n{text}"
    return lines


def run(cli: CLI, *args: str, status: int = 0) -> str:
    done = cli.run(*args)
    assert done.returncode == status, done.stdout + done.stderr
    return done.stdout


def test_the_quote_prints_each_formula_whole_under_its_order(narrow: CLI):
    args = ("quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00")
    q = json.loads(run(narrow, *args, "--json"))
    lines = readable(run(narrow, *args), ["instance", "order", "kind", "rule", "paid (CNY)", "consumed (CNY)",
                                          "refund (CNY)"])
    for line in q["lines"]:
        (at,) = [i for i, x in enumerate(lines) if x.split()[:2] == [line["instance"], line["order"]]]
        assert lines[at + 1].strip() == f"explanation: {line['formula']}"  # K-A1: the formula, whole, under it
        assert line["refund"] in lines[at].split()


def test_the_history_prints_every_time_and_detail_whole(narrow: CLI):
    h = json.loads(run(narrow, "history", "kec-2", "--json"))
    text = run(narrow, "history", "kec-2")
    lines = readable(text, ["recorded at", "business at", "fact", "recorded by"])
    for fact in h["facts"]:
        assert any(f"business at {fact['at'][:19]}" in x for x in lines), text  # the header with its value
        assert any(f"fact {fact['fact']}" in x for x in lines)
    assert any(x.strip().startswith("details: order=o-2") for x in lines)


@pytest.mark.parametrize("command, headers, field", [
    (("instances",), ["instance", "account", "product", "currency", "opened at"], "instance"),
    (("refunds",), ["refund", "instance", "account", "policy", "mode", "requested at", "amount", "state"], "refund"),
])
def test_listings_print_every_value_whole(narrow: CLI, command, headers, field):
    rows = next(iter(json.loads(run(narrow, *command, "--json")).values()))
    assert rows
    lines = readable(run(narrow, *command), headers)
    for r in rows:
        assert any(f"{field} {r[field]} " in x + " " for x in lines)


def test_the_trial_balance_fits(narrow: CLI):
    tb = json.loads(run(narrow, "trial-balance", "--at", "2027-12-31T00:00:00Z", "--json"))
    text = run(narrow, "trial-balance", "--at", "2027-12-31T00:00:00Z")
    lines = readable(text, ["account", "currency"])
    accounts = {r["account"] for r in next(v for v in tb.values() if isinstance(v, list))}
    assert accounts and all(any(a in x for x in lines) for a in accounts), text


def test_the_reconciliation_fits_with_each_detail_whole(narrow: CLI):
    args = ("reconcile", "--statement", str(ROOT / "examples" / "statement.csv"))
    report = json.loads(run(narrow, *args, "--json", status=1))
    text = run(narrow, *args, status=1)
    lines = readable(text, ["status", "kind", "reference"])
    details = [f["detail"] for f in report["findings"] if f["status"] != "matched" and f["detail"]]
    assert details
    joined = " ".join(x.strip() for x in lines)  # a long detail wraps between words, on indented lines
    assert all(d in joined for d in details), text


def test_the_what_if_fits(narrow: CLI):
    text = run(narrow, "what-if", "--set", "refundable_tenders=cash", "--set", "performance_rate=0.25", "--all")
    readable(text, ["instance", "refund", "policy", "baseline", "scenario", "difference"])
    w = json.loads(run(narrow, "what-if", "--set", "refundable_tenders=cash", "--set", "performance_rate=0.25",
                       "--json"))
    assert all(any(r["instance"] in x for x in text.splitlines()) for r in w["requests"])
