"""Wording and shape a person reads (issue 25 item 15), through the CLI."""

import json
import re

from tests.integration.conftest import CLI

PURCHASE = {"type": "purchase", "id": "p1", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-1",
            "account": "acme", "product": "KEC", "order": "o-1", "months": 12, "monthly_price": "10.00",
            "payment": {"cash": "120.00"}}


def test_verify_counts_one_seal_in_the_singular(cli: CLI):
    cli.ok("record", "-", input=json.dumps(PURCHASE) + "\n")
    said = cli.ok("verify")
    assert said.startswith("ok: 4 rows under 1 seal, head "), said


def test_history_numbers_the_facts_from_1_and_a_retraction_by_that_number(cli: CLI):
    """The stream's first event (the instance opened) is not a fact: the purchase is #1, not #2."""
    renew = {"type": "renew", "id": "r1", "at": "2026-02-01T00:00:00+08:00", "instance": "kec-1", "order": "o-2",
             "months": 1, "monthly_price": "10.00", "payment": {"cash": "10.00"}}
    retract = {"type": "retract", "id": "x1", "at": "2026-02-02T00:00:00+08:00", "target": "r1", "reason": "typo"}
    cli.ok("record", "-", input="\n".join(json.dumps(x) for x in (PURCHASE, renew, retract)) + "\n")
    said = cli.ok("history", "kec-1")  # wider than 200 columns: the text layout, one line per fact, then its prose
    numbered = [(m.group(1), m.group(2)) for m in re.finditer(r"^(\d+)\s+\S+\s+\S+\s+(\w+)\s", said, re.M)]
    assert numbered == [("1", "Purchased"), ("2", "Renewed"), ("3", "Retracted")], numbered
    assert "retracted by #3 " in cli.ok("history", "kec-1")
    assert [f["version"] for f in cli.json("history", "kec-1", "--json")["facts"]] == [2, 3, 4]  # JSON unchanged


def test_usage_lines_name_arguments_in_capitals(real_cli: CLI):
    """``INSTANCE``, ``FEED.jsonl``, ``[INSTANCE]`` when optional; never typer's ``{instance}``."""
    for args, usage in ((["history"], "Usage: billing-ledger history [OPTIONS] INSTANCE"),
                        (["record"], "Usage: billing-ledger record [OPTIONS] FEED.jsonl"),
                        (["what-if", "--help"], "Usage: billing-ledger what-if [OPTIONS] [INSTANCE]")):
        done = real_cli.run(*args)
        said = done.stdout + done.stderr
        assert usage in said and "{" not in said.split("Usage:")[1].splitlines()[0], said


def test_trial_balance_numbers_are_right_aligned(seeded: CLI):
    """Amounts of different widths line up on the decimal point: each debit and credit cell ends at its column's
    right edge."""
    small = {**PURCHASE, "id": "p-small", "instance": "kec-small", "order": "o-small", "months": 1,
             "monthly_price": "5.00", "payment": {"cloud_ticket": "5.00"}}
    seeded.ok("record", "-", input=json.dumps(small) + "\n")
    rows = [line.split("│")[3:5] for line in seeded.ok("trial-balance", "--at", "2026-06-01T00:00:00Z").splitlines()
            if line.startswith("│ ")]
    cells = [c for row in rows for c in row if c.strip()]
    assert len(cells) >= 4 and all(c.endswith(c.strip() + " ") for c in cells), cells
    widths = {len(c.strip()) for c in cells}
    assert len(widths) > 1, cells  # amounts of several widths: left-aligned they would not all end there


def test_prices_in_errors_have_two_decimals_K_T2(cli: CLI):
    """A price given as ``"30"`` is 30.00 in the message, and so is the term's list price 12 x 30 = 360.00."""
    line = {**PURCHASE, "monthly_price": "30", "payment": {"cash": "300"}}
    done = cli.run("record", "-", input=json.dumps(line) + "\n")
    assert done.returncode == 2
    assert done.stderr.strip() == "line 1: payment: payment tenders add up to 300.00, not the price 360.00"
