"""`billing-ledger overdue` reads the policy parameters (P-R2, P-V1, K-L2) and takes `--set`, through the real CLI."""

import json

from tests.integration.conftest import CLI
from tests.unit.test_korpro import charge, req, subscribe

FEED = [subscribe(), charge("inv-1", 0),
        req("money_back", days=10)]  # Thursday: decided by Tuesday 2026-01-20 under the base version (review_days 3)
SATURDAY = ["--at", "2026-01-17T00:00:00Z"]


def feed(*lines: dict) -> str:
    return "".join(json.dumps(x) + "\n" for x in lines)


def late(cli: CLI, *args: str) -> list[tuple[str, str, str]]:
    found = json.loads(cli.ok("overdue", *args, "--json"))["overdue"]
    return [(o["rule"], o["due"][:10], o["policy"]) for o in found]


def test_overdue_set_review_days_changes_the_result_P_R2(cli: CLI):
    cli.ok("record", "-", input=feed(*FEED))
    assert late(cli, *SATURDAY) == []
    assert late(cli, *SATURDAY, "--set", "review_days=1") == [("P-R2", "2026-01-16", "korpro-2025-12-20")]
    assert late(cli, *SATURDAY, "--set", "review_days=1", "--holiday", "2026-01-16") == []


def test_a_posted_version_sets_the_deadline_and_a_bad_calendar_tz_is_refused_P_V1_P_R2(cli: CLI):
    post = {"type": "post_policy", "at": "2026-01-06T00:00:00Z", "policy": "korpro", "version": "fast",
            "parameters": {"review_days": 1}}
    cli.ok("record", "-", input=feed(*FEED[:2], post, FEED[2]))
    assert late(cli, *SATURDAY) == [("P-R2", "2026-01-16", "korpro-fast")]
    before = cli.rows()
    bad = {**post, "version": "bad-tz", "parameters": {"calendar_tz": "+8"}}
    done = cli.run("record", "-", input=feed(bad))
    assert done.returncode == 2 and done.stderr.startswith("line 1: parameters.calendar_tz:"), done.stderr
    assert cli.rows() == before


def test_overdue_refuses_a_bad_set_with_status_2(cli: CLI):
    cli.ok("record", "-", input=feed(*FEED))
    bad_tz = cli.run("overdue", *SATURDAY, "--set", "calendar_tz=Europe/Paris")
    assert bad_tz.returncode == 2 and "calendar_tz" in bad_tz.stderr and "Traceback" not in bad_tz.stderr
    unknown = cli.run("overdue", *SATURDAY, "--set", "colour=red")
    assert unknown.returncode == 2 and unknown.stderr.startswith("--set:"), unknown.stderr
