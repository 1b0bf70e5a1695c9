"""The KorPro worked example (examples/korpro-examples.jsonl) through the real CLI, on every store."""

import json

from tests.integration.conftest import CLI, ROOT

FEED = ROOT / "examples" / "korpro-examples.jsonl"


def test_korpro_example_quotes_P_G2_P_O1_P_F1_P_B1(cli: CLI):
    assert "recorded 12, duplicates 0, denied 0" in cli.ok("record", str(FEED))
    at = ["--at", "2026-03-10T00:00:00Z"]
    shortfall = cli.json("quote", "kp-1", *at, "--mode", "savings_shortfall")
    assert (shortfall["policy"], shortfall["mode"], shortfall["amount"]) == ("korpro-2025-12-20",
                                                                            "savings_shortfall", "1200.00")
    outage = cli.json("quote", "kp-1", *at, "--mode", "outage")  # 2000 x 36 h / 672 h = 107.142... -> 107.14
    assert [(ln["order"], ln["rule"], ln["refund"]) for ln in outage["lines"]] == [("inv-102", "P-O1", "107.14")]
    trial = cli.json("quote", "kp-2", "--at", "2026-01-20T00:00:00Z", "--mode", "trial")
    assert (trial["amount"], trial["currency"]) == ("600.00", "USD")
    requested = cli.json("history", "kp-2")["facts"][-1]
    assert (requested["fact"], requested["details"]["amount"], requested["details"]["approved"]) == (
        "RefundRequested", "50.00", True)
    flagged = json.loads(cli.ok("overdue", "--at", "2026-03-10T00:00:00Z", "--json"))["overdue"]
    assert [(o["refund"], o["rule"], o["severity"]) for o in flagged] == [("rf-kp-2", "P-R3", "flag")]


def test_korpro_quote_needs_a_reason_and_requests_need_their_details_P_R1(cli: CLI):
    cli.ok("record", str(FEED))
    no_reason = cli.run("quote", "kp-1", "--at", "2026-03-10T00:00:00Z")
    assert no_reason.returncode == 2 and "reason" in no_reason.stderr
    line = {"type": "request_refund", "at": "2026-03-10T00:00:00Z", "instance": "kp-1", "refund": "rf-x",
            "reason": "outage", "invoice": "inv-102", "explanation": "36 h down"}
    done = cli.run("record", "-", input=json.dumps(line) + "\n")
    assert done.returncode == 2 and done.stderr.startswith("line 1: email:")
