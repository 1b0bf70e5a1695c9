"""Daily use: what-if says what it judged, periods must make sense, the CLI says its version."""

import json
from pathlib import Path

from tests.integration.conftest import CLI, ROOT

FEEDS = [ROOT / "examples" / "audit-story.jsonl", ROOT / "examples" / "korpro-examples.jsonl"]


def requests_in(*feeds: Path) -> int:
    return sum(json.loads(line)["type"] == "request_refund" for f in feeds for line in f.read_text().splitlines()
               if line.strip())


def test_a_ledger_wide_what_if_says_how_many_requests_it_judged_and_changed(cli: CLI):
    cli.ok("record", "--preserve-recorded-at", str(FEEDS[0]))
    cli.ok("record", str(FEEDS[1]))
    answer = cli.json("what-if", "--set", "refundable_tenders=cash")
    changed = [r for r in answer["requests"] if r["baseline"] != r["scenario"]]
    assert len(answer["requests"]) == requests_in(*FEEDS)
    assert sum(t["judged"] for t in answer["totals"].values()) == len(answer["requests"])
    assert sum(t["changed"] for t in answer["totals"].values()) == len(changed) >= 1
    text = cli.ok("what-if", "--set", "refundable_tenders=cash")
    assert "request(s) judged" in text and "baseline" in text and "today" not in text
    listed = [r["refund"] for r in answer["requests"] if r["refund"] in text]
    assert sorted(listed) == sorted(r["refund"] for r in changed)  # the table lists the changed ones
    every = cli.ok("what-if", "--set", "refundable_tenders=cash", "--all")
    assert all(r["refund"] in every for r in answer["requests"])


def test_an_instance_what_if_calls_its_reference_the_baseline(cli: CLI):
    cli.ok("record", "--preserve-recorded-at", str(FEEDS[0]))
    answer = cli.json("what-if", "kec-7", "--at", "2026-04-20T00:00:00+08:00")
    assert answer["baseline"] == answer["today"] and answer["baseline"]["instance"] == "kec-7"


def test_an_export_period_must_start_before_it_ends(cli: CLI, tmp_path: Path):
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    done = cli.run("export", "orders", "--from", "2027-01-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z",
                   "--out", str(tmp_path / "o.csv"))
    assert done.returncode == 2 and "--from" in done.stderr and not (tmp_path / "o.csv").exists()


def test_the_cli_says_its_version(real_cli: CLI):
    assert real_cli.run("--version", db=False).stdout.startswith("billing-ledger ")


def test_a_misspelt_field_names_itself_and_the_field_it_may_mean(cli: CLI):
    line = {"type": "purchase", "at": "2026-01-01T00:00:00Z", "instance": "kec-1", "acount": "acme",
            "product": "KEC", "order": "o-1", "months": 1, "monthly_price": "10.00", "payment": {"cash": "10.00"}}
    done = cli.run("record", "-", input=json.dumps(line) + "\n")
    assert done.returncode == 2 and "line 1: acount: unknown field; did you mean 'account'?" in done.stderr
    assert cli.rows() == []


def test_an_empty_feed_is_reported_and_creates_nothing(cli: CLI):
    done = cli.run("record", "-", input="\n   \n")
    assert done.returncode == 0 and "the feed is empty" in done.stderr and "recorded 0" in done.stdout
    assert cli.rows() == [] and cli.run("verify").returncode == 2  # still no ledger


def test_people_read_times_to_the_second_and_json_keeps_them_whole(cli: CLI):
    cli.ok("record", "--preserve-recorded-at", str(FEEDS[0]))
    at = ["--at", "2026-05-20T00:00:00+08:00"]
    whole = [o["due"] for o in cli.json("overdue", *at)["overdue"]]
    assert whole and all(d.endswith(".999999+08:00") for d in whole)
    table = cli.ok("overdue", *at)
    assert ".999999" not in table and whole[0].replace(".999999", "") in table
